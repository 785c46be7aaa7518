/**
 * "Why was the GPU idle?" Device gaps are the maximal intervals of W with no kernel running
 * (n(t) = 0). Each is explained by the launch call of the first kernel after it (DESIGN.md):
 *
 * - sync-stall:  a blocking call on the launching thread T overlaps the gap and began before the
 *                launch call did (a sync T enters after launching cannot have delayed that launch).
 *                Only the part of the gap such calls overlap is blamed on them (Gap.blocked); the
 *                rest takes the class the rules below give (Gap.rest), and byClass totals split so;
 * - host-wait:   otherwise, when the launch call had not returned when the gap began (it began
 *                after the gap began, or was still running: launch overhead is host time too);
 * - event-wait:  the launch call had returned before the gap began and the kernel was the first on
 *                its stream after a cudaStreamWaitEvent on another stream's event (issue 15);
 * - gpu-side:    the launch call had returned before the gap began: the GPU held the work;
 * - unexplained: no kernel after the gap, or no runtime record for its launch.
 *
 * Gaps are taken in all of W, so the idle time before the first and after the last kernel of an
 * explicit --window counts (their total equals level-0 time, |W| - busy). A trailing gap is
 * explained by the device's next kernel after W when the trace has one. In a multi-segment
 * --range window, time between segments is outside W and is no gap.
 */
import type { Trace } from '../model/trace.js';
import { GAP_CLASSES, type Distribution, type Gap, type GapHistogramBin, type GapSummary } from '../report/types.js';
import { intervalSet, type IntervalSet } from '../model/intervals.js';
import { distributionAndRanks, type Visit } from '../model/distribution.js';
import { eventWaitLinks, type EventWaitLinks } from './event-waits.js';
import { callLinks, type CallLinks } from './correlation.js';
import { blockingIndex, type BlockingIndex } from './blocking-calls.js';

export { GAP_CLASSES } from '../report/types.js';
// indices into GAP_CLASSES
const SYNC_STALL = 0;
const HOST_WAIT = 1;
const GPU_SIDE = 2;
const UNEXPLAINED = 3;
const EVENT_WAIT = 4;

/**
 * The report lists only this many gaps, the longest: a million-kernel trace has about a million
 * gaps, and one object each is most of the analyses' memory and of the JSON. all, byClass and
 * the histogram still count every gap.
 */
export const GAP_LIST_LIMIT = 1000;

/** Histogram bins per decade of gap length (ns): bin k holds lengths in [10^(k/4), 10^((k+1)/4)). */
export const GAP_BINS_PER_DECADE = 4;

export function gapBin(duration: number): number {
  return Math.floor(GAP_BINS_PER_DECADE * Math.log10(duration) + 1e-9);
}

/**
 * Integer lengths from 1 to below this (2^40 ns, 18 minutes) take gapBin's bin from tables
 * (gapBinOf). Over them gapBin never decreases: consecutive integers' log10 differ by more than
 * 3.9e-13, hundreds of times its rounding error (log10 < 12.1: an ulp is 1.8e-15), and the
 * scaling by 4, the addition and floor keep the order.
 */
const TABLE_LIMIT = 2 ** 40;

/** BIN_START[k]: the least integer length in [1, TABLE_LIMIT) whose gapBin is k or more (a search with gapBin itself). */
const BIN_START: number[] = (() => {
  const starts: number[] = [];
  for (let k = 0; k <= gapBin(TABLE_LIMIT - 1); k++) {
    let lo = 1;
    let hi = TABLE_LIMIT - 1;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if (gapBin(mid) >= k) hi = mid; else lo = mid + 1;
    }
    starts.push(lo);
  }
  return starts;
})();

/** OCTAVE_BIN[e]: gapBin(2^e), e < 40: an octave holds at most two bin starts (4 log10 2 = 1.2 bins). */
const OCTAVE_BIN: Int32Array = Int32Array.from({ length: 40 }, (_, e) => gapBin(2 ** e));

/**
 * gapBin(duration) for a positive duration: for an integer below TABLE_LIMIT, its octave's bin
 * (the highest set bit) moved on past the bin starts it reaches (at most two), with no log10 (a
 * million gaps); anything else, gapBin.
 */
