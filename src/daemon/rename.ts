/**
 * Rename (moby's daemon/rename.go): a running or stopped container gets a new name. The store makes
 * it atomic towards a create of the same name (ContainerStore.rename); here the name is checked as
 * moby checks it, what the daemon holds in memory about the container follows, and Docker's `rename`
 * event says the old name.
 */
import { NameInUseError } from '../container/store.js';
import { ConflictError } from '../errors.js';
import type { DaemonContext } from './context.js';

/**
 * `newName` is checked by the caller (Docker's name rule, without the "/"). Throws
 * InvalidParameterError for the current name, ConflictError (moby's wording, with its "Error when
 * allocating new name: " before it) when another container holds the new name.
 */
export async function rename(d: DaemonContext, id: string, newName: string): Promise<void> {
  let renamed: Awaited<ReturnType<typeof d.store.rename>>;
  try {
    renamed = await d.store.rename(id, newName);
  } catch (err) {
    if (err instanceof NameInUseError) throw new ConflictError(`Error when allocating new name: ${err.message}`);
    throw err;
  }
  if (renamed.releaseError) d.log.warn('rename: cannot give the old name up; it is released at the next daemon start', { id, name: renamed.oldName, error: renamed.releaseError.message });
  // the events emitted from memory (a running container's `oom`, a client run's `start`) say the new name
  const rt = d.runtimes.peek(id);
  if (rt?.actor) rt.actor = { ...rt.actor, name: newName };
  // as Docker: the actor's name is the new one, oldName the old one with its "/"
  await d.emit('rename', id, { oldName: renamed.oldName === undefined ? '' : `/${renamed.oldName}` });
}
