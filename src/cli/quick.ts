/**
 * What bin/corral and the fast front run: the CLI as one CommonJS file (dist/src/cli/corral.cjs,
 * scripts/bundle.mjs) holding every command but the heavy ones, which it hands to the ES module bundle
 * (dist/src/cli/corral.mjs, whose own main runs them, with its own error classes). Node starts a
 * CommonJS entry about 10 ms sooner than an ES module one (no module loader, no file URL resolution),
 * a tenth of `corral ps`.
 */
import { main as quickMain } from './main.js';
import { stderr, stdout } from './output.js';

/** The ES module bundle, beside this file once bundled (not resolved at build time). */
const ESM_BUNDLE = './corral.mjs';

async function handOff(argv: string[]): Promise<number> {
  return ((await import(ESM_BUNDLE)) as typeof import('./main.js')).main(argv);
}

/**
 * The CLI as a program. A command run here is done once it returns and its output is written
 * (output.ts): the process exits then, instead of letting node tear its heap down first (~2 ms). A
 * handed-off command (run, daemon, ...) ends as node ends it, when nothing it started is left.
 */
export async function run(argv: string[]): Promise<void> {
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
