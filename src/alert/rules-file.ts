/**
 * The rules file on disk: read once at start (a bad file refuses the start), then watched (chokidar,
 * through the workloads file's watcher, which follows editors' rename-over saves). A reload that fails
 * keeps the rules in force and says why; the caller logs and counts it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { watchFile, type FileWatch } from '../workloads/file-watch.js';
import { defaultRules, parseRules, RulesFileError, type Rule } from './rules.js';

/** Read and parse a rules file; undefined `file`: the built-in rules. Throws RulesFileError. */
export function loadRules(file: string | undefined): Rule[] {
  if (file === undefined) return defaultRules();
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new RulesFileError(file, [{ line: 1, column: 1, path: '', reason: `cannot read the rules file: ${e.code ?? e.message}` }]);
  }
  return parseRules(text, file);
}

export interface RulesWatchOptions {
  /** the new rules, after a change that parsed */
  onRules: (rules: Rule[]) => void;
  /** a change that did not parse (the rules in force stay), or the watch's own failure */
  onError: (err: Error) => void;
}

/** Watch a rules file and reload it on every change. */
export function watchRules(file: string, options: RulesWatchOptions): Promise<FileWatch> {
  const absolute = path.resolve(file);
  return watchFile(absolute, {
    onChange: () => {
      let rules: Rule[];
      try {
        rules = loadRules(absolute);
      } catch (err) {
        options.onError(err as Error);
        return;
      }
      options.onRules(rules);
    },
    onError: options.onError,
  });
}
