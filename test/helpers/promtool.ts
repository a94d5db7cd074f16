/** Running Prometheus's promtool from the tests; a missing promtool fails with the package to install. */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The repository root (this file is compiled to dist/test/helpers). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface PromtoolResult {
  status: number | null;
  output: string;
}

/** `promtool ...args` in `cwd` (stdin from `stdinFile`, for `check metrics`); throws a clear error when promtool is not installed. */
export function promtool(args: readonly string[], cwd: string = REPO_ROOT, stdinFile?: string): PromtoolResult {
  const input = stdinFile === undefined ? undefined : readFileSync(stdinFile);
  const r = spawnSync('promtool', args, { cwd, encoding: 'utf8', timeout: 60_000, ...(input ? { input } : {}) });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new Error('promtool not found on PATH: install the Debian package `prometheus` (apt-get install prometheus), which ships /usr/bin/promtool');
    }
    throw new Error(`run promtool ${args.join(' ')}: ${r.error.message}`);
  }
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}
