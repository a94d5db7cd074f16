/**
 * The CLI as one CommonJS file (dist/src/cli/corral.cjs, scripts/bundle.mjs), which start.cts loads:
 * every command but the heavy ones, which it hands to the ES module bundle (dist/src/cli/corral.mjs,
 * whose own main runs them, with its own error classes). Node starts a CommonJS entry about 10 ms
 * sooner than an ES module one (no module loader, no file URL resolution), a tenth of `corral ps`.
 */
import { main as quickMain } from './main.js';
import { stderr, stdout } from './output.js';

/** Runs a heavy command (main.ts's HEAVY_COMMANDS) in the ES module bundle: start.cts's import(). */
export type HandOff = (argv: string[]) => Promise<number>;

/** The CLI's exit code for a command line (no exit: scripts/code-cache.mjs runs commands with it). */
export function main(argv: string[], handOff: HandOff): Promise<number> {
  return quickMain(argv, { handOff });
}

/**
 * The CLI as a program. A command run here is done once it returns and its output is written
 * (output.ts): the process exits then, instead of letting node tear its heap down first (~2 ms). A
 * handed-off command (run, daemon, ...) ends as node ends it, when nothing it started is left.
 */
export async function run(argv: string[], handOff: HandOff): Promise<void> {
  let handedOff = false;
  const code = await quickMain(argv, {
    handOff: (all) => {
      handedOff = true;
      return handOff(all);
    },
  });
  if (handedOff) {
    process.exitCode = code;
    return;
  }
  await Promise.all([stdout.flushed(), stderr.flushed()]);
  process.exit(code);
}
