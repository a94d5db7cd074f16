/** Signals named as users and Docker's API name them. */
import { constants as osConstants } from 'node:os';
import { InvalidParameterError } from '../errors.js';

/** A signal by name (KILL, SIGKILL) or number. */
export function parseSignal(text: string): number {
  if (/^\d{1,2}$/.test(text) && Number(text) >= 1 && Number(text) <= 64) return Number(text);
  const name = text.toUpperCase().startsWith('SIG') ? text.toUpperCase() : `SIG${text.toUpperCase()}`;
  const n = (osConstants.signals as Record<string, number>)[name];
  if (n === undefined) throw new InvalidParameterError(`invalid signal: ${text}`);
  return n;
}
