/**
 * What every command but run shares: its commander definition made quiet (no exit, no printing),
 * commander's errors turned into a UsageError that names the flag (exit 125), and `--help`. Two
 * wordings of those errors, each kept as its commands have always printed it: the client commands'
 * (clientCommand: "unknown flag --x for corral ps (...)", commander's generated help) and that of
 * the commands with a usage text of their own (flagsCommand: stats, daemon, up, down: "unknown flag:
 * --x (see 'corral stats --help')", "flag needs an argument: --format", -h/--help a flag like any).
 */
import { Command, CommanderError, Option } from 'commander';
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
export function clientCommand(name: string, usage: string, description: string): Command {
  return new Command(`corral ${name}`).usage(usage).description(description).helpOption('--help', 'show this help').exitOverride().configureOutput(QUIET);
}

const QUIET = { writeOut: () => undefined, writeErr: () => undefined, outputError: () => undefined };

/** Commands made by flagsCommand: their errors have the short wording. */
const FLAGS_COMMANDS = new WeakSet<Command>();

/**
 * A command with its own usage text (`corral NAME`): `-h, --help` is a boolean option (opts().help)
 * for the command to print that text, and its errors have the short wording.
 */
export function flagsCommand(name: string): Command {
  const command = new Command(`corral ${name}`).helpOption(false).option('-h, --help').showSuggestionAfterError(false).exitOverride().configureOutput(QUIET);
  FLAGS_COMMANDS.add(command);
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

/** A repeatable option's collector. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** A repeatable option (`--filter k=v` may come several times). */
export function repeatable(flags: string, description: string): Option {
  return new Option(flags, `${description} (repeatable)`).argParser(collect);
}

/** Parse `argv` (what follows the command's name); commander's errors become UsageError, --help HelpRequested. */
export function parseCommand<T extends object>(command: Command, argv: readonly string[]): { opts: T; args: string[] } {
  try {
    command.parse([...argv], { from: 'user' });
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    const name = command.name();
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.help') throw new HelpRequested(command.helpInformation());
    const quoted = /'([^']*)'/.exec(error.message)?.[1] ?? '';
    const short = FLAGS_COMMANDS.has(command) ? shortUsageError(command, error, argv, quoted) : undefined;
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
