/**
 * NVTX ranges projected onto the GPU, as `nsys stats nvtx_gpu_proj_*` does (DESIGN.md "NVTX
 * projection"): a GPU operation belongs to a push/pop or start/end range when its launch call
 * (the API call with the same correlationId) started inside the range, [start, end), on the
 * range's thread. Nested ranges each own the operations of their children.
 */
import type { Trace } from '../model/trace.js';
import { lowerBoundNear, totalLength, union } from '../model/intervals.js';
import { callLinks } from './correlation.js';

/** eventType of NVTX marks: instantaneous, never a range */
const NVTX_MARK = 34;

export function isNvtxRange(trace: Trace, row: number): boolean {
  const { start, end, eventType } = trace.nvtx;
  return Number.isFinite(end[row]) && end[row] >= start[row] && eventType[row] !== NVTX_MARK;
}

/** Rows of trace.nvtx that are ranges (push/pop or start/end with an end), in start order. */
export function nvtxRangeRows(trace: Trace): Int32Array {
  let n = 0;
  for (let i = 0; i < trace.nvtx.count; i++) if (isNvtxRange(trace, i)) n++;
  const rows = new Int32Array(n);
  for (let i = 0, k = 0; k < n; i++) if (isNvtxRange(trace, i)) rows[k++] = i;
  return rows;
}

