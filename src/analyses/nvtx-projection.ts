/**
 * NVTX ranges projected onto the GPU, as `nsys stats nvtx_gpu_proj_*` does (DESIGN.md "NVTX
 * projection"): a GPU operation belongs to a push/pop or start/end range when its launch call
 * (the API call with the same correlationId) started inside the range, [start, end), on the
 * range's thread. Nested ranges each own the operations of their children.
 */
import type { IntColumn, Trace } from '../model/trace.js';
import { callLinks, type CallLinks } from './correlation.js';

/** eventType of NVTX marks: instantaneous, never a range */
const NVTX_MARK = 34;

export function isNvtxRange(trace: Trace, row: number): boolean {
  const { start, end, eventType } = trace.nvtx;
  return Number.isFinite(end[row]) && end[row] >= start[row] && eventType[row] !== NVTX_MARK;
}

/** Rows of trace.nvtx that are ranges (push/pop or start/end with an end), in start order. */
export function nvtxRangeRows(trace: Trace): Int32Array {
  const count = trace.nvtx.count;
  let n = 0;
  for (let i = 0; i < count; i++) if (isNvtxRange(trace, i)) n++;
  const rows = new Int32Array(n);
  // every row a range (a capture without marks): rows 0 .. n - 1, without testing each row again
  if (n === count) {
    for (let i = 0; i < n; i++) rows[i] = i;
    return rows;
  }
  for (let i = 0, k = 0; k < n; i++) if (isNvtxRange(trace, i)) rows[k++] = i;
  return rows;
}

export interface NvtxProjections {
  count: number;
  /** row in trace.nvtx (the `ranges` option itself when it is an Int32Array) */
  range: Int32Array;
  /** first op start / last op end; NaN when the range launched no GPU work */
  gpuStart: Float64Array;
  gpuEnd: Float64Array;
  /** |union of its ops| */
  gpuTime: Float64Array;
  /** GPU operations (kernels, plus copies and memsets unless excluded) and kernels alone */
  opCount: Int32Array;
  kernelCount: Int32Array;
}

/**
 * totalLength(union(start, end, count)) of intervals out of start order, exactly: ordered as
 * union orders them (sortedOrder: by start, stable) in `order`, merged as unionSorted merges them
 * (overlapping and touching, empty dropped), and each merged piece's length added in the same
 * order. Without the interval set union makes, nor its copies: at a million kernels on many
 * streams every NVTX range's ops are out of start order, and those made ~40 MB of garbage in all.
 */
export function unionLengthUnsorted(start: Float64Array, end: Float64Array, count: number, order: Uint32Array): number {
  for (let i = 0; i < count; i++) order[i] = i;
  const o = order.subarray(0, count).sort((a, b) => start[a] - start[b] || a - b);
  let t = 0;
  let curS = 0;
  let curE = 0;
  let open = false;
  for (let i = 0; i < count; i++) {
    const s = start[o[i]];
    const e = end[o[i]];
    if (!(e > s)) continue;
    if (open && s <= curE) {
      if (e > curE) curE = e;
    } else {
      if (open) t += curE - curS;
      curS = s; curE = e; open = true;
    }
  }
  if (open) t += curE - curS;
  return t;
}

export interface ProjectionOptions {
  /** only operations on this device (default: all devices) */
  deviceId?: number;
  /** nvtx rows to project (default: every range) */
  ranges?: ArrayLike<number>;
  /** count memcpy/memset as GPU operations, as nsys does (default true) */
  includeTransfers?: boolean;
  /** the trace's call links (TraceIndex.links); computed when not given */
  links?: CallLinks;
}

export function projectNvtxRanges(trace: Trace, options: ProjectionOptions = {}): NvtxProjections {
  const rows = options.ranges ?? nvtxRangeRows(trace);
  return projectWith(trace, rows, opsByCall(trace, options.deviceId, options.includeTransfers ?? true ? 'all' : 'kernels', options.links ?? callLinks(trace)));
}

