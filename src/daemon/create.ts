/** Create: validate a Docker create body and make the container (state dir, cgroup, launcher spec), not started. */
import type { RunConfig } from '../container/config/run-flags.js';
import { HOST_CONFIG_FIELDS, unsupportedNamingFlag } from '../container/config/fields.js';
import { checkHonourable, dockerFieldOf, obj, runConfigFromBody } from '../container/config/body.js';
import { newContainerId } from '../container/ids.js';
import { discardedOnMode } from '../container/config/mode.js';
import { createContainer as createStored } from '../container/run.js';
import { InvalidArgumentError, InvalidParameterError } from '../errors.js';
import type { DaemonContext } from './context.js';

/** A `corral run` flag's error as a 400 naming the Docker field the client sent. */
export function fieldError(err: unknown): unknown {
  if (err instanceof InvalidArgumentError) {
    const field = dockerFieldOf(err.flag);
    return new InvalidParameterError(`${field}: ${err.message}`);
  }
  // a limit this host cannot apply names the field the client sent, with the kernel file
  return unsupportedNamingFlag(err, dockerFieldOf);
}

/**
 * Everything create checks before it makes anything: the body's values (runConfigFromBody, with
 * this daemon's host facts) and the limits against the cgroup driver. Errors are thrown as found
 * (InvalidArgumentError, InvalidLimitError, UnsupportedError), not yet as API errors.
 */
export async function checkCreate(d: DaemonContext, body: Record<string, unknown>, name: string | undefined): Promise<RunConfig> {
  // the body's own checks first, as dockerd verifies the settings before it looks the image up
  checkHonourable(body);
  const image = isImageName(body.Image) ? await d.images.defaultsFor(body.Image) : undefined;
  // an image's name is not a --rootfs directory: the body goes on without it
  const asked = image ? runConfigFromBody({ ...body, Image: undefined }, name, await d.hostFacts(), image) : runConfigFromBody(body, name, await d.hostFacts());
  const driver = await d.driver(asked.cgroupParent);
  // what this mode discards with a warning (--oom-kill-disable on v2) is not planned
  await driver.plan(discardedOnMode(asked, driver.mode).config.resources);
  return asked;
}

/** Docker's Image names an image unless it is corral's "host", empty, or a rootfs directory's path. */
export function isImageName(value: unknown): value is string {
  return typeof value === 'string' && value !== '' && value !== 'host' && !value.startsWith('/');
}

/** Create: the new container's id and Docker's Warnings (what this host discarded). */
export async function create(d: DaemonContext, body: Record<string, unknown>, name: string | undefined): Promise<{ id: string; warnings: string[] }> {
  let config: RunConfig;
  try {
    config = await checkCreate(d, body, name);
  } catch (err) {
    throw fieldError(err);
  }
  const driver = await d.driver(config.cgroupParent);
  const id = newContainerId();
  const { warnings } = await createStored(
    config,
    { stateRoot: d.store.root, driver, stderr: process.stderr, id },
    { header: { detach: true, log: { path: d.store.file(id, 'log'), maxSize: config.log?.maxSize ?? 0, maxFiles: config.log?.maxFiles ?? 1 } } },
  );
  const hc = obj(body.HostConfig);
  const hostConfig: Record<string, unknown> = {};
  for (const k of HOST_CONFIG_FIELDS) if (hc[k] !== undefined) hostConfig[k] = hc[k];
  await d.store.writeHostConfig(id, hostConfig);
  await d.emit('create', id);
  return { id, warnings };
}
