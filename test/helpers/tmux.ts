/**
 * A real terminal for tests of programs that need one (`docker run -it`, `corral top`): a shell in
 * a tmux window of a given size, on a tmux server of the test's own, with the pane read back as
 * text. tmux must be installed (Debian's tmux; .ci/run installs it): a missing tmux fails loudly.
 */
import { execFileSync } from 'node:child_process';
import { until } from './daemon.js';

export class TmuxTerminal {
  private servers = 0;
  readonly session = 'term';

  /** `name`: the tmux servers' prefix; `prompt`: the shell's prompt, set by hand */
  constructor(
    private readonly name: string,
    readonly prompt = 'term-test$ ',
  ) {}

  private server(): string {
    return `${this.name}-${process.pid}-${this.servers}`;
  }

  tmux(...args: string[]): string {
    try {
      return execFileSync('tmux', ['-L', this.server(), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error('tmux is not installed: install the Debian package tmux');
      throw err;
    }
  }

  /** A shell in a fresh `cols`x`rows` window of a new server, at its prompt. */
  async open(cols = 80, rows = 24, env: Record<string, string> = {}): Promise<void> {
    this.close();
    this.servers++;
    const envArgs = Object.entries({ LANG: 'C.UTF-8', TERM: 'xterm-256color', ...env }).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
    this.tmux('new-session', '-d', '-s', this.session, '-x', String(cols), '-y', String(rows), ...envArgs, 'sh');
    // sh takes no PS1 from the environment as root: set by hand
    this.keys('-l', `PS1='${this.prompt}'`);
    this.keys('Enter');
    await this.until('the prompt', (l) => this.atPrompt(l));
  }

  /** The pane's text, one string per line. */
  pane(): string[] {
    return this.tmux('capture-pane', '-p', '-t', this.session).replace(/\n$/, '').split('\n');
  }

  /** Wait until the pane satisfies `pred`; the error shows the pane. */
  async until(what: string, pred: (lines: string[]) => boolean, ms = 20_000): Promise<string[]> {
    let lines: string[] = [];
    try {
      await until(
        what,
        () => {
          lines = this.pane();
          return pred(lines);
        },
        ms,
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}; the pane:\n${lines.join('\n')}`);
    }
    return lines;
  }

  /** tmux send-keys: key names (`Enter`, `C-c`), or `-l` and literal text. */
  keys(...k: string[]): void {
    this.tmux('send-keys', '-t', this.session, ...k);
  }

  /** Type a line and Enter. */
  line(text: string): void {
    this.keys('-l', text);
    this.keys('Enter');
  }

  /** The outer shell's prompt is the pane's last non-empty line. */
  atPrompt(lines: string[]): boolean {
    return (
      lines
        .filter((x) => x.trim() !== '')
        .at(-1)
        ?.endsWith(this.prompt.trimEnd()) === true
    );
  }

  resize(cols: number, rows: number): void {
    this.tmux('resize-window', '-t', this.session, '-x', String(cols), '-y', String(rows));
  }

  close(): void {
    try {
      this.tmux('kill-server');
    } catch {
      // none running
    }
  }
}
