/**
 * The API's one error shape, Docker's: a status code and `{"message": "..."}`. Handlers throw an
 * ApiError (or a CorralError that statusOf maps); anything else is a bug and becomes a 500.
 */
import { CorralError } from '../errors.js';

export class ApiError extends CorralError {
  readonly status: number;
  /**
   * the connection cannot be reused after this answer (a request body was left unread), so the
   * response says `Connection: close`
   */
  readonly closeConnection: boolean;
  constructor(status: number, message: string, options: { closeConnection?: boolean; cause?: unknown } = {}) {
    super(`EHTTP${status}`, message, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = status;
    this.closeConnection = options.closeConnection ?? false;
  }
}

/** The status for an error a handler threw: ApiError's own, 400/404/409/500 for corral's typed errors, else 500 (a bug). */
export function statusOf(err: unknown): number {
  if (err instanceof ApiError) return err.status;
  if (err instanceof CorralError) {
    switch (err.code) {
      case 'EINVALIDARG':
      case 'EINVALIDPARAM':
      case 'EINVALIDLIMIT':
      case 'EUNSUPPORTED':
      case 'EAMBIGUOUSID':
        return 400;
      case 'ENOSUCHCONTAINER':
      case 'ENOIMAGE':
        return 404;
      case 'EAMBIGUOUS':
      case 'ENOUSER':
        return 400;
      case 'EREGISTRY':
        // a manifest the registry does not have is a 404, as Docker's; the rest failed on the way
        return (err as CorralError & { status?: number }).status === 404 ? 404 : 500;
      case 'ENAMEINUSE':
      case 'ECONFLICT':
        return 409;
      case 'ESYSTEM':
        return 500;
    }
  }
  return 500;
}
