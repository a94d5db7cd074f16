/**
 * The cgroup v2 tier's one guest run: the integration suite inside the QEMU guest. `npm test`
 * (test/run.mjs) starts it in the background at once (guest-background.ts), so that the guest
 * (one emulated CPU, about 15 minutes) runs beside the host's unit and integration tests instead of
 * after them; guest-suite.test.ts then reports its result. Run on its own, the test runs it itself.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { runInGuest, type GuestResult } from './guest.js';

const GUEST_FILES = [
  ...readdirSync(fileURLToPath(new URL('../integration/', import.meta.url)))
    .filter((f) => f.endsWith('.test.js'))
    .sort()
    .map((f) => `dist/test/integration/${f}`),
  'dist/test/z-final/leaks.test.js',
];
// about 15 minutes on an idle build machine; a hang detector only, so with room for a loaded host
// (emulation has no second core to spare)
export const GUEST_TIMEOUT_MS = 40 * 60_000;

/** Where test/run.mjs asks the background run to write its result. */
export const RESULT_ENV = 'CORRAL_GUEST_SUITE_RESULT';

export interface GuestSuiteResult extends GuestResult {
  /** how long the whole guest run took, ms */
  elapsedMs: number;
}

export async function runGuestSuite(): Promise<GuestSuiteResult> {
  const started = Date.now();
  const guest = await runInGuest(`node --test --test-reporter=tap --test-concurrency=1 ${GUEST_FILES.join(' ')}`, {
    // the route fuzz runs its full 200 cases a route on the host; under emulation each case costs
    // ~10x, so the guest runs a 50-case sample of the same generators (same fixed seed)
    env: { CORRAL_TEST_CGROUP_MODE: 'v2', CORRAL_FUZZ_RUNS: process.env.CORRAL_GUEST_FUZZ_RUNS ?? '50' },
    timeoutMs: GUEST_TIMEOUT_MS,
  });
  return { ...guest, elapsedMs: Date.now() - started };
}

/** The background run's file: the result, or the error that stopped the guest. */
type ResultFile = { ok: true; result: GuestSuiteResult } | { ok: false; error: string };

export async function writeResult(file: string, outcome: ResultFile): Promise<void> {
  // complete or absent: the reader polls for the file
  await writeFile(`${file}.tmp`, JSON.stringify(outcome));
  await rename(`${file}.tmp`, file);
}

/** Wait for the background run's result file (polled each second) and return its result, or throw its error. */
export async function awaitResult(file: string, timeoutMs: number): Promise<GuestSuiteResult> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (text !== undefined) {
      const outcome = JSON.parse(text) as ResultFile;
      if (!outcome.ok) throw new Error(`the background guest run failed: ${outcome.error}`);
      return outcome.result;
    }
    if (Date.now() > deadline) throw new Error(`no result from the background guest run in ${file} after ${timeoutMs / 60_000} minutes`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}
