/**
 * sm-saturated: the kernels are big enough that one of them occupies every SM (waves >= 1), so a
 * kernel on another stream can only start in the last wave's tail. Streams then cannot help: the
 * third classic reason experts do not overlap.
 */
import type { Finding } from '../../report/types.js';
import { complement, concurrencyLevels, intervalSet, upperBound } from '../../model/intervals.js';
import { formatCount, formatNs, formatPct } from '../../render/format.js';
import { kernelWaves } from '../../analyses/sm-fill.js';
import { severityOfShare, shareOfWindow, type FindingContext } from '../context.js';

/** Saturation explains the picture only when most kernel time is in kernels that fill the GPU. */
const MIN_FULL_TIME_SHARE = 0.5;

const LIMIT_WORDS: Record<string, string> = {
  warps: 'threads per SM', registers: 'registers', sharedMemory: 'shared memory', blocks: 'blocks per SM',
};

export function smSaturated(ctx: FindingContext): Finding | null {
  const fill = ctx.smFill;
  if (!fill || fill.fullTimeShare === null || fill.fullTimeShare < MIN_FULL_TIME_SHARE || ctx.activeStreams < 2) return null;
  const limits = fill.limits!;
  const cost = aloneTime(ctx);
  const share = shareOfWindow(ctx, cost);
  const top = fill.byName.find((s) => (s.fullShare ?? 0) > 0) ?? fill.byName[0];
  const o = ctx.device.overlap;
  const title = `Kernels fill every SM: ${short(top.name)}'s ${formatCount(top.medianBlocks)} blocks take ${top.medianWaves!.toFixed(1)} waves on ${formatCount(limits.smCount!)} SMs (${formatCount(top.residentBlocksPerSm!)} fit per SM), so ${formatCount(ctx.activeStreams)} streams overlap only ${formatPct(o.overlapShare)} of the busy time`;
  const evidence = [
    `${formatPct(fill.fullTimeShare)} of kernel time (${formatNs(fill.fullKernelTime)} in ${plural(fill.fullKernelCount)}) is in kernels with waves ≥ 1; a kernel on another stream can start only in their last wave.`,
    ...fill.byName.filter((s) => (s.fullShare ?? 0) > 0).slice(0, 3).map((s) =>
      `${short(s.name)}: ${formatCount(s.count)} launches, median ${formatCount(s.medianBlocks)} blocks, ${formatCount(s.residentBlocksPerSm!)} resident per SM (limited by ${LIMIT_WORDS[s.limit!]}), ${s.medianWaves!.toFixed(2)} waves, ${formatNs(s.kernelTime)}.`),
    `A saturating kernel ran alone for ${formatNs(cost)} (${formatPct(share)} of the window); GPU limits from ${limits.source === 'trace' ? 'the trace' : limits.source === 'table' ? `the sm${limits.computeCapability?.replace('.', '')} table` : 'the trace and the compute-capability table'}.`,
  ];
  return {
    id: 'sm-saturated', severity: share !== null && share >= 0.2 ? 'medium' : 'low', deviceId: ctx.device.deviceId, title, evidence,
    costNs: cost, costShare: share,
    fix: `More streams cannot speed this up: each kernel already occupies all ${formatCount(limits.smCount!)} SMs, so make the kernels themselves faster or smaller. For MoE experts, one grouped GEMM over all experts replaces the streams and removes each expert's partly filled last wave.`,
  };
}

function plural(n: number): string {
  return `${formatCount(n)} launch${n === 1 ? '' : 'es'}`;
}

/** Kernel names can be whole C++ signatures; the title needs the function name. */
function short(name: string): string {
  const bare = name.replace(/\(.*$/, '').replace(/<.*$/, '');
  return bare.length > 60 ? `${bare.slice(0, 57)}...` : bare;
}

/** |{t in W : a saturating kernel runs and no other kernel does}|: the busy time saturation leaves unshared. */
function aloneTime(ctx: FindingContext): number {
  const { trace, kernels, device, smFill } = ctx;
  const { start: w0, end: w1 } = device.window;
  const k = trace.kernels;
  const waves = kernelWaves(trace, kernels, smFill!.limits);
  const others: [number, number][] = [];
  const full: [number, number][] = [];
  kernels.forEach((i, j) => {
    const s = Math.max(k.start[i], w0);
    const e = Math.min(k.end[i], w1);
    if (e > s) (waves[j] >= 1 ? full : others).push([s, e]);
  });
  // Time with exactly one saturating kernel, measured only where no other kernel runs.
  const free = complement(intervalSet(others), w0, w1);
  const pieces: [number, number][] = [];
  for (const [s, e] of full) {
    for (let p = upperBound(free.end, free.count, s); p < free.count && free.start[p] < e; p++) {
      const a = Math.max(s, free.start[p]);
      const b = Math.min(e, free.end[p]);
      if (b > a) pieces.push([a, b]);
    }
  }
  pieces.sort((x, y) => x[0] - y[0]);
  const levels = concurrencyLevels(pieces.map((p) => p[0]), pieces.map((p) => p[1]), pieces.length);
  return levels.levelTime[1] ?? 0;
}
