/**
 * Progress as Docker streams it from a pull or a load (moby pkg/jsonmessage): one JSON object a
 * line, `{"status":"Downloading","progressDetail":{"current":N,"total":M},"progress":"[==>  ]
 * 1.2MB/3.4MB","id":"<12 hex>"}`; the `progress` text is the daemon's, built as jsonmessage's
 * JSONProgress.String() builds it for a terminal wider than 110 columns.
 */
import { formatIoSize } from '../units.js';

export interface ProgressMessage {
  status?: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
  progress?: string;
  /** a failure, as Docker ends a stream that failed after its 200 */
  error?: string;
  errorDetail?: { message: string };
  /** a load's final line */
  stream?: string;
}

export type ProgressSink = (m: ProgressMessage) => void;

const BAR_WIDTH = 50;

/** jsonmessage's bar and numbers: `[=====>      ]  1.2MB/3.4MB`. */
export function progressText(current: number, total: number): string {
  if (total <= 0) return `${formatIoSize(current, 4).padStart(8)}`;
  const filled = Math.min(BAR_WIDTH, Math.floor(Math.floor((current / total) * 100) / 2));
  const bar = `[${'='.repeat(filled)}>${' '.repeat(BAR_WIDTH - filled)}] `;
  return `${bar}${formatIoSize(current, 4).padStart(8)}/${formatIoSize(total, 4)}`;
}

/** Docker's short ID of a layer in progress lines: the first 12 hex digits of its blob's digest. */
export function shortLayerId(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 12);
}

export function progressMessage(status: string, id: string, current: number, total: number): ProgressMessage {
  return { status, progressDetail: { current, total }, progress: progressText(current, total), id };
}

/**
 * A sink that passes "Downloading"/"Extracting" lines at most every `everyMs` per layer (the first
 * and the last always), as Docker's progress reader does, and every other line at once.
 */
export function throttled(sink: ProgressSink, everyMs = 100): ProgressSink {
  const last = new Map<string, number>();
  return (m) => {
    const detail = m.progressDetail;
    if (m.id !== undefined && detail?.current !== undefined && detail.total !== undefined && detail.current < detail.total) {
      const key = `${m.status} ${m.id}`;
      const now = Date.now();
      const previous = last.get(key);
      if (previous !== undefined && now - previous < everyMs) return;
      last.set(key, now);
    }
    sink(m);
  };
}
