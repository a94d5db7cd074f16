/**
 * What the image tests through the daemon share: a registry (Debian's docker-registry) holding the
 * images a test builds, pushed by skopeo from an OCI layout, and a daemon of its own; containers
 * removed after each test, everything stopped at the end.
 */
import fs from 'node:fs';
import path from 'node:path';
import { stopAllCorrals } from './corral.js';
import { daemonScratch, forceRemoveContainers, startTestDaemon, type DaemonScratch, type TestDaemon } from './daemon.js';
import { buildImage, type LayerEntry } from './oci-layout.js';
import { skopeoCopy, startRegistry, type TestRegistry } from './registry.js';

export interface TestImage {
  /** the repository path in the registry, with its tag: `test/bb:v1` */
  name: string;
  layers: LayerEntry[][];
  config?: Record<string, unknown>;
}

export interface ImageTestbed {
  registry: TestRegistry;
  scratch: DaemonScratch;
  daemon: TestDaemon;
  /** each image's full reference (`127.0.0.1:PORT/test/bb:v1`), by its name */
  refs: Record<string, string>;
  removeContainers(): Promise<void>;
  stop(): Promise<void>;
}

export async function startImageTestbed(prefix: string, images: readonly TestImage[]): Promise<ImageTestbed> {
  const registry = await startRegistry();
  const layoutDir = fs.mkdtempSync(`/tmp/${prefix}layout-`);
  const refs: Record<string, string> = {};
  try {
    for (const [i, image] of images.entries()) {
      await buildImage(path.join(layoutDir, 'oci'), `t${i}`, image.layers, image.config ?? {});
      refs[image.name] = `${registry.host}/${image.name}`;
      await skopeoCopy(`oci:${path.join(layoutDir, 'oci')}:t${i}`, `docker://${refs[image.name]}`);
    }
  } finally {
    fs.rmSync(layoutDir, { recursive: true, force: true });
  }
  const scratch = await daemonScratch(prefix);
  const daemon = await startTestDaemon(scratch.root, scratch.socket);
  return {
    registry,
    scratch,
    daemon,
    refs,
    async removeContainers() {
      await forceRemoveContainers(scratch.socket);
    },
    async stop() {
      await daemon.stop();
      await stopAllCorrals();
      await registry.stop();
      fs.rmSync(scratch.tmp, { recursive: true, force: true });
    },
  };
}
