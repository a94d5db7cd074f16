/**
 * The sampler's choice between a full reading and a quiet one, with a scripted stats reader: a container
 * whose activity counters (CPU time, memory charge) did not move since its last full reading gets a
 * sample carried from that reading, until --sample-idle-interval has passed; anything that moved, a
 * failed file, or an `update` makes the next reading full again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Sampler, idlePhase } from '../../../src/metrics/sampler.js';
import { createRegistry, exposition } from '../../../src/metrics/prometheus.js';
import { EventBus } from '../../../src/events.js';
import { createLogger } from '../../../src/log.js';
import { procStatStartTime } from '../../../src/container/records.js';
import type { ActivityReading, CgroupDriver, CgroupStats, CgroupStatsReader } from '../../../src/cgroups/types.js';
import { readActivity } from '../../../src/cgroups/collect.js';
import { preadsWithNode } from '../../../src/cgroups/file-batch.js';
import { OpenFileCgroupFs } from '../../../src/cgroups/open-files.js';
import type { Preads } from '../../../src/sys/preads.js';

const ID = 'c'.repeat(64);

/** An activity reading of these texts, as a stats reader's activity() gives it: the bytes one after the other. */
function activityOf(files: string[], texts: string[]): ActivityReading {
  const ends: number[] = [];
  for (const t of texts) ends.push((ends.at(-1) ?? 0) + t.length);
  return { files, bytes: Buffer.from(texts.join(''), 'latin1'), ends };
}

/** A reader whose counters the test sets; it counts what the sampler asked for. */
class ScriptedReader implements CgroupStatsReader {
  cpuUsec = 1000;
  memory = 4096;
  /** memory.stat's inactive_file: moves without the activity counters (page ageing) */
  inactiveFile = 100;
  failing = false;
  reads = 0;
  activities = 0;
  limitRefreshes = 0;
  lastKnown: ActivityReading | undefined;
  /** with `kept`: the files of the activity counters, which the sampler's chunk batch reads */
  activityFiles?: () => readonly string[] | undefined;
  private readonly files: readonly string[] = [];

  /** `kept`: the counters are files in `dir`, read on the sampler's kept descriptors (`fs`) */
  constructor(private readonly kept?: { fs: OpenFileCgroupFs; dir: string }) {
    if (kept) {
      this.files = ['cpu.stat', 'memory.current'].map((f) => path.join(kept.dir, f));
      this.activityFiles = () => (this.failing ? undefined : this.files);
    }
  }

  private texts(): string[] {
    return [`usage_usec ${this.cpuUsec}\n`, `${this.memory}\n`];
  }

  /** the counters into their files (before each tick: the batch reads them without asking this reader) */
  sync(): void {
    const texts = this.texts();
    for (const [i, f] of this.files.entries()) fs.writeFileSync(f, texts[i]!);
  }

  activity(): ActivityReading | undefined {
    this.activities++;
    if (this.failing) return undefined;
    if (!this.kept) return activityOf(['cpu.stat', 'memory.current'], this.texts());
    this.sync();
    return readActivity(this.kept.fs, this.files);
  }

  read(activity?: ActivityReading): CgroupStats {
    this.reads++;
    this.lastKnown = activity;
    if (this.failing) return { errors: [{ file: '/cg/memory.stat', message: 'read: EIO' }] };
    return { cpu: { usageUsec: this.cpuUsec }, memory: { current: this.memory, stat: { inactive_file: this.inactiveFile } }, errors: [] };
  }

  refreshLimits(): void {
    this.limitRefreshes++;
  }
}

/** A state root with one running container (this test process stands in for its workload). */
function stateRoot(): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'corral-sampler-'));
  const dir = path.join(root, 'containers', ID);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'config.json'),
    JSON.stringify({ id: ID, name: 'quiet', created: '2026-11-23T12:00:00.000Z', config: { isolation: { command: ['sleep', '1'], network: 'host', volumes: [] } } }),
  );
  fs.writeFileSync(path.join(dir, 'pid'), `${process.pid} ${procStatStartTime(fs.readFileSync('/proc/self/stat', 'utf8'))}\n`);
  return root;
}

