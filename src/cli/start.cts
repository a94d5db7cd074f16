/**
 * The Node CLI's first file (CommonJS: dist/src/cli/start.cjs, which native/corral-front and bin/corral run):
 * it compiles the CLI (corral.cjs) with V8's code cache of it (corral.cjs.cache, made by
 * scripts/bundle.mjs from a run of the client commands), so that the functions a command runs are
 * not compiled again in every process (a few percent of `corral ps`). A missing cache, or one V8
 * refuses (another node built it, or other V8 flags), only means compiling as node would.
 *
 * A V8 startup snapshot (`node --snapshot-blob`) was measured instead: on Node 20 a process starting
 * from one, even an empty one, takes about a quarter longer than `node -e 0` (docs/benchmarks.md).
 */
import fs = require('node:fs');
import nodeModule = require('node:module');
import path = require('node:path');
import type vm = require('node:vm');

type HandOff = (argv: string[]) => Promise<number>;

/** What corral.cjs exports (src/cli/quick.ts). */
export interface Cli {
  main(argv: string[], handOff: HandOff): Promise<number>;
  run(argv: string[], handOff: HandOff): Promise<void>;
}

// not resolved at build time (tsc checks this file alone)
const ESM_BUNDLE = './corral.mjs';

/**
 * The heavy commands, in the ES module bundle beside this file. The import() is here, not in
 * corral.cjs: V8 drops a script's dynamic-import callback when it compiles the script from its code
 * cache (and vm's USE_MAIN_CONTEXT_DEFAULT_LOADER prints an ExperimentalWarning on Node 20).
 */
export const handOff: HandOff = async (argv) => ((await import(ESM_BUNDLE)) as { main: HandOff }).main(argv);

// as node wraps a CommonJS module (the cache is of this exact text)
const HEAD = '(function (exports, require, module, __filename, __dirname) { ';
const TAIL = '\n})';

/** corral.cjs (beside this file), compiled with its code cache when there is one that fits. */
export function loadCli(dir: string = __dirname): { cli: Cli; script: vm.Script } {
  const file = path.join(dir, 'corral.cjs');
  const source = fs.readFileSync(file, 'utf8');
  let cachedData: Buffer | undefined;
  try {
    cachedData = fs.readFileSync(`${file}.cache`);
  } catch {
    // not built: compile it all
  }
  // loaded here: a heavy command does not need it
  const { Script } = require('node:vm') as typeof vm;
  const script = new Script(HEAD + source + TAIL, { filename: file, ...(cachedData ? { cachedData } : {}) });
  const module = { exports: {} as Cli };
  (script.runInThisContext() as (...args: unknown[]) => void).call(module.exports, module.exports, nodeModule.createRequire(file), module, file, dir);
  return { cli: module.exports, script };
}

/** main.ts's HEAVY_COMMANDS (test/unit/cli/start.test.ts keeps the two equal). */
export const HEAVY_COMMANDS: readonly string[] = ['run', 'daemon', 'alert', 'exec', 'up', 'down', 'update', 'top'];

/**
 * The CLI as a program. A heavy command typed first (`corral run ...`) goes straight to the ES module
 * bundle, without loading corral.cjs, which would hand it there (as it does after global options).
 */
export async function runCli(argv: string[]): Promise<void> {
  if (argv[0] !== undefined && HEAVY_COMMANDS.includes(argv[0])) process.exitCode = await handOff(argv);
  else await loadCli().cli.run(argv, handOff);
}

if (require.main === module) void runCli(process.argv.slice(2));
