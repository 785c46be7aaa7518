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
import { MemcpyKind, MemoryKind, processOfThread, type Trace } from '../model/trace.js';
import type { HostSync, HostSyncSummary } from '../report/types.js';
import { intersectionLength, lowerBound, overlapWith, unionSorted, upperBound, type IntervalSet } from '../model/intervals.js';
import { BLOCKING_REASONS, blockingIndex, type BlockingIndex } from './blocking-calls.js';
import { callLinks, type CallLinks } from './correlation.js';
import { innermostNvtxRanges } from './nvtx-projection.js';

/**
 * `processes`: only calls of these process indices; null for all. `idle`: the device gaps in W.
 * `links` and `blocking` come from the trace's index (trace-index.ts); computed here when not given.
 */
export function hostSyncs(
  trace: Trace, processes: ReadonlySet<number> | null, window: IntervalSet, idle: IntervalSet,
  links: CallLinks = callLinks(trace), blocking: BlockingIndex = blockingIndex(trace, links),
): HostSyncSummary {
  const { runtime, memcpy, strings } = trace;
  const d2hByThread = d2hCallsByThread(trace, links.memcpyCalls);
  const none = { start: new Float64Array(0), row: new Int32Array(0) };

  const processOf = processOfThread(trace);
  const kept: { row: number; copy: number }[] = [];
  for (const [thread, rows] of blocking.byThread) {
    let prevEnd = -Infinity;
    let outerEnd = -Infinity;
    for (const r of rows) {
      const s = runtime.start[r];
      const e = runtime.end[r];
      const nested = e <= outerEnd;
      const sinceEnd = prevEnd;
      if (e > prevEnd) prevEnd = e;
      if (nested) continue;
      outerEnd = e;
      if (processes && !processes.has(processOf[thread + 1])) continue;
      if (!inWindow(window, s, e)) continue;
      const d2h = d2hByThread.get(thread) ?? none;
      const i = upperBound(d2h.start, d2h.row.length, s) - 1;
      const copy = i >= 0 && d2h.start[i] >= sinceEnd ? links.memcpyOf(d2h.row[i]) : -1;
      kept.push({ row: r, copy });
    }
  }
  kept.sort((a, b) => runtime.start[a.row] - runtime.start[b.row] || a.row - b.row);
  const n = kept.length;
  const threads = Int32Array.from(kept, (k) => runtime.thread[k.row]);
  const times = Float64Array.from(kept, (k) => runtime.start[k.row]);
  const ranges = innermostNvtxRanges(trace, threads, times, n);

  const calls: HostSync[] = new Array(n);
  const byName = new Map<string, { name: string; count: number; total: number }>();
  let totalTime = 0;
  for (let q = 0; q < n; q++) {
    const { row: r, copy } = kept[q];
    const name = strings[runtime.name[r]] ?? '?';
    const s = runtime.start[r];
    const e = runtime.end[r];
    const call: HostSync = {
      name, start: s, end: e, duration: e - s, thread: runtime.thread[r],
      reason: BLOCKING_REASONS[blocking.reason[r]], gpuIdle: overlapWith(idle, s, e),
    };
    if (copy >= 0) {
      call.precedingCopy = {
        bytes: memcpy.bytes[copy], copyKind: memcpy.copyKind[copy], srcKind: memcpy.srcKind[copy],
        dstKind: memcpy.dstKind[copy], pageable: memcpy.dstKind[copy] === MemoryKind.Pageable,
      };
    }
    if (ranges[q] >= 0 && trace.nvtx.text[ranges[q]] >= 0) call.nvtxRange = strings[trace.nvtx.text[ranges[q]]];
    calls[q] = call;
    totalTime += call.duration;
    let agg = byName.get(name);
    if (!agg) byName.set(name, (agg = { name, count: 0, total: 0 }));
    agg.count++;
    agg.total += call.duration;
  }
  const waited = unionSorted(times, Float64Array.from(kept, (k) => runtime.end[k.row]), n);
  return {
    count: n,
    totalTime,
    gpuIdle: intersectionLength(waited, idle),
    byName: [...byName.values()].sort((a, b) => b.total - a.total || a.name.localeCompare(b.name)),
    calls,
  };
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

/** Calls that issued a device-to-host copy, per thread, in start order. */
function d2hCallsByThread(trace: Trace, calls: CallLinks['memcpyCalls']): Map<number, { start: Float64Array; row: Int32Array }> {
  const { runtime, memcpy } = trace;
  const lists = new Map<number, number[]>();
  for (let k = 0; k < calls.count; k++) {
    const r = calls.call[k];
    if (memcpy.copyKind[calls.memcpy[k]] !== MemcpyKind.DtoH) continue;
    let l = lists.get(runtime.thread[r]);
    if (!l) lists.set(runtime.thread[r], (l = []));
    l.push(r);
  }
  const out = new Map<number, { start: Float64Array; row: Int32Array }>();
  for (const [t, l] of lists) out.set(t, { start: Float64Array.from(l, (r) => runtime.start[r]), row: Int32Array.from(l) });
  return out;
}
