/** docker commit --change instructions applied to an image's defaults. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyChanges } from '../../../src/images/dockerfile-change.js';

test('CMD and ENTRYPOINT in the JSON and the shell form; ENV in both forms, overriding by key; LABEL, WORKDIR (relative to the last), USER, STOPSIGNAL, EXPOSE, VOLUME', () => {
  const out = applyChanges({ Env: ['PATH=/bin', 'A=1'], WorkingDir: '/srv' }, [
    'CMD ["sh", "-c", "echo hi"]',
    'ENTRYPOINT /entry --flag',
    'ENV A=2 B="two words"',
    'ENV C three words',
    'LABEL org.example=yes',
    'WORKDIR app',
    'USER 1000:1000',
    'STOPSIGNAL SIGUSR1',
    'EXPOSE 80 53/udp',
    'VOLUME ["/data"]',
  ]);
  assert.deepEqual(out.Cmd, ['sh', '-c', 'echo hi']);
  assert.deepEqual(out.Entrypoint, ['/bin/sh', '-c', '/entry --flag']);
  assert.deepEqual(out.Env, ['PATH=/bin', 'A=2', 'B=two words', 'C=three words']);
  assert.deepEqual(out.Labels, { 'org.example': 'yes' });
  assert.equal(out.WorkingDir, '/srv/app');
  assert.equal(out.User, '1000:1000');
  assert.equal(out.StopSignal, 'SIGUSR1');
  assert.deepEqual(out.ExposedPorts, { '80/tcp': {}, '53/udp': {} });
  assert.deepEqual(out.Volumes, { '/data': {} });
});

test('the input is not changed; a bad instruction names itself and why', () => {
  const input = { Env: ['A=1'] };
  applyChanges(input, ['ENV A=2']);
  assert.deepEqual(input, { Env: ['A=1'] });
  assert.throws(() => applyChanges({}, ['RUN apt-get update']), /invalid change "RUN apt-get update": RUN is not one commit takes/);
  assert.throws(() => applyChanges({}, ['ENV']), /invalid change "ENV": expected KEY=VALUE or KEY VALUE/);
  assert.throws(() => applyChanges({}, ['CMD']), /invalid change "CMD": it needs a command/);
});
