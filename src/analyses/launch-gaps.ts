/**
 * "Why was the GPU idle?" Device gaps are the maximal intervals of W with no kernel running
 * (n(t) = 0). Each is explained by the launch call of the first kernel after it (DESIGN.md):
 *
 * - sync-stall:  a blocking call on the launching thread T overlaps the gap and began before the
 *                launch call did (a sync T enters after launching cannot have delayed that launch);
 * - host-wait:   otherwise, when the launch call had not returned when the gap began (it began
 *                after the gap began, or was still running: launch overhead is host time too);
 * - gpu-side:    the launch call had returned before the gap began: the GPU held the work;
 * - unexplained: no kernel after the gap, or no runtime record for its launch.
 *
 * Gaps are taken in all of W, so the idle time before the first and after the last kernel of an
 * explicit --window counts (their total equals level-0 time, |W| - busy). A trailing gap is
 * explained by the device's next kernel after W when the trace has one. In a multi-segment
 * --range window, time between segments is outside W and is no gap.
 */
import type { Trace } from '../model/trace.js';
import type { Gap, GapClass, GapSummary } from '../report/types.js';
import { distribution, lowerBound, type IntervalSet } from '../model/intervals.js';
import { callLinks } from './correlation.js';
import { blockingIndex } from './blocking-calls.js';

export const GAP_CLASSES: readonly GapClass[] = ['sync-stall', 'host-wait', 'gpu-side', 'unexplained'];
const SYNC_STALL = 0;
const HOST_WAIT = 1;
const GPU_SIDE = 2;
const UNEXPLAINED = 3;

interface ThreadBlocking {
  start: Float64Array;
  /** max end over the thread's blocking calls [0..i] and the call reaching it */
  maxEnd: Float64Array;
  maxAt: Int32Array;
}

export function classifyGaps(trace: Trace, deviceId: number, gaps: IntervalSet): GapSummary {
  const { kernels, runtime, strings } = trace;
  const { kernelCall } = callLinks(trace);
  const blocking = blockingIndex(trace);

  let n = 0;
  for (let i = 0; i < kernels.count; i++) if (kernels.deviceId[i] === deviceId) n++;
  const kStart = new Float64Array(n);
  const kRow = new Int32Array(n);
  for (let i = 0, k = 0; i < kernels.count; i++) {
    if (kernels.deviceId[i] === deviceId) { kStart[k] = kernels.start[i]; kRow[k] = i; k++; }
  }

  const perThread = new Map<number, ThreadBlocking | null>();
  const threadBlocking = (t: number): ThreadBlocking | null => {
    let tb = perThread.get(t);
    if (tb === undefined) {
      const rows = blocking.byThread.get(t);
      tb = null;
      if (rows) {
        const start = Float64Array.from(rows, (r) => runtime.start[r]);
        const maxEnd = new Float64Array(rows.length);
        const maxAt = new Int32Array(rows.length);
        for (let i = 0; i < rows.length; i++) {
          const e = runtime.end[rows[i]];
          if (i > 0 && maxEnd[i - 1] >= e) { maxEnd[i] = maxEnd[i - 1]; maxAt[i] = maxAt[i - 1]; } else { maxEnd[i] = e; maxAt[i] = rows[i]; }
        }
        tb = { start, maxEnd, maxAt };
      }
      perThread.set(t, tb);
    }
    return tb;
  };

  const out: Gap[] = new Array(gaps.count);
  const durations = new Float64Array(gaps.count);
  const classCount = [0, 0, 0, 0];
  const classTotal = [0, 0, 0, 0];
  for (let g = 0; g < gaps.count; g++) {
    const gs = gaps.start[g];
    const ge = gaps.end[g];
    let k = lowerBound(kStart, n, ge);
    // A zero-length kernel does not end a gap; prefer a real kernel starting at the same instant.
    let j = k;
    while (j < n && kStart[j] === ge && kernels.end[kRow[j]] === ge) j++;
    if (j < n && kStart[j] === ge) k = j;
    const call = k < n ? kernelCall[kRow[k]] : -1;
    let cls = UNEXPLAINED;
    let syncCall = -1;
    if (call >= 0) {
      const rs = runtime.start[call];
      const tb = threadBlocking(runtime.thread[call]);
      const q = tb ? lowerBound(tb.start, tb.start.length, Math.min(ge, rs)) : 0;
      if (tb && q > 0 && tb.maxEnd[q - 1] > gs) {
        cls = SYNC_STALL;
        syncCall = tb.maxAt[q - 1];
      } else {
        cls = runtime.end[call] > gs ? HOST_WAIT : GPU_SIDE;
      }
    }
    const duration = ge - gs;
    const gap: Gap = { start: gs, end: ge, duration, class: GAP_CLASSES[cls], nextKernel: k < n ? kRow[k] : -1 };
    if (syncCall >= 0) gap.syncCall = strings[runtime.name[syncCall]];
    out[g] = gap;
    durations[g] = duration;
    classCount[cls]++;
    classTotal[cls] += duration;
  }
  const byClass = Object.fromEntries(GAP_CLASSES.map((c, i) => [c, { count: classCount[i], total: classTotal[i] }])) as GapSummary['byClass'];
  return { all: distribution(durations), byClass, gaps: out };
}