export function gapBinOf(duration: number): number {
  if (!(duration >= 1 && duration < TABLE_LIMIT) || Math.floor(duration) !== duration) return gapBin(duration);
  const high = Math.floor(duration / 4294967296);
  const e = high > 0 ? 63 - Math.clz32(high) : 31 - Math.clz32(duration >>> 0);
  let k = OCTAVE_BIN[e];
  while (k + 1 < BIN_START.length && BIN_START[k + 1] <= duration) k++;
  return k;
}

/**
 * Every gap of a device in time order, for the findings (DeviceContext.gaps): the report's list
 * holds only the longest. A million gaps cost 17 bytes each here: what ended a gap is found
 * again, when a rule needs it, by nextKernelCursor.
 */
export interface GapDetail {
  idle: IntervalSet;
  /** index into GAP_CLASSES */
  cls: Uint8Array;
  /**
   * the gaps that name a blocking call (sync-stall), ascending: gap index, the call's name (an
   * index into `names`) and the part of the gap the blocking calls overlap (ns)
   */
  stalls: { count: number; gap: Int32Array; call: Int32Array; blocked: Float64Array };
  names: readonly string[];
}

/**
 * The gap columns read back from a summary's list, for a report that comes without its analysis
 * context (a test's hand-made one, a report read from JSON). Only a list that holds every gap
 * says every gap: a capped one throws. The analyses hand the findings the full columns instead
 * (classifyGapsDetailed, DeviceContext.gaps).
 */
export function gapDetail(summary: GapSummary): GapDetail {
  if ((summary.omitted ?? 0) > 0) throw new Error(`gapDetail: the summary lists ${summary.gaps.length} of ${summary.all.count} gaps (capped); take the gap columns from the analysis (classifyGapsDetailed)`);
  const list = summary.gaps;
  const names: string[] = [];
  const named = list.map((g, i) => [g, i] as const).filter(([g]) => g.syncCall !== undefined);
  const call = Int32Array.from(named, ([g]) => {
    const i = names.indexOf(g.syncCall!);
    return i >= 0 ? i : names.push(g.syncCall!) - 1;
  });
  return {
    idle: intervalSet(list.map((g) => [g.start, g.end] as const)),
    cls: Uint8Array.from(list, (g) => GAP_CLASSES.indexOf(g.class)),
    stalls: { count: named.length, gap: Int32Array.from(named, ([, i]) => i), call, blocked: Float64Array.from(named, ([g]) => g.blocked ?? g.duration) },
    names,
  };
}

/**
 * The first kernel after each gap (Gap.nextKernel), for gap ends given in increasing order: the
 * device's first kernel starting at or after the time, -1 when none (Gap.nextKernel: null). A
 * zero-length kernel does not end a gap: of the kernels starting at that very instant, a real one
 * is preferred.
 */
export function nextKernelCursor(trace: Trace, deviceId: number): (gapEnd: number) => number {
  const { kernels } = trace;
  let n = 0;
  for (let i = 0; i < kernels.count; i++) if (kernels.deviceId[i] === deviceId) n++;
  // the device's kernels in start order; on a one-GPU trace, the kernel columns themselves
  const kStart = n === kernels.count ? kernels.start : new Float64Array(n);
  const kRow = n === kernels.count ? null : new Int32Array(n);
  if (kRow) {
    for (let i = 0, k = 0; i < kernels.count; i++) {
      if (kernels.deviceId[i] === deviceId) { kStart[k] = kernels.start[i]; kRow[k] = i; k++; }
    }
  }
  let after = 0;
  return (ge) => {
    while (after < n && kStart[after] < ge) after++;
    let k = after;
    let j = k;
    while (j < n && kStart[j] === ge && kernels.end[kRow ? kRow[j] : j] === ge) j++;
    if (j < n && kStart[j] === ge) k = j;
    return k < n ? (kRow ? kRow[k] : k) : -1;
  };
}

/**
 * One thread's blocking calls, read through their runtime rows (no copies of their start and end
 * columns: 4 bytes a call, was 28).
 */
interface ThreadBlocking {
  /** the thread's blocking runtime rows, in start order */
  rows: Int32Array;
  /** the row, among the thread's blocking calls [0..i], whose end is the max end (its runtime end) */
  maxAt: Int32Array;
}

