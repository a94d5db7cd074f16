import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatFloorList } from '../../../bench/sampler-files.js';

test('the floor list: host files, then per container its phase, activity files and the rest', () => {
  const text = formatFloorList({
    host: ['/proc/stat', '/sys/devices/system/cpu/online'],
    containers: [
      { id: 'a1', phase: 1234, activity: ['/cg/cpuacct/a1/cpuacct.usage', '/cg/memory/a1/memory.usage_in_bytes'], rest: ['/cg/memory/a1/memory.stat', '/proc/42/net/dev'] },
      { id: 'b2', phase: 0, activity: [], rest: ['/cg/b2/cpu.stat'] },
    ],
  });
  assert.equal(
    text,
    [
      'h /proc/stat',
      'h /sys/devices/system/cpu/online',
      'c 1234',
      'a /cg/cpuacct/a1/cpuacct.usage',
      'a /cg/memory/a1/memory.usage_in_bytes',
      'f /cg/memory/a1/memory.stat',
      'f /proc/42/net/dev',
      'c 0',
      'f /cg/b2/cpu.stat',
      '',
    ].join('\n'),
  );
});
