/** A reconcile inside the daemon (`corral daemon --config`): the Supervisor's own operations, no HTTP. */
import type { ContainerBackend } from './backend.js';
import { listContainerRecords } from '../container/records.js';
import type { ReconcileTarget } from '../workloads/reconcile.js';
import { existingContainer, LABEL_PROJECT } from '../workloads/service.js';

export function supervisorTarget(supervisor: ContainerBackend, stateRoot: string): ReconcileTarget {
  return {
    async list(project) {
      const { records } = await listContainerRecords(stateRoot);
      return records.filter((r) => r.labels?.[LABEL_PROJECT] === project).map((r) => existingContainer(r.id, r.status, r.name, r.labels ?? {}));
    },
    create: async (name, body) => (await supervisor.create(body, name)).id,
    async start(id) {
      await supervisor.start(id);
    },
    async stop(id, seconds) {
      await supervisor.stop(id, seconds);
    },
    remove: (id) => supervisor.remove(id, true),
  };
}
