// Bundles the CLI into ES modules for bin/corral: the entry dist/src/cli/corral.mjs and, split off
// at the CLI's dynamic imports, one chunk per command's code (chunk-*.mjs beside it), so that each
// command reads a few files instead of ~60 modules (~20 ms less on the host, seconds less where the
// checkout is on a slow file system: the QEMU guest reads it over 9p) and loads only what it uses
// (`corral ps` loads no cgroup driver, prom-client or chokidar). koffi stays external (native addon,
// loaded lazily). The bundle sits at the same depth as dist/src/container/, so the launcher's
// relative path (../../../native/corral-launch) resolves the same from both.
import { readdirSync, rmSync } from 'node:fs';
import { build } from 'esbuild';

// chunks are named by content hash: remove the last build's, or they pile up (npm run build also starts from an empty dist/)
for (const f of readdirSync('dist/src/cli', { withFileTypes: true })) if (/^(chunk-.*|corral)\.mjs(\.map)?$/.test(f.name)) rmSync(`dist/src/cli/${f.name}`);

await build({
  entryPoints: { corral: 'src/cli/main.ts' },
  outdir: 'dist/src/cli',
  outExtension: { '.js': '.mjs' },
  chunkNames: 'chunk-[hash]',
  splitting: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['koffi'],
  sourcemap: true,
  logLevel: 'warning',
  // commander is CommonJS and calls require() for node builtins.
  banner: { js: "import { createRequire as __corralRequire } from 'node:module'; const require = __corralRequire(import.meta.url);" },
});