/** projectNvtxRanges without the GPU time: first op start, last op end and the counts. */
export type NvtxSpans = Omit<NvtxProjections, 'gpuTime'>;

/**
 * projectNvtxRanges' spans and counts (no GPU time), from the kernels and the transfers projected
 * apart: the first start, last end and counts of a range's ops are those of its kernels and of its
 * transfers, combined, so no order of every op by launch call is made (a million kernels merged
 * with a few thousand copies: 4 MB and a pass, where the kernels alone, launched in row order on
 * one thread, need neither). For finding the iterations, which use no GPU time.
 */
export function projectNvtxSpans(trace: Trace, options: ProjectionOptions = {}): NvtxSpans {
  const links = options.links ?? callLinks(trace);
  const k = projectWith(trace, options.ranges ?? nvtxRangeRows(trace), opsByCall(trace, options.deviceId, 'kernels', links));
  const spans: NvtxSpans = { count: k.count, range: k.range, gpuStart: k.gpuStart, gpuEnd: k.gpuEnd, opCount: k.opCount, kernelCount: k.kernelCount };
  if (!(options.includeTransfers ?? true)) return spans;
  const t = projectWith(trace, k.range, opsByCall(trace, options.deviceId, 'transfers', links));
  // (k's opCount is its kernelCount: the combined counts take a column of their own)
  spans.opCount = new Int32Array(k.count);
  for (let q = 0; q < k.count; q++) {
    const copies = t.opCount[q];
    spans.opCount[q] = k.kernelCount[q] + copies;
    if (copies === 0) continue;
    if (k.kernelCount[q] === 0) {
      spans.gpuStart[q] = t.gpuStart[q];
      spans.gpuEnd[q] = t.gpuEnd[q];
      continue;
    }
    if (t.gpuStart[q] < spans.gpuStart[q]) spans.gpuStart[q] = t.gpuStart[q];
    if (t.gpuEnd[q] > spans.gpuEnd[q]) spans.gpuEnd[q] = t.gpuEnd[q];
  }
  return spans;
}

