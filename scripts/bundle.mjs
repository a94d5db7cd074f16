// Bundles the CLI for bin/corral, in two files and a few chunks:
//
//   - dist/src/cli/corral.cjs: the entry bin/corral and the fast front run (src/cli/quick.ts), one
//     CommonJS file with every command but the heavy ones (main.ts's HEAVY_COMMANDS). Node starts a
//     CommonJS entry sooner than an ES module one, and one file is read at once;
//   - dist/src/cli/corral.mjs: the whole CLI as ES modules (src/cli/main.ts), to which corral.cjs hands
//     the heavy commands: split at the CLI's dynamic imports, one chunk per command's code
//     (chunk-*.mjs beside it), so that `corral run` or `corral daemon` reads a few files instead of
//     ~60 modules (~20 ms less on the host, seconds less where the checkout is on a slow file system:
//     the QEMU guest reads it over 9p) and loads only what it uses.
//
// koffi, blessed and systeminformation stay external (a native addon; packages that require their own files at run time; loaded by corral top only). The bundles sit at the same depth as
// dist/src/container/, so the launcher's relative path (../../../native/corral-launch) resolves the
// same from both.
import { spawnSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { build } from 'esbuild';

// chunks are named by content hash: remove the last build's, or they pile up (npm run build also starts from an empty dist/)
for (const f of readdirSync('dist/src/cli', { withFileTypes: true })) if (/^(chunk-.*|corral)\.(mjs|cjs)(\.map|\.cache)?$/.test(f.name)) rmSync(`dist/src/cli/${f.name}`);

const common = { bundle: true, platform: 'node', target: 'node20', external: ['koffi', 'blessed', 'systeminformation'], sourcemap: true, logLevel: 'warning' };

await build({
  ...common,
  entryPoints: { corral: 'src/cli/main.ts' },
  outdir: 'dist/src/cli',
  outExtension: { '.js': '.mjs' },
  chunkNames: 'chunk-[hash]',
  splitting: true,
  format: 'esm',
  // commander is CommonJS and calls require() for node builtins.
  banner: { js: "import { createRequire as __corralRequire } from 'node:module'; const require = __corralRequire(import.meta.url);" },
});

// The modules of HEAVY_COMMANDS, as main.ts imports them: in corral.cjs, a stub (main.ts hands those
// commands to corral.mjs before it would load them).
const HEAVY_MODULES = /^\.\/(run-command|daemon|exec|up|commands\/update|commands\/alert|top\/command)\.js$/;
// Packages corral.cjs must not carry (each is the code of a heavy command); the build fails if one creeps in.
const NOT_IN_QUICK = /node_modules\/(commander|yaml|chokidar|prom-client|koffi|blessed|systeminformation)\/|src\/(daemon|api|alert|cgroups|isolate|workloads|metrics\/(sampler|prometheus)|cli\/top\/)/;

const quick = await build({
  ...common,
  entryPoints: ['src/cli/quick.ts'],
  outfile: 'dist/src/cli/corral.cjs',
  format: 'cjs',
  metafile: true,
  // parse.ts loads commander (only for --help or an unusual command line) from beside the bundle
  define: { 'import.meta.url': '__filename' },
  // run as a program (the front: `node corral.cjs ARGS`), it runs the CLI; required (bin/corral), it exports it
  footer: { js: 'if (require.main === module) module.exports.run(process.argv.slice(2));' },
  plugins: [
    {
      name: 'heavy-commands',
      setup(b) {
        b.onResolve({ filter: HEAVY_MODULES }, (args) => (args.importer.endsWith('src/cli/main.ts') ? { path: args.path, namespace: 'heavy' } : undefined));
        b.onLoad({ filter: /.*/, namespace: 'heavy' }, (args) => ({
          contents: `throw new Error(${JSON.stringify(`${args.path} is not in corral.cjs: main.ts hands its command to corral.mjs`)});`,
          loader: 'js',
        }));
      },
    },
  ],
});
const carried = Object.keys(quick.metafile.inputs).filter((f) => NOT_IN_QUICK.test(f));
if (carried.length) throw new Error(`dist/src/cli/corral.cjs carries a heavy command's code: ${carried.join(', ')} (add its module to HEAVY_MODULES and its command to HEAVY_COMMANDS)`);

// V8's code cache of corral.cjs, from a run of the client commands (scripts/code-cache.mjs; their output is not shown)
const cache = spawnSync(process.execPath, ['scripts/code-cache.mjs'], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
if (cache.status !== 0) throw new Error(`scripts/code-cache.mjs exited ${cache.status}: ${cache.stderr}`);
