/**
 * A client of the OCI distribution API v2 (distribution-spec spec.md "Pulling"), for one repository:
 * manifests by tag or digest, blobs by digest (following the redirects registries use for storage),
 * authentication on a 401 as auth.ts reads the challenge. HTTPS; plain HTTP only for a registry the
 * daemon was told is insecure (which, as Docker's, also accepts an unverified certificate).
 */
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { CorralError } from '../errors.js';
import { basicAuthorization, type Credentials, parseChallenges } from './auth.js';
import { sha256Digest } from './digest.js';
import { MANIFEST_ACCEPT } from './manifest.js';

export class RegistryError extends CorralError {
  constructor(
    message: string,
    readonly status?: number,
    readonly registryCode?: string,
  ) {
    super('EREGISTRY', message);
  }
}

export interface RegistryOptions {
  /** `host:port`s that may be reached over plain HTTP (the daemon's --insecure-registry) */
  insecure: boolean;
  credentials?: Credentials;
  /** ms without progress on a connection before it is given up */
  idleTimeoutMs?: number;
}

const MAX_REDIRECTS = 5;
const USER_AGENT = 'corral (distribution client)';

export interface FetchedManifest {
  bytes: Buffer;
  contentType: string;
  /** the digest of `bytes` (checked against the one asked for, or the registry's header) */
  digest: string;
}

export class RegistryClient {
  #base: Promise<URL> | undefined;
  #token: string | undefined;
  readonly #idleMs: number;

  /** `host` is where the API answers (registry-1.docker.io for docker.io); `repository` its path. */
  constructor(
    readonly host: string,
    readonly repository: string,
    private readonly opts: RegistryOptions,
  ) {
    this.#idleMs = opts.idleTimeoutMs ?? 60_000;
  }

  /** The manifest or index `reference` (a tag or a digest), verified against a digest reference. */
  async manifest(reference: string): Promise<FetchedManifest> {
    const res = await this.#request('GET', `/v2/${this.repository}/manifests/${reference}`, { Accept: MANIFEST_ACCEPT.join(', ') });
    const bytes = await readBody(res, 8 * 1024 * 1024, `the manifest ${this.repository}:${reference}`);
    const digest = sha256Digest(bytes);
    if (reference.startsWith('sha256:') && digest !== reference) {
      throw new RegistryError(`manifest ${this.repository}@${reference} from ${this.host} has the digest ${digest}: the registry sent other bytes than asked for`);
    }
    const header = res.headers['docker-content-digest'];
    if (typeof header === 'string' && header.startsWith('sha256:') && header !== digest) {
      throw new RegistryError(`manifest ${this.repository}:${reference} from ${this.host}: Docker-Content-Digest says ${header}, the bytes hash to ${digest}`);
    }
    return { bytes, contentType: String(res.headers['content-type'] ?? ''), digest };
  }

  /** The blob's body as it arrives; the caller verifies it (digest.ts VerifyingStream). */
  async blob(digest: string): Promise<IncomingMessage> {
    return this.#request('GET', `/v2/${this.repository}/blobs/${digest}`, {});
  }

