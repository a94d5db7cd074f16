/** `corral system df`'s table from Docker's own /system/df answer (test/fixtures/docker-api, Docker 20.10), by docker/cli's sums. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DISK_USAGE_HEADERS, DISK_USAGE_TABLE, diskUsageRows } from '../../../../src/cli/format/disk-usage.js';
import { parseDockerFormat, renderRows } from '../../../../src/cli/format/template.js';
import { repoRoot } from '../../../vm/guest.js';

const df = JSON.parse(readFileSync(join(repoRoot(), 'test', 'fixtures', 'docker-api', 'v1.41-system-df.json'), 'utf8'));

test("docker system df's rows for Docker's answer: the used image's layers are not reclaimable, the committed one's are; two running containers of four", () => {
  const table = renderRows(parseDockerFormat('--format', 'table', DISK_USAGE_TABLE, DISK_USAGE_HEADERS), DISK_USAGE_HEADERS, diskUsageRows(df));
  assert.equal(
    table,
    [
      'TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE',
      'Images          2         1         1.984MB   1.984MB (100%)',
      'Containers      4         2         4B        0B (0%)',
      'Local Volumes   0         0         0B        0B',
      'Build Cache     0         0         0B        0B',
      '',
    ].join('\n'),
  );
});

test('nothing at all: sizes without a percentage', () => {
  const rows = diskUsageRows({ LayersSize: 0, Images: [], Containers: [] });
  assert.deepEqual(rows[0], { Type: 'Images', TotalCount: '0', Active: '0', Size: '0B', Reclaimable: '0B' });
  assert.deepEqual(rows[1], { Type: 'Containers', TotalCount: '0', Active: '0', Size: '0B', Reclaimable: '0B' });
});
