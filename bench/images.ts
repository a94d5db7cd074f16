/**
 * Images, on the host, against a real registry on 127.0.0.1 (Debian's docker-registry):
 *
 * 1. Pull and unpack a multi-layer image of about 50 MB (a busybox layer, four layers of 10 MiB of
 *    random data and 500 small text files each): corral's pull into a fresh store (the daemon's
 *    code, in this process: manifest, config, layers fetched three at once, verified, unpacked as
 *    they arrive) against its peer, `skopeo copy` to an OCI layout then `umoci unpack` of it, as
 *    their users run them; rounds alternate, the first one of each is a warm-up. Target: corral's
 *    median <= the peer's (ratio <= 1.0).
 * 2. A second image that shares all but its top layer: the pull fetches and unpacks that one layer
 *    only (counted from the progress messages), and its time.
 * 3. `corral run --rm IMAGE true` (a 10-layer image) against `corral run --rm --rootfs DIR true` (the
 *    same files as one directory), stand-alone, interleaved. Target: within 10% (layers are mounted,
 *    never copied).
 * 4. Disk: 20 images sharing one base layer, 100 containers made from them: the base layer is stored
 *    once (layer directories counted), and the store's bytes against the sum of the images' sizes.
 *
 * Usage: node dist/bench/images.js [--rounds N] [--run-rounds N]
 * Prints a table and, last, one JSON line. The registry, its data, every store and container and
 * the temp dir are removed at the end; processes are ended by PID.
 */
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { pullImage } from '../src/images/pull.js';
import { parseReference } from '../src/images/reference.js';
import { ImageStore, treeSize } from '../src/images/store.js';
import { loadSyscalls } from '../src/sys/syscalls.js';
import { createCgroupDriver } from '../src/cgroups/index.js';
import { CORRAL_BIN } from '../test/helpers/corral.js';
import { apiRequest, forceRemoveContainers, startDaemonProcess, stopDaemonProcess } from '../test/helpers/daemon.js';
import { busyboxLayer, buildImage, type LayerEntry } from '../test/helpers/oci-layout.js';
import { skopeoCopy, startRegistry } from '../test/helpers/registry.js';

const execFileAsync = promisify(execFile);
const JSON_MARKER = 'CORRAL_BENCH_JSON ';
const CGROUP_PARENT = `corral-bench-images-${process.pid}`;

function parseOptions(argv: string[]): { rounds: number; runRounds: number } {
  const o = { rounds: 5, runRounds: 20 };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const v = Number(argv[++i]);
    if (!Number.isInteger(v) || v < 2) throw new Error(`${flag} needs a whole number of at least 2`);
    if (flag === '--rounds') o.rounds = v;
    else if (flag === '--run-rounds') o.runRounds = v;
    else throw new Error(`unknown flag ${flag}: --rounds N, --run-rounds N`);
  }
  return o;
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** A data layer: 10 MiB of random bytes in four files, and 500 small text files. */
function dataLayer(n: number): LayerEntry[] {
  const entries: LayerEntry[] = [{ name: `data${n}/`, type: 'directory', mode: 0o755 }];
  for (let i = 0; i < 4; i++) entries.push({ name: `data${n}/blob${i}`, body: randomBytes(2.5 * 1024 * 1024) });
  for (let i = 0; i < 500; i++) entries.push({ name: `data${n}/text/${i}.txt`, body: `layer ${n} file ${i}\n`.repeat(20) });
  return entries;
}

