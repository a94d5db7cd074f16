/**
 * Who may use the daemon's socket: mode 0660, owner root, group `corral` when that group exists
 * (else root's group). A process of a user outside the group cannot connect (EACCES); one whose
 * group is the socket's can. The users are throwaway uid/gid numbers that exist nowhere (a child
 * process is started with them; no /etc/passwd or /etc/group change). As root; the same file runs
 * on the host and in the QEMU guest.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { createLogger } from '../../src/log.js';
import { SOCKET_GROUP, groupId, startApiServer } from '../../src/api/server.js';
import type { SystemFacts } from '../../src/api/system.js';
import { daemonScratch, startDaemonProcess, stopDaemonProcess, type DaemonProcess } from '../helpers/daemon.js';

if (process.getuid?.() !== 0) throw new Error('the integration tests need root: run them as root (sudo npm test)');

const execFileAsync = promisify(execFile);

/** A uid and gid no account has here (checked in `before`). */
const OUTSIDER = 61234;
/** Another unused gid, for a stand-in `corral` group. */
const STAND_IN_GROUP = 61235;

let tmp: string;
let daemon: DaemonProcess;

/**
 * Connect to `socket` from a child process running as uid:gid (with no supplementary groups: libuv
 * drops them when it sets the ids), send GET /_ping, and report "OK" or the errno code.
 */
async function connectAs(socket: string, uid: number, gid: number): Promise<string> {
  const script = `const s = require('node:net').connect(${JSON.stringify(socket)});
    let got = '';
    s.on('connect', () => s.write('GET /_ping HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n'));
    s.on('data', (d) => (got += d));
    s.on('end', () => console.log(/\\r\\n\\r\\nOK$/.test(got) ? 'OK' : 'unexpected answer: ' + JSON.stringify(got)));
    s.on('error', (e) => console.log(e.code));`;
  const { stdout } = await execFileAsync(process.execPath, ['-e', script], { uid, gid, cwd: '/', timeout: 30_000 });
  return stdout.trim();
}

before(async () => {
  for (const [file, id] of [
    ['/etc/passwd', 2],
    ['/etc/group', 2],
  ] as const) {
    const taken = fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .some((l) => [OUTSIDER, STAND_IN_GROUP].includes(Number(l.split(':')[id])));
    assert.equal(taken, false, `${file} has an entry with id ${OUTSIDER} or ${STAND_IN_GROUP}: this test needs ids that belong to no one`);
  }
  ({ tmp } = await daemonScratch('corral-socket-'));
  // mkdtemp makes 0700: the outsider must be stopped by the socket's mode, not by its directory
  fs.chmodSync(tmp, 0o755);
  daemon = await startDaemonProcess(path.join(tmp, 'root'), path.join(tmp, 'run', 'corral.sock'));
});

after(async () => {
  if (daemon) await stopDaemonProcess(daemon);
  fs.rmSync(tmp, { recursive: true, force: true });
});

test("the socket is 0660, owned by root, with group corral if it exists (else root's group)", () => {
  const st = fs.statSync(daemon.socket);
  assert.ok(st.isSocket());
  assert.equal(st.mode & 0o777, 0o660);
  assert.equal(st.uid, 0);
  const corralGid = groupId(fs.readFileSync('/etc/group', 'utf8'), SOCKET_GROUP);
  assert.equal(st.gid, corralGid ?? process.getegid!());
  // every directory above it can be searched by others: only the socket's own mode decides
  for (let dir = path.dirname(daemon.socket); dir !== '/'; dir = path.dirname(dir)) assert.equal(fs.statSync(dir).mode & 0o001, 0o001, `${dir} is not searchable by others`);
});

test("a user outside the socket's group cannot connect (EACCES); the same user in that group can", async () => {
  const socketGid = fs.statSync(daemon.socket).gid;
  assert.equal(await connectAs(daemon.socket, OUTSIDER, OUTSIDER), 'EACCES');
  assert.equal(await connectAs(daemon.socket, OUTSIDER, socketGid), 'OK');
  // and root, as the daemon's owner
  assert.equal(await connectAs(daemon.socket, 0, 0), 'OK');
});

test('with a corral group (a stand-in group file), its members can connect and others cannot', async () => {
  const socket = path.join(tmp, 'group.sock');
  const groupFile = path.join(tmp, 'group');
  fs.writeFileSync(groupFile, `root:x:0:\n${SOCKET_GROUP}:x:${STAND_IN_GROUP}:\n`);
  const server = await startApiServer({
    socketPath: socket,
    groupFile,
    facts: { stateRoot: path.join(tmp, 'root') } as SystemFacts,
    log: createLogger({ level: 'error', write: () => {} }),
    now: () => new Date(),
  });
  try {
    const st = fs.statSync(socket);
    assert.equal(st.gid, STAND_IN_GROUP);
    assert.equal(st.mode & 0o777, 0o660);
    assert.equal(await connectAs(socket, OUTSIDER, STAND_IN_GROUP), 'OK');
    assert.equal(await connectAs(socket, OUTSIDER, OUTSIDER), 'EACCES');
    // root's group is not the socket's group any more
    assert.equal(await connectAs(socket, OUTSIDER, 0), 'EACCES');
  } finally {
    await server.close();
  }
});

test("an idle keep-alive connection stays open past node's 5 s agent timeout, as dockerd's: a client reusing it is answered, never EPIPE", async () => {
  const http = await import('node:http');
  // the agent's own idle timeout is longer than the wait: only the server could close the socket
  const agent = new http.Agent({ keepAlive: true, timeout: 60_000 });
  const get = () =>
    new Promise<{ reused: boolean; body: string }>((resolve, reject) => {
      const req = http.get({ socketPath: daemon.socket, path: '/_ping', agent }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ reused: req.reusedSocket, body }));
      });
      req.on('error', reject);
    });
  try {
    assert.deepEqual(await get(), { reused: false, body: 'OK' });
    await new Promise((r) => setTimeout(r, 6500));
    assert.deepEqual(await get(), { reused: true, body: 'OK' }, 'the same connection, still open after 6.5 s idle');
  } finally {
    agent.destroy();
  }
});
