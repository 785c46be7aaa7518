/**
 * "Where did the host wait for the GPU?" Every blocking API call (see blocking-calls.ts) of the
 * device's processes that overlaps W, with why it blocks, the device-to-host copy that preceded
 * it on its thread, the innermost NVTX range it sits in, and the GPU idle time of W it covers.
 *
 * A blocking call nested inside another on the same thread (cuStreamSynchronize inside
 * cudaStreamSynchronize when both APIs are traced) is the same wait and is listed once.
 * The preceding copy is the last device-to-host copy the thread issued since its previous
 * blocking call ended (the call itself when it is the copy): an earlier copy was already waited for.
 */
import { gatherF64, gatherI32 } from '../model/gather.js';
import { kthLargest } from '../model/distribution.js';
import { MemcpyKind, MemoryKind, processOfThread, type Trace } from '../model/trace.js';
import type { HostSync, HostSyncSummary } from '../report/types.js';
import { intersectionLength, lowerBound, OverlapWalker, unionSorted, upperBound, type IntervalSet } from '../model/intervals.js';
import { BLOCKING_REASONS, blockingIndex, type BlockingIndex } from './blocking-calls.js';
import { callLinks, type CallLinks } from './correlation.js';
import { trimmed } from './select.js';
import { innermostNvtxRanges } from './nvtx-projection.js';

/**
/**
 * At most this many calls are listed in HostSyncSummary.calls: those that overlap the most GPU
 * idle time (ties: the earlier), in start order. A million-kernel trace that syncs per expert has
 * ~150k blocking calls; listing every one cost ~200 bytes a call in memory and more in the JSON.
 * The totals, byName and byReason always count every call.
 */
export const HOST_SYNC_LIST_LIMIT = 1000;

type NameTotals = HostSyncSummary['byName'][number];

/**
 * `processes`: only calls of these process indices; null for all. `idle`: the device gaps in W.
 * `links` and `blocking` come from the trace's index (trace-index.ts); computed here when not given.
 * `hostRanges`: when W is made of iterations with a host-side extent (their NVTX ranges), the
 * calls made inside them (start in [start, end)), as the NVTX table counts them, instead of the
 * calls that overlap W: a sync after the last iteration waits for it, but is not the loop's.
 */
