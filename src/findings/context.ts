/**
 * What every finding rule reads: the device's report, the trace behind it, the analyses' context
 * for the device (analyses/device.ts DeviceContext: the trace's call links, W's segments, every
 * gap) and the optional SM-fill and NVTX analyses. Rules are pure functions of this context.
 */
import type { Trace } from '../model/trace.js';
import type { DeviceReport, Finding, IterationSummary, Measure, MeasureUnit, NvtxRangesReport, Severity, SmFillReport } from '../report/types.js';
import { distributionInPlace, type IntervalSet } from '../model/intervals.js';
import type { GapDetail } from '../analyses/launch-gaps.js';
import type { CallLinks } from '../analyses/correlation.js';
import type { DeviceContext } from '../analyses/device.js';
import { kernelRow, kernelsInWindow, type KernelSubset } from '../analyses/select.js';
import { rowsOf } from '../model/columns.js';
import { formatCount } from '../render/format.js';
import { windowLength } from '../analyses/window.js';

export { kernelRow, type KernelSubset } from '../analyses/select.js';
export { perIteration, type PerIteration } from '../analyses/per-iteration.js';

export interface FindingContext {
  trace: Trace;
  device: DeviceReport;
  smFill: SmFillReport | null;
  nvtx: NvtxRangesReport | null;
  iterations: IterationSummary | null;
  /** W as disjoint segments (several with a --range matching separate ranges) */
  segments: IntervalSet;
  /** the kernels of this device in W (select.ts kernelsInWindow: those the analyses count), in start order */
  kernels: KernelSubset;
  /** the device's idle gaps in W (n(t) = 0), as an interval set */
  idle: IntervalSet;
  /** every gap of the device (the report lists only the longest) */
  gaps: GapDetail;
  /** each GPU operation's API call */
  links: CallLinks;
  /** streams that ran kernels in W */
  activeStreams: number;
  /** the threads that launched the kernels in W, when the analyses found them (else from `kernels`) */
  launchThreads: ReadonlySet<number> | null;
}

export type Rule = (ctx: FindingContext) => Finding | null;

/** A named number of a finding (Finding.measures); null where it is undefined. */
export function measure(name: string, value: number | null, unit: MeasureUnit): Measure {
  return { name, value: value !== null && Number.isFinite(value) ? value : null, unit };
}

/**
 * A finding with its measures: costNs and costShare first, then the rule's own numbers, the
 * ones its title and evidence state.
 */
export function withMeasures(f: Omit<Finding, 'measures'>, measures: Measure[]): Finding {
  return { ...f, measures: [measure('costNs', f.costNs, 'ns'), measure('costShare', f.costShare, 'share'), ...measures] };
}

/** The subset's rows as an array (a new one when they are every kernel). */
export const kernelRows: (s: KernelSubset) => Int32Array = rowsOf;

export function buildContext(
  trace: Trace, device: DeviceReport, analysis: DeviceContext,
  extras: { smFill?: SmFillReport | null; nvtx?: NvtxRangesReport | null } = {},
): FindingContext {
  const nvtx = extras.nvtx ?? device.nvtxRanges ?? null;
  let kernels: KernelSubset | null = null;
  return {
    trace, device,
    // made on first use: most rules never read it
    get kernels(): KernelSubset {
      kernels ??= kernelsInWindow(trace, device.deviceId, analysis.segments);
      return kernels;
    },
    smFill: extras.smFill ?? device.smFill ?? null,
    nvtx,
    // per-iteration counts describe whole iterations; a --range/--window selection cuts across them
    iterations: device.window.source === 'kernels' || device.window.source === 'iterations' ? nvtx?.iterations ?? null : null,
    segments: analysis.segments,
    idle: analysis.gaps.idle,
    gaps: analysis.gaps,
    links: analysis.index.links,
    activeStreams: device.streams.filter((s) => s.kernelCount > 0).length,
    launchThreads: analysis.launchThreads ?? null,
  };
}

/**
 * Whether the device runs MoE experts: the expert analysis found two or more (NVTX "expert N"
 * ranges or a repeated GEMM block in launch order), or the NVTX ranges name a family of experts.
 * Fixes that speak of experts and grouped GEMMs are given only then; a dense model, a solver or a
 * vector add gets the generic advice.
 */
export function hasExperts(ctx: FindingContext): boolean {
  if ((ctx.device.experts?.count ?? 0) >= 2) return true;
  return (ctx.nvtx?.families ?? []).some((f) => f.distinctNames >= 2 && /\bexperts?\b/i.test(f.name));
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
