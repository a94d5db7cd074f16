/**
 * The host facts that `corral run`'s flags are validated against, read once from the cgroup the
 * containers will be created under and from the file system.
 */
import os from 'node:os';
import fs from 'node:fs';
import { parseCpuList } from '../../cgroups/parse.js';
import type { CgroupDriver } from '../../cgroups/types.js';
import type { HostFacts } from './run-flags.js';

export async function hostFacts(driver: CgroupDriver): Promise<HostFacts> {
  const parent = await driver.parentInfo();
  const effectiveCpus = parseCpuList(parent.effectiveCpus);
  return {
    onlineCpus: effectiveCpus.length || os.availableParallelism(),
    effectiveCpus,
    effectiveMems: parseCpuList(parent.effectiveMems),
    deviceNumber(path: string) {
      try {
        const st = fs.statSync(path);
        if (!st.isBlockDevice()) return undefined;
        // glibc's major()/minor() for the 64-bit dev_t
        const rdev = BigInt(st.rdev);
        const major = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
        const minor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
        return { major, minor };
      } catch {
        return undefined;
      }
    },
    pathKind(path: string) {
      try {
        return fs.statSync(path).isDirectory() ? 'dir' : 'file';
      } catch {
        return undefined;
      }
    },
    getEnv(name: string) {
      return process.env[name];
    },
    readTextFile(path: string) {
      return fs.readFileSync(path, 'utf8');
    },
  };
}
