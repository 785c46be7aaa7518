/**
 * What every finding rule reads: the device's report, the trace behind it, and the optional
 * SM-fill and NVTX analyses. Rules are pure functions of this context.
 */
import type { Trace } from '../model/trace.js';
import type { DeviceReport, Finding, IterationSummary, NvtxRangesReport, Severity, SmFillReport } from '../report/types.js';
import { distributionInPlace, type IntervalSet } from '../model/intervals.js';
import { gapDetail, type GapDetail } from '../analyses/launch-gaps.js';
import { formatCount } from '../render/format.js';
import { windowLength } from '../analyses/window.js';

export interface FindingContext {
  trace: Trace;
  device: DeviceReport;
  smFill: SmFillReport | null;
  nvtx: NvtxRangesReport | null;
  iterations: IterationSummary | null;
  /** the kernels of this device that meet W, in start order (a million of them is common) */
  kernels: KernelSubset;
  /** the device's idle gaps in W (n(t) = 0), as an interval set */
  idle: IntervalSet;
  /** every gap of the device (the report lists only the longest) */
  gaps: GapDetail;
  /** streams that ran kernels in W */
  activeStreams: number;
}

export type Rule = (ctx: FindingContext) => Finding | null;

/**
 * Rows of trace.kernels: `rows[j]` for j < count, or j itself when `rows` is null (every kernel of
 * the trace, as on one GPU with the whole trace as window: then no copy of a million rows).
 */
export interface KernelSubset {
  count: number;
  rows: Int32Array | null;
}

/** Row of the subset's j-th kernel. */
export function kernelRow(s: KernelSubset, j: number): number {
  return s.rows ? s.rows[j] : j;
}

/** The subset's rows as an array (a copy when they are every kernel). */
export function kernelRows(s: KernelSubset): Int32Array {
  if (s.rows) return s.rows;
  const rows = new Int32Array(s.count);
  for (let j = 0; j < s.count; j++) rows[j] = j;
  return rows;
}

export function buildContext(
  trace: Trace, device: DeviceReport,
  extras: { smFill?: SmFillReport | null; nvtx?: NvtxRangesReport | null } = {},
): FindingContext {
  const nvtx = extras.nvtx ?? device.nvtxRanges ?? null;
  const gaps = gapDetail(device.gaps);
  let kernels: KernelSubset | null = null;
  return {
    trace, device,
    // made on first use: most rules never read it
    get kernels(): KernelSubset {
      kernels ??= kernelsInWindow(trace, device);
      return kernels;
    },
    smFill: extras.smFill ?? device.smFill ?? null,
    nvtx,
    // per-iteration counts describe whole iterations; a --range/--window selection cuts across them
    iterations: device.window.source === 'kernels' || device.window.source === 'iterations' ? nvtx?.iterations ?? null : null,
    idle: gaps.idle,
    gaps,
    activeStreams: device.streams.filter((s) => s.kernelCount > 0).length,
  };
}

/** Whether kernel row i is on the device and meets its window [start, end] (ends included). */
export function meetsWindow(trace: Trace, device: DeviceReport): (i: number) => boolean {
  const { start, end } = device.window;
  const k = trace.kernels;
  return (i) => k.deviceId[i] === device.deviceId && k.end[i] >= start && k.start[i] <= end;
}

function kernelsInWindow(trace: Trace, device: DeviceReport): KernelSubset {
  const meets = meetsWindow(trace, device);
  const k = trace.kernels;
  let n = 0;
  for (let i = 0; i < k.count; i++) if (meets(i)) n++;
  if (n === k.count) return { count: n, rows: null };
  const rows = new Int32Array(n);
  for (let i = 0, j = 0; j < n; i++) if (meets(i)) rows[j++] = i;
  return { count: n, rows };
}

/** Fraction of the window; null for an empty window. */
export function shareOfWindow(ctx: FindingContext, ns: number): number | null {
  const length = windowLength(ctx.device.window);
  return length > 0 ? ns / length : null;
}

/** Severity from the share of the window a finding explains. */
export function severityOfShare(share: number | null): Severity {
  if (share === null) return 'low';
  if (share >= 0.2) return 'high';
  if (share >= 0.05) return 'medium';
  return 'low';
}

/** Median duration of the window's kernels (clipped to W), from the report when it has it. */
export function medianKernelDuration(ctx: FindingContext): number {
  if (ctx.device.kernelDuration) return ctx.device.kernelDuration.median;
  const { start, end } = ctx.device.window;
  const k = ctx.trace.kernels;
  const { kernels } = ctx;
  const durations = new Float64Array(kernels.count);
  for (let j = 0; j < kernels.count; j++) {
    const i = kernelRow(kernels, j);
    durations[j] = Math.max(0, Math.min(k.end[i], end) - Math.max(k.start[i], start));
  }
  return distributionInPlace(durations).median;
}

/** "64 times per iteration" when iterations are known, else "128 times in the window"; "once" for 1 time. */
export function countPhrase(ctx: FindingContext, total: number, noun: string, perIteration: number | null = null): string {
  const it = ctx.iterations;
  const amount = (n: number, text: string): string => (noun === 'times' && n === 1 ? 'once' : `${text} ${noun}`);
  if (it && it.count > 0) {
    const per = perIteration ?? total / it.count;
    // "0.1 times per iteration" reads as nonsense: below once per iteration, count the window instead
    if (per >= 1) return `${amount(per, formatPerIteration(per))} per iteration`;
  }
  return `${amount(total, formatCount(total))} in the window`;
}

export function formatPerIteration(v: number): string {
  return Number.isInteger(v) ? formatCount(v) : v.toFixed(1);
}

export function plural(n: number, word: string, many = `${word}s`): string {
  return `${formatCount(n)} ${n === 1 ? word : many}`;
}
