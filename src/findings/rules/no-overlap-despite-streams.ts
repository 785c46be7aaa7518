/**
 * no-overlap-despite-streams: the symptom the user reports. Several streams ran kernels but
 * kernels (almost) never ran at the same time. It explains no idle time by itself; the engine
 * names the cause findings in its evidence.
 */
import type { Finding } from '../../report/types.js';
import { formatCount, formatNs, formatPct } from '../../render/format.js';
import { hasExperts, measure, withMeasures, type FindingContext } from '../context.js';
import { windowLength } from '../../analyses/window.js';

/** Below this overlap share, streams are not buying concurrency. */
const MAX_OVERLAP_SHARE = 0.05;

export function noOverlapDespiteStreams(ctx: FindingContext): Finding | null {
  const { device } = ctx;
  const o = device.overlap;
  if (ctx.activeStreams < 2 || o.overlapShare === null || o.overlapShare >= MAX_OVERLAP_SHARE) return null;
  const pairs = [...device.streamPairs].sort((a, b) => b.overlap - a.overlap);
  const title = o.overlapTime === 0
    ? `${formatCount(ctx.activeStreams)} streams ran kernels, but no two kernels ever ran at the same time`
    : `${formatCount(ctx.activeStreams)} streams ran kernels, but two or more ran at once only ${formatPct(o.overlapShare)} of the busy time (${formatNs(o.overlapTime)})`;
  const evidence = [
    `GPU busy ${formatNs(o.busy)} of the ${formatNs(windowLength(device.window))} window (utilization ${formatPct(o.utilization)}); concurrency ${o.concurrency === null ? 'n/a' : o.concurrency.toFixed(3)} (1.000 = fully serial); at most ${formatCount(o.maxConcurrency)} kernel${o.maxConcurrency === 1 ? '' : 's'} at once.`,
    pairs.length > 0
      ? `Most-overlapping stream pair: streams ${pairs[0].a} and ${pairs[0].b}, ${formatNs(pairs[0].overlap)}; ${formatCount(pairs.length)} of ${formatCount((ctx.activeStreams * (ctx.activeStreams - 1)) / 2)} stream pairs overlap at all.`
      : ctx.activeStreams === 2 ? 'The two streams never overlap.' : `None of the ${formatCount((ctx.activeStreams * (ctx.activeStreams - 1)) / 2)} stream pairs overlap.`,
  ];
  return withMeasures({
    id: 'no-overlap-despite-streams', severity: 'medium', deviceId: device.deviceId, title, evidence,
    costNs: 0, costShare: 0,
    fix: `Streams only overlap kernels that are queued at the same time and leave SMs free; remove what empties the queue (see the other findings)${hasExperts(ctx) ? ' or replace the per-expert loop with one grouped GEMM' : ''}.`,
  }, [
    measure('activeStreams', ctx.activeStreams, 'count'),
    measure('overlapShare', o.overlapShare, 'share'),
    measure('overlapTime', o.overlapTime, 'ns'),
    measure('busy', o.busy, 'ns'),
    measure('utilization', o.utilization, 'share'),
    measure('concurrency', o.concurrency, 'ratio'),
    measure('maxConcurrency', o.maxConcurrency, 'count'),
    measure('overlappingStreamPairs', pairs.length, 'count'),
  ]);
}
