/**
 * A worker thread that runs the first part of a device's window analyses (report/range-analyses.ts:
 * NVTX ranges, SM fill, communication) while the main thread runs the device's other analyses
 * (analyzeDeviceWindow), then the expert analyses itself; the two share nothing but the trace, its
 * index and its kernel classes, read-only. buildReport is synchronous, as the read is: the main
 * thread posts the job, runs its part, then blocks in Atomics.wait until the worker has answered
 * (receiveMessageOnPort needs no event loop). The worker ends once it has answered the last
 * device's job: its isolate, heap and malloc arena (~25 MB) never count beside the expert analyses.
 *
 * The trace's columns cross on shared memory (model/shared.ts): the worker reads the main
 * thread's columns, not a copy. The worker starts after the windows (~30-60 ms on its own
 * thread, overlapping the main thread's device analyses). A worker that fails to start, dies or
 * throws makes the main thread run the same analyses itself, so the Report is the same either
 * way. On by default where it fits issue 14's memory target (asideChoice); MOE_TRACE_ANALYSIS_WORKERS
 * =0 turns it off, =1 on for every trace.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isMainThread, MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import type { Trace } from '../model/trace.js';
import type { Window } from './types.js';
import type { TraceIndex } from '../analyses/trace-index.js';
import type { KernelClassification } from '../analyses/kernel-classes.js';
import type { BlockingIndex } from '../analyses/blocking-calls.js';
import type { CallLinkColumns } from '../analyses/correlation.js';
import type { WindowAnalysesOptions } from './range-analyses.js';
import type { DeviceReport } from './types.js';
import { shareColumns } from '../model/shared.js';
import { COLLECT_ROWS } from '../model/memory.js';

/** MOE_TRACE_PHASE_PEAKS=1 (model/memory.ts): the choice and its projection on stderr too. */
const PHASE_PEAKS = process.env.MOE_TRACE_PHASE_PEAKS === '1';
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
  /** the last job: the worker ends once it has answered it */
  last: boolean;
}

function workerScript(): string | null {
  const path = fileURLToPath(new URL('./aside-worker.js', import.meta.url));
  return import.meta.url.endsWith('.js') && existsSync(path) ? path : null;
}

const MiB = 1024 * 1024;

/**
 * The memory target of issue 14: the peak RSS at most 150 bytes a kernel above a small trace's
 * (the default path's: 79-89 MiB measured on the H200 and on the 2-core VM; the lower taken).
 */
export const ASIDE_BUDGET = { baseline: 80 * MiB, bytesPerKernel: 150 };
/**
 * What the worker adds to the peak, from the live memory after the windows' collection, at most:
 * its isolate and modules, and per kernel the scratch of the phases it runs (the NVTX ranges' mostly)
 * counted beside the main thread's device analyses'. The worst of the three 1M shapes, measured on
 * the 2-core VM (bench/README.md, "The window analyses in a worker"): so the projection is an upper
 * bound, and a trace it lets through stays under the budget with what it overestimates.
 */
export const ASIDE_COST = { fixed: 17 * MiB, bytesPerKernel: 62 };

/** What decides for the window analyses' worker (asideChoice); all but `forced` only for the default. */
export interface AsideConditions {
  /** MOE_TRACE_ANALYSIS_WORKERS: '1' always (the tests, on small traces too; the bench), '0' never; else the default */
  forced: string | undefined;
  /** false in a worker thread (several files analysed at once, a core each) */
  mainThread: boolean;
  cores: number;
  kernels: number;
  /** kernels and CUDA API calls */
  rows: number;
  /** the process's RSS now, after the windows' full collection: what the analyses start from */
  rss: () => number;
}

/**
 * Whether the window analyses' first part (NVTX ranges, SM fill, communication) runs in a worker
 * beside the device analyses. It saves their time (at a million kernels ~0.4-0.7 s of the main
 * thread with 16 cores) and costs memory, so by default only where both hold:
 * - there is a core for it, the thread is the main one, and the trace is big (COLLECT_ROWS: below
 *   that the phases end in no collection, the RSS says little, and the worker's start and isolate
 *   are not worth the time it saves);
 * - the projected peak, the RSS now plus the worker's cost at most (ASIDE_COST), stays under issue
 *   14's target (ASIDE_BUDGET). The RSS now is the trace's model, index and classes, measured (the
 *   API calls a kernel and the read workers' leftovers differ from trace to trace): at a million
 *   kernels sequential projects ~215 MiB of a 223 budget, torch-streams-sync ~242 and whole-process
 *   ~238, so only the first takes the worker; with it, each would peak at ~201 / 241 / 238 MiB on
 *   the 2-core VM (one thread, default 168 / 202 / 192).
 */
export function asideChoice(c: AsideConditions): boolean {
  if (c.forced === '1') return true;
  if (c.forced === '0') return false;
  if (!c.mainThread || c.cores < 2 || c.rows < COLLECT_ROWS) return false;
  return asideProjection(c.kernels, c.rss()) <= asideBudget(c.kernels);
}

/** The peak projected with the worker, in bytes (ASIDE_COST above `rss`). */
export function asideProjection(kernels: number, rss: number): number {
  return rss + ASIDE_COST.fixed + ASIDE_COST.bytesPerKernel * kernels;
}

/** The peak issue 14 allows a trace of `kernels` kernels, in bytes. */
export function asideBudget(kernels: number): number {
  return ASIDE_BUDGET.baseline + ASIDE_BUDGET.bytesPerKernel * kernels;
}

/** The worker for `trace` (asideChoice), started now; null: none. Never when the compiled worker script is absent (running from the sources). */
export function asideFor(trace: Trace): AsideAnalyses | null {
  if (workerScript() === null) return null;
  const kernels = trace.kernels.count;
  const rows = kernels + trace.runtime.count;
  const conditions: AsideConditions = {
    forced: process.env.MOE_TRACE_ANALYSIS_WORKERS, mainThread: isMainThread, cores: availableParallelism(), kernels, rows,
    rss: () => process.memoryUsage.rss(),
  };
  const on = asideChoice(conditions);
  if (PHASE_PEAKS && rows >= COLLECT_ROWS) {
    const rss = process.memoryUsage.rss();
    process.stderr.write(`ASIDE worker ${on ? 'on' : 'off'}: RSS ${(rss / MiB).toFixed(1)} MiB, projected ${(asideProjection(kernels, rss) / MiB).toFixed(1)} of ${(asideBudget(kernels) / MiB).toFixed(1)} MiB\n`);
  }
  return on ? AsideAnalyses.start(rows) : null;
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

  /** Posts a device's rangeAnalyses; false when the worker cannot take them (run them here). */
  post(deviceId: number, window: Window, options: WindowAnalysesOptions, last: boolean): boolean {
    if (this.broken || this.shared === null) return false;
    const { trace, index, classes } = this.shared;
    const { memcpyOf: _, ...links } = index.links;
    const job: AsideJob = { trace, links, blocking: index.blocking, classes, deviceId, window, options, last };
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
