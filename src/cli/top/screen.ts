/**
 * corral top's full screen, on blessed: one box the size of the terminal whose lines come from
 * dashboard.ts (which decides everything shown), redrawn on every tick, key, event and resize. This
 * file only owns the terminal: it gives it back exactly as it found it (normal screen, cursor shown,
 * echo and line mode back) on q, Esc, Ctrl-C, SIGTERM, SIGHUP and on a crash of the dashboard itself.
 */
import blessed from 'blessed';
import { initialState, press, screenLines, tableHeight, type DashState, type Effect } from './dashboard.js';
import { History } from './history.js';
import type { HostReader } from './host.js';
import type { Line, Tone } from './layout.js';
import type { View } from './model.js';
import { Collector, type TopSource } from './source.js';

/** Log lines kept for the logs view. */
const LOG_LINES = 5000;

const COLOURS: Record<Tone, [string, string]> = {
  normal: ['', ''],
  good: ['{green-fg}', '{/green-fg}'],
  warn: ['{yellow-fg}', '{/yellow-fg}'],
  bad: ['{red-fg}', '{/red-fg}'],
  // blessed writes its grey as SGR 30 (black) where the terminal's colours are not read as 256: unreadable on a dark background
  dim: ['', ''],
  header: ['{bold}', '{/bold}'],
};

/** blessed's tags are written in braces: a brace in a container's name or a log line is escaped. */
function escapeTags(text: string): string {
  return text.replace(/[{}]/g, (c) => (c === '{' ? '{open}' : '{close}'));
}

/** A line as blessed's tagged text: colours unless NO_COLOR, the selected row inverse, headers bold. */
export function tagged(line: Line, colour: boolean): string {
  return line
    .map((c) => {
      let [open, close] = COLOURS[c.tone];
      if (!colour && c.tone !== 'header') [open, close] = ['', ''];
      const t = open + escapeTags(c.text) + close;
      return c.selected ? `{inverse}${t}{/inverse}` : t;
    })
    .join('');
}

/** A typed key as dashboard.ts names it: the character for printable keys (S, G, ?, /), else blessed's name. */
function keyName(ch: string | undefined, key: { full?: string; ctrl?: boolean; meta?: boolean }): string {
  if (ch !== undefined && ch.length === 1 && ch >= '!' && ch <= '~' && !key.ctrl && !key.meta) return ch;
  return key.full ?? '';
}