/** The projection of `rows` onto the ops `ops` lists. */
function projectWith(trace: Trace, rows: ArrayLike<number>, ops: OpsByCall): NvtxProjections {
  const n = rows.length;
  const kernelCount = new Int32Array(n);
  const out: NvtxProjections = {
    count: n, range: rows instanceof Int32Array ? rows : Int32Array.from(rows), gpuStart: new Float64Array(n).fill(NaN),
    gpuEnd: new Float64Array(n).fill(NaN), gpuTime: new Float64Array(n),
    // without transfers every op is a kernel: one column serves both
    opCount: ops.kernelsOnly ? kernelCount : new Int32Array(n), kernelCount,
  };
  const { order, nKernels, nMemcpy } = ops;
  const { kernels, memcpy, memset, nvtx } = trace;
  // only for a range whose ops are not in start order (then its union needs a sort)
  let scratchS = new Float64Array(0);
  let scratchE = new Float64Array(0);
  let scratchOrder = new Uint32Array(0);
  for (let q = 0; q < n; q++) {
    const row = rows[q];
    if (!isNvtxRange(trace, row)) continue;
    const group = ops.threads.get(nvtx.thread[row]);
    if (!group) continue;
    // ranges mostly come in start order on one thread: gallop from the previous range's first op
    const lo = firstCallFrom(trace, ops, group.from, group.to, nvtx.start[row], group.hint);
    const hi = firstCallFrom(trace, ops, lo, group.to, nvtx.end[row], lo);
    group.hint = lo;
    // One pass: counts, span, and the union's length as long as the ops come in start order
    // (launch order nearly always is), as unionLengthSorted would compute it.
    let kernelOps = 0;
    let first = Infinity;
    let last = -Infinity;
    let sorted = true;
    let prevS = -Infinity;
    let busy = 0;
    let curS = 0;
    let curE = 0;
    let open = false;
    for (let c = lo; c < hi; c++) {
      const id = order ? order[c] : c;
      let s: number;
      let e: number;
      if (id < nKernels) { s = kernels.start[id]; e = kernels.end[id]; kernelOps++; }
      else if (id < nKernels + nMemcpy) { s = memcpy.start[id - nKernels]; e = memcpy.end[id - nKernels]; }
      else { s = memset.start[id - nKernels - nMemcpy]; e = memset.end[id - nKernels - nMemcpy]; }
      if (s < first) first = s;
      if (e > last) last = e;
      if (s < prevS) sorted = false;
      prevS = s;
      if (!sorted || !(e > s)) continue;
      if (open && s <= curE) {
        if (e > curE) curE = e;
      } else {
        if (open) busy += curE - curS;
        curS = s; curE = e; open = true;
      }
    }
    const k = hi - lo;
    if (k === 0) continue;
    out.gpuStart[q] = first;
    out.gpuEnd[q] = last;
    out.opCount[q] = k;
    out.kernelCount[q] = kernelOps;
    if (sorted) {
      out.gpuTime[q] = open ? busy + (curE - curS) : busy;
      continue;
    }
    if (scratchS.length < k) {
      scratchS = new Float64Array(Math.max(k, 2 * scratchS.length)); scratchE = new Float64Array(scratchS.length);
      scratchOrder = new Uint32Array(scratchS.length);
    }
    for (let c = lo; c < hi; c++) {
      const id = order ? order[c] : c;
      const m = c - lo;
      if (id < nKernels) { scratchS[m] = kernels.start[id]; scratchE[m] = kernels.end[id]; }
      else if (id < nKernels + nMemcpy) { scratchS[m] = memcpy.start[id - nKernels]; scratchE[m] = memcpy.end[id - nKernels]; }
      else { scratchS[m] = memset.start[id - nKernels - nMemcpy]; scratchE[m] = memset.end[id - nKernels - nMemcpy]; }
    }
    out.gpuTime[q] = unionLengthUnsorted(scratchS, scratchE, k, scratchOrder);
  }
  return out;
}

/**
 * First i in [lo, hi) whose op's launch call starts at or after x (call starts ascend there),
 * galloping forward from `hint` when the answer lies after it.
 */
function firstCallFrom(trace: Trace, ops: OpsByCall, lo: number, hi: number, x: number, hint: number): number {
  const start = trace.runtime.start;
  if (hint >= lo && hint < hi && start[callAt(ops, hint)] < x) {
    let step = 1;
    lo = hint + 1;
    while (lo + step < hi && start[callAt(ops, lo + step)] < x) { lo += step + 1; step *= 2; }
    hi = Math.min(hi, lo + step + 1);
  }
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (start[callAt(ops, mid)] < x) lo = mid + 1; else hi = mid;
  }
  return lo;
}

/** Runtime row of the launch call of the i-th op in walk order. */
function callAt(ops: OpsByCall, i: number): number {
  const id = ops.order ? ops.order[i] : i;
  return id < ops.nKernels ? ops.kernelCall[id]
    : id < ops.nKernels + ops.nMemcpy ? ops.memcpyCall[id - ops.nKernels] : ops.memsetCall[id - ops.nKernels - ops.nMemcpy];
}

/**
 * The GPU operations with a launch call, as ids: kernel rows, then memcpy rows (+ kernel count),
 * then memset rows, in the order the projection walks them: by the call's thread, then by call
 * row, then by id. Ids instead of copied start/end columns: a million ops cost 4 bytes each, or
 * nothing when they are the kernel rows in order.
 */
interface OpsByCall {
  /** op ids in walk order; null when op i is kernel row i (every kernel, launched in row order on one thread) */
  order: Int32Array | null;
  nKernels: number;
  nMemcpy: number;
  /** no transfers: every op is a kernel */
  kernelsOnly: boolean;
  /** the launch calls of kernel, memcpy and memset rows (callLinks) */
  kernelCall: Int32Array;
  memcpyCall: Int32Array;
  memsetCall: Int32Array;
  /** each thread's ops: order[from .. to); hint: the last search's answer */
  threads: Map<number, { from: number; to: number; hint: number }>;
}