export interface NvtxProjections {
  count: number;
  /** row in trace.nvtx */
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

export interface ProjectionOptions {
  /** only operations on this device (default: all devices) */
  deviceId?: number;
  /** nvtx rows to project (default: every range) */
  ranges?: ArrayLike<number>;
  /** count memcpy/memset as GPU operations, as nsys does (default true) */
  includeTransfers?: boolean;
}

export function projectNvtxRanges(trace: Trace, options: ProjectionOptions = {}): NvtxProjections {
  const rows = options.ranges ?? nvtxRangeRows(trace);
  const ops = opsByCall(trace, options.deviceId, options.includeTransfers ?? true);
  const n = rows.length;
  const out: NvtxProjections = {
    count: n, range: Int32Array.from(rows), gpuStart: new Float64Array(n).fill(NaN),
    gpuEnd: new Float64Array(n).fill(NaN), gpuTime: new Float64Array(n), opCount: new Int32Array(n),
    kernelCount: new Int32Array(n),
  };
  // only for a range whose ops are not in start order (then its union needs a sort)
  let scratchS: Float64Array | null = null;
  let scratchE: Float64Array | null = null;
  const { nvtx } = trace;
  // ranges mostly come in start order on one thread: search from the previous range's first call
  let hintThread = NaN;
  let hint = 0;
  for (let q = 0; q < n; q++) {
    const row = rows[q];
    if (!isNvtxRange(trace, row)) continue;
    const calls = ops.threadCalls.get(nvtx.thread[row]);
    if (!calls) continue;
    if (nvtx.thread[row] !== hintThread) { hintThread = nvtx.thread[row]; hint = 0; }
    const lo = lowerBoundNear(calls.start, calls.count, nvtx.start[row], hint);
    const hi = lowerBoundNear(calls.start, calls.count, nvtx.end[row], lo);
    hint = lo;
    // One pass: counts, span, and the union's length as long as the ops come in start order
    // (launch order nearly always is), as unionLengthSorted would compute it.
    let k = 0;
    let kernels = 0;
    let first = Infinity;
    let last = -Infinity;
    let sorted = true;
    let prevS = -Infinity;
    let busy = 0;
    let curS = 0;
    let curE = 0;
    let open = false;
    for (let c = lo; c < hi; c++) {
      const call = calls.call[c];
      for (let o = ops.offset[call]; o < ops.offset[call + 1]; o++) {
        const s = ops.start[o];
        const e = ops.end[o];
        k++;
        if (ops.isKernel[o]) kernels++;
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
    }
    if (k === 0) continue;
    out.gpuStart[q] = first;
    out.gpuEnd[q] = last;
    out.opCount[q] = k;
    out.kernelCount[q] = kernels;
    if (sorted) {
      out.gpuTime[q] = open ? busy + (curE - curS) : busy;
      continue;
    }
    scratchS ??= new Float64Array(ops.start.length);
    scratchE ??= new Float64Array(ops.start.length);
    let m = 0;
    for (let c = lo; c < hi; c++) {
      const call = calls.call[c];
      for (let o = ops.offset[call]; o < ops.offset[call + 1]; o++) { scratchS[m] = ops.start[o]; scratchE[m] = ops.end[o]; m++; }
    }
    out.gpuTime[q] = totalLength(union(scratchS, scratchE, k));
  }
  return out;
}

interface OpsByCall {
  /** ops of runtime row r are ops[offset[r] .. offset[r+1]) */
  offset: Int32Array;
  start: Float64Array;
  end: Float64Array;
  isKernel: Uint8Array;
  /** per thread: calls that issued at least one op, in start order */
  threadCalls: Map<number, { count: number; call: Int32Array; start: Float64Array }>;
}

function opsByCall(trace: Trace, deviceId: number | undefined, includeTransfers: boolean): OpsByCall {
  const { runtime, kernels, memcpy, memset } = trace;
  const links = callLinks(trace);
  const sources = [
    { cols: kernels, call: links.kernelCall, kernel: 1 },
    ...(includeTransfers ? [{ cols: memcpy, call: links.memcpyCall, kernel: 0 }, { cols: memset, call: links.memsetCall, kernel: 0 }] : []),
  ];
  const offset = new Int32Array(runtime.count + 1);
  for (const { cols, call } of sources) {
    for (let i = 0; i < cols.count; i++) {
      if (call[i] >= 0 && (deviceId === undefined || cols.deviceId[i] === deviceId)) offset[call[i] + 1]++;
    }
  }
  for (let r = 0; r < runtime.count; r++) offset[r + 1] += offset[r];
  const total = offset[runtime.count];
  const start = new Float64Array(total);
  const end = new Float64Array(total);
  const isKernel = new Uint8Array(total);
  const fill = offset.slice(0, runtime.count);
  for (const { cols, call, kernel } of sources) {
    for (let i = 0; i < cols.count; i++) {
      const r = call[i];
      if (r < 0 || (deviceId !== undefined && cols.deviceId[i] !== deviceId)) continue;
      const o = fill[r]++;
      start[o] = cols.start[i]; end[o] = cols.end[i]; isKernel[o] = kernel;
    }
  }
  // Calls with ops, grouped by thread keeping start order: one counting pass and one filling
  // pass over two shared buffers (each thread's lists are views into them).
  const callsOf = new Map<number, { count: number; at: number }>();
  let withOps = 0;
  for (let r = 0; r < runtime.count; r++) {
    if (offset[r + 1] === offset[r]) continue;
    const t = runtime.thread[r];
    const g = callsOf.get(t);
    if (g) g.count++; else callsOf.set(t, { count: 1, at: 0 });
    withOps++;
  }
  const callBuf = new Int32Array(withOps);
  const startBuf = new Float64Array(withOps);
  const threadCalls = new Map<number, { count: number; call: Int32Array; start: Float64Array }>();
  let at = 0;
  for (const [t, g] of callsOf) {
    g.at = at;
    threadCalls.set(t, { count: g.count, call: callBuf.subarray(at, at + g.count), start: startBuf.subarray(at, at + g.count) });
    at += g.count;
  }
  let lastThread = NaN;
  let group = { count: 0, at: 0 };
  for (let r = 0; r < runtime.count; r++) {
    if (offset[r + 1] === offset[r]) continue;
    const t = runtime.thread[r];
    // consecutive calls are mostly on one thread: skip the lookup then
    if (t !== lastThread) { group = callsOf.get(t)!; lastThread = t; }
    callBuf[group.at] = r;
    startBuf[group.at] = runtime.start[r];
    group.at++;
  }
  return { offset, start, end, isKernel, threadCalls };
}

/**
 * For queries (thread, time) sorted by time: the innermost NVTX range on that thread containing
 * the time (latest start; the shorter on a tie), or -1. One pass with a stack per thread.
 */
export function innermostNvtxRanges(trace: Trace, thread: ArrayLike<number>, time: ArrayLike<number>, count: number): Int32Array {
  const { nvtx } = trace;
  const perThread = new Map<number, number[]>();
  for (const row of nvtxRangeRows(trace)) {
    const t = nvtx.thread[row];
    let l = perThread.get(t);
    if (!l) perThread.set(t, (l = []));
    l.push(row);
  }
  // Equal starts: push the longer first so the shorter (inner) one ends on top of the stack.
  for (const l of perThread.values()) l.sort((a, b) => nvtx.start[a] - nvtx.start[b] || nvtx.end[b] - nvtx.end[a]);
  const state = new Map<number, { next: number; stack: number[] }>();
  const out = new Int32Array(count).fill(-1);
  for (let q = 0; q < count; q++) {
    const rows = perThread.get(thread[q]);
    if (!rows) continue;
    let st = state.get(thread[q]);
    if (!st) state.set(thread[q], (st = { next: 0, stack: [] }));
    const t = time[q];
    while (st.next < rows.length && nvtx.start[rows[st.next]] <= t) st.stack.push(rows[st.next++]);
    // Ranges ended before t are dead for every later query too (queries are time-sorted).
    while (st.stack.length > 0 && nvtx.end[st.stack[st.stack.length - 1]] <= t) st.stack.pop();
    if (st.stack.length > 0) out[q] = st.stack[st.stack.length - 1];
  }
  return out;
}
