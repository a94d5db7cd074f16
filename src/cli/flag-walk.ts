/**
 * The flag loop of the small commands (daemon, up, down) that take no positional arguments:
 * `--name VALUE`, `--name=VALUE` and `-x VALUE`, plus `-h`/`--help`. The handler gets the flag's
 * name and a function that takes the flag's value, and returns false for a flag it does not know
 * (which is then refused, naming the command's help).
 */
import { CorralError } from '../errors.js';

export function walkFlags(argv: readonly string[], command: string, onFlag: (name: string, value: () => string) => boolean): { help: boolean } {
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const value = () => {
      if (eq > 0) return arg.slice(eq + 1);
      const v = argv[++i];
      if (v === undefined) throw new CorralError('EUSAGE', `flag needs an argument: ${name}`);
      return v;
    };
    if (name === '-h' || name === '--help') help = true;
    else if (!onFlag(name, value)) throw new CorralError('EUSAGE', `unknown flag: ${arg} (see 'corral ${command} --help')`);
  }
  return { help };
}
