/**
 * A worker thread that runs a device's window analyses (report/window-analyses.ts: NVTX ranges,
 * SM fill, communication, the expert analyses) while the main thread runs the device's other
 * analyses (analyzeDeviceWindow); the two share nothing but the trace, its index and its kernel
 * classes, read-only. buildReport is synchronous, as the read is: the main thread posts the job,
 * runs its part, then blocks in Atomics.wait until the worker has answered (receiveMessageOnPort
 * needs no event loop).
 *
 * The trace's columns cross on shared memory (model/shared.ts): the worker reads the main
 * thread's columns, not a copy. The worker starts as the report does (~30-60 ms on its own
 * thread, overlapping the index and the window's choice). A worker that fails to start, dies or
 * throws makes the main thread run the same analyses itself, so the Report is the same either
 * way. Off unless asked for (wantsAside: its memory).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import type { Trace } from '../model/trace.js';
import type { Window } from './types.js';
import type { TraceIndex } from '../analyses/trace-index.js';
import type { KernelClassification } from '../analyses/kernel-classes.js';
import type { BlockingIndex } from '../analyses/blocking-calls.js';
import type { CallLinkColumns } from '../analyses/correlation.js';
import type { WindowAnalysesOptions } from './window-analyses.js';
import type { DeviceReport } from './types.js';
import { shareColumns } from '../model/shared.js';
import { COLLECT_ROWS } from '../model/memory.js';
import { awaitAnswer, signalPosted } from '../model/sync-channel.js';

/** How long the worker may take to start before the main thread runs its analyses itself. */
const START_MS = 10_000;

export interface AsideJob {
  trace: Trace;
  links: CallLinkColumns;
  blocking: BlockingIndex;
  classes: KernelClassification;
  deviceId: number;
  window: Window;
  options: WindowAnalysesOptions;
}

function workerScript(): string | null {
  const path = fileURLToPath(new URL('./aside-worker.js', import.meta.url));
  return import.meta.url.endsWith('.js') && existsSync(path) ? path : null;
}

/**
 * Whether the window analyses run in a worker: only when MOE_TRACE_ANALYSIS_WORKERS=1 asks (the
 * tests, on small traces too; the bench, to measure it). Off by default: at a million kernels the
 * worker's isolate (~13 MB) and its analyses' scratch beside the main thread's (the NVTX ranges'
 * ~35 MB, the expert analyses' ~30 MB next to the device selection's ~40 MB) raised the peak by
 * 45-60 MB on 2 cores, and by 38-64 MiB on the 16-core H200, where it took analyze from c/a
 * 1.25 / 1.01 / 1.09 to 0.86 / 0.77 / 0.64: past the 150 bytes a kernel of issue 14 on every shape
 * (bench/README.md, "The window analyses in a worker"; bench/RESULTS-h200.md). Never when the
 * compiled worker script is absent (running from the sources).
 */
export function wantsAside(_rows: number): boolean {
  if (workerScript() === null) return false;
  return process.env.MOE_TRACE_ANALYSIS_WORKERS === '1';
}

/** The worker for a trace of `rows` rows (wantsAside), started now; null: none. */
export function asideFor(rows: number): AsideAnalyses | null {
  return wantsAside(rows) ? AsideAnalyses.start(rows) : null;
}

export class AsideAnalyses {
  private posted = 0;
  private broken = false;
  private shared: { trace: Trace; index: TraceIndex; classes: KernelClassification } | null = null;

  private constructor(
    private readonly worker: Worker, private readonly port: MessagePort, private readonly flags: Int32Array,
    private readonly deadline: number, private readonly rows: number,
  ) {}

  static start(rows: number): AsideAnalyses | null {
    const script = workerScript();
    if (script === null) return null;
    try {
      const { port1, port2 } = new MessageChannel();
      const flags = new Int32Array(new SharedArrayBuffer(12));
      const worker = new Worker(script, { workerData: { port: port2, flags }, transferList: [port2] });
      worker.unref();
      // a failure reaches the main thread through flags[2] (aside-worker.ts)
      worker.on('error', () => {});
      return new AsideAnalyses(worker, port1, flags, performance.now() + START_MS, rows);
    } catch {
      return null;
    }
  }

  /** Moves the columns the worker reads onto shared memory (in place: the same values). */
  share(trace: Trace, index: TraceIndex, classes: KernelClassification): void {
    shareColumns([trace, index.links, index.blocking, classes], this.rows >= COLLECT_ROWS);
    this.shared = { trace, index, classes };
  }

  /** Posts a device's window analyses; false when the worker cannot take them (run them here). */
  post(deviceId: number, window: Window, options: WindowAnalysesOptions): boolean {
    if (this.broken || this.shared === null) return false;
    const { trace, index, classes } = this.shared;
    const { memcpyOf: _, ...links } = index.links;
    const job: AsideJob = { trace, links, blocking: index.blocking, classes, deviceId, window, options };
    try {
      this.port.postMessage(job);
    } catch {
      this.broken = true;
      return false;
    }
    this.posted++;
    signalPosted(this.flags, this.posted);
    return true;
  }

  /** The fields of the job last posted; null when the worker failed (run the analyses here). */
  answer(): Partial<DeviceReport> | null {
    const a = awaitAnswer(this.port, this.flags, this.posted, this.deadline) as { ok?: Partial<DeviceReport>; error?: string } | undefined;
    if (a === undefined || a.ok === undefined) {
      this.broken = true;
      return null;
    }
    return a.ok;
  }

  close(): void {
    try {
      this.port.postMessage(null);
    } catch { /* closed */ }
    signalPosted(this.flags, this.posted + 1);
    this.port.close();
    void this.worker.terminate();
  }
}
