/**
 * The GPU operations of one device clipped to the window W: the input of every per-device metric.
 *
 * An operation is in W when its clipped part has positive length, or when it has zero length and
 * lies in a segment [start, end] (so a zero-length kernel counts as a kernel but adds no time).
 * An operation straddling two segments of a --range window yields one piece per segment; counts
 * are of operations, times of pieces.
 */
import type { IntColumn, Trace } from '../model/trace.js';
import { sortedOrder, totalLength, union, type IntervalSet } from '../model/intervals.js';
import { fit, grown, rowAt, widestOf, type RowView } from '../model/columns.js';
import { forEachInWindow, forEachRunInWindow, piece } from '../model/window-pieces.js';

export const OpKind = { Kernel: 0, Memcpy: 1, Memset: 2 } as const;
export type OpKind = (typeof OpKind)[keyof typeof OpKind];

/**
 * Read-only: when every operation is one piece, the per-piece columns are the `ops` arrays
 * themselves.
 */
export interface OpSelection {
  /** pieces, sorted by (clipped) start */
  count: number;
  start: Float64Array;
  end: Float64Array;
  /**
   * row of the piece's operation in its table (kernels, memcpy or memset, by kind); null when
   * the pieces are the kernel rows themselves (piece k is operation k is kernel row k)
   */
  row: Int32Array | null;
  kind: Uint8Array;
  streamId: IntColumn;
  /** index into Trace.processes, -1 unknown */
  process: IntColumn;
  /** index of the piece's operation in `ops`; null when piece k is operation k */
  op: Int32Array | null;
  /** operations (not pieces), in table order: kernels first */
  ops: {
    count: number;
    /** null as `row` above: operation o is kernel row o */
    row: Int32Array | null;
    kind: Uint8Array;
    streamId: IntColumn;
    process: IntColumn;
    /**
     * total clipped duration; null when every operation is one piece and piece o is operation o
     * (then it is end[o] - start[o]: see opDuration)
     */
    duration: Float64Array | null;
  };
  kernelCount: number;
}

/** Table row of operation o (null means the same index: model/columns.ts). */
export function opRow(sel: OpSelection, o: number): number {
  return sel.ops.row ? sel.ops.row[o] : o;
}

/** Operation of piece k. */
export function pieceOp(sel: OpSelection, k: number): number {
  return sel.op ? sel.op[k] : k;
}

/** Clipped duration of operation o. */
export function opDuration(sel: OpSelection, o: number): number {
  return sel.ops.duration ? sel.ops.duration[o] : sel.end[o] - sel.start[o];
}

/** Device ids that ran at least one kernel, ascending. */
export function deviceIds(trace: Trace): number[] {
  const ids = new Set<number>();
  for (let i = 0; i < trace.kernels.count; i++) ids.add(trace.kernels.deviceId[i]);
  return [...ids].sort((a, b) => a - b);
}

interface Columns {
  count: number;
  start: Float64Array;
  end: Float64Array;
  deviceId: IntColumn;
  streamId: IntColumn;
  process: IntColumn;
}