export function hostSyncs(
  trace: Trace, processes: ReadonlySet<number> | null, window: IntervalSet, idle: IntervalSet,
  links: CallLinks = callLinks(trace), blocking: BlockingIndex = blockingIndex(trace, links), listLimit = HOST_SYNC_LIST_LIMIT,
  hostRanges: IntervalSet | null = null,
): HostSyncSummary {
  const { runtime, memcpy, strings } = trace;
  const d2hByThread = d2hCallsByThread(trace, links.memcpyCalls);
  const none = { start: new Float64Array(0), link: new Int32Array(0) };

  const processOf = processOfThread(trace);
  // (the thread's process is tested once a thread, below)
  const kept = (r: number, outerEnd: number): boolean => {
    if (runtime.end[r] <= outerEnd) return false;
    return hostRanges ? startsIn(hostRanges, runtime.start[r]) : inWindow(window, runtime.start[r], runtime.end[r]);
  };
  // the kept calls' runtime rows and preceding copies (-1: none), in one walk of the blocking
  // calls (each far from the last in millions of calls: a walk to count them first read them all
  // twice) into columns of the blocking calls' number, cut to the kept ones (nearly all of them;
  // copied when many were left out, as the selection's columns are)
  let cap = 0;
  for (const rows of blocking.byThread.values()) cap += rows.length;
  let keptRow: Int32Array = new Int32Array(cap);
  let keptCopy: Int32Array = new Int32Array(cap);
  let n = 0;
  for (const [thread, rows] of blocking.byThread) {
    // a thread of another process: none of its calls is kept
    if (processes && !processes.has(processOf[thread + 1])) continue;
    let prevEnd = -Infinity;
    let outerEnd = -Infinity;
    const d2h = d2hByThread.get(thread) ?? none;
    // the thread's last copy call starting at or before the call: the calls and the copies both
    // come in start order, so a cursor, not a search per call
    let after = 0;
    for (const r of rows) {
      const s = runtime.start[r];
      const e = runtime.end[r];
      const sinceEnd = prevEnd;
      if (e > prevEnd) prevEnd = e;
      if (!kept(r, outerEnd)) { if (e > outerEnd) outerEnd = e; continue; }
      outerEnd = e;
      while (after < d2h.link.length && d2h.start[after] <= s) after++;
      const i = after - 1;
      keptRow[n] = r;
      keptCopy[n] = i >= 0 && d2h.start[i] >= sinceEnd ? links.memcpyCalls.memcpy[d2h.link[i]] : -1;
      n++;
    }
  }
  keptRow = trimmed(keptRow, n);
  keptCopy = trimmed(keptCopy, n);
  // start order, ties by row
  // (one thread's calls come in that order already: then the kept columns are the ordered ones;
  // a later row starts no earlier, so the starts are read only where the rows go back)
  let ordered = true;
  for (let q = 1; q < n && ordered; q++) {
    const a = keptRow[q - 1];
    const b = keptRow[q];
    if (b < a && (runtime.start[a] > runtime.start[b] || (runtime.start[a] === runtime.start[b] && a > b))) ordered = false;
  }
  let row = keptRow;
  let copyOf = keptCopy;
  if (!ordered) {
    const order = new Int32Array(n);
    for (let q = 0; q < n; q++) order[q] = q;
    order.sort((a, b) => runtime.start[keptRow[a]] - runtime.start[keptRow[b]] || keptRow[a] - keptRow[b]);
    row = gatherI32(keptRow, order);
    copyOf = gatherI32(keptCopy, order);
  }
  keptRow = keptCopy = new Int32Array(0);
  const threads = gatherI32(runtime.thread, row);
  const times = gatherF64(runtime.start, row);
  const ranges = innermostNvtxRanges(trace, threads, times, n);
  const { gpuIdle, byName, slotOf, byReason, totalTime } = tallyCalls(trace, blocking, idle, row, copyOf, ranges, n);

  // the listed calls: the most GPU idle time first (ties: the earlier), then back in start order
  const listed: number[] = [];
  if (n <= listLimit) {
    for (let q = 0; q < n; q++) listed.push(q);
  } else {
    // the listLimit-th most idle time (no sort of every call), then those above it and the
    // earliest at it, in start order
    const threshold = kthLargest(gpuIdle, n, listLimit);
    let above = 0;
    for (let q = 0; q < n; q++) if (gpuIdle[q] > threshold) above++;
    let atThreshold = listLimit - above;
    for (let q = 0; q < n; q++) if (gpuIdle[q] > threshold || (gpuIdle[q] === threshold && atThreshold-- > 0)) listed.push(q);
  }
  const calls = listed.map((q): HostSync => {
    const r = row[q];
    const s = runtime.start[r];
    const e = runtime.end[r];
    const call: HostSync = {
      name: strings[runtime.name[r]] ?? '?', start: s, end: e, duration: e - s, thread: runtime.thread[r],
      reason: BLOCKING_REASONS[blocking.reason[r]], gpuIdle: gpuIdle[q],
    };
    const copy = copyOf[q];
    if (copy >= 0) {
      call.precedingCopy = {
        bytes: memcpy.bytes[copy], copyKind: memcpy.copyKind[copy], srcKind: memcpy.srcKind[copy],
        dstKind: memcpy.dstKind[copy], pageable: memcpy.dstKind[copy] === MemoryKind.Pageable,
      };
    }
    if (ranges[q] >= 0 && trace.nvtx.text[ranges[q]] >= 0) call.nvtxRange = strings[trace.nvtx.text[ranges[q]]];
    return call;
  });
  const bytesOf = copyBytesBySlot([...byName.values()].map((a) => a.afterCopy), slotOf, copyOf, memcpy.bytes, n);
  const waited = unionSorted(times, gatherF64(runtime.end, row), n);
  return {
    count: n,
    totalTime,
    gpuIdle: intersectionLength(waited, idle),
    byName: [...byName.values()].map(({ slot, rangeCounts, ...totals }): NameTotals => {
      // the lower median, as the findings quote it
      const bytes = bytesOf[slot].sort();
      return {
        ...totals,
        copyBytesMedian: bytes.length > 0 ? bytes[Math.floor((bytes.length - 1) / 2)] : null,
        nvtxRanges: [...rangeCounts].map(([name, count]) => ({ name, count })),
      };
    }).sort((a, b) => b.total - a.total || a.name.localeCompare(b.name)),
    byReason: [...byReason.values()].sort((a, b) => b.total - a.total || (a.reason < b.reason ? -1 : 1)),
    calls,
    omitted: n - calls.length,
  };
}

type NameTally = NameTotals & { slot: number; rangeCounts: Map<string, number> };

/**
 * The kept calls' totals by name and by reason, each call's GPU idle time and its name's slot,
 * in one walk of the calls in start order. (A function of its own: a loop run once runs
 * interpreted until V8 compiles its function for it, and a small function compiles sooner.)
 */
