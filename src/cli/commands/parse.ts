/**
 * What every command but run shares: its definition (a CommandSpec: commander's flags and argument
 * notation), parsed as commander parses it, commander's errors turned into a UsageError that names the
 * flag (exit 125), and `--help`. Two wordings of those errors, each kept as its commands have always
 * printed it: the client commands' (clientCommand: "unknown flag --x for corral ps (...)", commander's
 * generated help) and that of the commands with a usage text of their own (flagsCommand: stats,
 * daemon, up, down: "unknown flag: --x (see 'corral stats --help')", "flag needs an argument:
 * --format", -h/--help a flag like any).
 *
 * Start-up: loading commander (CommonJS, with node:child_process) costs a client command about a
 * third of its start-up. A command line of plain words (known flags, `--flag=value`, arguments, `--`)
 * is read here, as commander would read it (test/unit/cli/parse-fast.test.ts checks the two agree);
 * anything else (--help, an unknown or combined flag, a missing value or argument) goes to commander,
 * loaded then, for its reading and its errors.
 */
import { createRequire } from 'node:module';
import type { Command, CommanderError } from 'commander';
import { CorralError } from '../../errors.js';

/** The command line is wrong: unknown flag, missing value or argument (exit 125, as Docker). */
export class UsageError extends CorralError {
  constructor(message: string) {
    super('EUSAGE', message);
  }
}

/** `--help` was given; `text` is the help to print (exit 0). */
export class HelpRequested extends CorralError {
  constructor(readonly text: string) {
    super('EHELP', 'help requested');
  }
}

/** A client command: `corral NAME`, quiet, throwing instead of exiting. */
/** One option of a command, in commander's notation: '-a, --all', '--no-trunc', '-f, --filter <key=value>'. */
export interface OptionSpec {
  flags: string;
  description: string;
  /** commander's argParser: the value, and the option's value so far */
  parse?: (value: string, previous: unknown) => unknown;
}

/** An option as the fast reading needs it. */
interface ReadOption {
  short?: string;
  long: string;
  /** commander's attribute name: the long name without "no-", camel-cased */
  key: string;
  takesValue: boolean;
  negate: boolean;
  parse?: OptionSpec['parse'];
}

function readOption(o: OptionSpec): ReadOption {
  const m = /^(?:(-[A-Za-z]), )?(--[a-z][a-z-]*)(?: <[^>]+>)?$/.exec(o.flags);
  if (!m) throw new Error(`option flags ${JSON.stringify(o.flags)}: expected '-x, --name <value>', '--name' or '--no-name'`);
  const negate = m[2]!.startsWith('--no-');
  const key = m[2]!.slice(negate ? 5 : 2).replace(/-([a-z])/g, (_all, c: string) => c.toUpperCase());
  return { ...(m[1] ? { short: m[1] } : {}), long: m[2]!, key, takesValue: o.flags.endsWith('>'), negate, ...(o.parse ? { parse: o.parse } : {}) };
}

/** A command's definition: built like a commander Command, parsed without commander when it can be. */
export class CommandSpec {
  readonly options: OptionSpec[] = [];
  /** commander's argument notation: '<container>', '<containers...>', '[containers...]' */
  readonly arguments: string[] = [];

  constructor(
    /** 'corral NAME' */
    readonly fullName: string,
    readonly style: 'client' | 'flags',
    readonly usageText = '',
    readonly descriptionText = '',
  ) {}

  option(flags: string, description = '', parse?: OptionSpec['parse']): this {
    return this.addOption({ flags, description, ...(parse ? { parse } : {}) });
  }

  addOption(option: OptionSpec): this {
    readOption(option); // a notation the fast reading does not know is a programming error
    this.options.push(option);
    return this;
  }

  argument(notation: string): this {
    if (!/^(<[a-z]+(\.\.\.)?>|\[[a-z]+(\.\.\.)?\])$/.test(notation)) throw new Error(`argument ${JSON.stringify(notation)}: expected <name>, <name...> or [name...]`);
    this.arguments.push(notation);
    return this;
  }
}

/** A client command: `corral NAME`, with commander's generated help on --help. */
export function clientCommand(name: string, usage: string, description: string): CommandSpec {
  return new CommandSpec(`corral ${name}`, 'client', usage, description);
}

/**
 * A command with its own usage text (`corral NAME`): `-h, --help` is a boolean option (opts().help)
 * for the command to print that text, and its errors have the short wording.
 */
export function flagsCommand(name: string): CommandSpec {
  return new CommandSpec(`corral ${name}`, 'flags').option('-h, --help');
}

/** A repeatable option's collector. */
export function collect(value: string, previous: unknown): string[] {
  return [...((previous as string[] | undefined) ?? []), value];
}

/** A repeatable option (`--filter k=v` may come several times). */
export function repeatable(flags: string, description: string): OptionSpec {
  return { flags, description: `${description} (repeatable)`, parse: collect };
}

/**
 * The command line read as commander reads it, for plain words only: known flags (`-a`, `--all`,
 * `--no-trunc`, `--format X`, `--format=X`), arguments anywhere, `--` before arguments only.
 * undefined for anything else, which commander then reads (and refuses, or shows help for).
 */
