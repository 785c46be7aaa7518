/**
 * A progress bar on stderr for long reads: rows read, rate and ETA. It draws only on a TTY and
 * only once the work has taken more than a second, so quick runs, pipes and CI logs stay clean.
 */
import { formatCount } from './render/format.js';

export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write: (s: string) => unknown;
}

export interface Progress {
  /** rows done so far out of total (total may grow as files start) */
  update: (done: number, total: number, note?: string) => void;
  /** erases the bar if one was drawn */
  finish: () => void;
}

export interface ProgressOptions {
  label: string;
  /** what done/total count: 'rows' (default) or 'bytes' (shown as MB) */
  unit?: 'rows' | 'bytes';
  stream?: ProgressStream;
  /** draw only after this long (ms) */
  delayMs?: number;
  /** redraw at most this often (ms) */
  intervalMs?: number;
  now?: () => number;
}

function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 60) return `${Math.ceil(seconds)}s`;
  const m = Math.floor(seconds / 60);
  return `${m}m${String(Math.ceil(seconds - m * 60)).padStart(2, '0')}s`;
}

/** One line: "reading k1m.sqlite [#####.....] 4,200,000/8,170,000 rows  2.1M rows/s  ETA 2s". */
export function progressLine(label: string, done: number, total: number, elapsedMs: number, width: number, note = '', unit: 'rows' | 'bytes' = 'rows'): string {
  const frac = total > 0 ? Math.min(1, done / total) : 0;
  const rate = elapsedMs > 0 ? done / (elapsedMs / 1000) : 0;
  const eta = rate > 0 ? (total - done) / rate : Infinity;
  const bar = 20;
  const filled = Math.round(frac * bar);
  const rateText = rate >= 1e6 ? `${(rate / 1e6).toFixed(1)}M` : rate >= 1e3 ? `${(rate / 1e3).toFixed(0)}k` : rate.toFixed(0);
  const counts = unit === 'bytes'
    ? `${(done / 1e6).toFixed(0)}/${(total / 1e6).toFixed(0)} MB, ${(rate / 1e6).toFixed(1)} MB/s`
    : `${formatCount(done)}/${formatCount(total)} rows, ${rateText}/s`;
  const tail = ` [${'#'.repeat(filled)}${'.'.repeat(bar - filled)}] ${counts}, ETA ${formatEta(eta)}${note ? `, ${note}` : ''}`;
  // the numbers matter more than the label: shorten the label first
  const room = Math.max(0, width - tail.length);
  const head = label.length <= room ? label : `${label.slice(0, Math.max(0, room - 1))}…`;
  return `${head}${tail}`.slice(0, width);
}

export function createProgress(options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr;
  const now = options.now ?? (() => performance.now());
  const delayMs = options.delayMs ?? 1000;
  const intervalMs = options.intervalMs ?? 100;
  const started = now();
  let lastDraw = -Infinity;
  let drawn = false;
  if (!stream.isTTY) return { update: () => {}, finish: () => {} };
  return {
    update(done, total, note) {
      const t = now();
      if (t - started < delayMs || t - lastDraw < intervalMs) return;
      lastDraw = t;
      drawn = true;
      const width = Math.max(20, (stream.columns || 80) - 1);
      stream.write(`\r${progressLine(options.label, done, total, t - started, width, note, options.unit)}\x1b[K`);
    },
    finish() {
      if (drawn) stream.write('\r\x1b[K');
      drawn = false;
    },
  };
}
