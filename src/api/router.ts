/**
 * A small router on node:http, shaped after the Docker Engine API's: every route answers with and
 * without a `/v1.NN` prefix; a version above the maximum or below the minimum is a 400 with
 * Docker's message; path segments are percent-decoded one by one (so "%2F" never splits a segment)
 * and each path parameter is validated before the handler sees it; an unknown path is Docker's
 * `404 {"message":"page not found"}`; every error has the one shape `{"message": "..."}`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { drainBody, hasBody } from './body.js';
import { ApiError, statusOf } from './errors.js';
import { CorralError, quoteInput } from '../errors.js';
import type { Logger } from '../log.js';

export type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE';

export interface RouteContext {
  method: Method;
  /** the API version of this request: the prefix's, else the maximum */
  version: string;
  /** validated path parameters, by name */
  params: Record<string, string>;
  query: URLSearchParams;
  req: IncomingMessage;
  res: ServerResponse;
  log: Logger;
}

export type Handler = (ctx: RouteContext) => Promise<void> | void;

/** Validates one decoded path parameter and returns its value; throws an ApiError (400) when it is not acceptable. */
export type ParamCheck = (decoded: string) => string;

interface Route {
  methods: readonly Method[];
  /** literal segments, or `{name}` */
  segments: readonly string[];
  handler: Handler;
  checks: Readonly<Record<string, ParamCheck>>;
  /** number of literal segments (more literal wins: /containers/json over /containers/{id}) */
  literals: number;
}

export interface RouterOptions {
  /** the highest API version served, and the one reported (e.g. "1.41") */
  apiVersion: string;
  /** the lowest API version accepted */
  minApiVersion: string;
  /** the Server header, e.g. "corral/0.1.0 (linux)" */
  server: string;
  log: Logger;
}

/** Docker's versions.compareTo: dot-separated numbers, compared one by one, missing parts are 0. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.');
  const pb = b.split('.');
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = Number(pa[i] ?? 0) || 0;
    const y = Number(pb[i] ?? 0) || 0;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

const VERSION_SEGMENT = /^v(\d{1,4}(?:\.\d{1,4}){0,3})$/;

export interface SplitTarget {
  /** the version from a `/vN.NN` prefix, if any */
  version?: string;
  /** the percent-decoded segments after the prefix */
  segments: string[];
  query: URLSearchParams;
}

/**
 * Split a request target ("/v1.41/containers/json?all=1") into its version prefix, decoded
 * segments and query. Throws a 400 for a target that is not an absolute path or has bad
 * percent-encoding.
 */
export function splitTarget(target: string): SplitTarget {
  if (!target.startsWith('/')) throw new ApiError(400, `invalid request target ${quoteInput(target)}: expected an absolute path`);
  const q = target.indexOf('?');
  const rawPath = q < 0 ? target : target.slice(0, q);
  const query = new URLSearchParams(q < 0 ? '' : target.slice(q + 1));
  const segments = rawPath
    .slice(1)
    .split('/')
    .map((raw) => {
      try {
        return decodeURIComponent(raw);
      } catch {
        throw new ApiError(400, `invalid percent-encoding in path segment ${quoteInput(raw)}`);
      }
    });
  const version = VERSION_SEGMENT.exec(segments[0] ?? '')?.[1];
  return version === undefined ? { segments, query } : { version, segments: segments.slice(1), query };
}

/** The headers Docker puts on every answer (compare ping.http). */
function commonHeaders(res: ServerResponse, options: RouterOptions): void {
  res.setHeader('Api-Version', options.apiVersion);
  res.setHeader('Docker-Experimental', 'false');
  res.setHeader('Ostype', 'linux');
  res.setHeader('Server', options.server);
}

/** Answer with a JSON value (Content-Length set; no body for HEAD, which node:http handles). */
export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

/**
 * Make the answer's end wait until the request body is read. A route that wants no body (or an
 * error found before the body is read) answers at once; were the connection then closed with the
 * body unread, the kernel would reset it, and a client still sending would get EPIPE instead of the
 * answer (RFC 9112 §9.6; Go's net/http, so Docker, reads what is left too). So the rest is drained
 * first (bounded by drainBody; past the bound the connection closes after the answer, as before).
 */
function endAfterBody(req: IncomingMessage, res: ServerResponse): void {
  const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
  res.end = ((...args: unknown[]) => {
    // complete: read already; flowing: a reader (readBody) took it, or is dropping the rest
    if (req.complete || req.readableFlowing === true) return end(...args);
    void drainBody(req).then((whole) => {
      if (!whole && !res.headersSent) res.setHeader('Connection', 'close');
      end(...args);
    });
    return res;
  }) as ServerResponse['end'];
}

/** Answer with the one error shape. */
export function sendError(res: ServerResponse, status: number, message: string, closeConnection = false): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (closeConnection) res.setHeader('Connection', 'close');
  sendJson(res, status, { message });
}

