/**
 * Registry authentication as the distribution spec and Docker do it: a 401's `WWW-Authenticate`
 * challenge (RFC 7235) names Basic, or Bearer with a token `realm`, `service` and `scope`; a Bearer
 * token is fetched from the realm (anonymously, or with the user's basic credentials), and
 * credentials come from Docker's `config.json` (`auths.<host>.auth`, base64 of user:password) or from
 * a client's `X-Registry-Auth` header. Pure parsing here; the requests are registry.ts's.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CorralError } from '../errors.js';
import { DEFAULT_DOMAIN } from './reference.js';

export interface Challenge {
  /** lower case: 'basic' or 'bearer' */
  scheme: string;
  params: Record<string, string>;
}

export interface Credentials {
  username: string;
  password: string;
}

/**
 * The challenges of a WWW-Authenticate header: `Bearer realm="https://auth/token",service="reg",
 * scope="repository:a/b:pull"`, several separated by commas. Parameter names are lower-cased;
 * quoted values may hold commas and escaped quotes.
 */
export function parseChallenges(header: string): Challenge[] {
  const out: Challenge[] = [];
  let i = 0;
  const s = header;
  const skipSpace = () => {
    while (i < s.length && (s[i] === ' ' || s[i] === '\t')) i++;
  };
  const token = (): string => {
    const start = i;
    while (i < s.length && /[!#$%&'*+.^_`|~0-9A-Za-z-]/.test(s[i]!)) i++;
    return s.slice(start, i);
  };
  while (i < s.length) {
    skipSpace();
    if (s[i] === ',') {
      i++;
      continue;
    }
    const scheme = token();
    if (scheme === '') break;
    const challenge: Challenge = { scheme: scheme.toLowerCase(), params: {} };
    out.push(challenge);
    for (;;) {
      skipSpace();
      const mark = i;
      const name = token();
      skipSpace();
      if (name === '' || s[i] !== '=') {
        // the next challenge's scheme (or the end): not a parameter
        i = mark;
        break;
      }
      i++;
      skipSpace();
      let value = '';
      if (s[i] === '"') {
        i++;
        while (i < s.length && s[i] !== '"') {
          if (s[i] === '\\' && i + 1 < s.length) i++;
          value += s[i];
          i++;
        }
        i++;
      } else {
        value = token();
      }
      challenge.params[name.toLowerCase()] = value;
      skipSpace();
      if (s[i] === ',') i++;
      else break;
    }
  }
  return out;
}

/** The `auths` key Docker writes for a registry domain (Docker Hub keeps its v1 URL). */
function authKeys(domain: string): string[] {
  if (domain === DEFAULT_DOMAIN) return ['https://index.docker.io/v1/', 'index.docker.io', 'docker.io', 'registry-1.docker.io'];
  return [domain, `https://${domain}`, `http://${domain}`, `https://${domain}/v1/`];
}

/** Credentials for `domain` from a config.json's text, or undefined; `file` names it in errors. */
export function credentialsFromConfig(text: string, domain: string, file: string): Credentials | undefined {
  let config: { auths?: Record<string, { auth?: string; username?: string; password?: string }> };
  try {
    config = JSON.parse(text) as typeof config;
  } catch (err) {
    throw new CorralError('ECREDENTIALS', `${file} is not JSON: ${(err as Error).message}`);
  }
  for (const key of authKeys(domain)) {
    const entry = config.auths?.[key];
    if (!entry) continue;
    if (typeof entry.auth === 'string' && entry.auth !== '') {
      const plain = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = plain.indexOf(':');
      if (colon < 0) throw new CorralError('ECREDENTIALS', `${file}: auths["${key}"].auth is not base64 of user:password`);
      return { username: plain.slice(0, colon), password: plain.slice(colon + 1) };
    }
    if (typeof entry.username === 'string' && typeof entry.password === 'string') return { username: entry.username, password: entry.password };
  }
  return undefined;
}

/** Docker's config file: $DOCKER_CONFIG/config.json, else ~/.docker/config.json. */
export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_CONFIG ? path.join(env.DOCKER_CONFIG, 'config.json') : path.join(os.homedir(), '.docker', 'config.json');
}

/** Credentials for `domain` from a config file; undefined when the file or its entry is absent. */
export async function credentialsFromFile(file: string, domain: string): Promise<Credentials | undefined> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return credentialsFromConfig(text, domain, file);
}

/**
 * The X-Registry-Auth header Docker clients send with a pull: base64url (or base64) JSON with
 * username and password (or an identitytoken, which corral does not use). Empty or `{}` is none.
 */
export function credentialsFromHeader(header: string | undefined): Credentials | undefined {
  if (header === undefined || header.trim() === '') return undefined;
  let doc: { username?: unknown; password?: unknown };
  try {
    doc = JSON.parse(Buffer.from(header.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8')) as typeof doc;
  } catch {
    throw new CorralError('ECREDENTIALS', 'X-Registry-Auth is not base64 of a JSON object');
  }
  if (typeof doc.username === 'string' && doc.username !== '' && typeof doc.password === 'string') return { username: doc.username, password: doc.password };
  return undefined;
}

export function basicAuthorization(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}