/** `which`: the kernels, the transfers (memcpy and memset), or both. */
function opsByCall(trace: Trace, deviceId: number | undefined, which: 'kernels' | 'transfers' | 'all', links: CallLinks): OpsByCall {
  const { runtime, kernels, memcpy, memset } = trace;
  const nKernels = kernels.count;
  const nMemcpy = memcpy.count;
  const base = { nKernels, nMemcpy, kernelsOnly: which === 'kernels', kernelCall: links.kernelCall, memcpyCall: links.memcpyCall, memsetCall: links.memsetCall };
  const sources = [
    ...(which !== 'transfers' ? [{ cols: kernels, call: links.kernelCall, base: 0 }] : []),
    ...(which !== 'kernels' ? [{ cols: memcpy, call: links.memcpyCall, base: nKernels }, { cols: memset, call: links.memsetCall, base: nKernels + nMemcpy }] : []),
  ];
  const kept = (cols: { deviceId: IntColumn }, call: Int32Array, i: number): boolean =>
    call[i] >= 0 && (deviceId === undefined || cols.deviceId[i] === deviceId);
  let total = 0;
  let callOrdered = true;
  let oneThread = true;
  let thread0 = NaN;
  for (const { cols, call } of sources) {
    let prev = -1;
    for (let i = 0; i < cols.count; i++) {
      if (!kept(cols, call, i)) continue;
      total++;
      if (call[i] < prev) callOrdered = false;
      prev = call[i];
      const t = runtime.thread[call[i]];
      if (total === 1) thread0 = t; else if (t !== thread0) oneThread = false;
    }
  }
  let order: Int32Array | null = null;
  if (!(oneThread && callOrdered && total === nKernels && sources.length === 1 || total === 0)) {
    order = new Int32Array(total);
    if (callOrdered) mergeByCall(sources, kept, order);
    else sortByCall(sources, kept, order, runtime.count);
  }
  const threads = new Map<number, { from: number; to: number; hint: number }>();
  if (oneThread) {
    if (total > 0) threads.set(thread0, { from: 0, to: total, hint: 0 });
    return { ...base, order, threads };
  }
  // several threads: a stable counting sort of the ids by their call's thread
  const walk: OpsByCall = { ...base, order, threads };
  for (let i = 0; i < total; i++) {
    const t = runtime.thread[callAt(walk, i)];
    const g = threads.get(t);
    if (g) g.to++; else threads.set(t, { from: 0, to: 1, hint: 0 });
  }
  let at = 0;
  for (const g of threads.values()) { g.from = at; at += g.to; g.to = g.from; }
  const byThread = new Int32Array(total);
  for (let i = 0; i < total; i++) {
    const g = threads.get(runtime.thread[callAt(walk, i)])!;
    byThread[g.to++] = order![i];
  }
  return { ...base, order: byThread, threads };
}

interface Source { cols: { count: number; deviceId: IntColumn }; call: Int32Array; base: number }

