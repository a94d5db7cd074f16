/**
 * A compose `command:` string split into words as Compose does it (compose-go uses
 * mattn/go-shellwords): blanks separate words; single quotes keep everything literally; double
 * quotes keep everything but `\"`, `\\`, `\$` and `` \` ``; a backslash outside quotes escapes the
 * next character. There is no expansion: `$HOME` stays `$HOME`.
 *
 * Where go-shellwords silently stops at an unquoted `;`, `&`, `|`, `<` or `>` and drops the rest,
 * this refuses the string: a shell operator in a string command is almost always meant for a shell.
 */

export type ShellWords = { ok: true; words: string[] } | { ok: false; reason: string };

const OPERATORS = new Set([';', '&', '|', '<', '>']);
const DOUBLE_QUOTE_ESCAPES = new Set(['"', '\\', '$', '`']);

export function splitShellWords(text: string): ShellWords {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      continue;
    }
    inWord = true;
    if (c === '\\') {
      if (i + 1 >= text.length) return { ok: false, reason: 'the string ends with a lone backslash' };
      word += text[++i];
    } else if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) return { ok: false, reason: 'unterminated single quote' };
      word += text.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < text.length && text[j] !== '"'; j++) {
        if (text[j] === '\\' && DOUBLE_QUOTE_ESCAPES.has(text[j + 1] ?? '')) j++;
        word += text[j];
      }
      if (j >= text.length) return { ok: false, reason: 'unterminated double quote' };
      i = j;
    } else if (OPERATORS.has(c)) {
      return { ok: false, reason: `the shell operator "${c}" needs a shell: write the command as a list, e.g. [sh, -c, "..."]` };
    } else {
      word += c;
    }
  }
  if (inWord) words.push(word);
  return { ok: true, words };
}
