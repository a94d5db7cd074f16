/**
 * The sampler in a process of its own, for bench:sampling: `node dist/bench/sampler-alone.js ROOT
 * SECONDS [IDLE_MS [WARM_UP_SECONDS]]` samples the containers of state root ROOT every second, waits
 * WARM_UP_SECONDS (default 2), then prints
 * one JSON line with its process CPU time per second of wall time (user + system, every thread: the
 * garbage collector's too) and its readings over SECONDS. A fresh process, so that nothing of the
 * bench (HTTP clients, children, their garbage) is counted as sampling.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from '../src/log.js';
import { Sampler } from '../src/metrics/sampler.js';

const [root, secondsText, idleText, warmUpText] = process.argv.slice(2);
if (!root || !secondsText) throw new Error('usage: sampler-alone.js ROOT SECONDS [IDLE_MS [WARM_UP_SECONDS]]');
const seconds = Number(secondsText);
const sampler = new Sampler({ stateRoot: root, intervalMs: 1000, ...(idleText && idleText !== '-' ? { idleIntervalMs: Number(idleText) } : {}), log: createLogger({ level: 'error' }) });
await sampler.start();
await sleep(Number(warmUpText ?? 2) * 1000);
const h0 = { ...sampler.health };
const c0 = process.cpuUsage();
const t0 = performance.now();
await sleep(seconds * 1000);
const used = process.cpuUsage(c0);
const wall = (performance.now() - t0) / 1000;
const h1 = sampler.health;
await sampler.stop();
console.log(
  JSON.stringify({
    percent: ((used.user + used.system) / 1e6 / wall) * 100,
    insideTicksPercent: ((h1.cpuSeconds - h0.cpuSeconds) / wall) * 100,
    containers: h1.lastTickContainers,
    full: h1.fullReads - h0.fullReads,
    quiet: h1.quietReads - h0.quietReads,
  }),
);