export function parseFast<T extends object>(spec: CommandSpec, argv: readonly string[]): { opts: T; args: string[] } | undefined {
  const options = spec.options.map(readOption);
  const byName = new Map<string, ReadOption>();
  for (const o of options) {
    byName.set(o.long, o);
    if (o.short) byName.set(o.short, o);
  }
  const opts: Record<string, unknown> = {};
  for (const o of options) if (o.negate) opts[o.key] = true;
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === '--') {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (word.length < 2 || !word.startsWith('-')) {
      args.push(word);
      continue;
    }
    const eq = word.startsWith('--') ? word.indexOf('=') : -1;
    const option = byName.get(eq < 0 ? word : word.slice(0, eq));
    // commander's own --help, unknown flags, -abc, -xVALUE, --flag=value of a flag without one
    if (option === undefined || (spec.style === 'client' && option.long === '--help') || (eq >= 0 && !option.takesValue)) return undefined;
    if (!option.takesValue) {
      opts[option.key] = !option.negate;
      continue;
    }
    const value = eq >= 0 ? word.slice(eq + 1) : argv[++i];
    if (value === undefined) return undefined;
    opts[option.key] = option.parse ? option.parse(value, opts[option.key]) : value;
  }
  const required = spec.arguments.filter((a) => a.startsWith('<')).length;
  const variadic = spec.arguments.some((a) => a.endsWith('...>') || a.endsWith('...]'));
  if (args.length < required || (!variadic && args.length > spec.arguments.length)) return undefined;
  return { opts: opts as T, args };
}

/** commander, loaded when a command line needs it (from node_modules: the bundle does not carry it). */
function commander(): typeof import('commander') {
  return createRequire(import.meta.url)('commander') as typeof import('commander');
}

const QUIET = { writeOut: () => undefined, writeErr: () => undefined, outputError: () => undefined };

/** The commander Command of a spec: quiet, throwing instead of exiting. */
export function toCommander(spec: CommandSpec): Command {
  const { Command, Option } = commander();
  const command = new Command(spec.fullName);
  if (spec.style === 'client') command.usage(spec.usageText).description(spec.descriptionText).helpOption('--help', 'show this help');
  else command.helpOption(false).showSuggestionAfterError(false);
  command.exitOverride().configureOutput(QUIET);
  for (const o of spec.options) {
    const option = new Option(o.flags, o.description);
    if (o.parse) option.argParser(o.parse);
    command.addOption(option);
  }
  for (const a of spec.arguments) command.argument(a);
  return command;
}

/** commander's error for a flagsCommand, in the short wording; undefined for one that has none. */
function shortUsageError(command: Command, error: CommanderError, argv: readonly string[], quoted: string): UsageError | undefined {
  const name = command.name();
  switch (error.code) {
    case 'commander.unknownOption':
      return new UsageError(`unknown flag: ${quoted} (see '${name} --help')`);
    case 'commander.optionMissingArgument':
      // only the last word can lack its value: commander takes the next word, whatever it is
      return new UsageError(`flag needs an argument: ${argv[argv.length - 1] ?? quoted}`);
    case 'commander.excessArguments':
      // a word that is no flag, where the command takes no more arguments
      return new UsageError(`unknown flag: ${command.args[command.registeredArguments.length] ?? ''} (see '${name} --help')`);
    default:
      return undefined;
  }
}

/** Parse `argv` (what follows the command's name); commander's errors become UsageError, --help HelpRequested. */
export function parseCommand<T extends object>(spec: CommandSpec, argv: readonly string[]): { opts: T; args: string[] } {
  return parseFast<T>(spec, argv) ?? parseWithCommander<T>(spec, argv);
}

/** The same reading by commander itself, with its errors. */
export function parseWithCommander<T extends object>(spec: CommandSpec, argv: readonly string[]): { opts: T; args: string[] } {
  const command = toCommander(spec);
  try {
    command.parse([...argv], { from: 'user' });
  } catch (error) {
    if (!(error instanceof commander().CommanderError)) throw error;
    const name = command.name();
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.help') throw new HelpRequested(command.helpInformation());
    const quoted = /'([^']*)'/.exec(error.message)?.[1] ?? '';
    const short = spec.style === 'flags' ? shortUsageError(command, error, argv, quoted) : undefined;
    if (short) throw short;
    switch (error.code) {
      case 'commander.unknownOption': {
        const similar = /\(Did you mean (.*)\?\)/.exec(error.message)?.[1];
        throw new UsageError(`unknown flag ${quoted} for ${name} (${similar ? `did you mean ${similar}?` : `see '${name} --help'`})`);
      }
      case 'commander.optionMissingArgument':
        throw new UsageError(`flag ${/--[a-z][a-z-]*/.exec(quoted)?.[0] ?? quoted} needs a value (see '${name} --help')`);
      case 'commander.missingArgument':
        throw new UsageError(`missing ${quoted === 'containers' ? 'CONTAINER (at least one)' : quoted.toUpperCase()}: usage: ${name} ${command.usage()}`);
      case 'commander.excessArguments':
        throw new UsageError(`too many arguments: usage: ${name} ${command.usage()}`);
      default:
        throw new UsageError(`${name}: ${error.message.replace(/^error: /, '')}`);
    }
  }
  return { opts: command.opts<T>(), args: command.args };
}
