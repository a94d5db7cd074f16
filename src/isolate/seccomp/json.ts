/**
 * JSON.parse, except that an integer too large for a double (above 2^53 - 1, or below its negative)
 * is read as a bigint instead of being rounded. A seccomp profile's argument values are 64-bit
 * (`"value": 18446744073709551615` is a mask of all ones), and JSON.parse would silently turn them
 * into other numbers, and so into another filter. Everything else is as JSON.parse reads it.
 */
import { CorralError } from '../../errors.js';

/** A syntax error, with the offset in the text where it was found. */
export class JsonSyntaxError extends CorralError {
  constructor(
    readonly offset: number,
    problem: string,
  ) {
    super('EJSON', `${problem} at offset ${offset}`);
  }
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const INTEGER = /^-?(?:0|[1-9]\d*)$/;
/** a string token; JSON.parse then checks its escapes and refuses control characters in it */
const STRING = /"(?:[^"\\]|\\.)*"/y;
const SPACE = /[ \t\n\r]*/y;

/** Parse JSON text; integers that are not safe integers become bigints. Throws JsonSyntaxError. */
export function parseJsonExact(text: string): unknown {
  let at = 0;
  const space = () => {
    SPACE.lastIndex = at;
    SPACE.exec(text);
    at = SPACE.lastIndex;
  };
  const fail = (problem: string): never => {
    throw new JsonSyntaxError(at, at >= text.length ? `${problem}: unexpected end of the text` : `${problem}: unexpected ${JSON.stringify(text[at])}`);
  };
  const value = (depth: number): unknown => {
    if (depth > 512) fail('nested too deeply');
    space();
    const c = text[at];
    if (c === '{') {
      at++;
      const out: Record<string, unknown> = {};
      space();
      if (text[at] === '}') {
        at++;
        return out;
      }
      for (;;) {
        space();
        if (text[at] !== '"') fail('expected a string key');
        const key = string();
        space();
        if (text[at] !== ':') fail('expected ":"');
        at++;
        // as JSON.parse: a later key wins; __proto__ is an ordinary key
        Object.defineProperty(out, key, { value: value(depth + 1), enumerable: true, writable: true, configurable: true });
        space();
        if (text[at] === ',') {
          at++;
          continue;
        }
        if (text[at] === '}') {
          at++;
          return out;
        }
        fail('expected "," or "}"');
      }
    }
    if (c === '[') {
      at++;
      const out: unknown[] = [];
      space();
      if (text[at] === ']') {
        at++;
        return out;
      }
      for (;;) {
        out.push(value(depth + 1));
        space();
        if (text[at] === ',') {
          at++;
          continue;
        }
        if (text[at] === ']') {
          at++;
          return out;
        }
        fail('expected "," or "]"');
      }
    }
    if (c === '"') return string();
    for (const [word, v] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (text.startsWith(word, at)) {
        at += word.length;
        return v;
      }
    }
    NUMBER.lastIndex = at;
    const m = NUMBER.exec(text);
    if (m === null) return fail('expected a value');
    at = NUMBER.lastIndex;
    const n = Number(m[0]);
    return INTEGER.test(m[0]) && !Number.isSafeInteger(n) ? BigInt(m[0]) : n;
  };
  const string = (): string => {
    STRING.lastIndex = at;
    const m = STRING.exec(text);
    if (m === null) return fail('bad string');
    try {
      const s = JSON.parse(m[0]) as string;
      at = STRING.lastIndex;
      return s;
    } catch {
      return fail('bad string');
    }
  };
  const out = value(0);
  space();
  if (at !== text.length) fail('expected the end of the text');
  return out;
}

/**
 * JSON text without the whitespace between its tokens, as Go's json.Compact writes it (Docker's CLI
 * sends a profile file so); strings and numbers are kept as written. Throws JsonSyntaxError.
 */
export function compactJson(text: string): string {
  parseJsonExact(text);
  return text.replace(/"(?:[^"\\]|\\.)*"|[ \t\n\r]+/g, (m) => (m.startsWith('"') ? m : ''));
}