function tallyCalls(
  trace: Trace, blocking: BlockingIndex, idle: IntervalSet, row: Int32Array, copyOf: Int32Array, ranges: Int32Array, n: number,
): { gpuIdle: Float64Array; byName: Map<string, NameTally>; slotOf: Int32Array; byReason: Map<HostSync['reason'], HostSyncSummary['byReason'][number]>; totalTime: number } {
  const { runtime, memcpy, strings } = trace;
  const gpuIdle = new Float64Array(n);
  // per name: its totals, its slot (the bytes of its calls' copies are gathered by slot below)
  const byName = new Map<string, NameTally>();
  const slotOf = new Int32Array(n);
  const byReason = new Map<HostSync['reason'], HostSyncSummary['byReason'][number]>();
  let totalTime = 0;
  // the calls in start order: one walk along the gaps
  const idleWalk = new OverlapWalker(idle);
  // the previous call's name and reason, with their totals: calls come in runs of one name (a
  // sync per expert), so the maps are looked up only when these change
  let lastName = NaN;
  let agg: NameTally | undefined;
  let lastReason = NaN;
  let why: HostSyncSummary['byReason'][number] | undefined;
  for (let q = 0; q < n; q++) {
    const r = row[q];
    const duration = runtime.end[r] - runtime.start[r];
    const idleHere = (gpuIdle[q] = idleWalk.overlap(runtime.start[r], runtime.end[r]));
    totalTime += duration;
    if (runtime.name[r] !== lastName || !agg) {
      lastName = runtime.name[r];
      const name = strings[lastName] ?? '?';
      agg = byName.get(name);
      if (!agg) {
        byName.set(name, (agg = {
          name, count: 0, total: 0, gpuIdle: 0, afterCopy: 0, pageableCopies: 0, copyBytesMedian: null, nvtxRanges: [],
          slot: byName.size, rangeCounts: new Map(),
        }));
      }
    }
    slotOf[q] = agg.slot;
    agg.count++;
    agg.total += duration;
    agg.gpuIdle += idleHere;
    const copy = copyOf[q];
    if (copy >= 0) {
      agg.afterCopy++;
      if (memcpy.dstKind[copy] === MemoryKind.Pageable) agg.pageableCopies++;
    }
    const text = ranges[q] >= 0 ? trace.nvtx.text[ranges[q]] : -1;
    if (text >= 0) agg.rangeCounts.set(strings[text], (agg.rangeCounts.get(strings[text]) ?? 0) + 1);
    if (blocking.reason[r] !== lastReason || !why) {
      lastReason = blocking.reason[r];
      const reason = BLOCKING_REASONS[lastReason];
      why = byReason.get(reason);
      if (!why) byReason.set(reason, (why = { reason, count: 0, total: 0, gpuIdle: 0 }));
    }
    why.count++;
    why.total += duration;
    why.gpuIdle += idleHere;
  }
  return { gpuIdle, byName, slotOf, byReason, totalTime };
}

/** Overlaps a segment with positive length, or (zero-length call) lies inside one. */
function inWindow(window: IntervalSet, s: number, e: number): boolean {
  if (e > s) {
    const i = upperBound(window.end, window.count, s);
    return i < window.count && window.start[i] < e;
  }
  const i = lowerBound(window.end, window.count, s);
  return i < window.count && window.start[i] <= s;
}

/**
 * The bytes of the copies before the calls of each name slot (`counts[slot]` of them), in typed
 * arrays: arrays of numbers pushed one by one cost ~3 MB of the heap at a million kernels with a
 * sync and a copy per expert, at the analysis's peak.
 */
function copyBytesBySlot(counts: number[], slotOf: Int32Array, copyOf: Int32Array, bytes: ArrayLike<number>, n: number): Float64Array[] {
  const out = counts.map((c) => new Float64Array(c));
  const fill = new Int32Array(counts.length);
  for (let q = 0; q < n; q++) {
    const copy = copyOf[q];
    if (copy >= 0) out[slotOf[q]][fill[slotOf[q]]++] = bytes[copy];
  }
  return out;
}

/** s in [start, end) of one of the set's intervals. */
function startsIn(set: IntervalSet, s: number): boolean {
  const i = upperBound(set.start, set.count, s) - 1;
  return i >= 0 && s < set.end[i];
}

/**
 * Calls that issued a device-to-host copy, per thread, in start order: their starts, and each
 * one's index in `calls` (its runtime row calls.call[k], its copy calls.memcpy[k], the first it
 * issued: CallLinks.memcpyOf's, without a search).
 */
function d2hCallsByThread(trace: Trace, calls: CallLinks['memcpyCalls']): Map<number, { start: Float64Array; link: Int32Array }> {
  const { runtime, memcpy } = trace;
  // counted, then filled: typed columns per thread, no array of numbers pushed a call at a time
  const lists = new Map<number, { link: Int32Array; n: number }>();
  for (let k = 0; k < calls.count; k++) {
    if (memcpy.copyKind[calls.memcpy[k]] !== MemcpyKind.DtoH) continue;
    const t = runtime.thread[calls.call[k]];
    const l = lists.get(t);
    if (l) l.n++; else lists.set(t, { link: new Int32Array(0), n: 1 });
  }
  for (const l of lists.values()) { l.link = new Int32Array(l.n); l.n = 0; }
  for (let k = 0; k < calls.count; k++) {
    if (memcpy.copyKind[calls.memcpy[k]] !== MemcpyKind.DtoH) continue;
    const l = lists.get(runtime.thread[calls.call[k]])!;
    l.link[l.n++] = k;
  }
  const out = new Map<number, { start: Float64Array; link: Int32Array }>();
  for (const [t, l] of lists) {
    const start = new Float64Array(l.n);
    for (let j = 0; j < l.n; j++) start[j] = runtime.start[calls.call[l.link[j]]];
    out.set(t, { start, link: l.link });
  }
  return out;
}

