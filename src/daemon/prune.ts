/** Docker's container prune: remove every container that does not run and that a filter keeps. */
import { listContainerRecords, NoSuchContainerError, type ContainerRecord } from '../container/records.js';
import { ConflictError } from '../errors.js';
import type { DaemonContext } from './context.js';
import { remove } from './remove.js';

/**
 * Every container that does not run (created, exited, dead) and that `select` keeps is removed; one
 * that started meanwhile, or went, is left out. Returns the removed ids and the bytes of their
 * writable layers.
 */
export async function prune(d: DaemonContext, select: (r: ContainerRecord) => boolean): Promise<{ deleted: string[]; reclaimed: number }> {
  const { records } = await listContainerRecords(d.store.root);
  const deleted: string[] = [];
  let reclaimed = 0;
  for (const r of records) {
    if (r.status === 'running' || r.status === 'restarting' || !select(r)) continue;
    const bytes = await d.store.writableLayerBytes(r.id);
    try {
      await remove(d, r.id, false);
    } catch (err) {
      if (err instanceof ConflictError || err instanceof NoSuchContainerError) continue;
      throw err;
    }
    deleted.push(r.id);
    reclaimed += bytes;
  }
  return { deleted, reclaimed };
}
