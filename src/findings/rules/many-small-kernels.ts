/**
 * many-small-kernels: thousands of short kernels, each paying a launch and a gap. Its cost is the
 * idle time the launch-bound finding does not already count: gaps whose kernel was launched in
 * time (gpu-side) or whose cause the trace cannot tell (unexplained).
 */
import { culpritOf } from '../../analyses/culprits.js';
import type { Finding } from '../../report/types.js';
import { formatCount, formatNs, formatPct } from '../../render/format.js';
import { countPhrase, hasExperts, kernelRow, perIteration as perIterationCounts, measure, medianKernelDuration, shareOfWindow, withMeasures, type FindingContext } from '../context.js';

/** A kernel this short costs about as much to launch (~5 µs of CPU, a few µs of GPU) as to run. */
const SMALL_KERNEL_NS = 20_000;
/** Per iteration: a MoE layer loop over 32+ experts with two GEMMs each. */
const MANY_PER_ITERATION = 64;
/** Without iterations, a count that is many for any window. */
const MANY_IN_WINDOW = 1000;

function graphShare(ctx: FindingContext): number {
  const g = ctx.trace.kernels.graphNodeId;
  const { kernels } = ctx;
  let n = 0;
  for (let j = 0; j < kernels.count; j++) if (g[kernelRow(kernels, j)] >= 0) n++;
  return kernels.count > 0 ? n / kernels.count : 0;
}

export function manySmallKernels(ctx: FindingContext): Finding | null {
  const { device, iterations } = ctx;
  const count = device.overlap.kernelCount;
  const perIteration = iterations ? perIterationCounts(ctx.device, iterations).kernels : null;
  const many = perIteration !== null ? perIteration >= MANY_PER_ITERATION : count >= MANY_IN_WINDOW;
  const median = medianKernelDuration(ctx);
  // When launch-bound holds it already says this, with the same fix; kernels replayed from a
  // CUDA graph already pay one launch for all of them.
  if (!many || median >= SMALL_KERNEL_NS || device.launch.launchBound || graphShare(ctx) >= 0.5) return null;
  const g = device.gaps.byClass;
  const cost = g['gpu-side'].total + g.unexplained.total;
  const share = shareOfWindow(ctx, cost);
  const k = ctx.trace.kernels;
  const byName = new Map<number, number>();
  // the subset once: ctx.kernels is a getter
  const kernels = ctx.kernels;
  for (let j = 0; j < kernels.count; j++) {
    const name = k.shortName[kernelRow(kernels, j)];
    byName.set(name, (byName.get(name) ?? 0) + 1);
  }
  const name = (n: number): string => ctx.trace.strings[n] ?? '?';
  const top = [...byName.entries()].sort((a, b) => b[1] - a[1] || name(a[0]).localeCompare(name(b[0]))).slice(0, 3)
    .map(([n, c]) => `${name(n)} × ${formatCount(c)}`);
  const title = `${countPhrase(ctx, count, 'kernels', perIteration)}, ${formatNs(median)} each (median): every launch costs about as much as the work it carries`;
  const evidence = [
    `${formatCount(count)} kernels, ${formatNs(device.overlap.kernelTime)} of kernel time; most launched: ${top.join(', ')}.`,
  ];
  if (cost > 0) {
    evidence.push(`${formatCount(device.gaps.all.count)} idle gaps between kernels (median ${formatNs(device.gaps.all.median)}); ${formatNs(cost)} of them (${formatPct(share)} of the window) came after the launch was already issued or have no recorded cause.`);
  }
  return withMeasures({
    id: 'many-small-kernels', severity: share !== null && share >= 0.05 ? 'medium' : 'low', deviceId: device.deviceId, title, evidence,
    costNs: cost, costShare: share,
    fix: culpritOf(device, 'existing-grouped-gemm')
      ? 'The experts already run as a grouped GEMM; what is left is small glue kernels: capture the layer as a CUDA graph (torch.cuda.CUDAGraph, torch.compile(mode="reduce-overhead")) so they cost one launch, or fuse the routing glue.'
      : hasExperts(ctx)
      ? 'Fuse the per-expert work: one grouped GEMM per projection (e.g. torch._grouped_mm or a cuBLAS grouped GEMM) replaces two launches per expert; where a loop has to stay, capture it as a CUDA graph so it launches as one unit.'
      : 'Fuse chains of small kernels (torch.compile, or one hand-written kernel for an elementwise chain), batch the work each kernel does (a larger batch, or one batched call instead of a loop of small ones), and capture what stays a loop as a CUDA graph so it launches as one unit.',
  }, [
    measure('kernelCount', count, 'count'),
    ...(perIteration !== null ? [measure('kernelsPerIteration', perIteration, 'per-iteration')] : []),
    measure('kernelMedian', median, 'ns'),
    measure('kernelTime', device.overlap.kernelTime, 'ns'),
    measure('idleGaps', device.gaps.all.count, 'count'),
    measure('idleGapMedian', device.gaps.all.median, 'ns'),
  ]);
}
