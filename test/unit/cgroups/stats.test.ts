/** Each controller's stats reader on directories of captured kernel files (test/fixtures/cgroup). */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { posix as path } from 'node:path';
import { NodeCgroupFs } from '../../../src/cgroups/cgroupfs.js';
import { CgroupDir, StatsCollector } from '../../../src/cgroups/collect.js';
import * as v1blkio from '../../../src/cgroups/v1/blkio.js';
import * as v1cpu from '../../../src/cgroups/v1/cpu.js';
import * as v1cpuacct from '../../../src/cgroups/v1/cpuacct.js';
import * as v1memory from '../../../src/cgroups/v1/memory.js';
import * as v2cpu from '../../../src/cgroups/v2/cpu.js';
import * as v2io from '../../../src/cgroups/v2/io.js';
import * as v2memory from '../../../src/cgroups/v2/memory.js';
import { parseNestedKeyed } from '../../../src/cgroups/parse.js';
import { fixture, fixtureDir } from '../../helpers/cgroup-fixtures.js';

const fs = new NodeCgroupFs();

describe('v1 stats from captured files', () => {
  const dir = fixtureDir('v1');
  const files = new CgroupDir(dir);
  test('cpuacct (ns -> us) and cpu throttling', async () => {
    const c = new StatsCollector(fs);
    assert.deepEqual(v1cpuacct.stats(files, c), { usageUsec: 162540, userUsec: 167979, systemUsec: 24000 });
    assert.deepEqual(v1cpu.stats(files, c), { nrPeriods: 18, nrThrottled: 16, throttledUsec: 1394546 });
    assert.deepEqual(c.errors, []);
  });
  test('memory', async () => {
    const c = new StatsCollector(fs);
    const m = v1memory.stats(files, c, v1memory.limit(files, c));
    assert.deepEqual(c.errors, []);
    assert.equal(m?.current, 602112);
    assert.equal(m?.peak, 12136448);
    assert.equal(m?.max, 67108864);
    assert.deepEqual(m?.events, { oomKill: 0 });
    assert.equal(m?.stat?.cache, 131072);
    assert.equal(await v1memory.oomKillCount(dir, c), 0);
  });
  test('blkio: bytes and operations per device', async () => {
    const c = new StatsCollector(fs);
    assert.deepEqual(v1blkio.stats(files, c), {
      devices: [{ major: 254, minor: 0, rbytes: 6537216, wbytes: 4194304, dbytes: 0, rios: 552, wios: 64, dios: 0 }],
    });
  });
  test('current limits: the unlimited memsw reads as max', async () => {
    const c = new StatsCollector(fs);
    assert.deepEqual(await v1memory.currentLimits(dir, c), { limit: 67108864, memsw: 'max' });
  });
});

describe('v2 stats from captured files (QEMU guest, kernel 6.1)', () => {
  const dir = path.join(fixtureDir('v2'), 'guest-6.1');
  const files = new CgroupDir(dir);
  test('cpu.stat with the cpu controller', async () => {
    const c = new StatsCollector(fs);
    assert.deepEqual(v2cpu.stats(files, c), {
      usageUsec: 2578763,
      userUsec: 728692,
      systemUsec: 1850070,
      nrPeriods: 54,
      nrThrottled: 51,
      throttledUsec: 2437277,
    });
    assert.equal(v2cpu.pressure(files, c), undefined, 'cpu.pressure not captured: absent is data');
    assert.deepEqual(c.errors, []);
  });
  test('memory: what is there is read, what is missing is an error, never a 0', async () => {
    const c = new StatsCollector(fs);
    const m = v2memory.stats(files, c, v2memory.limit(files, c));
    assert.equal(m?.current, undefined);
    assert.equal(m?.max, undefined);
    assert.equal(m?.peak, 33554432);
    assert.deepEqual(m?.events, { low: 0, high: 0, max: 161, oom: 2, oomKill: 2, oomGroupKill: 0 });
    assert.equal(m?.stat?.file, 16384);
    assert.deepEqual(c.errors.map((e) => path.basename(e.file)).sort(), ['memory.current', 'memory.max']);
    assert.match(c.errors[0]?.message ?? '', /^read .*\/guest-6\.1\/memory\.(current|max): ENOENT$/);
    assert.equal(await v2memory.oomKillCount(dir, c), 2);
    assert.equal(v2memory.pressure(files, c)?.some.total, 143483);
  });
  test('io.stat devices (opencontainers data)', () => {
    assert.deepEqual(v2io.ioStatDevices(parseNestedKeyed(fixture('v2', 'io.stat'))), [
      { major: 254, minor: 1, rbytes: 6901432320, wbytes: 14245535744, rios: 263278, wios: 248603, dbytes: 0, dios: 0 },
      { major: 254, minor: 0, rbytes: 2702336, wbytes: 0, rios: 97, wios: 0, dbytes: 0, dios: 0 },
      { major: 259, minor: 0, rbytes: 6911345664, wbytes: 14245536256, rios: 264538, wios: 244914, dbytes: 530485248, dios: 2 },
    ]);
  });
});