/** `files`: the activity counters are files, read in the sampler's chunk batch (counted in `batched`) */
async function sampler(opts: { idleIntervalMs?: number; files?: boolean } = {}) {
  const root = stateRoot();
  const kept = new OpenFileCgroupFs();
  const reader = new ScriptedReader(opts.files ? { fs: kept, dir: root } : undefined);
  let batched = 0;
  const preads: Preads = (...args) => {
    batched++;
    return preadsWithNode(...args);
  };
  const driver = { mode: 'v2', open: () => ({ paths: { unified: root }, statsReader: () => reader }) } as unknown as CgroupDriver;
  // the first reading at the start of the container's own idle window
  const idle = opts.idleIntervalMs ?? 10_000;
  let now = 100 * idle - idlePhase(ID, idle);
  const events = new EventBus();
  reader.sync();
  const s = new Sampler({
    stateRoot: root,
    intervalMs: 1000,
    ...(opts.idleIntervalMs !== undefined ? { idleIntervalMs: opts.idleIntervalMs } : {}),
    fs: kept,
    preads,
    log: createLogger({ level: 'error' }),
    events,
    driverFor: async () => driver,
    now: () => now,
  });
  await s.start(); // the first tick: a full reading
  return {
    s,
    reader,
    events,
    latest: () => s.get(ID)!.latest!,
    /** the activity readings: the reader's own, and the chunk batch's */
    activityReadings: () => reader.activities + batched,
    batched: () => batched,
    /** one interval later, one tick */
    tick: async () => {
      now += 1000;
      reader.sync();
      await s.tick();
    },
    done: async () => {
      await s.stop();
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

for (const files of [false, true]) {
  const how = files ? 'read in the chunk batch' : "read by the container's reader";
  test(`a quiet container: its two activity files every tick (${how}), everything else from its last full reading`, async () => {
    const t = await sampler({ files });
    try {
      assert.equal(t.reader.reads, 1);
      const full = t.latest();
      await t.tick();
      await t.tick();
      assert.equal(t.reader.reads, 1, 'no full reading while nothing moved');
      assert.equal(t.activityReadings(), 3);
      if (files) assert.equal(t.batched(), 2, 'the first reading opens the files, the chunk batch reads them since');
      const quiet = t.latest();
      assert.equal(quiet.time, full.time + 2000, 'the sample is of this tick');
      assert.equal(quiet.cgroup, full.cgroup, "the counters are the full reading's");
      assert.deepEqual(t.s.health, { ...t.s.health, fullReads: 1, quietReads: 2 });

      // page ageing alone is not seen until the idle interval has passed...
      t.reader.inactiveFile = 50;
      for (let i = 0; i < 7; i++) await t.tick();
      assert.equal(t.latest().cgroup.memory?.stat?.inactive_file, 100);
      assert.equal(t.reader.reads, 1);
      // ...then a full reading (10 s after the last one), which passes on what activity() read
      await t.tick();
      assert.equal(t.reader.reads, 2);
      assert.equal(t.latest().cgroup.memory?.stat?.inactive_file, 50);
      assert.ok(
        t.reader.lastKnown?.files.some((f) => path.basename(f) === 'cpu.stat'),
        'read() got the activity texts, not to read them again',
      );
    } finally {
      await t.done();
    }
  });

  test(`CPU time or memory moving makes the next reading full; so does a failed file and an update (${how})`, async () => {
    const t = await sampler({ files });
    try {
      await t.tick();
      assert.equal(t.reader.reads, 1);
      t.reader.cpuUsec += 10;
      await t.tick();
      assert.equal(t.reader.reads, 2, 'CPU time moved');
      assert.equal(t.latest().cgroup.cpu?.usageUsec, 1010);
      t.reader.memory += 4096;
      t.reader.inactiveFile = 7;
      await t.tick();
      assert.equal(t.reader.reads, 3, 'memory moved');
      assert.equal(t.latest().cgroup.memory?.stat?.inactive_file, 7);
      await t.tick();
      assert.equal(t.reader.reads, 3, 'quiet again');

      // a reading with a failed file is never carried: the next one is full again
      t.reader.failing = true;
      await t.tick();
      assert.equal(t.reader.reads, 4);
      assert.equal(t.latest().errors.length, 1);
      t.reader.failing = false;
      await t.tick();
      assert.equal(t.reader.reads, 5, 'full after the failure');
      await t.tick();
      assert.equal(t.reader.reads, 5);

      // an update: the limits are read again, on a full reading
      t.events.container('update', { id: ID });
      // the update is handled asynchronously (it re-reads config.json): wait for it rather than a fixed
      // 50 ms, which a loaded machine may not meet
      const deadline = Date.now() + 10_000;
      while (t.reader.limitRefreshes === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.equal(t.reader.limitRefreshes, 1);
      await t.tick();
      assert.equal(t.reader.reads, 6, 'full after an update');
    } finally {
      await t.done();
    }
  });
}

test('containers started together spread their full readings over the idle interval', () => {
  const ids = Array.from({ length: 500 }, (_, i) => ((i * 2654435761) % 2 ** 32).toString(16).padStart(8, '0') + 'f'.repeat(56));
  const perSecond = new Map<number, number>();
  for (const id of ids) {
    const phase = idlePhase(id, 10_000);
    assert.ok(phase >= 0 && phase < 10_000);
    perSecond.set(Math.floor(phase / 1000), (perSecond.get(Math.floor(phase / 1000)) ?? 0) + 1);
  }
  // each of the 10 ticks of an idle interval gets a share, none a pile
  assert.equal(perSecond.size, 10);
  for (const n of perSecond.values()) assert.ok(n > 20 && n < 80, `${n} of 500 in one second`);
  assert.equal(idlePhase(ids[0]!, 10_000), idlePhase(ids[0]!, 10_000));
});

test('an idle interval at or below the interval reads every file every tick', async () => {
  const t = await sampler({ idleIntervalMs: 1000 });
  try {
    await t.tick();
    await t.tick();
    assert.equal(t.reader.reads, 3);
    assert.equal(t.activityReadings(), 0, 'no activity reading when it cannot spare one');
    assert.equal(t.s.health.quietReads, 0);
  } finally {
    await t.done();
  }
});

test('pause and unpause events: the container stays followed and sampled, only its paused mark changes', async () => {
  const t = await sampler();
  try {
    assert.equal(t.s.get(ID)?.paused, undefined);
    t.events.container('pause', { id: ID });
    await t.s.settled(ID);
    assert.deepEqual([t.s.get(ID)?.status, t.s.get(ID)?.paused], ['running', true]);
    const before = t.latest().time;
    await t.tick();
    assert.equal(t.latest().time, before + 1000, 'a paused container is still sampled (its counters stand still)');
    t.events.container('unpause', { id: ID });
    await t.s.settled(ID);
    assert.deepEqual([t.s.get(ID)?.status, t.s.get(ID)?.paused], ['running', false]);
  } finally {
    await t.done();
  }
});

test("a rename: the stats' name and the metrics' name label are the new one from the next sample; the samples stay", async () => {
  const t = await sampler();
  try {
    const registry = createRegistry(t.s);
    const workingSet = async () => (await exposition(registry)).split('\n').find((l) => l.startsWith('container_memory_working_set_bytes{'));
    assert.match((await workingSet()) ?? '', /name="quiet"/);
    const before = t.latest();
    // the daemon's event: the actor's name is the new one, oldName the old one with its "/"
    t.events.container('rename', { id: ID, name: 'loud', image: 'host' }, { oldName: '/quiet' });
    await t.s.settled(ID);
    assert.equal(t.s.get(ID)?.name, 'loud');
    assert.equal(t.latest(), before, 'the samples are kept');
    await t.tick();
    // one scrape's snapshot of the list is reused for 20 ms: this is the next scrape
    await new Promise((resolve) => setTimeout(resolve, 30));
    const line = (await workingSet()) ?? '';
    assert.match(line, /name="loud"/);
    assert.doesNotMatch(line, /quiet/);
  } finally {
    await t.done();
  }
});