/** Each source's kept rows are in call order already: merge them by call row (ties: source order, then row). */
function mergeByCall(sources: Source[], kept: (cols: Source['cols'], call: Int32Array, i: number) => boolean, out: Int32Array): void {
  const next = sources.map(() => -1);
  const advance = (s: number): void => {
    const { cols, call } = sources[s];
    let i = next[s] + 1;
    while (i < cols.count && !kept(cols, call, i)) i++;
    next[s] = i;
  };
  sources.forEach((_, s) => advance(s));
  for (let o = 0; o < out.length;) {
    let best = -1;
    for (let s = 0; s < sources.length; s++) {
      if (next[s] >= sources[s].cols.count) continue;
      if (best < 0 || sources[s].call[next[s]] < sources[best].call[next[best]]) best = s;
    }
    // the earliest head of the other sources (the first such source on a tie): best's rows go out
    // in one run while they stay before it, not one choice among the sources a row (a million
    // kernels beside a few thousand copies)
    let limit = Infinity;
    let limitSource = sources.length;
    for (let s = 0; s < sources.length; s++) {
      if (s === best || next[s] >= sources[s].cols.count) continue;
      if (sources[s].call[next[s]] < limit) { limit = sources[s].call[next[s]]; limitSource = s; }
    }
    const { cols, call, base } = sources[best];
    let i = next[best];
    for (; i < cols.count; i++) {
      if (!kept(cols, call, i)) continue;
      if (call[i] > limit || (call[i] === limit && limitSource < best)) break;
      out[o++] = base + i;
    }
    next[best] = i;
  }
}

/** Counting sort of the kept rows by call row, stable (sources in order, rows in order). */
function sortByCall(sources: Source[], kept: (cols: Source['cols'], call: Int32Array, i: number) => boolean, out: Int32Array, calls: number): void {
  const at = new Int32Array(calls + 1);
  for (const { cols, call } of sources) for (let i = 0; i < cols.count; i++) if (kept(cols, call, i)) at[call[i] + 1]++;
  for (let r = 0; r < calls; r++) at[r + 1] += at[r];
  for (const { cols, call, base } of sources) for (let i = 0; i < cols.count; i++) if (kept(cols, call, i)) out[at[call[i]]++] = base + i;
}

/**
 * For queries (thread, time) sorted by time: the innermost NVTX range on that thread containing
 * the time (latest start; the shorter on a tie), or -1. One pass with a stack per thread.
 */
export function innermostNvtxRanges(trace: Trace, thread: ArrayLike<number>, time: ArrayLike<number>, count: number): Int32Array {
  const { nvtx } = trace;
  const out = new Int32Array(count).fill(-1);
  if (count === 0) return out;
  if (innermostInStartOrder(trace, thread, time, count, out)) return out;
  let rows = nvtxRangeRows(trace);
  // each thread's ranges: byThread[from .. to), by start, the longer first on equal starts
  // (stable); its stack of open ranges is its own small array (as deep as the nesting: no column
  // a range long)
  type Group = { from: number; to: number; next: number; stack: number[] };
  const groups = new Map<number, Group>();
  // the last thread's group kept: ranges and queries come in long runs of one thread (a Map lookup a run, not one each)
  let lastThread = NaN;
  let lastGroup: Group | undefined;
  const groupOf = (th: number): Group | undefined => {
    if (th !== lastThread) { lastThread = th; lastGroup = groups.get(th); }
    return lastGroup;
  };
  for (let k = 0; k < rows.length; k++) {
    const g = groupOf(nvtx.thread[rows[k]]);
    if (g) g.to++; else { lastGroup = { from: 0, to: 1, next: 0, stack: [] }; groups.set(nvtx.thread[rows[k]], lastGroup); }
  }
  let at = 0;
  for (const g of groups.values()) { g.from = at; g.next = at; at += g.to; g.to = g.from; }
  const byThread = new Int32Array(rows.length);
  for (let k = 0; k < rows.length; k++) byThread[groupOf(nvtx.thread[rows[k]])!.to++] = rows[k];
  rows = new Int32Array(0);
  for (const g of groups.values()) startThenLongerFirst(nvtx.start, nvtx.end, byThread.subarray(g.from, g.to));
  for (let q = 0; q < count; q++) {
    const g = groupOf(thread[q]);
    if (!g) continue;
    const t = time[q];
    const { stack } = g;
    while (g.next < g.to && nvtx.start[byThread[g.next]] <= t) stack.push(byThread[g.next++]);
    // Ranges ended before t are dead for every later query too (queries are time-sorted).
    while (stack.length > 0 && nvtx.end[stack[stack.length - 1]] <= t) stack.pop();
    if (stack.length > 0) out[q] = stack[stack.length - 1];
  }
  return out;
}