export function selectOps(
  trace: Trace, deviceId: number, window: IntervalSet, options: { includeTransfers?: boolean } = {},
): OpSelection {
  if (!options.includeTransfers) {
    const all = allKernelsAsTheyAre(trace, deviceId, window);
    if (all) return all;
    const run = wholeKernelRun(trace, deviceId, window);
    if (run) return run;
  }
  const tables: [Columns, OpKind][] = [[trace.kernels, OpKind.Kernel]];
  if (options.includeTransfers) tables.push([trace.memcpy, OpKind.Memcpy], [trace.memset, OpKind.Memset]);
  let cap = 0;
  for (const [t] of tables) cap += t.count;
  // Pieces: one per operation unless a --range window splits an operation; grown if it does.
  let pStart = new Float64Array(cap);
  let pEnd = new Float64Array(cap);
  // each piece's operation; null while every piece is an operation of its own (piece k is operation k)
  let pOp: Int32Array | null = null;
  let n = 0;
  const rowOfOp = new Int32Array(cap);
  const opKind = new Uint8Array(cap);
  let nOps = 0;
  let kernelCount = 0;
  for (const [t, kind] of tables) {
    forEachInWindow(t, deviceId, window, (i, first) => {
      if (first) {
        rowOfOp[nOps] = i; opKind[nOps] = kind;
        nOps++;
        if (kind === OpKind.Kernel) kernelCount++;
      }
      if (n === pStart.length) {
        const grow = Math.max(16, 2 * n);
        pStart = grown(pStart, grow); pEnd = grown(pEnd, grow);
        if (pOp) pOp = grown(pOp, grow);
      }
      if (pOp === null && n !== nOps - 1) {
        pOp = new Int32Array(pStart.length);
        for (let k = 0; k < n; k++) pOp[k] = k;
      }
      pStart[n] = piece[0]; pEnd[n] = piece[1];
      if (pOp) pOp[n] = nOps - 1;
      n++;
    });
  }
  // an operation's duration is the sum of its pieces, in piece order (as they were cut)
  let opDur: Float64Array | null = null;
  if (n !== nOps) {
    opDur = new Float64Array(nOps);
    for (let k = 0; k < n; k++) opDur[pOp![k]] += pEnd[k] - pStart[k];
  }
  const ops = {
    count: nOps, row: trimmed(rowOfOp, nOps), kind: trimmed(opKind, nOps), duration: opDur,
    streamId: new (widestOf(tables.map(([t]) => t.streamId)))(nOps), process: new (widestOf(tables.map(([t]) => t.process)))(nOps),
  };
  for (let o = 0; o < nOps; o++) {
    const t = tables[ops.kind[o]][0];
    ops.streamId[o] = t.streamId[rowOfOp[o]];
    ops.process[o] = t.process[rowOfOp[o]];
  }
  let sorted = true;
  for (let i = 1; i < n && sorted; i++) if (pStart[i] < pStart[i - 1]) sorted = false;
  if (sorted && n === nOps) {
    // One piece per operation, already in start order (the usual case): piece k is operation k,
    // so the per-piece columns are the operations' own arrays, shared rather than copied.
    return {
      count: n, start: trimmed(pStart, n), end: trimmed(pEnd, n), row: ops.row, kind: ops.kind, streamId: ops.streamId,
      process: ops.process, op: null, ops, kernelCount,
    };
  }
  if (!opDur) {
    // one piece per operation but out of start order: pieces get sorted, so durations go by operation
    opDur = new Float64Array(nOps);
    for (let k = 0; k < n; k++) opDur[k] = pEnd[k] - pStart[k];
    ops.duration = opDur;
  }
  const order = sorted ? null : sortedOrder(pStart, n);
  const sel: OpSelection = {
    count: n, start: new Float64Array(n), end: new Float64Array(n), row: new Int32Array(n),
    kind: new Uint8Array(n), streamId: new (widestOf([ops.streamId]))(n), process: new (widestOf([ops.process]))(n), op: new Int32Array(n),
    ops, kernelCount,
  };
  for (let k = 0; k < n; k++) {
    const p = order ? order[k] : k;
    const o = pOp ? pOp[p] : p;
    sel.start[k] = pStart[p]; sel.end[k] = pEnd[p];
    sel.row![k] = rowOfOp[o]; sel.kind[k] = ops.kind[o]; sel.op![k] = o;
    sel.streamId[k] = ops.streamId[o]; sel.process[k] = ops.process[o];
  }
  return sel;
}

/**
 * a[0..n) for a selection: the array itself when the window left out few of its rows (an eighth
 * at most), as `fit` would copy it, at the moment the copy and the original both count (20 MB at
 * a million kernels, the peak of a run); a copy when it left out many.
 */
export function trimmed<T extends Float64Array | Int32Array | Uint8Array>(a: T, n: number): T {
  return (n >= a.length - (a.length >> 3) ? a.subarray(0, n) : a.slice(0, n)) as T;
}

/**
 * The selection when it is every kernel of the trace, each whole inside a one-segment W and in
 * start order (one GPU, default window): the pieces are then the kernel columns themselves, shared
 * rather than copied. Null otherwise.
 */
function allKernelsAsTheyAre(trace: Trace, deviceId: number, window: IntervalSet): OpSelection | null {
  const k = trace.kernels;
  const n = k.count;
  if (window.count !== 1) return null;
  const lo = window.start[0];
  const hi = window.end[0];
  for (let i = 0; i < n; i++) {
    const s = k.start[i];
    const e = k.end[i];
    // written so that NaN or a kernel ending before it starts (which forEachInWindow drops) fails too
    if (k.deviceId[i] !== deviceId || !(s >= lo && e <= hi && e >= s) || (i > 0 && s < k.start[i - 1])) return null;
  }
  const start = k.start.subarray(0, n);
  const end = k.end.subarray(0, n);
  const ops = {
    count: n, row: null, kind: new Uint8Array(n), duration: null, streamId: k.streamId.subarray(0, n), process: k.process.subarray(0, n),
  };
  // piece i is kernel i and operation i: no row or op columns
  return { count: n, start, end, row: null, kind: ops.kind, streamId: ops.streamId, process: ops.process, op: null, ops, kernelCount: n };
}

