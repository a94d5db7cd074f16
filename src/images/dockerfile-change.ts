/**
 * `docker commit --change` instructions (Dockerfile syntax, the subset commit accepts: CMD,
 * ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD is refused, STOPSIGNAL, USER, VOLUME, WORKDIR), applied to
 * an image config's container defaults. Pure.
 */
import { CorralError } from '../errors.js';
import type { ContainerDefaults } from './manifest.js';

export class ChangeInstructionError extends CorralError {
  constructor(instruction: string, reason: string) {
    super('EINVALIDPARAM', `invalid change "${instruction}": ${reason}`);
  }
}

/** The JSON form (`["a", "b"]`) or the shell form (`a b`, run by /bin/sh -c) of CMD and ENTRYPOINT. */
function commandForm(rest: string, instruction: string): string[] {
  const t = rest.trim();
  if (t.startsWith('[')) {
    try {
      const v = JSON.parse(t) as unknown;
      if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
    } catch {
      // not JSON: Docker then takes the text as the shell form, and so does corral
    }
  }
  if (t === '') throw new ChangeInstructionError(instruction, 'it needs a command');
  return ['/bin/sh', '-c', t];
}

/** `KEY=VALUE KEY2="a b"`, or the old `KEY VALUE` form (one pair, the rest of the line its value). */
function pairs(rest: string, instruction: string): [string, string][] {
  const t = rest.trim();
  if (!t.includes('=') || /^\S+\s/.test(t.split('=')[0] ?? '')) {
    const [key, ...value] = t.split(/\s+/);
    if (!key || value.length === 0) throw new ChangeInstructionError(instruction, 'expected KEY=VALUE or KEY VALUE');
    return [[key, t.slice(key.length).trim()]];
  }
  const out: [string, string][] = [];
  const re = /([^\s=]+)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)/g;
  let consumed = '';
  for (const m of t.matchAll(re)) {
    let value = m[2] ?? '';
    if (value.startsWith('"')) value = value.slice(1, -1).replace(/\\(.)/g, '$1');
    else if (value.startsWith("'")) value = value.slice(1, -1);
    out.push([m[1]!, value]);
    consumed += m[0];
  }
  if (out.length === 0 || consumed.replace(/\s/g, '').length !== t.replace(/\s/g, '').length) throw new ChangeInstructionError(instruction, 'expected KEY=VALUE pairs');
  return out;
}

/** Apply `changes` (each one instruction) to a copy of `config`. */
export function applyChanges(config: ContainerDefaults, changes: readonly string[]): ContainerDefaults {
  const out: ContainerDefaults = structuredClone(config);
  for (const change of changes) {
    const m = /^\s*(\w+)\s*(.*)$/s.exec(change);
    if (!m) throw new ChangeInstructionError(change, 'expected an instruction such as CMD, ENV or WORKDIR');
    const [, word = '', rest = ''] = m;
    switch (word.toUpperCase()) {
      case 'CMD':
        out.Cmd = commandForm(rest, change);
        break;
      case 'ENTRYPOINT':
        out.Entrypoint = commandForm(rest, change);
        break;
      case 'ENV': {
        const env = new Map((out.Env ?? []).map((e) => [e.slice(0, e.indexOf('=') < 0 ? e.length : e.indexOf('=')), e] as const));
        for (const [k, v] of pairs(rest, change)) env.set(k, `${k}=${v}`);
        out.Env = [...env.values()];
        break;
      }
      case 'LABEL':
        out.Labels = { ...(out.Labels ?? {}), ...Object.fromEntries(pairs(rest, change)) };
        break;
      case 'WORKDIR': {
        const dir = rest.trim();
        if (dir === '') throw new ChangeInstructionError(change, 'it needs a directory');
        out.WorkingDir = dir.startsWith('/') ? dir : `${out.WorkingDir || '/'}/${dir}`.replace(/\/+/g, '/');
        break;
      }
      case 'USER':
        if (rest.trim() === '') throw new ChangeInstructionError(change, 'it needs a user');
        out.User = rest.trim();
        break;
      case 'STOPSIGNAL':
        if (rest.trim() === '') throw new ChangeInstructionError(change, 'it needs a signal');
        out.StopSignal = rest.trim();
        break;
      case 'EXPOSE':
        for (const p of rest.trim().split(/\s+/).filter(Boolean)) {
          out.ExposedPorts = { ...(out.ExposedPorts ?? {}), [p.includes('/') ? p : `${p}/tcp`]: {} };
        }
        break;
      case 'VOLUME':
        for (const v of commandForm(rest, change)[0] === '/bin/sh' ? rest.trim().split(/\s+/) : commandForm(rest, change)) {
          out.Volumes = { ...(out.Volumes ?? {}), [v]: {} };
        }
        break;
      default:
        throw new ChangeInstructionError(change, `${word.toUpperCase()} is not one commit takes (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR)`);
    }
  }
  return out;
}