export class Router {
  private readonly routes: Route[] = [];
  constructor(private readonly options: RouterOptions) {}

  /**
   * Add a route; `pattern` is like "/containers/{id}/json", each `{name}` needs a check in `checks`.
   * One `{name*}` may take several segments, joined by "/" (an image name: `/images/{name*}/json`
   * for `/images/127.0.0.1:5000/app/json`, as Docker's `{name:.*}`).
   */
  add(methods: Method | readonly Method[], pattern: string, handler: Handler, checks: Record<string, ParamCheck> = {}): this {
    const segments = pattern.split('/').slice(1);
    for (const s of segments) {
      const param = /^\{(\w+)\*?\}$/.exec(s)?.[1];
      if (param !== undefined && !checks[param]) throw new Error(`route ${pattern}: no check for parameter {${param}}`);
    }
    if (segments.filter((s) => s.endsWith('*}')).length > 1) throw new Error(`route ${pattern}: at most one {name*}`);
    this.routes.push({
      methods: typeof methods === 'string' ? [methods] : methods,
      segments,
      handler,
      checks,
      literals: segments.filter((s) => !s.startsWith('{')).length,
    });
    return this;
  }

  /**
   * Find the route for a method and decoded segments. Returns the route and its raw (not yet
   * checked) parameters, or the status to answer: 404 when no path matches, 405 when the path
   * matches with another method.
   */
  match(method: string, segments: readonly string[]): { route: Route; raw: Record<string, string> } | { status: 404 | 405; allow: Method[] } {
    let best: { route: Route; raw: Record<string, string> } | undefined;
    const allow = new Set<Method>();
    for (const route of this.routes) {
      const star = route.segments.findIndex((s) => s.endsWith('*}'));
      if (star < 0 ? route.segments.length !== segments.length : segments.length < route.segments.length) continue;
      // a {name*} takes what the segments after it leave
      const extra = segments.length - route.segments.length;
      const raw: Record<string, string> = {};
      const fits = route.segments.every((s, i) => {
        const at = star >= 0 && i > star ? i + extra : i;
        if (i === star) {
          const taken = segments.slice(i, i + extra + 1);
          raw[s.slice(1, -2)] = taken.join('/');
          return taken.every((t) => t !== '');
        }
        if (s.startsWith('{')) {
          raw[s.slice(1, -1)] = segments[at]!;
          return segments[at] !== '';
        }
        return s === segments[at];
      });
      if (!fits) continue;
      if (!route.methods.includes(method as Method)) {
        for (const m of route.methods) allow.add(m);
        continue;
      }
      if (!best || route.literals > best.route.literals) best = { route, raw };
    }
    if (best) return best;
    return { status: allow.size > 0 ? 405 : 404, allow: [...allow] };
  }

  /** Serve one request: never throws; every failure becomes an answer in the one error shape. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    const method = req.method ?? '';
    const target = req.url ?? '';
    res.once('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      this.options.log.debug('request', { method, path: target.length > 200 ? `${target.slice(0, 200)}...` : target, status: res.statusCode, ms: Math.round(ms * 10) / 10 });
    });
    commonHeaders(res, this.options);
    if (hasBody(req.headers)) endAfterBody(req, res);
    try {
      const { version, segments, query } = splitTarget(target);
      if (version !== undefined) this.checkVersion(version);
      const found = this.match(method, segments);
      if ('status' in found) {
        if (found.status === 405) {
          res.setHeader('Allow', found.allow.join(', '));
          throw new ApiError(405, `method ${method} is not allowed here: use ${found.allow.join(' or ')}`);
        }
        throw new ApiError(404, 'page not found');
      }
      const params: Record<string, string> = {};
      for (const [name, value] of Object.entries(found.raw)) params[name] = found.route.checks[name]!(value);
      await found.route.handler({
        method: method as Method,
        version: version ?? this.options.apiVersion,
        params,
        query,
        req,
        res,
        log: this.options.log,
      });
    } catch (err) {
      const status = statusOf(err);
      // a 500 is a bug (an error no handler meant to answer with), unless it is Docker's System
      // error (a program the daemon ran failed: top's ps); 501 and the 4xx are answers
      if (status === 500 && !(err instanceof CorralError && err.code === 'ESYSTEM')) {
        this.options.log.error('request failed', { method, path: target.slice(0, 200), err: err instanceof Error ? err : new Error(String(err)) });
      }
      const message = err instanceof Error ? err.message : String(err);
      sendError(res, status, message, err instanceof ApiError && err.closeConnection);
    }
  }

  private checkVersion(version: string): void {
    const { apiVersion, minApiVersion } = this.options;
    if (compareVersions(version, minApiVersion) < 0) {
      throw new ApiError(400, `client version ${version} is too old. Minimum supported API version is ${minApiVersion}, please upgrade your client to a newer version`);
    }
    if (compareVersions(version, apiVersion) > 0) {
      throw new ApiError(400, `client version ${version} is too new. Maximum supported API version is ${apiVersion}`);
    }
  }
}
