#!/usr/bin/env node
/**
 * The first guest in the background, for test/run.mjs: `node dist/test/vm/guest-background.js FILE`
 * runs the queue of FILE's run (see guest-suite.ts) and writes the outcome to FILE, where
 * guest-suite.test.ts reads it.
 */
import { guestQueue, queueIdOf, runGuestWorker, writeResult } from './guest-suite.js';

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: node dist/test/vm/guest-background.js RESULT-FILE\n');
  process.exit(2);
}
// guest.ts kills its qemu on exit; a signal's default would end this process without an exit
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(128 + (signal === 'SIGINT' ? 2 : 15)));
try {
  await writeResult(file, { ok: true, result: await runGuestWorker(await guestQueue(queueIdOf(file))) });
} catch (err) {
  await writeResult(file, { ok: false, error: (err as Error).stack ?? String(err) });
}
