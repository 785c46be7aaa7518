/**
 * launch-bound: kernels finish faster than the CPU issues them, so the GPU idles between launches
 * however many streams there are (DESIGN.md "Launch latency"): the second cause of experts that
 * never overlap, and the one CUDA graphs and grouped GEMMs remove.
 */
import { culpritOf } from '../../analyses/culprits.js';
import type { Finding } from '../../report/types.js';
import { formatCount, formatNs, formatPct } from '../../render/format.js';
import { measure, medianKernelDuration, plural, severityOfShare, shareOfWindow, withMeasures, type FindingContext } from '../context.js';

/** host-wait idle below this share of the window is not worth a finding */
const MIN_SHARE = 0.01;
/** kernels per iteration of an already fused layer (grouped GEMMs plus routing glue) */
const FEW_KERNELS = 64;

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
      `in ${plural(hostWait.count, 'idle gap')}${device.gaps.byClass['sync-stall'].count > 0 ? ' and after the blocking call returned in sync-stall gaps' : ''}.`,
    `${formatCount(device.launch.matchedKernels)} kernels matched to their launch call; launch interval median ${formatNs(interval)}, p95 ${formatNs(device.launch.interval.p95)}; launch latency median ${formatNs(device.launch.latency.median)}.`,
  ];
  if (ctx.iterations) {
    evidence.push(`${formatCount(Math.round(ctx.iterations.kernelsPerIteration))} kernels per iteration over ${plural(ctx.iterations.count, 'iteration')} ("${ctx.iterations.name}").`);
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
    ...(ctx.iterations ? [measure('kernelsPerIteration', ctx.iterations.kernelsPerIteration, 'per-iteration')] : []),
  ];
  return withMeasures({
    id: 'launch-bound', severity: severityOfShare(share), deviceId: device.deviceId, title, evidence,
    costNs: hostWait.total, costShare: share,
    // A loop of a few dozen kernels has nothing left to fuse into a grouped GEMM; a graph still helps.
    // and a layer that already runs a grouped GEMM gets no advice to write one (issue 15)
    fix: (ctx.iterations && ctx.iterations.kernelsPerIteration < FEW_KERNELS) || culpritOf(device, 'existing-grouped-gemm')
      ? 'Capture the iteration once as a CUDA graph (cudaStreamBeginCapture, torch.cuda.CUDAGraph or torch.compile(mode="reduce-overhead")) and replay it, so its small kernels cost one launch instead of one each.'
      : 'Launch fewer, larger kernels: run all experts as one grouped GEMM per projection, or capture the expert loop once as a CUDA graph (cudaStreamBeginCapture / torch.cuda.CUDAGraph) and replay it with a single launch.',
  }, measures);
}
