/** examples/demo.yml, what `npm start` brings up: valid under create's own checks, with the limits the README promises. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { runConfigFromBody } from '../../../../src/container/config/body.js';
import type { HostFacts } from '../../../../src/container/config/run-flags.js';
import { loadWorkloads } from '../../../../src/workloads/load.js';

const DEMO = fileURLToPath(new URL('../../../../../examples/demo.yml', import.meta.url));

const facts: HostFacts = { onlineCpus: 2, effectiveCpus: [0, 1], effectiveMems: [0], deviceNumber: () => undefined, pathKind: () => undefined, getEnv: () => undefined };

test('the demo: five services, each passing create validation, with the limits the demo is about', async () => {
  const loaded = await loadWorkloads(DEMO, { check: (body, name) => runConfigFromBody(body, name, facts) });
  assert.equal(loaded.project, 'demo');
  const byName = Object.fromEntries(loaded.desired.map((d) => [d.service, d.body as { HostConfig: Record<string, unknown> }]));
  assert.deepEqual(Object.keys(byName).sort(), ['forkbomb', 'leaky', 'sleeper', 'web', 'worker']);
  assert.equal(byName.worker!.HostConfig.NanoCpus, 500_000_000);
  assert.equal(byName.leaky!.HostConfig.Memory, 64 * 1024 * 1024);
  assert.deepEqual(byName.leaky!.HostConfig.RestartPolicy, { Name: 'on-failure', MaximumRetryCount: 0 });
  assert.equal(byName.forkbomb!.HostConfig.PidsLimit, 64);
});
