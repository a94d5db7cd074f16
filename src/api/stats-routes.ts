/**
 * Container stats from the sampler's cache, in the Docker Engine API's shape:
 *
 * - `GET /containers/{id}/stats?stream=1` (the default): one JSON object per line, the first at once
 *   (with `precpu_stats` from the cached previous sample, so a client has a CPU % from the first
 *   object, where Docker's first has none), then one per sampling tick, until the client goes away or
 *   the container is removed.
 * - `stream=0`: one object with `precpu_stats` filled, as Docker's (a container started less than a
 *   tick ago waits for its second sample, one just started for its first: never all zeros for a
 *   running container). `one-shot=1` (with `stream=0`): the latest sample alone,
 *   `precpu_stats` Docker's zero value. A container that does not run gets Docker's empty stats.
 * - `GET /containers/stats` (corral's own): an array with one such object per running container
 *   (`all=1`: every container), answered from the cache without waiting; what `corral stats` polls.
 *   `working-set=1`: each object without `precpu_stats` and with only the memory.stat keys the
 *   working set needs (corral alert's ticks). Each object also has corral's own `pressure` (the cgroup's PSI: cpu, memory, io, each `some` and
 *   `full` avg10/avg60/avg300/total) where the kernel gives it, which `corral alert` reads.
 *   Its JSON text is made once per sampler version (a tick, a container event) and reused until the
 *   next: ~1 MB and ~20 ms of CPU for 500 containers, the same for every client of one tick.
 */
import type { CgroupMode } from '../cgroups/types.js';
import { dockerStats, dockerStatsJson, leanStats, pressureStats } from '../metrics/docker-stats.js';
import type { DockerStats } from '../metrics/docker-stats-types.js';
import type { TrackedContainer } from '../metrics/sample.js';
import type { Sampler } from '../metrics/sampler.js';
import { ApiError } from './errors.js';
import type { ContainerBackend } from '../daemon/backend.js';
import type { RouteContext } from './router.js';
import { parseContainerRef, queryBool } from './validate.js';

export interface StatsDeps {
  sampler: Sampler;
  /** the last GET /containers/stats texts (see allStatsRoute); made by the route when absent */
  allStatsCache?: Map<string, { version: number; body: string }>;
  /** bytes: the limit Docker reports for an unlimited container */
  hostMemory: number;
  mode: CgroupMode;
}

function statsOf(deps: StatsDeps, id: string, c: TrackedContainer | undefined, withPrevious: boolean): DockerStats {
  const subject = { id, mode: deps.mode, ...(c?.name !== undefined ? { name: c.name } : {}) };
  return dockerStats(subject, c?.latest, withPrevious ? c?.previous : undefined, deps.hostMemory);
}

function send(ctx: RouteContext, body: string): void {
  ctx.res.statusCode = 200;
  ctx.res.setHeader('Content-Type', 'application/json');
  ctx.res.setHeader('Content-Length', Buffer.byteLength(body));
  ctx.res.end(body);
}

/** At most this many ticks are waited for a running container's samples (its cgroup may be going). */
const MAX_TICKS_WAITED = 3;

/**
 * Wait until a running container has `count` samples (1: the latest; 2: with the one before, for
 * precpu_stats): its start followed first (the start's own sample), then tick by tick.
 */
async function firstSamples(sampler: Sampler, id: string, count: 1 | 2): Promise<void> {
  await sampler.settled(id);
  for (let ticks = 0; ticks < MAX_TICKS_WAITED; ticks++) {
    const c = sampler.get(id);
    if (c?.latest && (count === 1 || c.previous)) return;
    await sampler.nextTick();
  }
}

export async function containerStatsRoute(sup: ContainerBackend, deps: StatsDeps, ctx: RouteContext): Promise<void> {
  const id = await sup.resolve(parseContainerRef(ctx.params.id!));
  const record = await sup.record(id);
  const stream = ctx.query.has('stream') ? queryBool(ctx.query, 'stream') : true;
  const oneShot = queryBool(ctx.query, 'one-shot');
  // Docker's own check and wording
  if (stream && oneShot) throw new ApiError(400, 'cannot have stream=true and one-shot=true');
  const { sampler } = deps;
  if (!stream) {
    if (record.status === 'running') await firstSamples(sampler, id, oneShot ? 1 : 2);
    send(ctx, dockerStatsJson(statsOf(deps, id, sampler.get(id), !oneShot)) + '\n');
    return;
  }
  ctx.res.statusCode = 200;
  ctx.res.setHeader('Content-Type', 'application/json');
  ctx.res.flushHeaders();
  if (record.status === 'running') await firstSamples(sampler, id, 1);
  let open = true;
  ctx.res.once('close', () => (open = false));
  // a container the daemon knows, or one whose record still exists (created before the sampler saw it)
  const exists = async () =>
    sampler.get(id) !== undefined ||
    (await sup.record(id).then(
      () => true,
      () => false,
    ));
  while (open && (await exists())) {
    ctx.res.write(dockerStatsJson(statsOf(deps, id, sampler.get(id), true)) + '\n');
    await Promise.race([sampler.nextTick(), new Promise<void>((resolve) => ctx.res.once('close', resolve))]);
  }
  ctx.res.end();
}

export function allStatsRoute(deps: StatsDeps, ctx: RouteContext): void {
  const all = queryBool(ctx.query, 'all');
  // corral's own: only what the working set and the counters need (leanStats)
  const lean = queryBool(ctx.query, 'working-set');
  const key = `${all ? 'all' : 'running'}${lean ? '-lean' : ''}`;
  deps.allStatsCache ??= new Map();
  const cache = deps.allStatsCache;
  const version = deps.sampler.version;
  let cached = cache.get(key);
  if (cached?.version !== version) {
    const list = deps.sampler
      .list()
      .filter((c) => all || c.status === 'running')
      .sort((a, b) => (a.name ?? a.id).localeCompare(b.name ?? b.id))
      .map((c) => {
        // corral's own field (PSI, for corral alert's memory pressure rule); not on the Docker route
        const pressure = pressureStats(c.latest);
        const full = statsOf(deps, c.id, c, true);
        const stats = lean ? leanStats(full) : full;
        return pressure ? { ...stats, pressure } : stats;
      });
    cached = { version, body: dockerStatsJson(list) + '\n' };
    cache.set(key, cached);
  }
  send(ctx, cached.body);
}
