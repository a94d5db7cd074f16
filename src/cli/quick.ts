/**
 * What bin/corral and the fast front run: the CLI as one CommonJS file (dist/src/cli/corral.cjs,
 * scripts/bundle.mjs) holding every command but the heavy ones, which it hands to the ES module bundle
 * (dist/src/cli/corral.mjs, whose own main runs them, with its own error classes). Node starts a
 * CommonJS entry about 10 ms sooner than an ES module one (no module loader, no file URL resolution),
 * a tenth of `corral ps`.
 */
import { main as quickMain } from './main.js';

/** The ES module bundle, beside this file once bundled (not resolved at build time). */
const ESM_BUNDLE = './corral.mjs';

export function main(argv: string[]): Promise<number> {
  return quickMain(argv, { handOff: async (all) => ((await import(ESM_BUNDLE)) as typeof import('./main.js')).main(all) });
}
