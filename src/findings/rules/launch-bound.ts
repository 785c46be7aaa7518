/**
 * launch-bound: kernels finish faster than the CPU issues them, so the GPU idles between launches
 * however many streams there are (DESIGN.md "Launch latency"): the second cause of experts that
 * never overlap, and the one CUDA graphs and grouped GEMMs remove.
 */
import { culpritOf } from '../../analyses/culprits.js';
import type { Finding } from '../../report/types.js';
import { intersectionLength, sortedUnionMeets, union } from '../../model/intervals.js';
import { formatCount, formatNs, formatPct } from '../../render/format.js';
import { hasExperts, measure, medianKernelDuration, perIteration, plural, severityOfShare, shareOfWindow, withMeasures, type FindingContext } from '../context.js';

/** host-wait idle below this share of the window is not worth a finding */
const MIN_SHARE = 0.01;
/** kernels per iteration of an already fused layer (grouped GEMMs plus routing glue) */
const FEW_KERNELS = 64;
/**
 * A launch costs a few µs of host time; kernels issued a millisecond or more apart are held back
 * by other host work (Python, CPU compute, data loading), which a CUDA graph does not remove.
 */
export const HOST_WORK_INTERVAL_NS = 1_000_000;

const CUDA_GRAPH = 'cudaStreamBeginCapture, torch.cuda.CUDAGraph or torch.compile(mode="reduce-overhead")';
/** On ROCm the same capture is a HIP graph (torch.cuda.CUDAGraph maps to it). */
const HIP_GRAPH = 'hipStreamBeginCapture, torch.cuda.CUDAGraph or torch.compile(mode="reduce-overhead")';
const isAmd = (ctx: FindingContext): boolean => /\b(AMD|Radeon|Instinct)\b/i.test(ctx.device.gpuName ?? '');

/**
 * The fix, by what the trace shows: host work between launches; a loop already fused (few kernels
 * an iteration, or a grouped GEMM runs: issue 15); MoE experts to group; else the generic cures.
 * Experts and grouped GEMMs are named only where the device has experts (hasExperts).
 */
export function launchBoundFix(ctx: FindingContext, interval: number): string {
  const GRAPH = isAmd(ctx) ? HIP_GRAPH : CUDA_GRAPH;
  const graph = isAmd(ctx) ? 'HIP graph' : 'CUDA graph';
  if (interval >= HOST_WORK_INTERVAL_NS) {
    return `The host issues a kernel only every ${formatNs(interval)}, far more than a launch costs: the time goes to other host work between launches (Python, CPU-side compute, data loading, copies). Find it in the CPU timeline between two launches and move it off the GPU's path (a background thread or process, prefetching) or onto the GPU; a ${graph} alone does not remove it.`;
  }
  if ((ctx.iterations && perIteration(ctx.device, ctx.iterations).kernels < FEW_KERNELS) || culpritOf(ctx.device, 'existing-grouped-gemm')) {
    return `Capture the iteration once as a ${graph} (${GRAPH}) and replay it, so its small kernels cost one launch instead of one each.`;
  }
  if (hasExperts(ctx)) {
    return `Launch fewer, larger kernels: run all experts as one grouped GEMM per projection, or capture the expert loop once as a ${graph} (${isAmd(ctx) ? 'hipStreamBeginCapture' : 'cudaStreamBeginCapture'} / torch.cuda.CUDAGraph) and replay it with a single launch.`;
  }
  return `Launch fewer, larger kernels: capture the iteration once as a ${graph} (${GRAPH}) and replay it, fuse chains of small kernels (torch.compile), or give each kernel more work (a larger batch).`;
}

