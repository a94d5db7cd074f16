/**
 * A pull's progress as the Docker CLI shows it (moby pkg/jsonmessage DisplayJSONMessagesStream): on
 * a terminal, one line per layer, rewritten in place (cursor up, clear, rewrite) as its status and
 * bar change; elsewhere, one line per status with no bars (Downloading and Extracting steps are
 * left out, as Docker leaves them out of a log).
 */
import type { ProgressMessage } from '../../images/progress.js';

export interface ProgressWriter {
  write(m: ProgressMessage): void;
}

export function progressWriter(out: { write(s: string): unknown }, isTerminal: boolean): ProgressWriter {
  // the line each layer's ID holds, counted from the first progress line
  let ids = new Map<string, number>();
  return {
    write(m) {
      if (m.error !== undefined) return;
      const hasProgress = m.progressDetail !== undefined;
      const moving = m.progressDetail?.current !== undefined;
      if (!isTerminal) {
        if (moving) return;
        out.write(`${m.id ? `${m.id}: ` : ''}${m.status ?? m.stream ?? ''}\n`);
        return;
      }
      let up = 0;
      if (m.id && hasProgress) {
        let line = ids.get(m.id);
        if (line === undefined) {
          line = ids.size;
          ids.set(m.id, line);
          out.write('\n');
        }
        up = ids.size - line;
        out.write(`\x1b[${up}A`);
      } else {
        // a line that is not a layer's: the layers above are history now
        ids = new Map();
      }
      const text = `${m.id ? `${m.id}: ` : ''}${m.status ?? m.stream ?? ''}${m.progress ? ` ${m.progress}` : ''}`;
      out.write(`\x1b[2K\r${text}`);
      if (up > 0) out.write(`\r\x1b[${up}B`);
      else out.write('\n');
    },
  };
}
