/**
 * A workloads file from disk to the services a reconcile wants, checked in full: read, parse (with
 * positions), name the project, and run every service through the create validation. Anything
 * wrong throws before a single container is touched.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { CorralError } from '../errors.js';
import { parseWorkloads, type WorkloadService } from './parse.js';
import { desiredServices, projectName, type DesiredService } from './service.js';
import { validateServices, type CreateCheck } from './validate.js';

/** The file could not be read (missing, unreadable, a directory). */
export class WorkloadsReadError extends CorralError {
  constructor(
    readonly file: string,
    cause: NodeJS.ErrnoException,
  ) {
    super('EWORKLOADSREAD', `${file}: cannot read the workloads file: ${cause.code ?? cause.message}`, { cause });
  }
}

export interface LoadedWorkloads {
  /** as given */
  file: string;
  absFile: string;
  project: string;
  services: WorkloadService[];
  desired: DesiredService[];
}

export interface LoadOptions {
  /** -p */
  project?: string;
  check: CreateCheck;
  /** where a bare environment KEY takes its value (default process.env) */
  getEnv?: (name: string) => string | undefined;
}

export async function loadWorkloads(file: string, options: LoadOptions): Promise<LoadedWorkloads> {
  const absFile = path.resolve(file);
  let text: string;
  try {
    text = await fs.readFile(absFile, 'utf8');
  } catch (err) {
    throw new WorkloadsReadError(file, err as NodeJS.ErrnoException);
  }
  const parsed = parseWorkloads(text, { file, dir: path.dirname(absFile), ...(options.getEnv ? { getEnv: options.getEnv } : {}) });
  const project = projectName(absFile, parsed.name, options.project);
  const desired = desiredServices(project, absFile, parsed);
  await validateServices(file, parsed.services, desired, options.check);
  return { file, absFile, project, services: parsed.services, desired };
}
