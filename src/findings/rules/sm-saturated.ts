/**
 * sm-saturated: the kernels are big enough that one of them occupies every SM (waves >= 1), so a
 * kernel on another stream can only start in the last wave's tail. Streams then cannot help: the
 * third classic reason experts do not overlap.
 *
 * Its cost is the time work on another stream was ready (launched, its own stream idle) but held
 * back while a saturating kernel occupied the SMs. Where nothing was queued behind the big kernels
 * (a host sync or slow launches emptied the queue) saturation did not keep the streams apart, and
 * the rule stays silent: the other findings name the cause.
 */
import type { Finding } from '../../report/types.js';
import { intervalSet, totalLength, upperBound } from '../../model/intervals.js';
import { formatCount, formatNs, formatPct } from '../../render/format.js';
import { kernelWaves } from '../../analyses/sm-fill.js';
import { hasExperts, kernelRows, measure, severityOfShare, shareOfWindow, withMeasures, type FindingContext } from '../context.js';

/** Saturation explains the picture only when most kernel time is in kernels that fill the GPU. */
const MIN_FULL_TIME_SHARE = 0.5;
/** ...and when ready work waited behind them for at least this share of the window. */
const MIN_HELD_BACK_SHARE = 0.01;

const LIMIT_WORDS: Record<string, string> = {
  warps: 'threads per SM', registers: 'registers', sharedMemory: 'shared memory', blocks: 'blocks per SM',
};

export function smSaturated(ctx: FindingContext): Finding | null {
  const fill = ctx.smFill;
  if (!fill || fill.fullTimeShare === null || fill.fullTimeShare < MIN_FULL_TIME_SHARE || ctx.activeStreams < 2) return null;
  const limits = fill.limits!;
  const cost = heldBackTime(ctx);
  const share = shareOfWindow(ctx, cost);
  if (share === null || share < MIN_HELD_BACK_SHARE) return null;
  const top = fill.byName.find((s) => (s.fullShare ?? 0) > 0) ?? fill.byName[0];
  const o = ctx.device.overlap;
  const title = `Kernels fill every SM: ${short(top.name)}'s ${formatCount(top.medianBlocks)} blocks take ${top.medianWaves!.toFixed(1)} waves on ${formatCount(limits.smCount!)} SMs (${formatCount(top.residentBlocksPerSm!)} fit per SM), so ${formatCount(ctx.activeStreams)} streams overlap only ${formatPct(o.overlapShare)} of the busy time`;
  const evidence = [
    `${formatPct(fill.fullTimeShare)} of kernel time (${formatNs(fill.fullKernelTime)} in ${plural(fill.fullKernelCount)}) is in kernels with waves ≥ 1; a kernel on another stream can start only in their last wave.`,
    ...fill.byName.filter((s) => (s.fullShare ?? 0) > 0).slice(0, 3).map((s) =>
      `${short(s.name)}: ${formatCount(s.count)} launches, median ${formatCount(s.medianBlocks)} blocks, ${formatCount(s.residentBlocksPerSm!)} resident per SM (limited by ${LIMIT_WORDS[s.limit!]}), ${s.medianWaves!.toFixed(2)} waves, ${formatNs(s.kernelTime)}.`),
    `Kernels on other streams were launched and ready but waited ${formatNs(cost)} (${formatPct(share)} of the window) for a saturating kernel to free the SMs; GPU limits from ${limits.source === 'trace' ? 'the trace' : limits.source === 'table' ? `the sm${limits.computeCapability?.replace('.', '')} table` : 'the trace and the compute-capability table'}.`,
  ];
  return withMeasures({
    id: 'sm-saturated', severity: severityOfShare(share), deviceId: ctx.device.deviceId, title, evidence,
    costNs: cost, costShare: share,
    fix: `More streams cannot speed this up: each kernel already occupies all ${formatCount(limits.smCount!)} SMs, so make the kernels themselves faster or smaller.${hasExperts(ctx) ? ' For the experts, one grouped GEMM over all of them replaces the streams and removes each expert\'s partly filled last wave.' : ''}`,
  }, [
    measure('fullWaveKernelTimeShare', fill.fullTimeShare, 'share'),
    measure('fullWaveKernelTime', fill.fullKernelTime, 'ns'),
    measure('fullWaveKernels', fill.fullKernelCount, 'count'),
    measure('smCount', limits.smCount ?? null, 'count'),
    measure('topKernelMedianBlocks', top.medianBlocks, 'count'),
    measure('topKernelMedianWaves', top.medianWaves ?? null, 'ratio'),
    measure('heldBackTime', cost, 'ns'),
    measure('activeStreams', ctx.activeStreams, 'count'),
    measure('overlapShare', o.overlapShare, 'share'),
  ]);
}

function plural(n: number): string {
  return `${formatCount(n)} launch${n === 1 ? '' : 'es'}`;
}

/** Kernel names can be whole C++ signatures; the title needs the function name. */
function short(name: string): string {
  const bare = name.replace(/\(.*$/, '').replace(/<.*$/, '');
  return bare.length > 60 ? `${bare.slice(0, 57)}...` : bare;
}

/**
 * |union over kernels k of [ready_k, start_k] ∩ (saturating kernels of other streams)|, within W,
 * where ready_k = max(end of k's launch call, end of the previous kernel on k's stream).
 */
function heldBackTime(ctx: FindingContext): number {
  const { trace, device, smFill } = ctx;
  const kernels = kernelRows(ctx.kernels);
  const { start: w0, end: w1 } = device.window;
  const k = trace.kernels;
  const call = ctx.links.kernelCall;
  const waves = kernelWaves(trace, kernels, smFill!.limits);
  // saturating kernels in start order (ctx.kernels is sorted by start)
  const fullIdx = kernels.filter((_, j) => waves[j] >= 1);
  const fullStart = Float64Array.from(fullIdx, (i) => k.start[i]);
  const maxFullLength = fullIdx.reduce((m, i) => Math.max(m, k.end[i] - k.start[i]), 0);
  const prevEnd = new Map<number, number>();
  const pieces: [number, number][] = [];
  for (let j = 0; j < kernels.length; j++) {
    const i = kernels[j];
    const stream = k.streamId[i];
    const r = call[i];
    const launched = r >= 0 ? trace.runtime.end[r] : k.start[i];
    const ready = Math.max(w0, launched, prevEnd.get(stream) ?? -Infinity);
    prevEnd.set(stream, Math.max(prevEnd.get(stream) ?? -Infinity, k.end[i]));
    const until = Math.min(k.start[i], w1);
    if (until <= ready) continue;
    // saturating kernels that can meet [ready, until): those starting before `until` and not ended before `ready`
    for (let p = upperBound(fullStart, fullStart.length, ready - maxFullLength - 1); p < fullStart.length && fullStart[p] < until; p++) {
      const f = fullIdx[p];
      if (k.streamId[f] === stream) continue;
      const a = Math.max(ready, k.start[f]);
      const b = Math.min(until, k.end[f]);
      if (b > a) pieces.push([a, b]);
    }
  }
  pieces.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  return totalLength(intervalSet(pieces));
}
