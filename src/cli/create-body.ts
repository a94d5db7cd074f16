/**
 * `corral run`'s flags as Docker's create body (POST /containers/create), the inverse of the
 * daemon's inputFromBody: the daemon reads the body into the configuration the flags are read into
 * and checks it with the same rules, so a container made through the daemon is the one `corral run`
 * would make. Each field is written by the registry (bodyFromRun); what is the CLI's own is here:
 * attaching, and who removes an attached --rm container.
 * The flags were validated already (parseRunCommandLine), so writing them cannot fail; `-e KEY` is
 * resolved from this process's environment, as Docker's CLI does.
 */
import { bodyFromRun } from '../container/config/body.js';
import { inputFromOptions, type RawRunOptions } from '../container/config/fields.js';
import type { RunConfig } from '../container/config/run-flags.js';

export interface CreateRequest {
  /** the `name` query parameter */
  name?: string;
  body: Record<string, unknown>;
}

/** The create request for validated flags; `detach` decides attaching and, with --rm, AutoRemove. */
export function createRequestFromRun(options: RawRunOptions, config: RunConfig, detach: boolean): CreateRequest {
  const { name, body } = bodyFromRun(inputFromOptions(options), config);
  // attached, `corral run --rm` removes the container itself once it has the exit code
  (body.HostConfig as Record<string, unknown>).AutoRemove = config.rm && detach;
  return { ...(name === undefined ? {} : { name }), body: { ...body, AttachStdout: !detach, AttachStderr: !detach } };
}
