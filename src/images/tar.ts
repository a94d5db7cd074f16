/**
 * The tar format, by tar-stream, with one correction: PAX records are text to tar-stream (decoded
 * and encoded as UTF-8), but the `SCHILY.xattr.*` records GNU tar, Go's archive/tar and so every
 * image builder write carry an xattr's raw bytes (security.capability is binary). Here those values
 * travel as latin1 strings, one character a byte, both ways; every other record stays UTF-8. The
 * override replaces tar-stream's two PAX functions in its own module object, which its extract and
 * pack call through (tar-stream 3; test/unit/images/tar.test.ts fails if that stops holding).
 */
import { createRequire } from 'node:module';
import tarStream from 'tar-stream';

export type { Header as TarHeader } from 'tar-stream';

export const XATTR_PAX_PREFIX = 'SCHILY.xattr.';

/** One PAX record: "<len> <key>=<value>\n", len counting its own digits, in bytes. */
function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

const valueBytes = (key: string, value: string): Buffer => Buffer.from(value, key.startsWith(XATTR_PAX_PREFIX) ? 'latin1' : 'utf8');

export function encodePax(opts: { name?: string; linkname?: string | null; pax?: Record<string, string> }): Buffer {
  const records: Buffer[] = [];
  if (opts.name) records.push(paxRecord('path', Buffer.from(opts.name)));
  if (opts.linkname) records.push(paxRecord('linkpath', Buffer.from(opts.linkname)));
  for (const [key, value] of Object.entries(opts.pax ?? {})) records.push(paxRecord(key, valueBytes(key, value)));
  return Buffer.concat(records);
}

export function decodePax(buf: Buffer): Record<string, string> {
  const result: Record<string, string> = {};
  let rest = buf;
  while (rest.length) {
    const space = rest.indexOf(0x20);
    const len = Number.parseInt(rest.subarray(0, space < 0 ? rest.length : space).toString(), 10);
    if (!(len > 0) || space < 0 || len > rest.length) return result;
    const record = rest.subarray(space + 1, len - 1);
    const eq = record.indexOf(0x3d);
    if (eq < 0) return result;
    const key = record.subarray(0, eq).toString('utf8');
    result[key] = record.subarray(eq + 1).toString(key.startsWith(XATTR_PAX_PREFIX) ? 'latin1' : 'utf8');
    rest = rest.subarray(len);
  }
  return result;
}

const tarHeaders = createRequire(createRequire(import.meta.url).resolve('tar-stream'))('./headers.js') as {
  encodePax: typeof encodePax;
  decodePax: typeof decodePax;
};
tarHeaders.encodePax = encodePax;
tarHeaders.decodePax = decodePax;

export const extractTar = tarStream.extract;
export const packTar = tarStream.pack;

/** The xattrs of an entry's PAX records: name to raw bytes. */
export function entryXattrs(header: { pax?: unknown }): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const [key, value] of Object.entries((header.pax ?? {}) as Record<string, string>)) {
    if (key.startsWith(XATTR_PAX_PREFIX)) out.set(key.slice(XATTR_PAX_PREFIX.length), Buffer.from(value, 'latin1'));
  }
  return out;
}

/** PAX records for xattrs, for pack's header.pax. */
export function xattrPax(xattrs: ReadonlyMap<string, Buffer>): Record<string, string> {
  const pax: Record<string, string> = {};
  for (const [name, value] of xattrs) pax[XATTR_PAX_PREFIX + name] = value.toString('latin1');
  return pax;
}
