/**
 * Image references as Docker reads them (distribution/reference's grammar and its "normalized named"
 * rules): `busybox` is `docker.io/library/busybox:latest`, `localhost:5000/a/b@sha256:…` names a
 * registry on a port and a digest. Pure: no I/O.
 */
import { InvalidArgumentError } from '../errors.js';
import { isDigest } from './digest.js';

export const DEFAULT_DOMAIN = 'docker.io';
/** Where docker.io's API really answers. */
export const DOCKER_HUB_API = 'registry-1.docker.io';
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
const OFFICIAL_REPO_PREFIX = 'library/';
export const DEFAULT_TAG = 'latest';
/** distribution/reference: NameTotalLengthMax */
const NAME_MAX = 255;

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_COMPONENT = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const PORT = /^[0-9]+$/;

export interface ImageReference {
  /** the registry's host, with its port if any: `docker.io`, `localhost:5000` */
  domain: string;
  /** the repository's path in the registry: `library/busybox` */
  path: string;
  /** undefined only when `digest` is given (a digest alone names the image) */
  tag?: string;
  /** `sha256:<64 hex>` */
  digest?: string;
}

/**
 * Parse and normalize a reference, as `docker pull` does: a missing domain is docker.io, a one-part
 * name on docker.io is under library/, and a reference with neither tag nor digest gets :latest.
 * `what` names the value in the error (a flag, a body field).
 */
export function parseReference(text: string, what = 'the image reference'): ImageReference {
  const bad = (reason: string): never => {
    throw new InvalidArgumentError(what, text, reason);
  };
  if (text === '') bad('it is empty');
  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isDigest(digest)) bad(`"${digest}" is not a digest (expected sha256: and 64 lower-case hex digits)`);
  }
  let tag: string | undefined;
  // a tag follows the last colon after the last slash (a colon before it is a port)
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) bad(`"${tag}" is not a tag (letters, digits, _ . -, at most 128, not starting with . or -)`);
  }
  if (rest === '') bad('it has no repository name');
  // Docker's rule: an image ID is never a repository name
  if (/^[a-f0-9]{64}$/.test(rest)) bad('a 64-character hexadecimal string is an image ID, not a repository name');
  if (rest !== rest.toLowerCase() && !hasDomain(rest)) bad('repository names must be lower case');

  const slash = rest.indexOf('/');
  let domain = DEFAULT_DOMAIN;
  let path = rest;
  if (slash >= 0 && hasDomain(rest)) {
    domain = rest.slice(0, slash);
    path = rest.slice(slash + 1);
    checkDomain(domain, bad);
  }
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = OFFICIAL_REPO_PREFIX + path;
  for (const c of path.split('/')) {
    if (!PATH_COMPONENT.test(c)) bad(`"${c}" is not a repository path component (lower-case letters and digits, joined by . _ __ or dashes)`);
  }
  if (`${domain}/${path}`.length > NAME_MAX) bad(`the repository name is longer than ${NAME_MAX} characters`);
  if (tag === undefined && digest === undefined) tag = DEFAULT_TAG;
  return { domain, path, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

/** distribution's splitDockerDomain: the first part is a domain if it has a dot or a port, or is localhost. */
function hasDomain(name: string): boolean {
  const slash = name.indexOf('/');
  if (slash < 0) return false;
  const first = name.slice(0, slash);
  return first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase();
}

function checkDomain(domain: string, bad: (reason: string) => never): void {
  const [host = '', port, ...more] = domain.split(':');
  if (more.length || (port !== undefined && !PORT.test(port))) bad(`"${domain}" is not a registry host[:port]`);
  // an IPv6 literal in brackets is allowed by Docker; its host part is not a domain name
  if (host.startsWith('[') && host.endsWith(']')) return;
  if (!host.split('.').every((c) => DOMAIN_COMPONENT.test(c))) bad(`"${domain}" is not a registry host[:port]`);
}

/** The full name without tag or digest: `docker.io/library/busybox`. */
export function repositoryName(ref: ImageReference): string {
  return `${ref.domain}/${ref.path}`;
}

/** The name as Docker prints it: `busybox`, `user/app`, `localhost:5000/app`. */
export function familiarName(ref: ImageReference): string {
  if (ref.domain !== DEFAULT_DOMAIN) return repositoryName(ref);
  return ref.path.startsWith(OFFICIAL_REPO_PREFIX) ? ref.path.slice(OFFICIAL_REPO_PREFIX.length) : ref.path;
}

/** `busybox:latest`, `busybox@sha256:…`, `busybox:1@sha256:…` as Docker prints a reference. */
export function familiarString(ref: ImageReference): string {
  return `${familiarName(ref)}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}

/** `docker.io/library/busybox:latest`: the key the store's name index uses. */
export function canonicalString(ref: ImageReference): string {
  return `${repositoryName(ref)}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}

/** The host the registry API is reached at for this reference's domain. */
export function apiHost(ref: ImageReference): string {
  return ref.domain === DEFAULT_DOMAIN ? DOCKER_HUB_API : ref.domain;
}