/** lowerBoundNear over the start times of `rows` (runtime rows): the same search, read through the rows. */
function lowerBoundNearRows(start: ArrayLike<number>, rows: Int32Array, x: number, hint: number): number {
  const count = rows.length;
  if (hint >= count || !(start[rows[hint]] < x)) {
    // the answer has not moved past the hint (no call started since the previous lookup, the
    // usual case): the hint itself when the call before it starts before x, found without a search
    const h = Math.min(hint, count);
    return h === 0 || start[rows[h - 1]] < x ? h : lowerBoundInRows(start, rows, 0, h, x);
  }
  let lo = hint + 1;
  let hi = lo;
  for (let step = 1; hi < count && start[rows[hi]] < x; step *= 2) { lo = hi + 1; hi = lo + step; }
  return lowerBoundInRows(start, rows, lo, Math.min(hi + 1, count), x);
}

function lowerBoundInRows(start: ArrayLike<number>, rows: Int32Array, lo: number, hi: number, x: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (start[rows[mid]] < x) lo = mid + 1; else hi = mid;
  }
  return lo;
}

/** The report's gap summary (classifyGapsDetailed's `summary`). */
export function classifyGaps(trace: Trace, deviceId: number, gaps: IntervalSet, listLimit = GAP_LIST_LIMIT): GapSummary {
  return classifyGapsDetailed(trace, deviceId, gaps, listLimit).summary;
}

/**
 * The gaps' length statistics and the length of the listLimit-th longest (null when there are no
 * more gaps than that), as classifyGapsDetailed takes them from its caller: device.ts has them
 * when the device's gaps are its one stream's (stream-occupancy.ts).
 */
export interface GapLengths { all: Distribution; threshold: number | null }

/**
 * Classifies every gap: `summary` for the report (the `listLimit` longest listed, every gap
 * counted), `detail` the class of every gap for the findings. `links` and `blocking` come from
 * the trace's index (trace-index.ts); computed here when not given.
 */
