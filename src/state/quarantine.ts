/**
 * A state file that does not parse (truncated by a crash of an older writer, edited by hand, a
 * disk error) must not stop the daemon or hide the other containers: it is renamed aside as
 * `<file>.corrupt-<time>`, kept for whoever wants to look, and reported with the parse error.
 */
import fs from 'node:fs/promises';
import path from 'node:path';

export interface Quarantined {
  file: string;
  movedTo: string;
  error: string;
}

/** The name a corrupt file is moved to: `config.json.corrupt-20261123T140000.123Z` (no colons: safe on any file system). */
export function corruptName(file: string, now: Date): string {
  return `${file}.corrupt-${now.toISOString().replace(/[-:]/g, '')}`;
}

/**
 * Check each of `files` in `dir` with its parser; one that exists and throws is renamed aside.
 * A missing file is fine (not every container has every file); other read errors propagate.
 */
export async function quarantineUnparsable(dir: string, parsers: Record<string, (text: string, file: string) => unknown>, now: () => Date = () => new Date()): Promise<Quarantined[]> {
  const moved: Quarantined[] = [];
  for (const [name, parse] of Object.entries(parsers)) {
    const file = path.join(dir, name);
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    try {
      parse(text, file);
    } catch (err) {
      const movedTo = corruptName(file, now());
      await fs.rename(file, movedTo);
      moved.push({ file, movedTo, error: (err as Error).message });
    }
  }
  return moved;
}
