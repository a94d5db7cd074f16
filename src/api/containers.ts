/**
 * Container routes. This slice serves the list (`GET /containers/json`) from the state directory's
 * records, and defines what `POST /containers/create` takes (the lifecycle routes are in
 * lifecycle-routes.ts).
 */
import type { ContainerRecord } from '../container/records.js';
import { dockerState, imageNameOf, listContainerRecords } from '../container/records.js';
import { humanDuration } from '../container/format.js';
import { ApiError } from './errors.js';
import { quoteInput } from '../errors.js';
import type { RouteContext } from './router.js';
import { sendJson } from './router.js';
import { matchesFilterPattern, parseFilters, queryBool, queryInt, type ObjectSchema } from './validate.js';
import type { Logger } from '../log.js';
import type { ContainerBackend } from '../daemon/backend.js';
import { type ContainerSize, containerSize, imageSizes } from '../daemon/disk-usage.js';
import type { ImageService } from '../daemon/images.js';

/** Docker's State names, valid in the `status` filter. */
export const DOCKER_STATES = ['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'] as const;

/** The filters Docker accepts on /containers/json, and those corral applies. */
const DOCKER_PS_FILTERS = ['ancestor', 'before', 'exited', 'health', 'id', 'isolation', 'is-task', 'label', 'name', 'network', 'publish', 'expose', 'since', 'status', 'volume'];
const CORRAL_PS_FILTERS = ['exited', 'id', 'label', 'name', 'status'];

/** Docker's State.String(): "Up 5 minutes", "Up 5 minutes (Paused)", "Exited (0) 2 hours ago", "Created", "Dead". */
export function dockerStatus(record: ContainerRecord, now: Date): string {
  switch (record.status) {
    case 'running': {
      const up = `Up ${humanDuration(now.getTime() - (record.startedAt ?? record.created).getTime())}`;
      return record.paused ? `${up} (Paused)` : up;
    }
    case 'exited':
      return record.finishedAt ? `Exited (${record.exitCode ?? 0}) ${humanDuration(now.getTime() - record.finishedAt.getTime())} ago` : '';
    case 'restarting':
      return record.finishedAt ? `Restarting (${record.exitCode ?? 0}) ${humanDuration(now.getTime() - record.finishedAt.getTime())} ago` : 'Restarting';
    case 'created':
      return 'Created';
    case 'dead':
      return 'Dead';
  }
}

/** Docker's Command column: the arguments joined by spaces, those with a space in single quotes. */
export function dockerCommand(command: readonly string[]): string {
  return command.map((arg, i) => (i > 0 && arg.includes(' ') ? `'${arg}'` : arg)).join(' ');
}

/**
 * One entry of GET /containers/json, in Docker's shape (compare v1.41-containers-json.json); with
 * `size` (?size=1, system df) its SizeRw (left out when 0, as Go's omitempty) and SizeRootFs.
 */
export function containerSummary(record: ContainerRecord, now: Date, size?: ContainerSize): Record<string, unknown> {
  return {
    Id: record.id,
    Names: record.name !== undefined ? [`/${record.name}`] : [],
    Image: imageNameOf(record),
    ImageID: record.image?.id ?? '',
    Command: dockerCommand(record.command),
    Created: Math.floor(record.created.getTime() / 1000),
    Ports: [],
    ...(size && size.rw > 0 ? { SizeRw: size.rw } : {}),
    ...(size ? { SizeRootFs: size.rootFs } : {}),
    Labels: record.labels ?? {},
    State: dockerState(record),
    Status: dockerStatus(record, now),
    HostConfig: { NetworkMode: record.network },
    NetworkSettings: {
      Networks: {
        [record.network]: {
          IPAMConfig: null,
          Links: null,
          Aliases: null,
          NetworkID: '',
          EndpointID: '',
          Gateway: '',
          IPAddress: '',
          IPPrefixLen: 0,
          IPv6Gateway: '',
          GlobalIPv6Address: '',
          GlobalIPv6PrefixLen: 0,
          MacAddress: '',
          DriverOpts: null,
        },
      },
    },
    Mounts: record.volumes.map((v) => ({
      Type: 'bind',
      Source: v.source,
      Destination: v.target,
      Mode: v.readOnly ? 'ro' : '',
      RW: !v.readOnly,
      Propagation: 'rprivate',
    })),
  };
}