/**
 * The selection when the device's kernels in W are consecutive kernel rows, each whole in W (one
 * piece, uncut) and in start order (one GPU, a steady-state window of whole iterations): its
 * start, end, stream and process columns are then the kernel columns' own rows, shared rather
 * than copied (20 of the 30 bytes an operation of the selection below). Null otherwise; one walk
 * of W decides, before anything is allocated.
 */
function wholeKernelRun(trace: Trace, deviceId: number, window: IntervalSet): OpSelection | null {
  const k = trace.kernels;
  // one run of whole rows (forEachRunInWindow) and no other piece: each whole, consecutive
  let first = -1;
  let n = 0;
  let whole = true;
  forEachRunInWindow(k, deviceId, window, (from, to) => {
    if (n > 0) whole = false;
    first = from;
    n = to - from;
  }, () => { whole = false; });
  // and in start order (rows are, but a table that is not would fail here, as the pieces' check did)
  for (let i = first + 1; whole && i < first + n; i++) if (k.start[i] < k.start[i - 1]) whole = false;
  if (!whole || n === 0) return null;
  const row = new Int32Array(n);
  for (let o = 0; o < n; o++) row[o] = first + o;
  const ops = {
    count: n, row, kind: new Uint8Array(n), duration: null,
    streamId: k.streamId.subarray(first, first + n), process: k.process.subarray(first, first + n),
  };
  return {
    count: n, start: k.start.subarray(first, first + n), end: k.end.subarray(first, first + n), row, kind: ops.kind,
    streamId: ops.streamId, process: ops.process, op: null, ops, kernelCount: n,
  };
}

// forEachInWindow, the one definition of "in W" piece by piece, lives in model/ so renderers can use it too
export { forEachInWindow, piece } from '../model/window-pieces.js';

/**
 * Rows of trace.kernels (a RowView, model/columns.ts): `rows[j]` for j < count, or j itself when
 * `rows` is null (every kernel of the trace, as on one GPU with the whole trace as window).
 */
export type KernelSubset = RowView;

/** Row of the subset's j-th kernel. */
export const kernelRow = rowAt;

/**
 * The kernels of a device in W, in row (start) order: exactly the kernels selectOps counts (the
 * definition above, segment by segment), for whoever needs them by row (the findings).
 */
export function kernelsInWindow(trace: Trace, deviceId: number, window: IntervalSet): KernelSubset {
  const k = trace.kernels;
  const rows = new Int32Array(k.count);
  let n = 0;
  forEachRunInWindow(k, deviceId, window, (from, to) => { for (let i = from; i < to; i++) rows[n++] = i; }, (i, first) => { if (first) rows[n++] = i; });
  // every kernel, in row order: the rows are the identity
  if (n === k.count) return { count: n, rows: null };
  return { count: n, rows: fit(rows, n) };
}

/** memcpy/memset of the device in W, reported apart from kernels: counts and busy time (union). */
export function transferActivity(trace: Trace, deviceId: number, window: IntervalSet): {
  memcpyCount: number; memcpyBusy: number; memsetCount: number; memsetBusy: number;
} {
  const measure = (t: Columns) => {
    // a first walk counts, so the pieces take typed columns of their size
    let count = 0;
    let pieces = 0;
    forEachRunInWindow(t, deviceId, window, (from, to) => { count += to - from; pieces += to - from; }, (_i, first) => { if (first) count++; pieces++; });
    if (pieces === 0) return { count, busy: 0 };
    const s = new Float64Array(pieces);
    const e = new Float64Array(pieces);
    let n = 0;
    forEachRunInWindow(t, deviceId, window, (from, to) => {
      s.set(t.start.subarray(from, to), n);
      e.set(t.end.subarray(from, to), n);
      n += to - from;
    }, () => { s[n] = piece[0]; e[n] = piece[1]; n++; });
    return { count, busy: totalLength(union(s, e, n)) };
  };
  const m = measure(trace.memcpy);
  const z = measure(trace.memset);
  return { memcpyCount: m.count, memcpyBusy: m.busy, memsetCount: z.count, memsetBusy: z.busy };
}