/**
 * innermostNvtxRanges' walk without grouping the ranges by thread nor ordering them first, when
 * the nvtx rows come in start order (a capture's do) and the query times ascend; false (nothing
 * written) when they do not. The rows are taken in row order, each range pushed on its thread's
 * stack: the order the grouped walk pushes a thread's ranges in (by start, the longer first,
 * then row) but within runs of equal starts, which are pushed in that order here. The same stacks
 * at every query, so the same answers, without the range rows' list, the grouping's two passes
 * and the ordering's (host syncs at 266k ranges: ~80 ms of CPU on a 2-core VM).
 */
function innermostInStartOrder(trace: Trace, thread: ArrayLike<number>, time: ArrayLike<number>, count: number, out: Int32Array): boolean {
  const { start, end, thread: rangeThread } = trace.nvtx;
  const n = trace.nvtx.count;
  if (Number.isNaN(time[0])) return false;
  for (let q = 1; q < count; q++) if (!(time[q] >= time[q - 1])) return false;
  for (let i = 1; i < n; i++) if (!(start[i] >= start[i - 1])) return false;
  const stacks = new Map<number, number[]>();
  // the last thread's stack: ranges and queries come in long runs of one thread
  let lastThread = NaN;
  let lastStack: number[] | undefined;
  const stackOf = (th: number): number[] | undefined => {
    if (th !== lastThread) { lastThread = th; lastStack = stacks.get(th); }
    return lastStack;
  };
  // a stack for each thread some query is on: another thread's ranges are never pushed (as the
  // grouped walk never reaches them), not held to the end
  for (let q = 0; q < count; q++) if (thread[q] !== lastThread) { lastThread = thread[q]; if (!stacks.has(lastThread)) stacks.set(lastThread, []); }
  lastThread = NaN;
  const push = (r: number): void => {
    stackOf(rangeThread[r])?.push(r);
  };
  const run: number[] = [];
  let p = 0;
  for (let q = 0; q < count; q++) {
    const t = time[q];
    // every row started by t: a run of equal starts, its ranges the longer first (then row)
    while (p < n && start[p] <= t) {
      let b = p + 1;
      while (b < n && start[b] === start[p]) b++;
      if (b === p + 1) {
        if (isNvtxRange(trace, p)) push(p);
      } else {
        run.length = 0;
        for (let r = p; r < b; r++) if (isNvtxRange(trace, r)) run.push(r);
        run.sort((x, y) => end[y] - end[x] || x - y);
        for (const r of run) push(r);
      }
      p = b;
    }
    const stack = stackOf(thread[q]);
    if (!stack) continue;
    // ranges ended by t are dead for every later query too (queries ascend)
    while (stack.length > 0 && end[stack[stack.length - 1]] <= t) stack.pop();
    if (stack.length > 0) out[q] = stack[stack.length - 1];
  }
  return true;
}

/**
 * Orders nvtx rows (ascending row numbers) by start, the longer first on equal starts, stable.
 * Rows come in start order nearly always: then only runs of equal starts move.
 */
function startThenLongerFirst(start: Float64Array, end: Float64Array, rows: Int32Array): void {
  let startOrdered = true;
  for (let k = 1; k < rows.length && startOrdered; k++) if (start[rows[k]] < start[rows[k - 1]]) startOrdered = false;
  if (!startOrdered) {
    rows.sort((a, b) => start[a] - start[b] || end[b] - end[a] || a - b);
    return;
  }
  // insertion sort by end, descending, within equal starts: such runs are short
  for (let k = 1; k < rows.length; k++) {
    const r = rows[k];
    let j = k - 1;
    while (j >= 0 && start[rows[j]] === start[r] && end[rows[j]] < end[r]) { rows[j + 1] = rows[j]; j--; }
    rows[j + 1] = r;
  }
}