export interface ListOptions {
  all: boolean;
  /** at most this many; undefined = no limit */
  limit?: number;
  filters: Map<string, string[]>;
}

/** The list query (`all`, `limit`, `filters`) checked against what Docker and corral accept. */
export function parseListQuery(query: URLSearchParams): ListOptions {
  const filters = parseFilters(query.get('filters'));
  for (const [key, values] of filters) {
    if (!DOCKER_PS_FILTERS.includes(key)) throw new ApiError(400, `Invalid filter ${quoteInput(key)}`);
    if (!CORRAL_PS_FILTERS.includes(key)) throw new ApiError(400, `the ${quoteInput(key)} filter is not supported by corral yet (supported: ${CORRAL_PS_FILTERS.join(', ')})`);
    for (const value of values) {
      if (key === 'status' && !(DOCKER_STATES as readonly string[]).includes(value)) throw new ApiError(400, `Invalid filter 'status=${value.slice(0, 80)}'`);
      if (key === 'exited' && !/^-?\d{1,10}$/.test(value)) throw new ApiError(400, `Invalid filter 'exited=${value.slice(0, 80)}': expected an exit code`);
    }
  }
  // -1 is Docker's "no limit"; limit > 0 and a status filter include stopped containers, as Docker does
  const limit = queryInt(query, 'limit', -1, 1_000_000);
  const all = queryBool(query, 'all') || (limit !== undefined && limit > 0) || filters.has('status');
  return { all, filters, ...(limit !== undefined && limit > 0 ? { limit } : {}) };
}

/**
 * Docker's label filter value: `key` (the label is set, any value) or `key=value` (set to exactly
 * that); a container must match every label filter given.
 */
export function hasLabel(labels: Readonly<Record<string, string>>, filter: string): boolean {
  const eq = filter.indexOf('=');
  if (eq < 0) return Object.hasOwn(labels, filter);
  const key = filter.slice(0, eq);
  return Object.hasOwn(labels, key) && labels[key] === filter.slice(eq + 1);
}

/** Docker's includeContainerInList for the filters corral applies (pure). */
export function selectContainers(records: readonly ContainerRecord[], options: ListOptions): ContainerRecord[] {
  const f = options.filters;
  const matchAny = (key: string, value: string) => (f.get(key) ?? []).some((p) => matchesFilterPattern(p, value));
  const selected = records.filter((r) => {
    // Docker counts a restarting container as running (State.Running stays true during the back-off),
    // and a paused one (status running with `paused`)
    if (!options.all && r.status !== 'running' && r.status !== 'restarting') return false;
    if (f.has('name') && !matchAny('name', `/${r.name ?? ''}`)) return false;
    if (f.has('id') && !matchAny('id', r.id)) return false;
    if (f.has('label') && !f.get('label')!.every((l) => hasLabel(r.labels ?? {}, l))) return false;
    if (f.has('exited') && (r.status !== 'exited' || !f.get('exited')!.some((c) => Number(c) === r.exitCode))) return false;
    // by Docker's state name: `running` is not `paused`
    if (f.has('status') && !f.get('status')!.includes(dockerState(r))) return false;
    return true;
  });
  return options.limit !== undefined ? selected.slice(0, options.limit) : selected;
}

export interface ContainerRoutesDeps {
  stateRoot: string;
  now: () => Date;
  log: Logger;
  /** the image store, for ?size=1 (a container's root counts its image's layers) */
  images?: ImageService;
}