export async function runDashboard(source: TopSource, hostReader: HostReader, flags: { view: View; interval: number }): Promise<number> {
  const colour = !process.env.NO_COLOR && process.stdout.isTTY === true;
  const screen = blessed.screen({ smartCSR: true, title: 'corral top', warnings: false, autoPadding: false, fullUnicode: false });
  const box = blessed.box({ top: 0, left: 0, width: '100%', height: '100%', tags: true, wrap: false });
  screen.append(box);
  screen.program.hideCursor();

  const collector = new Collector(source, Date.now, { waitForDetails: false });
  const history = new History();
  let state: DashState = initialState(flags.view, source.address, flags.interval);
  let logStream: { close(): void } | undefined;
  let stopped = false;
  let finish: (code: number) => void = () => undefined;
  const done = new Promise<number>((resolve) => (finish = resolve));

  const draw = () => {
    if (stopped) return;
    const width = Number(screen.width);
    const height = Number(screen.height);
    box.setContent(
      screenLines(state, width, height, history)
        .map((l) => tagged(l, colour))
        .join('\n'),
    );
    screen.render();
  };
  let drawQueued = false;
  const drawSoon = () => {
    if (drawQueued) return;
    drawQueued = true;
    setImmediate(() => {
      drawQueued = false;
      draw();
    });
  };

  /** Gives the terminal back; idempotent. */
  const restore = () => {
    if (stopped) return;
    stopped = true;
    logStream?.close();
    collector.close();
    try {
      screen.program.showCursor();
      screen.destroy();
    } catch {
      // the terminal is already gone (SIGHUP): nothing to restore
    }
  };
  const quit = (code: number) => {
    restore();
    finish(code);
    // nothing should be left, but a stuck request must not keep the terminal waiting
    setTimeout(() => process.exit(code), 500).unref();
  };
  const crash = (err: unknown) => {
    restore();
    process.stderr.write(`corral top: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(70);
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
  process.once('SIGTERM', () => quit(143));
  process.once('SIGHUP', () => quit(129));

  const apply = async (effect: Effect) => {
    if (!effect) return;
    if (effect.kind === 'quit') return quit(0);
    if (effect.kind === 'logs') {
      logStream?.close();
      const lines: string[] = [];
      state = { ...state, logs: [] };
      logStream = source.logs(effect.id, state.timestamps, (line) => {
        lines.push(line);
        if (lines.length > LOG_LINES) lines.splice(0, lines.length - LOG_LINES);
        if (state.mode === 'logs' && state.focusId === effect.id) {
          state = { ...state, logs: [...lines] };
          drawSoon();
        }
      });
      return;
    }
    if (effect.kind === 'exec') {
      // corral exec -it in this terminal: blessed leaves the screen for it and takes it back after
      const args = [process.argv[1]!, '-H', state.address, 'exec', '-it', effect.id, 'sh'];
      screen.exec(process.execPath, args, {}, (_err: unknown, ok: boolean) => {
        state = { ...state, message: ok ? undefined : 'exec: the shell ended with an error (is there a sh in the container?)' };
        drawSoon();
      });
      return;
    }
    if (effect.kind === 'update') {
      try {
        // corral update's own reading of -m and --cpus (the field registry), then its API call
        const { updateBody } = await import('../commands/update.js');
        const body = updateBody({ ...(effect.memory ? { memory: effect.memory } : {}), ...(effect.cpus ? { cpus: effect.cpus } : {}) });
        if (Object.keys(body).length === 0) state = { ...state, message: 'update: nothing to change' };
        else {
          await source.update(effect.id, body);
          state = { ...state, message: `update: ${effect.name} done` };
        }
      } catch (err) {
        state = { ...state, message: `update ${effect.name}: ${err instanceof Error ? err.message : String(err)}` };
      }
      drawSoon();
      return;
    }
    try {
      await source.act(effect.id, effect.action);
      state = { ...state, message: `${effect.action}: ${effect.name} done` };
    } catch (err) {
      state = { ...state, message: `${effect.action} ${effect.name}: ${err instanceof Error ? err.message : String(err)}` };
    }
    drawSoon();
  };

  screen.on('keypress', (ch: string | undefined, key: { full?: string; ctrl?: boolean; meta?: boolean; name?: string }) => {
    if (key.name === 'return') return; // blessed sends Enter twice: as return and as enter
    const before = state.mode;
    const { state: next, effect } = press(state, { full: keyName(ch, key), ch }, tableHeight(Number(screen.height), state.host));
    state = next;
    if (before === 'logs' && state.mode !== 'logs') {
      logStream?.close();
      logStream = undefined;
    }
    void apply(effect).catch(crash);
    draw();
  });
  screen.on('resize', draw);
  collector.onEvent = () => {
    state = { ...state, events: collector.events };
    drawSoon();
  };

  const loop = async () => {
    while (!stopped) {
      const [frame, host] = await Promise.all([collector.tick(), hostReader().catch(() => undefined)]);
      if (stopped) break;
      history.push(frame.rows);
      state = { ...state, frame, host: host ?? state.host, events: collector.events };
      draw();
      await new Promise((resolve) => setTimeout(resolve, flags.interval));
    }
  };
  draw();
  loop().catch(crash);
  const code = await done;
  process.off('uncaughtException', crash);
  process.off('unhandledRejection', crash);
  return code;
}
