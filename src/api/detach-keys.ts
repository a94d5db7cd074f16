/**
 * Docker's detach keys: the key sequence that, typed into an attached container's input, ends the
 * attach and leaves the container running (`ctrl-p,ctrl-q` by default; the `detachKeys` query
 * parameter, `docker attach --detach-keys`). Pure: the parser of Docker's syntax and a scanner that
 * takes input chunk by chunk and holds back a sequence under way.
 */
import { InvalidParameterError } from '../errors.js';

/** Docker's default, ctrl-p ctrl-q. */
export const DEFAULT_DETACH_KEYS: readonly number[] = [16, 17];

/** `ctrl-X` beyond the letters, as Docker reads them (moby's term.ToBytes). */
const CTRL_SYMBOLS: Readonly<Record<string, number>> = { '@': 0, '[': 27, '\\': 28, ']': 29, '^': 30, _: 31 };

/**
 * Docker's syntax: keys separated by commas, each a single character or `ctrl-<a-z, @, [, \, ], ^, _>`.
 * Empty or absent: the default. Anything else is refused naming the parameter.
 */
export function parseDetachKeys(text: string | null | undefined): number[] {
  if (text === null || text === undefined || text === '') return [...DEFAULT_DETACH_KEYS];
  const keys: number[] = [];
  for (const key of text.split(',')) {
    const bad = () =>
      new InvalidParameterError(`invalid detachKeys ${JSON.stringify(text)}: ${JSON.stringify(key)} is not a key: expected a single character or ctrl-<a-z, @, [, \\, ], ^ or _>, separated by commas`);
    if (key.length === 1) {
      const code = key.codePointAt(0)!;
      if (code > 127) throw bad();
      keys.push(code);
    } else if (/^ctrl-.$/i.test(key)) {
      const c = key.slice(5).toLowerCase();
      if (c >= 'a' && c <= 'z') keys.push(c.charCodeAt(0) - 96);
      else if (CTRL_SYMBOLS[c] !== undefined) keys.push(CTRL_SYMBOLS[c]);
      else throw bad();
    } else throw bad();
  }
  return keys;
}

/**
 * Input as it arrives, split into what goes on to the container and whether the detach sequence
 * was typed. Bytes that may begin the sequence are held until the next byte tells; a sequence
 * broken off is passed on whole (a ctrl-p typed alone reaches the container).
 */
export class DetachScanner {
  private held = 0;
  constructor(private readonly keys: readonly number[]) {}

  push(chunk: Buffer): { forward: Buffer; detached: boolean } {
    const out: number[] = [];
    for (const byte of chunk) {
      if (this.keys.length > 0 && byte === this.keys[this.held]) {
        this.held++;
        if (this.held === this.keys.length) return { forward: Buffer.from(out), detached: true };
        continue;
      }
      if (this.held > 0) {
        out.push(...this.keys.slice(0, this.held));
        this.held = 0;
        // the byte that broke the sequence may begin it again
        if (byte === this.keys[0]) {
          this.held = 1;
          if (this.keys.length === 1) return { forward: Buffer.from(out), detached: true };
          continue;
        }
      }
      out.push(byte);
    }
    return { forward: Buffer.from(out), detached: false };
  }
}