function need(bin: string, pkg: string): void {
  if (!fs.existsSync(bin)) throw new Error(`${bin} is missing: install Debian's ${pkg}`);
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  need('/usr/bin/umoci', 'umoci');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'corral-bench-images-'));
  const registry = await startRegistry();
  const sys = await loadSyscalls();
  const result: Record<string, unknown> = {};
  try {
    // --- the images -----------------------------------------------------------------------------
    const base = await busyboxLayer();
    const layout = path.join(tmp, 'layout');
    const data = [1, 2, 3, 4].map(dataLayer);
    const big = await buildImage(layout, 'big', [base, ...data], { Cmd: ['true'] });
    await buildImage(layout, 'big2', [base, ...data.slice(0, 3), dataLayer(5)], { Cmd: ['true'] });
    const ten = [base, ...Array.from({ length: 9 }, (_, i): LayerEntry[] => [{ name: `etc/layer${i}`, body: `${i}\n` }])];
    await buildImage(layout, 'ten', ten, { Cmd: ['true'] });
    const blobBytes = big.layerDigests.reduce((n, d) => n + fs.statSync(path.join(layout, 'blobs/sha256', d.slice(7))).size, 0);
    for (const tag of ['big', 'big2', 'ten']) await skopeoCopy(`oci:${layout}:${tag}`, `docker://${registry.host}/bench/${tag}:v1`);
    const ref = (tag: string) => parseReference(`${registry.host}/bench/${tag}:v1`);

    // --- 1. pull and unpack against skopeo + umoci -----------------------------------------------
    const corralMs: number[] = [];
    const peerMs: number[] = [];
    for (let round = 0; round <= opts.rounds; round++) {
      const order = round % 2 === 0 ? ['corral', 'peer'] : ['peer', 'corral'];
      for (const who of order) {
        const dir = fs.mkdtempSync(path.join(tmp, `${who}-`));
        const started = performance.now();
        if (who === 'corral') {
          const store = await ImageStore.open(dir);
          await pullImage(store, sys, ref('big'), { insecureRegistries: [] });
        } else {
          await skopeoCopy(`docker://${registry.host}/bench/big:v1`, `oci:${dir}/oci:big`);
          await execFileAsync('umoci', ['unpack', '--image', `${dir}/oci:big`, `${dir}/bundle`], { maxBuffer: 16 << 20 });
        }
        const ms = performance.now() - started;
        if (round > 0) (who === 'corral' ? corralMs : peerMs).push(ms);
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
    const pull = { imageMiB: blobBytes / 1048576, layers: 5, corralMedianMs: median(corralMs), peerMedianMs: median(peerMs), ratio: median(corralMs) / median(peerMs), corralMs, peerMs };
    result.pull = pull;

    // --- 2. a second image sharing all but its top layer ------------------------------------------
    const shared = fs.mkdtempSync(path.join(tmp, 'shared-'));
    const store = await ImageStore.open(shared);
    await pullImage(store, sys, ref('big'), { insecureRegistries: [] });
    const statuses: string[] = [];
    const t0 = performance.now();
    await pullImage(store, sys, ref('big2'), { insecureRegistries: [], onProgress: (m) => m.status && statuses.push(m.status) });
    result.secondPull = {
      ms: performance.now() - t0,
      layersFetched: statuses.filter((s) => s === 'Pulling fs layer').length,
      layersAlreadyThere: statuses.filter((s) => s === 'Already exists').length,
    };

    // --- 3. run --rm IMAGE true against --rootfs DIR true ------------------------------------------
    const root = path.join(tmp, 'run-root');
    const nobody = `unix://${path.join(tmp, 'no-daemon.sock')}`;
    // bin/corral as a user types it; with no daemon on the socket it runs stand-alone
    const corral = (args: string[]) => spawnSync(CORRAL_BIN, ['--root', root, '-H', nobody, ...args], { encoding: 'utf8' });
    const image = `${registry.host}/bench/ten:v1`;
    const pulled = corral(['run', '--rm', '--cgroup-parent', CGROUP_PARENT, image, 'true']);
    if (pulled.status !== 0) throw new Error(`corral run ${image} failed: ${pulled.stderr}`);
    const flat = path.join(tmp, 'flat');
    fs.mkdirSync(flat);
    const imgStore = await ImageStore.open(root);
    const record = (await imgStore.images())[0]!;
    for (const chain of record.chainIds) spawnSync('cp', ['-a', `${imgStore.layerDiff(chain)}/.`, flat]);
    const imageMs: number[] = [];
    const rootfsMs: number[] = [];
    for (let round = 0; round <= opts.runRounds; round++) {
      for (const who of round % 2 === 0 ? ['image', 'rootfs'] : ['rootfs', 'image']) {
        const args = who === 'image' ? [image] : ['--rootfs', flat];
        const started = performance.now();
        const r = corral(['run', '--rm', '--cgroup-parent', CGROUP_PARENT, ...args, 'true']);
        const ms = performance.now() - started;
        if (r.status !== 0) throw new Error(`corral run ${args.join(' ')} true failed: ${r.stderr}`);
        if (round > 0) (who === 'image' ? imageMs : rootfsMs).push(ms);
      }
    }
    result.run = { layers: ten.length, imageMedianMs: median(imageMs), rootfsMedianMs: median(rootfsMs), ratio: median(imageMs) / median(rootfsMs) };

    // --- 4. disk: 20 images on one base, 100 containers ---------------------------------------------
    const disk = fs.mkdtempSync(path.join(tmp, 'disk-'));
    const diskStore = await ImageStore.open(disk);
    for (let i = 0; i < 20; i++) {
      await buildImage(layout, `d${i}`, [base, [{ name: `etc/d${i}`, body: `${i}\n` }]], { Cmd: ['true'] });
      await skopeoCopy(`oci:${layout}:d${i}`, `docker://${registry.host}/bench/d${i}:v1`);
      await pullImage(diskStore, sys, ref(`d${i}`), { insecureRegistries: [] });
    }
    // 100 containers made from them through a daemon on that root: they reference the layers
    const socket = path.join(tmp, 'disk.sock');
    const daemon = await startDaemonProcess(disk, socket, ['--log-level', 'error', '--metrics-addr', 'none']);
    try {
      for (let i = 0; i < 100; i++) {
        const r = await apiRequest(socket, 'POST', '/containers/create', { Image: `${registry.host}/bench/d${i % 20}:v1`, Cmd: ['true'], HostConfig: { CgroupParent: CGROUP_PARENT } });
        if (r.status !== 201) throw new Error(`create ${i}: ${r.status} ${r.body}`);
      }
      result.containers = { made: 100, layerDirsWithThem: (await diskStore.layerIds()).length };
      await forceRemoveContainers(socket);
    } finally {
      await stopDaemonProcess(daemon);
    }
    const images = await diskStore.images();
    const baseChain = images[0]!.chainIds[0]!;
    const sumOfSizes = images.reduce((n, r) => n + r.size, 0);
    const storeBytes = await treeSize(path.join(disk, 'images', 'layers'));
    result.disk = {
      images: images.length,
      baseLayerDirs: (await diskStore.layerIds()).filter((id) => id === baseChain).length,
      layerDirs: (await diskStore.layerIds()).length,
      storeMiB: storeBytes / 1048576,
      imagesSumMiB: sumOfSizes / 1048576,
    };

    // --- the table ------------------------------------------------------------------------------
    const f = (n: number) => n.toFixed(0).padStart(7);
    process.stdout.write(
      [
        `pull + unpack, ${pull.imageMiB.toFixed(1)} MiB compressed in ${pull.layers} layers (median of ${opts.rounds}):`,
        `  corral pull          ${f(pull.corralMedianMs)} ms`,
        `  skopeo copy + umoci  ${f(pull.peerMedianMs)} ms`,
        `  ratio                ${pull.ratio.toFixed(2)}  (target <= 1.0)`,
        `second pull sharing all but the top layer: ${(result.secondPull as { layersFetched: number }).layersFetched} layer fetched, ${(result.secondPull as { layersAlreadyThere: number }).layersAlreadyThere} already there, ${f((result.secondPull as { ms: number }).ms)} ms`,
        `run --rm ... true, stand-alone (median of ${opts.runRounds}):`,
        `  a ${ten.length}-layer image    ${f((result.run as { imageMedianMs: number }).imageMedianMs)} ms`,
        `  --rootfs DIR         ${f((result.run as { rootfsMedianMs: number }).rootfsMedianMs)} ms`,
        `  ratio                ${(result.run as { ratio: number }).ratio.toFixed(2)}  (target <= 1.10)`,
        `disk: ${images.length} images on one base, 100 containers made from them: the base stored ${(result.disk as { baseLayerDirs: number }).baseLayerDirs} time(s), ${(result.containers as { layerDirsWithThem: number }).layerDirsWithThem} layer directories with the containers; layers ${(result.disk as { storeMiB: number }).storeMiB.toFixed(1)} MiB against ${(result.disk as { imagesSumMiB: number }).imagesSumMiB.toFixed(1)} MiB of image sizes`,
        '',
      ].join('\n'),
    );
    process.stdout.write(`${JSON_MARKER}${JSON.stringify(result)}\n`);
  } finally {
    await registry.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
    const driver = await createCgroupDriver({ parent: CGROUP_PARENT });
    for (const name of await driver.list()) await driver.open(name).destroy();
    await driver.removeParentIfEmpty();
  }
}

await main();