  async #baseUrl(): Promise<URL> {
    this.#base ??= (async () => {
      const secure = new URL(`https://${this.host}`);
      if (!this.opts.insecure) return secure;
      // Docker's way with an insecure registry: HTTPS if it answers (any certificate), else HTTP
      try {
        const res = await this.#send('GET', new URL('/v2/', secure), {});
        res.resume();
        return secure;
      } catch {
        return new URL(`http://${this.host}`);
      }
    })();
    return this.#base;
  }

  async #request(method: string, path: string, headers: Record<string, string>): Promise<IncomingMessage> {
    const url = new URL(path, await this.#baseUrl());
    const withAuth = () => (this.#token ? { ...headers, Authorization: this.#token } : headers);
    let res = await this.#send(method, url, withAuth());
    if (res.statusCode === 401) {
      res.resume();
      await this.#authenticate(String(res.headers['www-authenticate'] ?? ''));
      res = await this.#send(method, url, withAuth());
    }
    if ((res.statusCode ?? 0) >= 300) {
      throw await errorOf(res, `${method} ${url.pathname} on ${this.host}`);
    }
    return res;
  }

  async #authenticate(header: string): Promise<void> {
    const challenges = parseChallenges(header);
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    if (bearer?.params.realm) {
      const realm = new URL(bearer.params.realm);
      if (bearer.params.service) realm.searchParams.set('service', bearer.params.service);
      realm.searchParams.set('scope', bearer.params.scope ?? `repository:${this.repository}:pull`);
      const res = await this.#send('GET', realm, this.opts.credentials ? { Authorization: basicAuthorization(this.opts.credentials) } : {});
      if (res.statusCode !== 200) throw await errorOf(res, `the token service ${realm.origin}${realm.pathname}`);
      const body = JSON.parse((await readBody(res, 1024 * 1024, 'the token')).toString()) as { token?: string; access_token?: string };
      const token = body.token ?? body.access_token;
      if (!token) throw new RegistryError(`the token service ${realm.origin}${realm.pathname} answered without a token`);
      this.#token = `Bearer ${token}`;
      return;
    }
    if (challenges.some((c) => c.scheme === 'basic')) {
      if (!this.opts.credentials) throw new RegistryError(`${this.host} requires a login (basic authentication) and no credentials are known for it`, 401);
      this.#token = basicAuthorization(this.opts.credentials);
      return;
    }
    throw new RegistryError(`${this.host} answered 401 with no challenge corral understands: ${JSON.stringify(header)}`, 401);
  }

  /** One request, following redirects; the Authorization header does not follow to another host. */
  async #send(method: string, start: URL, headers: Record<string, string>): Promise<IncomingMessage> {
    let url = start;
    let hdrs = { 'User-Agent': USER_AGENT, ...headers };
    for (let hop = 0; ; hop++) {
      const res = await new Promise<IncomingMessage>((resolve, reject) => {
        const mod = url.protocol === 'http:' ? http : https;
        const req = mod.request(url, { method, headers: hdrs, rejectUnauthorized: !this.opts.insecure }, resolve);
        req.setTimeout(this.#idleMs, () => req.destroy(new RegistryError(`${url.host}: no answer for ${this.#idleMs / 1000} s`)));
        req.on('error', (err) => reject(err instanceof RegistryError ? err : new RegistryError(`${method} ${url.origin}${url.pathname}: ${(err as Error).message}`)));
        req.end();
      });
      const status = res.statusCode ?? 0;
      const location = res.headers.location;
      if ([301, 302, 303, 307, 308].includes(status) && location) {
        res.resume();
        if (hop >= MAX_REDIRECTS) throw new RegistryError(`${method} ${start.href}: more than ${MAX_REDIRECTS} redirects`);
        const next = new URL(location, url);
        if (next.host !== url.host) {
          const { Authorization: _dropped, ...rest } = hdrs as Record<string, string>;
          hdrs = rest as typeof hdrs;
        }
        url = next;
        continue;
      }
      // a stalled body fails the stream instead of hanging the pull; the listener goes with the
      // response (a kept-alive socket serves many)
      const socket = res.socket;
      const stalled = () => res.destroy(new RegistryError(`${url.host}: the body stalled for ${this.#idleMs / 1000} s`));
      socket.setTimeout(this.#idleMs);
      socket.on('timeout', stalled);
      res.once('close', () => {
        socket.off('timeout', stalled);
        socket.setTimeout(0);
      });
      return res;
    }
  }
}

async function readBody(res: IncomingMessage, limit: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of res) {
    n += (c as Buffer).length;
    if (n > limit) {
      res.destroy();
      throw new RegistryError(`${what} is larger than ${limit} bytes`);
    }
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

/** A registry's error answer: its errors[0] code and message where it sent the spec's JSON. */
async function errorOf(res: IncomingMessage, what: string): Promise<RegistryError> {
  const text = (await readBody(res, 64 * 1024, 'the error').catch(() => Buffer.alloc(0))).toString();
  let detail = text.trim().slice(0, 300);
  let code: string | undefined;
  try {
    const doc = JSON.parse(text) as { errors?: { code?: string; message?: string }[] };
    const first = doc.errors?.[0];
    if (first) {
      code = first.code;
      detail = `${(first.code ?? '').toLowerCase().replace(/_/g, ' ')}: ${first.message ?? ''}`.trim();
    }
  } catch {
    // not the spec's JSON: the text itself
  }
  return new RegistryError(`${what}: ${res.statusCode} ${detail}`.trim(), res.statusCode, code);
}
