/**
 * A real registry for the image tests: Debian's `docker-registry` (distribution 2.8), started on
 * 127.0.0.1 with a temporary storage directory, stopped by its PID; and skopeo to push OCI layouts
 * into it. A missing package fails the test with the package's name.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { freePort } from './ports.js';

const execFileAsync = promisify(execFile);

export const REGISTRY_BIN = '/usr/bin/docker-registry';

export interface TestRegistry {
  /** `127.0.0.1:PORT` */
  host: string;
  dir: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

function need(bin: string, pkg: string): void {
  if (!fs.existsSync(bin)) throw new Error(`${bin} is missing: install Debian's ${pkg} (apt-get install ${pkg})`);
}

/** Start a registry; `auth` adds the registry's own config section (htpasswd, token). */
export async function startRegistry(auth?: Record<string, unknown>): Promise<TestRegistry> {
  need(REGISTRY_BIN, 'docker-registry');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'corral-registry-'));
  const port = await freePort();
  const config = {
    version: 0.1,
    log: { level: 'error', accesslog: { disabled: true } },
    storage: { filesystem: { rootdirectory: path.join(dir, 'data') }, delete: { enabled: true } },
    http: { addr: `127.0.0.1:${port}` },
    ...(auth ? { auth } : {}),
  };
  // YAML is a superset of JSON
  fs.writeFileSync(path.join(dir, 'config.yml'), JSON.stringify(config));
  const child = spawn(REGISTRY_BIN, ['serve', path.join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const host = `127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited ${child.exitCode}: ${stderr}`);
    const up = await fetch(`http://${host}/v2/`).then(
      (r) => r.status === 200 || r.status === 401,
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`docker-registry did not answer on ${host} within 15 s: ${stderr}`);
    }
    await sleep(50);
  }
  return {
    host,
    dir,
    child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([exited, sleep(5000)]);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const SKOPEO_BIN = '/usr/bin/skopeo';

/** skopeo copy between two transports (`oci:DIR:TAG`, `docker://HOST/NAME:TAG`), TLS off for the test registry. */
export async function skopeoCopy(from: string, to: string, extra: string[] = []): Promise<void> {
  need(SKOPEO_BIN, 'skopeo');
  await execFileAsync(SKOPEO_BIN, ['copy', '--quiet', '--src-tls-verify=false', '--dest-tls-verify=false', ...extra, from, to], { maxBuffer: 16 << 20 });
}
