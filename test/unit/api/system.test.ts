import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { API_VERSION, MIN_API_VERSION, goArch, infoBody, parseOsRelease, versionBody, type SystemFacts } from '../../../src/api/system.js';
import { groupId } from '../../../src/api/server.js';
import { CORRAL_VERSION } from '../../../src/version.js';
import { dockerFixture } from '../../helpers/http.js';
import { REPO } from '../../helpers/corral.js';

const FACTS: SystemFacts = {
  engineId: '6f93d682-bbf1-4c19-8149-cc641c98cfb0',
  stateRoot: '/var/lib/corral',
  cgroupMode: 'v2',
  controllers: ['cpu', 'cpuset', 'memory', 'pids', 'io'],
  swapLimit: true,
  kernelVersion: '6.1.0-56-amd64',
  operatingSystem: 'Debian GNU/Linux 12 (bookworm)',
  osVersion: '12',
  machine: 'x86_64',
  arch: 'amd64',
  ncpu: 2,
  memTotal: 4105367552,
  hostname: 'box',
  launcherPath: '/usr/local/lib/corral/native/corral-launch',
  debug: false,
};

const NOW = { containers: { total: 4, running: 1, paused: 1, stopped: 2 }, nfd: 12, now: new Date('2026-11-23T12:09:46.596Z'), ipv4Forwarding: true, env: {} };

function keys(value: unknown): string[] {
  return Object.keys(value as object).sort();
}

test("corral's version is package.json's", () => {
  assert.equal(CORRAL_VERSION, (JSON.parse(fs.readFileSync(`${REPO}/package.json`, 'utf8')) as { version: string }).version);
});

test("/version has Docker's fields, with corral's values", () => {
  const docker = JSON.parse(dockerFixture('v1.41-version.json')) as Record<string, unknown>;
  const body = versionBody(FACTS);
  assert.deepEqual(keys(body), keys(docker));
  const engine = (body.Components as { Name: string; Details: object }[])[0]!;
  assert.equal(engine.Name, 'Engine');
  assert.deepEqual(keys(engine.Details), keys((docker.Components as { Details: object }[])[0]!.Details));
  assert.equal(body.ApiVersion, API_VERSION);
  assert.equal(body.MinAPIVersion, MIN_API_VERSION);
  assert.equal(body.Version, CORRAL_VERSION);
  assert.equal(body.KernelVersion, '6.1.0-56-amd64');
  assert.equal(body.Arch, 'amd64');
  assert.equal(body.Os, 'linux');
});

test("/info has Docker's fields (all but NGoroutines: there are none), with corral's values", () => {
  const docker = JSON.parse(dockerFixture('v1.41-info.json')) as Record<string, unknown>;
  const body = infoBody(FACTS, NOW);
  assert.deepEqual(
    keys(body),
    keys(docker).filter((k) => k !== 'NGoroutines'),
  );
  for (const k of Object.keys(body)) assert.equal(typeof body[k], typeof docker[k], `type of ${k}`);
  assert.deepEqual([body.Containers, body.ContainersRunning, body.ContainersStopped, body.ContainersPaused, body.Images], [4, 1, 2, 1, 0]);
  assert.equal(body.CgroupDriver, 'cgroupfs');
  // the driver every container's log uses, as inspect's HostConfig.LogConfig.Type says
  assert.equal(body.LoggingDriver, 'json-file');
  assert.deepEqual((body.Plugins as { Log: string[] }).Log, ['json-file']);
  assert.equal(body.CgroupVersion, '2');
  assert.equal(infoBody({ ...FACTS, cgroupMode: 'v1' }, NOW).CgroupVersion, '1');
  assert.equal(body.DockerRootDir, '/var/lib/corral');
  assert.equal(body.Name, 'box');
  assert.equal(body.NCPU, 2);
  assert.equal(body.MemTotal, 4105367552);
  assert.equal(body.Architecture, 'x86_64');
  assert.equal(body.SystemTime, '2026-11-23T12:09:46.596Z');
  assert.deepEqual(body.Warnings, []);
  assert.deepEqual((body.Swarm as { LocalNodeState: string }).LocalNodeState, 'inactive');
  // Docker's first entry names its seccomp profile ("default" in the 20.10 fixture, "builtin" since 23.0)
  assert.match((docker.SecurityOptions as string[])[0]!, /^name=seccomp,profile=/);
  assert.deepEqual(body.SecurityOptions, ['name=seccomp,profile=builtin', 'name=cgroupns', 'name=no-new-privileges']);
});

test("/info says what the cgroups cannot limit, in Docker's warnings", () => {
  const body = infoBody({ ...FACTS, controllers: ['cpu', 'memory'], swapLimit: false }, NOW);
  assert.deepEqual([body.MemoryLimit, body.SwapLimit, body.CpuCfsQuota, body.CPUSet, body.PidsLimit], [true, false, true, false, false]);
  assert.deepEqual(body.Warnings, ['WARNING: No swap limit support', 'WARNING: No cpuset support', 'WARNING: No pids limit support']);
});

test('/etc/os-release, GOARCH names, /etc/group', () => {
  const osRelease = parseOsRelease('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME=\'Debian\'\nVERSION_ID="12"\n# comment\nBAD LINE\nX="a \\"b\\""\n');
  assert.deepEqual(
    [...osRelease],
    [
      ['PRETTY_NAME', 'Debian GNU/Linux 12 (bookworm)'],
      ['NAME', 'Debian'],
      ['VERSION_ID', '12'],
      ['X', 'a "b"'],
    ],
  );
  assert.deepEqual(['x64', 'arm64', 'ia32', 'mips'].map(goArch), ['amd64', 'arm64', '386', 'mips']);
  const group = 'root:x:0:\ndocker:x:999:alice\ncorral:x:998:bob,carol\ncorralx:x:5:\nbroken:x:y:\n';
  assert.equal(groupId(group, 'corral'), 998);
  assert.equal(groupId(group, 'root'), 0);
  assert.equal(groupId(group, 'nope'), undefined);
  assert.equal(groupId(group, 'broken'), undefined);
});
