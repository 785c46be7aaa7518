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
import { distributionOfUncounted, type ValueSink } from '../model/distribution.js';
import { callLinks, type CallLinks } from './correlation.js';
import { OpKind, type OpSelection } from './select.js';

export function launchStats(
  trace: Trace, sel: OpSelection, kernelDuration: Distribution, gaps: GapSummary, links: CallLinks = callLinks(trace),
): LaunchStats {
  return withLaunchBound(launchMeasures(trace, sel, links), kernelDuration, gaps);
}

/**
 * Launch latency and interval of the selection's kernels (what launchStats reads from the selection:
 * the gaps come after), and the threads that launched them, which the interval passes see (the
 * findings' allocation-in-loop asks for them: no walk of the window's kernels of its own).
 */
export function launchMeasures(trace: Trace, sel: OpSelection, links: CallLinks): Omit<LaunchStats, 'launchBound'> & { threads: Set<number> } {
  const { kernels, runtime } = trace;
  const { kernelCall } = links;
  // the columns in locals: a loop that calls out (a sink's flush) would read each property again
  // every iteration (measured: the op-kind test was most of a pass)
  const { count: ops, kind, row: opRows } = sel.ops;
  const KERNEL = OpKind.Kernel;
  const { start: kStart } = kernels;
  const { start: rStart, end: rEnd, thread: rThread } = runtime;
  // the kernels' launch calls: when they never go back in the selection's order (one thread
  // launching in the order the kernels ran), the calls in row order are the kernels' own, each
  // once where repeated (a graph launch); else a flag per call row. The latency passes count the
  // matched kernels and check that order as they go (no pass over the kernels of its own).
  let inOrder = true;
  const latencyDist = distributionOfUncounted((out) => {
    let lastCall = -1;
    let ordered = true;
    for (let o = 0; o < ops; o++) {
      if (kind[o] !== KERNEL) continue;
      const row = opRows ? opRows[o] : o;
      const call = kernelCall[row];
      if (call < 0) continue;
      if (call < lastCall) ordered = false;
      lastCall = call;
      out.put(Math.max(0, kStart[row] - rEnd[call]));
    }
    inOrder = ordered;
  }, ops);
  const matched = latencyDist.count;
  let isLaunch: Uint8Array | null = null;
  if (!inOrder) {
    isLaunch = new Uint8Array(runtime.count);
    for (let o = 0; o < ops; o++) {
      if (kind[o] !== KERNEL) continue;
      const call = kernelCall[opRows ? opRows[o] : o];
      if (call >= 0) isLaunch[call] = 1;
    }
  }
  // previous launch start per thread: threads are indices into trace.threads, so an array, not a Map
  const threadSlots = Math.max(trace.threads.length, 1);
  const lastStart = new Float64Array(threadSlots);
  const seen = new Uint8Array(threadSlots);
  let elsewhere = new Map<number, number>();
  const intervals = (out: ValueSink): void => {
    seen.fill(0);
    elsewhere = new Map<number, number>();
    const launch = (r: number): void => {
      const t = rThread[r];
      const s = rStart[r];
      if (t >= 0 && t < threadSlots) {
        if (seen[t]) out.put(s - lastStart[t]);
        seen[t] = 1;
        lastStart[t] = s;
      } else {
        const prev = elsewhere.get(t);
        if (prev !== undefined) out.put(s - prev);
        elsewhere.set(t, s);
      }
    };
    // the launch calls in row order, each once (no list of their rows: 4 bytes a kernel at the peak):
    // the kernels' own calls in their order, or the flagged rows of every call
    if (isLaunch) {
      for (let r = 0; r < isLaunch.length; r++) if (isLaunch[r] !== 0) launch(r);
    } else {
      let last = -1;
      for (let o = 0; o < ops; o++) {
        if (kind[o] !== KERNEL) continue;
        const call = kernelCall[opRows ? opRows[o] : o];
        if (call >= 0 && call !== last) { launch(call); last = call; }
      }
    }
  };
  // counted by the statistics' first pass: no walk of the calls to count them (at most one a kernel)
  const intervalDist = distributionOfUncounted(intervals, matched);
  // every launch call was seen by the passes: its thread in `seen`, or a key of `elsewhere`
  const threads = new Set<number>(elsewhere.keys());
  for (let t = 0; t < threadSlots; t++) if (seen[t]) threads.add(t);
  return { latency: latencyDist, interval: intervalDist, matchedKernels: matched, threads };
}

/** launchBound (DESIGN.md): median kernel duration < median launch interval, and host-wait more than half of all gap time. */
export function withLaunchBound(m: Omit<LaunchStats, 'launchBound'>, kernelDuration: Distribution, gaps: GapSummary): LaunchStats {
  const gapTotal = gaps.all.total;
  const launchBound = m.interval.count > 0 && kernelDuration.count > 0 &&
    kernelDuration.median < m.interval.median &&
    gapTotal > 0 && gaps.byClass['host-wait'].total * 2 > gapTotal;
  return { latency: m.latency, interval: m.interval, matchedKernels: m.matchedKernels, launchBound };
}
