/** Docker CLI's tables (cli/command/formatter NewContext): Go's text/tabwriter as the CLI configures it. */

/**
 * Go's text/tabwriter as the CLI configures it (minwidth 10, padding 3, spaces): each column as wide
 * as its widest cell plus 3, at least `minWidth`; the last cell of a line unpadded; every line ends
 * in "\n". `docker top` configures a minwidth of 20.
 */
export function tabwrite(lines: readonly (readonly string[])[], minWidth = 10): string {
  const columns = Math.max(0, ...lines.map((l) => l.length));
  const widths = Array.from({ length: columns }, (_, i) => Math.max(minWidth, ...lines.filter((l) => i < l.length - 1).map((l) => (l[i] ?? '').length + 3)));
  return lines.map((l) => l.map((cell, i) => (i === l.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('') + '\n').join('');
}