export async function listContainers(ctx: RouteContext, deps: ContainerRoutesDeps): Promise<void> {
  const options = parseListQuery(ctx.query);
  const { records, errors } = await listContainerRecords(deps.stateRoot);
  for (const e of errors) deps.log.warn('unreadable container record', { id: e.id, error: e.message });
  const now = deps.now();
  const selected = selectContainers(records, options);
  if (!queryBool(ctx.query, 'size') || !deps.images) {
    sendJson(
      ctx.res,
      200,
      selected.map((r) => containerSummary(r, now)),
    );
    return;
  }
  const sizes = await imageSizes(await deps.images.store());
  const out = [];
  for (const r of selected) out.push(containerSummary(r, now, await containerSize(deps.stateRoot, r, sizes)));
  sendJson(ctx.res, 200, out);
}

/** The filters Docker's container prune takes, and those corral applies. */
const DOCKER_PRUNE_FILTERS = ['label', 'label!', 'until'];
const CORRAL_PRUNE_FILTERS = ['label', 'label!'];

/**
 * POST /containers/prune, Docker's route: every container that does not run goes (with `label`, those
 * with every label given; with `label!`, those with none of them); answers the removed ids (null for
 * none, as Docker) and the bytes of their writable layers.
 */
export async function pruneContainers(ctx: RouteContext, sup: ContainerBackend): Promise<void> {
  const filters = parseFilters(ctx.query.get('filters'));
  for (const key of filters.keys()) {
    if (!DOCKER_PRUNE_FILTERS.includes(key)) throw new ApiError(400, `Invalid filter ${quoteInput(key)}`);
    if (!CORRAL_PRUNE_FILTERS.includes(key)) throw new ApiError(400, `the ${quoteInput(key)} filter is not supported by corral yet (supported: ${CORRAL_PRUNE_FILTERS.join(', ')})`);
  }
  const { deleted, reclaimed } = await sup.prune((r) => {
    const labels = r.labels ?? {};
    return (filters.get('label') ?? []).every((l) => hasLabel(labels, l)) && !(filters.get('label!') ?? []).some((l) => hasLabel(labels, l));
  });
  sendJson(ctx.res, 200, { ContainersDeleted: deleted.length > 0 ? deleted : null, SpaceReclaimed: reclaimed });
}

/**
 * Fields clients send in a create body that are not Docker's (v1.41) and that Docker ignores, as
 * corral does, without a warning: dockerode sends its options both as the query and as the body, so
 * `name` too (the name is the query's, as for Docker); its run() sends `VolumesFrom` at the top level,
 * where only API versions before 1.10 had it (HostConfig.VolumesFrom is checked with HostConfig).
 */
export const QUIET_CREATE_FIELDS = ['name', 'VolumesFrom'];

/**
 * The top level of Docker's create body (v1.41): container.Config, plus HostConfig and
 * NetworkingConfig (their own fields are checked with the operations that use them).
 */
export const CREATE_BODY_SCHEMA: ObjectSchema = {
  Hostname: 'string',
  Domainname: 'string',
  User: 'string',
  AttachStdin: 'boolean',
  AttachStdout: 'boolean',
  AttachStderr: 'boolean',
  ExposedPorts: 'object',
  Tty: 'boolean',
  OpenStdin: 'boolean',
  StdinOnce: 'boolean',
  Env: 'string[]',
  Cmd: 'strslice',
  Healthcheck: 'object',
  ArgsEscaped: 'boolean',
  Image: 'string',
  Volumes: 'object',
  WorkingDir: 'string',
  Entrypoint: 'strslice',
  NetworkDisabled: 'boolean',
  MacAddress: 'string',
  OnBuild: 'string[]',
  Labels: 'map<string>',
  StopSignal: 'string',
  StopTimeout: 'integer',
  Shell: 'strslice',
  HostConfig: 'object',
  NetworkingConfig: 'object',
};
