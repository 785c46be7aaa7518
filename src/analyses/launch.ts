/**
 * "Could the CPU keep up?" Launch latency (kernel start - end of its launch call, clipped at 0)
 * and launch interval (time between consecutive launch-call starts on one thread).
 *
 * The launch calls considered are the calls that launched the kernels in W (found through
 * correlationId), so the cadence is the one feeding this device; a cudaGraphLaunch that starts
 * many kernels counts once. launchBound (DESIGN.md): median kernel duration < median launch
 * interval, and host-wait "dominates" the gaps, taken as: more than half of all gap time.
 */
import type { Trace } from '../model/trace.js';
import type { Distribution, GapSummary, LaunchStats } from '../report/types.js';
import { distributionOf, distributionOfUncounted, type ValueSink } from '../model/distribution.js';
import { callLinks, type CallLinks } from './correlation.js';
import { OpKind, opRow, type OpSelection } from './select.js';

export function launchStats(
  trace: Trace, sel: OpSelection, kernelDuration: Distribution, gaps: GapSummary, links: CallLinks = callLinks(trace),
): LaunchStats {
  return withLaunchBound(launchMeasures(trace, sel, links), kernelDuration, gaps);
}

/** Launch latency and interval of the selection's kernels: what launchStats reads from the selection (the gaps come after). */
export function launchMeasures(trace: Trace, sel: OpSelection, links: CallLinks): Omit<LaunchStats, 'launchBound'> {
  const { kernels, runtime } = trace;
  const { kernelCall } = links;
  let matched = 0;
  const isLaunch = new Uint8Array(runtime.count);
  for (let o = 0; o < sel.ops.count; o++) {
    if (sel.ops.kind[o] !== OpKind.Kernel) continue;
    const call = kernelCall[opRow(sel, o)];
    if (call < 0) continue;
    matched++;
    isLaunch[call] = 1;
  }
  const latencyDist = distributionOf(matched, (out) => {
    for (let o = 0; o < sel.ops.count; o++) {
      if (sel.ops.kind[o] !== OpKind.Kernel) continue;
      const row = opRow(sel, o);
      const call = kernelCall[row];
      if (call >= 0) out.put(Math.max(0, kernels.start[row] - runtime.end[call]));
    }
  });
  // previous launch start per thread: threads are indices into trace.threads, so an array, not a Map
  const threadSlots = Math.max(trace.threads.length, 1);
  const lastStart = new Float64Array(threadSlots);
  const seen = new Uint8Array(threadSlots);
  const intervals = (out: ValueSink): void => {
    seen.fill(0);
    const elsewhere = new Map<number, number>();
    // the launch calls in row order, each once (no list of their rows: 4 bytes a kernel at the peak)
    for (let r = 0; r < isLaunch.length; r++) {
      if (isLaunch[r] === 0) continue;
      const t = runtime.thread[r];
      const s = runtime.start[r];
      if (t >= 0 && t < threadSlots) {
        if (seen[t]) out.put(s - lastStart[t]);
        seen[t] = 1;
        lastStart[t] = s;
      } else {
        const prev = elsewhere.get(t);
        if (prev !== undefined) out.put(s - prev);
        elsewhere.set(t, s);
      }
    }
  };
  // counted by the statistics' first pass: no walk of the calls to count them (at most one a kernel)
  const intervalDist = distributionOfUncounted(intervals, matched);
  return { latency: latencyDist, interval: intervalDist, matchedKernels: matched };
}

/** launchBound (DESIGN.md): median kernel duration < median launch interval, and host-wait more than half of all gap time. */
export function withLaunchBound(m: Omit<LaunchStats, 'launchBound'>, kernelDuration: Distribution, gaps: GapSummary): LaunchStats {
  const gapTotal = gaps.all.total;
  const launchBound = m.interval.count > 0 && kernelDuration.count > 0 &&
    kernelDuration.median < m.interval.median &&
    gapTotal > 0 && gaps.byClass['host-wait'].total * 2 > gapTotal;
  return { latency: m.latency, interval: m.interval, matchedKernels: m.matchedKernels, launchBound };
}
