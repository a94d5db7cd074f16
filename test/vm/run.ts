#!/usr/bin/env node
/**
 * Run a command inside the cgroup v2 QEMU guest, streaming its output, and exit with its status.
 *
 *   node dist/test/vm/run.js [--timeout S] [--memory MiB] [--cpus N] [--env NAME=VALUE]... -- <command...>
 *
 * The words after `--` are joined with spaces and run with `sh -c` in the checkout directory inside
 * the guest (so quote as you would for a shell, or pass a single word holding the whole command).
 * Exits 124 on a timeout and 125 if the guest could not run the command.
 */

import { runInGuest, type GuestOptions } from './guest.js';

function usage(message?: string): never {
  if (message) process.stderr.write(`run: ${message}\n`);
  process.stderr.write('usage: node dist/test/vm/run.js [--timeout S] [--memory MiB] [--cpus N] [--env NAME=VALUE]... -- <command...>\n');
  process.exit(2);
}

function positiveNumber(flag: string, value: string | undefined): number {
  const n = Number(value);
  if (value === undefined || !Number.isFinite(n) || n <= 0) usage(`${flag} needs a positive number, got ${JSON.stringify(value)}`);
  return n;
}

async function main(argv: string[]): Promise<number> {
  const opts: GuestOptions = { env: {} };
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      i++;
      break;
    }
    const [flag, inline] = a.startsWith('--') && a.includes('=') && !a.startsWith('--env=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = (): string | undefined => inline ?? argv[++i];
    switch (flag) {
      case '--timeout':
        opts.timeoutMs = positiveNumber('--timeout', value()) * 1000;
        break;
      case '--memory':
        opts.memoryMiB = Math.round(positiveNumber('--memory', value()));
        break;
      case '--cpus':
        opts.cpus = Math.round(positiveNumber('--cpus', value()));
        break;
      case '--env': {
        const kv = argv[++i];
        const eq = kv?.indexOf('=') ?? -1;
        if (!kv || eq <= 0) usage(`--env needs NAME=VALUE, got ${JSON.stringify(kv)}`);
        opts.env![kv.slice(0, eq)] = kv.slice(eq + 1);
        break;
      }
      case '-h':
      case '--help':
        return usage();
      default:
        if (a.startsWith('--env=')) {
          const kv = a.slice('--env='.length);
          const eq = kv.indexOf('=');
          if (eq <= 0) usage(`--env needs NAME=VALUE, got ${JSON.stringify(kv)}`);
          opts.env![kv.slice(0, eq)] = kv.slice(eq + 1);
          break;
        }
        usage(`unknown option ${a} (put the command after --)`);
    }
  }
  const command = argv.slice(i).join(' ');
  if (!command.trim()) usage('no command given');

  opts.onOutput = (chunk) => process.stdout.write(chunk);
  const started = Date.now();
  try {
    const result = await runInGuest(command, opts);
    process.stderr.write(`run: guest booted in ${result.bootMs} ms; exit status ${result.exitCode}; total ${Date.now() - started} ms\n`);
    return result.exitCode;
  } catch (e) {
    const msg = (e as Error).message;
    process.stderr.write(`run: ${msg}\n`);
    return msg.includes('timed out') ? 124 : 125;
  }
}

// exit (running guest.ts's exit hook, which kills qemu) instead of dying silently on a signal
process.on('SIGINT', () => process.exit(130));
process.on('SIGTERM', () => process.exit(143));
process.on('SIGHUP', () => process.exit(129));

process.exitCode = await main(process.argv.slice(2));
