/** A reconcile through the daemon's API (`corral up`, `corral down`): Docker's endpoints, as the Docker CLI would call them. */
import { call } from '../client/client.js';
import type { ReconcileTarget } from './reconcile.js';
import { existingContainer, LABEL_PROJECT } from './service.js';

interface ListEntry {
  Id: string;
  Names?: string[];
  Labels?: Record<string, string>;
  State: string;
}

export function apiTarget(socketPath: string): ReconcileTarget {
  const id = (text: string) => encodeURIComponent(text);
  return {
    async list(project) {
      const filters = encodeURIComponent(JSON.stringify({ label: [`${LABEL_PROJECT}=${project}`] }));
      const { body } = await call<ListEntry[]>(socketPath, { method: 'GET', path: `/containers/json?all=1&filters=${filters}` });
      return body.map((c) => existingContainer(c.Id, c.State, c.Names?.[0]?.replace(/^\//, ''), c.Labels ?? {}));
    },
    async create(name, body) {
      const { body: created } = await call<{ Id: string }>(socketPath, { method: 'POST', path: `/containers/create?name=${id(name)}`, body });
      return created.Id;
    },
    async start(container) {
      await call(socketPath, { method: 'POST', path: `/containers/${id(container)}/start` });
    },
    async stop(container, seconds) {
      await call(socketPath, { method: 'POST', path: `/containers/${id(container)}/stop?t=${seconds}` });
    },
    async remove(container) {
      // force: a container that restarted (or started) since it was stopped still goes
      await call(socketPath, { method: 'DELETE', path: `/containers/${id(container)}?force=1` });
    },
  };
}