export function classifyGapsDetailed(
  trace: Trace, deviceId: number, gaps: IntervalSet, listLimit = GAP_LIST_LIMIT,
  links: CallLinks = callLinks(trace), blocking: BlockingIndex = blockingIndex(trace, links),
  eventWaits: EventWaitLinks = eventWaitLinks(trace, deviceId, links),
  lengths?: GapLengths,
): { summary: GapSummary; detail: GapDetail } {
  const { runtime, strings } = trace;
  const { kernelCall } = links;

  // gaps come in time order, so the first kernel at or after each gap's end only moves forward
  let nextKernel: ((gapEnd: number) => number) | null = nextKernelCursor(trace, deviceId);

  const perThread = new Map<number, ThreadBlocking | null>();
  const threadBlocking = (t: number): ThreadBlocking | null => {
    let tb = perThread.get(t);
    if (tb === undefined) {
      const rows = blocking.byThread.get(t);
      tb = null;
      if (rows) {
        const { end } = runtime;
        const maxAt = new Int32Array(rows.length);
        for (let i = 0; i < rows.length; i++) {
          const e = end[rows[i]];
          maxAt[i] = i > 0 && end[maxAt[i - 1]] >= e ? maxAt[i - 1] : rows[i];
        }
        tb = { rows, maxAt };
      }
      perThread.set(t, tb);
    }
    return tb;
  };

  // the gaps' statistics and the length of the listLimit-th longest, from the same passes over
  // their lengths; then the gaps the report lists
  // (or both from the caller, who has them from the same lengths in the same order)
  const { all, threshold } = lengths ?? (() => {
    const { distribution, atRanks } = distributionAndRanks(gaps.count, gapLengths(gaps), gaps.count > listLimit ? [gaps.count - listLimit] : []);
    return { all: distribution, threshold: atRanks.length > 0 ? atRanks[0] : null };
  })();
  const listed = longestGaps(gaps, listLimit, threshold ?? NaN);
  const listedKernel = new Int32Array(listed.length);
  const listedSync = new Int32Array(listed.length);
  const listedBlocked = new Float64Array(listed.length);
  const listedRest = new Uint8Array(listed.length);
  let nextListed = 0;
  const cls = new Uint8Array(gaps.count);
  const classCount = GAP_CLASSES.map(() => 0);
  const classTotal = GAP_CLASSES.map(() => 0);
  const { waitedOn } = eventWaits;
  let lastThread = NaN;
  let tb: ThreadBlocking | null = null;
  // the last answer of the blocking-call search on the current thread: lookups move forward
  let hint = 0;
  for (let g = 0; g < gaps.count; g++) {
    const gs = gaps.start[g];
    const ge = gaps.end[g];
    const k: number = nextKernel!(ge);
    const call = k >= 0 ? kernelCall[k] : -1;
    let c = UNEXPLAINED;
    let rest = UNEXPLAINED;
    let sync = -1;
    let blocked = 0;
    if (call >= 0) {
      const rs = runtime.start[call];
      if (runtime.thread[call] !== lastThread) { lastThread = runtime.thread[call]; tb = threadBlocking(lastThread); hint = 0; }
      const q = tb ? (hint = lowerBoundNearRows(runtime.start, tb.rows, Math.min(ge, rs), hint)) : 0;
      rest = runtime.end[call] > gs ? HOST_WAIT : waitedOn[k] > 0 ? EVENT_WAIT : GPU_SIDE;
      c = rest;
      if (tb && q > 0 && runtime.end[tb.maxAt[q - 1]] > gs) {
        c = SYNC_STALL;
        sync = runtime.name[tb.maxAt[q - 1]];
        blocked = blockedPart(runtime.start, runtime.end, tb, q, gs, ge);
      }
    }
    cls[g] = c;
    if (nextListed < listed.length && listed[nextListed] === g) {
      listedKernel[nextListed] = k;
      listedSync[nextListed] = sync;
      listedBlocked[nextListed] = blocked;
      listedRest[nextListed] = rest;
      nextListed++;
    }
    classCount[c]++;
    if (c === SYNC_STALL) {
      // only the blocked part is the sync's; the rest of the gap is the host's or the GPU's
      classTotal[SYNC_STALL] += blocked;
      classTotal[rest] += ge - gs - blocked;
    } else {
      classTotal[c] += ge - gs;
    }
  }
  // the sync-stall gaps (a blocking call named: class sync-stall) once more, into columns of their
  // exact size (16 bytes a stall; grown by doubling they took up to twice that, and a copy)
  nextKernel = null;
  const stalls = classCount[SYNC_STALL];
  const stallGap = new Int32Array(stalls);
  const stallCall = new Int32Array(stalls);
  const stallBlocked = new Float64Array(stalls);
  if (stalls > 0) {
    const next = nextKernelCursor(trace, deviceId);
    lastThread = NaN;
    tb = null;
    hint = 0;
    for (let g = 0, s = 0; s < stalls; g++) {
      if (cls[g] !== SYNC_STALL) continue;
      const gs = gaps.start[g];
      const ge = gaps.end[g];
      const call = kernelCall[next(ge)];
      if (runtime.thread[call] !== lastThread) { lastThread = runtime.thread[call]; tb = threadBlocking(lastThread); hint = 0; }
      const q = (hint = lowerBoundNearRows(runtime.start, tb!.rows, Math.min(ge, runtime.start[call]), hint));
      stallGap[s] = g;
      stallCall[s] = runtime.name[tb!.maxAt[q - 1]];
      stallBlocked[s] = blockedPart(runtime.start, runtime.end, tb!, q, gs, ge);
      s++;
    }
  }
  const detail: GapDetail = { idle: gaps, cls, names: strings, stalls: { count: stalls, gap: stallGap, call: stallCall, blocked: stallBlocked } };
  const list = Array.from(listed, (g, i): Gap => {
    const gap: Gap = { start: gaps.start[g], end: gaps.end[g], duration: gaps.end[g] - gaps.start[g], class: GAP_CLASSES[cls[g]], nextKernel: listedKernel[i] >= 0 ? listedKernel[i] : null };
    if (listedSync[i] >= 0) {
      gap.syncCall = strings[listedSync[i]];
      gap.blocked = listedBlocked[i];
      gap.rest = GAP_CLASSES[listedRest[i]];
    }
    return gap;
  });
  const byClass = Object.fromEntries(GAP_CLASSES.map((c, i) => [c, { count: classCount[i], total: classTotal[i] }])) as GapSummary['byClass'];
  const histogram = gapHistogram(gaps, cls);
  const summary: GapSummary = { all: { ...all }, byClass, gaps: list, omitted: gaps.count - list.length, histogram };
  return { summary, detail };
}

/**
 * |[gs, ge] ∩ ∪ of the thread's blocking calls 0..q-1|: the calls are walked back from q-1 while
 * an earlier one can still reach the gap (maxAt: the call with the running maximum of their ends); a call
 * may enclose later ones (a driver call inside a runtime call), so their clipped pieces are
 * merged as a union, not summed. A gap meets few calls: the pieces go in a small sorted list.
 */
