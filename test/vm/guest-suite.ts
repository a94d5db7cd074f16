/**
 * The cgroup v2 tier's guest runs: the integration suite inside QEMU guests. The guest has one
 * emulated CPU and is most of the suite's time, so the files go through a queue that two guests
 * share: `npm test` (test/run.mjs) starts the first at once in the background (guest-background.ts),
 * beside the host's tests; when the host's tests are done and a core is free, guest-suite.test.ts
 * boots a second that takes files from the same queue, then reports both. Each guest claims a file
 * by creating its directory in the queue (mkdir on the shared 9p checkout: atomic on the host), runs
 * it, records how long it took, and ends with the leak check of its own kernel. The recorded times
 * order the next run's queue longest first, so that the two guests end close together (a fresh
 * clone orders by test/vm/guest-file-ms.seed.json, a copy of a recent run's).
 */
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheDir, runInGuest, shQuote, type GuestResult } from './guest.js';

const INTEGRATION_FILES = readdirSync(fileURLToPath(new URL('../integration/', import.meta.url)))
  .filter((f) => f.endsWith('.test.js'))
  .sort()
  .map((f) => `dist/test/integration/${f}`);
/** Run by every guest after its files: its own kernel must be left clean. */
const LEAK_CHECK = 'dist/test/z-final/leaks.test.js';
/** A hang detector only, per guest, so with room for a loaded host (emulation has no second core to spare). */
export const GUEST_TIMEOUT_MS = 40 * 60_000;

/** Where test/run.mjs asks the background run to write its result. */
export const RESULT_ENV = 'CORRAL_GUEST_SUITE_RESULT';

export interface GuestSuiteResult extends GuestResult {
  /** how long this guest's whole run took, ms */
  elapsedMs: number;
}

/** The files of one suite run, and the shared directory the guests claim them in. */
export interface GuestQueue {
  dir: string;
  files: string[];
}

const durationsFile = (): string => join(cacheDir(), 'guest-file-ms.json');

/** A checked-in copy of a recent run's times, for a fresh clone (CI) that has no cache yet. */
const SEED_FILE = fileURLToPath(new URL('../../../test/vm/guest-file-ms.seed.json', import.meta.url));

async function recordedDurations(): Promise<Record<string, number>> {
  for (const file of [durationsFile(), SEED_FILE]) {
    try {
      return JSON.parse(await readFile(file, 'utf8')) as Record<string, number>;
    } catch {
      // absent or unreadable: the next source, else no order
    }
  }
  return {};
}

/**
 * The queue of a suite run: `id` names it, so that the background run and the test find the same
 * one. Files are ordered by the last recorded run, longest first (unknown ones first of all).
 */
export async function guestQueue(id: string): Promise<GuestQueue> {
  const dir = join(cacheDir(), 'queues', id);
  await mkdir(dir, { recursive: true });
  const ms = await recordedDurations();
  const files = [...INTEGRATION_FILES].sort((a, b) => (ms[b] ?? Infinity) - (ms[a] ?? Infinity) || a.localeCompare(b));
  return { dir, files };
}

/** The queue's id for a background result file: its directory's name, unique per run. */
export function queueIdOf(resultFile: string): string {
  return basename(join(resultFile, '..'));
}

/** The guest's shell loop: claim, run, record; then the leak check. Exit 1 if any file failed. */
function workerCommand(queue: GuestQueue): string {
  const node = 'node --test --test-reporter=tap --test-concurrency=1';
  return [
    `q=${shQuote(queue.dir)}; rc=0`,
    `for f in ${queue.files.map(shQuote).join(' ')}; do`,
    '  c="$q/$(basename "$f")"',
    '  mkdir "$c" 2>/dev/null || continue',
    '  t0=$(date +%s%N)',
    `  ${node} "$f" || rc=1`,
    '  echo $(( ($(date +%s%N) - t0) / 1000000 )) > "$c/ms"',
    'done',
    `${node} ${LEAK_CHECK} || rc=1`,
    'exit $rc',
  ].join('\n');
}

/** One guest taking files from `queue` until it is empty. */
export async function runGuestWorker(queue: GuestQueue): Promise<GuestSuiteResult> {
  const started = Date.now();
  const guest = await runInGuest(workerCommand(queue), {
    // the route fuzz runs its full 200 cases a route on the host; under emulation each case costs
    // ~10x, so the guest runs a 50-case sample of the same generators (same fixed seed)
    env: { CORRAL_TEST_CGROUP_MODE: 'v2', CORRAL_FUZZ_RUNS: process.env.CORRAL_GUEST_FUZZ_RUNS ?? '50' },
    timeoutMs: GUEST_TIMEOUT_MS,
  });
  return { ...guest, elapsedMs: Date.now() - started };
}

/** Whether some file of the queue is not claimed yet (else a second guest has nothing to do). */
export async function queueHasWork(queue: GuestQueue): Promise<boolean> {
  const claimed = new Set(await readdir(queue.dir));
  return queue.files.some((f) => !claimed.has(basename(f)));
}

/**
 * After the guests: the files no guest finished (claimed without a time: its guest died in it; or
 * never claimed). The finished files' times are recorded for the next run's order; the queue goes.
 */
export async function closeQueue(queue: GuestQueue): Promise<string[]> {
  const ms = await recordedDurations();
  const unfinished: string[] = [];
  for (const f of queue.files) {
    const took = Number(await readFile(join(queue.dir, basename(f), 'ms'), 'utf8').catch(() => 'NaN'));
    if (Number.isFinite(took)) ms[f] = took;
    else unfinished.push(f);
  }
  for (const f of Object.keys(ms)) if (!INTEGRATION_FILES.includes(f)) delete ms[f];
  await writeFile(`${durationsFile()}.tmp`, `${JSON.stringify(ms, null, 1)}\n`);
  await rename(`${durationsFile()}.tmp`, durationsFile());
  await rm(queue.dir, { recursive: true, force: true });
  await removeStaleQueues();
  return unfinished;
}

/** Queues of runs that were killed (older than a day) are removed by the next run. */
async function removeStaleQueues(): Promise<void> {
  const root = join(cacheDir(), 'queues');
  if (!existsSync(root)) return;
  for (const name of await readdir(root)) {
    const dir = join(root, name);
    const { mtimeMs } = await stat(dir);
    if (Date.now() - mtimeMs > 24 * 3600_000) await rm(dir, { recursive: true, force: true });
  }
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