export function launchBound(ctx: FindingContext): Finding | null {
  const { device } = ctx;
  const hostWait = device.gaps.byClass['host-wait'];
  const share = shareOfWindow(ctx, hostWait.total);
  if (!device.launch.launchBound || share === null || share < MIN_SHARE) return null;
  const kernelMedian = medianKernelDuration(ctx);
  const interval = device.launch.interval.median;
  const title = `Kernels run ${formatNs(kernelMedian)} (median) but the CPU issues one every ${formatNs(interval)}: the GPU sits waiting for launches`;
  const evidence = [
    `The GPU waited ${formatNs(hostWait.total)} for launches the host had not issued yet (host-wait): ${formatPct(share)} of the window, ${formatPct(device.gaps.all.total > 0 ? hostWait.total / device.gaps.all.total : null)} of all idle time, ` +
      `${hostWaitWhere(hostWait.count, device.gaps.byClass['sync-stall'].count)}.`,
    `${formatCount(device.launch.matchedKernels)} kernels matched to their launch call; launch interval median ${formatNs(interval)}, p95 ${formatNs(device.launch.interval.p95)}; launch latency median ${formatNs(device.launch.latency.median)}.`,
  ];
  if (ctx.iterations) {
    evidence.push(`${formatCount(Math.round(perIteration(device, ctx.iterations).kernels))} kernels per iteration over ${plural(ctx.iterations.count, 'iteration')} ("${ctx.iterations.name}").`);
  }
  const copying = copiesDuringIdle(ctx);
  if (copying > 0.01 * hostWait.total) {
    evidence.push(`Copies (memcpy/memset) ran during ${formatNs(copying)} of the GPU's idle time between kernels: the copy engines were busy then, and the host may have been issuing them (--include-transfers counts copies as GPU work).`);
  }
  if (ctx.activeStreams > 1) {
    evidence.push(`${formatCount(ctx.activeStreams)} streams cannot overlap kernels that are not yet launched: overlap share ${formatPct(device.overlap.overlapShare)}.`);
  }
  const measures = [
    measure('kernelMedian', kernelMedian, 'ns'),
    measure('launchIntervalMedian', interval, 'ns'),
    measure('launchIntervalP95', device.launch.interval.p95, 'ns'),
    measure('launchLatencyMedian', device.launch.latency.median, 'ns'),
    measure('hostWaitGaps', hostWait.count, 'count'),
    measure('hostWaitTime', hostWait.total, 'ns'),
    measure('hostWaitShareOfIdle', device.gaps.all.total > 0 ? hostWait.total / device.gaps.all.total : null, 'share'),
    measure('matchedKernels', device.launch.matchedKernels, 'count'),
    ...(ctx.iterations ? [measure('kernelsPerIteration', perIteration(device, ctx.iterations).kernels, 'per-iteration')] : []),
  ];
  return withMeasures({
    id: 'launch-bound', severity: severityOfShare(share), deviceId: device.deviceId, title, evidence,
    costNs: hostWait.total, costShare: share,
    fix: launchBoundFix(ctx, interval),
  }, measures);
}

/** Where the host-wait time lies: its own gaps, and the tails of sync-stall gaps after the blocking call returned. */
function hostWaitWhere(hostWaitGaps: number, syncStallGaps: number): string {
  const tails = 'the tails of sync-stall gaps, after the blocking call returned';
  if (hostWaitGaps === 0) return syncStallGaps > 0 ? `all in ${tails}` : 'in no idle gap';
  return `in ${plural(hostWaitGaps, 'idle gap')}${syncStallGaps > 0 ? ` and in ${tails}` : ''}`;
}

/** |(memcpy ∪ memset of the device) ∩ idle|: kernel-idle time during which copies ran (0 with --include-transfers, where copies are not idle). */
function copiesDuringIdle(ctx: FindingContext): number {
  const { trace, device } = ctx;
  const tables = [trace.memcpy, trace.memset];
  const inWindow = (c: (typeof tables)[number], i: number): boolean =>
    !(c.deviceId[i] !== device.deviceId || c.end[i] <= device.window.start || c.start[i] >= device.window.end);
  // the tables come in start order (nearly always): the two merged as they are walked, and their
  // union met with the gaps as it closes, with no columns of the copies nor of their union;
  // else those columns, in any order
  const walked = sortedUnionMeets(mergedInStartOrder(trace.memcpy, trace.memset, inWindow), ctx.idle);
  if (walked !== null) return walked;
  // a first pass counts, so the copies take two typed columns of their size (no pair per copy)
  let n = 0;
  for (const c of tables) for (let i = 0; i < c.count; i++) if (inWindow(c, i)) n++;
  if (n === 0) return 0;
  const start = new Float64Array(n);
  const end = new Float64Array(n);
  n = 0;
  for (const c of tables) for (let i = 0; i < c.count; i++) if (inWindow(c, i)) { start[n] = c.start[i]; end[n] = c.end[i]; n++; }
  return intersectionLength(union(start, end, n), ctx.idle);
}

type Copies = FindingContext['trace']['memcpy'] | FindingContext['trace']['memset'];

/** The rows of a and b that `kept` keeps, as sortedUnionMeets takes them: merged by start (a's first on a tie), each table's in row order. */
function mergedInStartOrder(a: Copies, b: Copies, kept: (c: Copies, i: number) => boolean): (at: Float64Array) => boolean {
  let i = 0;
  let j = 0;
  return (at) => {
    while (i < a.count && !kept(a, i)) i++;
    while (j < b.count && !kept(b, j)) j++;
    if (i < a.count && (j >= b.count || a.start[i] <= b.start[j])) { at[0] = a.start[i]; at[1] = a.end[i]; i++; return true; }
    if (j < b.count) { at[0] = b.start[j]; at[1] = b.end[j]; j++; return true; }
    return false;
  };
}