function blockedPart(start: ArrayLike<number>, end: ArrayLike<number>, tb: ThreadBlocking, q: number, gs: number, ge: number): number {
  const { rows, maxAt } = tb;
  // nearly always one call meets the gap: its clipped length, with no list made
  let met = 0;
  let only = -1;
  for (let i = q - 1; i >= 0 && end[maxAt[i]] > gs; i--) {
    if (Math.min(end[rows[i]], ge) > Math.max(start[rows[i]], gs)) { met++; only = i; }
  }
  if (met === 1) return Math.min(end[rows[only]], ge) - Math.max(start[rows[only]], gs);
  const pieces: [number, number][] = [];
  for (let i = q - 1; i >= 0 && end[maxAt[i]] > gs; i--) {
    const s = Math.max(start[rows[i]], gs);
    const e = Math.min(end[rows[i]], ge);
    if (e > s) pieces.push([s, e]);
  }
  pieces.sort((x, y) => x[0] - y[0]);
  let total = 0;
  let cs = -Infinity;
  let ce = -Infinity;
  for (const [s, e] of pieces) {
    if (s > ce) { if (ce > cs) total += ce - cs; cs = s; ce = e; } else if (e > ce) ce = e;
  }
  if (ce > cs) total += ce - cs;
  return total;
}

/** The gaps' lengths as a Visit. */
function gapLengths(gaps: IntervalSet): Visit {
  return (out) => { for (let g = 0; g < gaps.count; g++) out.put(gaps.end[g] - gaps.start[g]); };
}

/**
 * Indices of the `limit` longest gaps (ties: the earlier), in time order. `threshold`: the
 * limit-th longest length (the value at rank count - limit, by selection: no sort of every gap),
 * when there are more than `limit` gaps.
 */
function longestGaps(gaps: IntervalSet, limit: number, threshold: number): Uint32Array {
  const count = gaps.count;
  if (count <= limit) return Uint32Array.from({ length: count }, (_, i) => i);
  // one walk: the gaps longer than the threshold (fewer than `limit`: it is the limit-th longest)
  // and the first `limit` at it; then the earliest at it fill the list, in time order
  const above = new Uint32Array(limit);
  const at = new Uint32Array(limit);
  let nAbove = 0;
  let nAt = 0;
  for (let g = 0; g < count; g++) {
    const d = gaps.end[g] - gaps.start[g];
    if (d > threshold) above[nAbove++] = g;
    else if (d === threshold && nAt < limit) at[nAt++] = g;
  }
  const fromAt = limit - nAbove;
  const out = new Uint32Array(limit);
  for (let o = 0, i = 0, j = 0; o < limit; o++) out[o] = j < fromAt && (i >= nAbove || at[j] < above[i]) ? at[j++] : above[i++];
  return out;
}

/** Gap counts and idle time per length bin and class, in bin then GAP_CLASSES order; zero-length gaps have no bin. */
function gapHistogram(gaps: IntervalSet, cls: Uint8Array): GapHistogramBin[] {
  // per (bin, class) in typed columns indexed by key (bin - BIN_LOW) * classes + class, not a map
  // of objects: a million gaps, one map lookup and one boxed total each, cost more than the bins
  const classes = GAP_CLASSES.length;
  const count = new Int32Array((BIN_HIGH - BIN_LOW + 1) * classes);
  const total = new Float64Array(count.length);
  for (let g = 0; g < gaps.count; g++) {
    const d = gaps.end[g] - gaps.start[g];
    if (!(d > 0)) continue;
    const key = (gapBinOf(d) - BIN_LOW) * classes + cls[g];
    count[key]++;
    total[key] += d;
  }
  const out: GapHistogramBin[] = [];
  for (let key = 0; key < count.length; key++) {
    if (count[key] > 0) out.push({ bin: Math.floor(key / classes) + BIN_LOW, class: GAP_CLASSES[key % classes], count: count[key], total: total[key] });
  }
  return out;
}

/** The bins a positive double can fall in: gapBin of the least (5e-324) and of the greatest (1.8e308). */
const BIN_LOW = gapBin(Number.MIN_VALUE);
const BIN_HIGH = gapBin(Number.MAX_VALUE);
