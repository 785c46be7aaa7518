/**
 * The memory techniques of moe-trace, in one place. A trace holds millions of rows as columns in
 * typed arrays (model/trace.ts); the analyses read them through the few helpers below, so that
 * their code reads like the maths in docs/metrics.md and the tricks stay here.
 *
 * 1. Running doubles (`runningDoubles`). A loop over a million rows runs once, much of it before
 *    V8 optimizes it, and until then every double written to a local variable (a cursor, a running
 *    maximum, a sum) becomes a new heap number: hundreds of MB of garbage a run. Keep such values
 *    in a small Float64Array instead: `const acc = runningDoubles(Infinity, -Infinity)`, then
 *    `acc[0] = Math.min(acc[0], x)`. Integers (counts, indices) need nothing: V8 keeps them unboxed.
 *
 * 2. Row views (`RowView`, `rowAt`, `rowsOf`, `rowView`). A subset of a table's rows, in order:
 *    `rows[j]` for j < count, or, when `rows` is null, j itself: the subset is every row (one GPU,
 *    the whole trace as window), and no copy of a million indices is made. The same convention
 *    ("null means the same index") is used by the columns of an operation selection
 *    (analyses/select.ts: `row`, `op`, `ops.row`, `ops.duration`).
 *
 * 3. Id columns (`IdColumn`, `fitsInt32`, `narrowIds`, `widenIds`). Correlation and graph-node ids
 *    are Int32Array while every value fits one exactly (CUPTI's 32-bit ids nearly always do),
 *    Float64Array once one does not: readers start narrow and widen on the first value that needs
 *    it; every value reads back the same either way.
 *
 * 3b. Integer columns (`IntColumn`, `narrowInts`, `narrowTable`). The model's index and small-id
 *    columns (device, stream, process, thread, name, launch configuration, enum values) hold few
 *    distinct, small values: each is kept in the narrowest signed typed array that holds all of
 *    them exactly (Int8Array, Int16Array, else Int32Array). Readers fill Int32Array columns
 *    (model/build.ts `Filling`) and narrow each table once it is read and numbered, so that only
 *    one table is ever wide; a million kernels keep 24 bytes a kernel of such columns in about 8.
 *
 * 4. Sizing (`fit`, `grown`). `fit(a, n)` is a's first n values without a copy when a holds exactly
 *    n; `grown(a, length)` a copy with room for more (amortized doubling).
 */
import type {
  IdColumn, IntColumn, KernelColumns, MemcpyColumns, MemsetColumns, NvtxColumns, RuntimeColumns, SyncColumns,
} from './trace.js';

export type { IdColumn, IntColumn } from './trace.js';

/** A few running doubles in a Float64Array, with their initial values (technique 1). */
export function runningDoubles(...initial: number[]): Float64Array {
  return Float64Array.from(initial);
}

/** A subset of a table's rows, in order; `rows` null means every row, row j being j (technique 2). */
export interface RowView {
  count: number;
  rows: Int32Array | null;
}

/** Row of the view's j-th element. */
export function rowAt(v: RowView, j: number): number {
  return v.rows ? v.rows[j] : j;
}

/** The view's rows as an array (a new identity array when the view is every row). */
export function rowsOf(v: RowView): Int32Array {
  if (v.rows) return v.rows;
  const rows = new Int32Array(v.count);
  for (let j = 0; j < v.count; j++) rows[j] = j;
  return rows;
}

/**
 * The view of `rows[0 .. n)` out of a table of `total` rows: null rows when that is every row in
 * order (then `rows` is dropped), else the first n values (`fit`).
 */
export function rowView(rows: Int32Array, n: number, total: number): RowView {
  if (n === total) {
    let identity = true;
    for (let j = 0; j < n && identity; j++) identity = rows[j] === j;
    if (identity) return { count: n, rows: null };
  }
  return { count: n, rows: fit(rows, n) };
}

/** Whether an Int32Array holds v exactly: an integer in range, and not -0 (technique 3). */
export function fitsInt32(v: number): boolean {
  return (v | 0) === v && !(v === 0 && 1 / v < 0);
}

/**
 * An id column as an Int32Array when every value in it is an integer that one holds exactly
 * (not -0), else the column itself: a million kernels or API calls keep 4 MB less each.
 */
export function narrowIds(col: IdColumn): IdColumn {
  if (col instanceof Int32Array) return col;
  for (let i = 0; i < col.length; i++) if (!fitsInt32(col[i])) return col;
  const out = new Int32Array(sameKindOfBuffer(col, 4 * col.length));
  out.set(col);
  return out;
}

/**
 * A buffer of `bytes` bytes on shared memory when `col` is (the read workers' columns: a narrowed
 * copy stays readable by a worker thread without another copy, model/shared.ts), else an ordinary one.
 */
function sameKindOfBuffer(col: ArrayBufferView, bytes: number): ArrayBuffer | SharedArrayBuffer {
  return col.buffer instanceof SharedArrayBuffer ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
}

/**
 * An integer column in the narrowest of Int8Array, Int16Array and Int32Array that holds every
 * value of it (technique 3b): the column itself when it already is, else a copy. Every value reads
 * back the same.
 */
export function narrowInts(col: IntColumn): IntColumn {
  if (col instanceof Int8Array) return col;
  let lo = 0; let hi = 0;
  for (let i = 0; i < col.length; i++) {
    const v = col[i];
    if (v < lo) lo = v; else if (v > hi) hi = v;
  }
  const Narrow = lo >= -128 && hi <= 127 ? Int8Array : lo >= -32768 && hi <= 32767 ? Int16Array : Int32Array;
  if (col instanceof Narrow) return col;
  const out = new Narrow(sameKindOfBuffer(col, Narrow.BYTES_PER_ELEMENT * col.length) as ArrayBuffer);
  out.set(col);
  return out;
}

/** An id column at its narrowest: integer columns by narrowInts, a Float64Array first by narrowIds. */
export function narrowIdColumn(col: IdColumn): IdColumn {
  const ids = narrowIds(col);
  return ids instanceof Float64Array ? ids : narrowInts(ids);
}

/**
 * A table's columns with every integer and id column narrowed (narrowInts, narrowIdColumn): the
 * same keys, the same values. Float64Array and Uint8Array columns stay as they are; `names` lists
 * the columns to narrow.
 */
export function narrowTable<T extends object>(cols: T, names: readonly (keyof T)[]): T {
  const out = { ...cols };
  for (const k of names) {
    const c = out[k] as unknown;
    if (c instanceof Float64Array) (out[k] as unknown) = narrowIdColumn(c);
    else if (c instanceof Int32Array || c instanceof Int16Array) (out[k] as unknown) = narrowInts(c);
  }
  return out;
}

/** An Int32Array id column as a Float64Array of the same values (a Float64Array as it is). */
export function widenIds(col: IdColumn): Float64Array {
  return col instanceof Float64Array ? col : Float64Array.from(col);
}

/** The first n values: the array itself when it holds exactly n (no copy of a million values) (technique 4). */
export function fit<T extends Float64Array | Int32Array | Uint8Array | Uint32Array>(a: T, n: number): T {
  return n === a.length ? a : (a.slice(0, n) as T);
}

/** A copy of `a` with room for `length` values. */
export function grown<T extends Float64Array | Int32Array | Uint8Array | Uint32Array>(a: T, length: number): T {
  const b = new (a.constructor as new (n: number) => T)(length);
  b.set(a);
  return b;
}

/** The integer and id columns of each table of the model, for narrowTable. */
const NARROW = {
  kernels: ['deviceId', 'streamId', 'correlationId', 'process', 'shortName', 'launchConfig', 'graphNodeId', 'demangledName'],
  runtime: ['thread', 'correlationId', 'name'],
  memcpy: ['deviceId', 'contextId', 'streamId', 'correlationId', 'process', 'copyKind', 'srcKind', 'dstKind'],
  memset: ['deviceId', 'contextId', 'streamId', 'correlationId', 'process', 'memKind'],
  sync: ['deviceId', 'contextId', 'streamId', 'correlationId', 'process', 'syncType'],
  nvtx: ['text', 'thread', 'eventType', 'domainId'],
} as const satisfies { [K in keyof Tables]: readonly (keyof Tables[K])[] };

interface Tables {
  kernels: KernelColumns; runtime: RuntimeColumns; memcpy: MemcpyColumns; memset: MemsetColumns; sync: SyncColumns; nvtx: NvtxColumns;
}

/** A table of the model, read and numbered, with its integer and id columns at their narrowest (technique 3b). */
export function narrowed<K extends keyof Tables>(table: K, cols: Tables[K]): Tables[K] {
  return narrowTable(cols, NARROW[table] as unknown as readonly (keyof Tables[K])[]);
}

/** Every table of a trace narrowed (narrowed): for traces built whole (buildTrace, Kineto). */
export function narrowTrace<T extends Tables>(trace: T): T {
  return {
    ...trace,
    kernels: narrowed('kernels', trace.kernels), runtime: narrowed('runtime', trace.runtime), memcpy: narrowed('memcpy', trace.memcpy),
    memset: narrowed('memset', trace.memset), sync: narrowed('sync', trace.sync), nvtx: narrowed('nvtx', trace.nvtx),
  };
}

/** The array type of the widest of some integer columns: a column that takes values of any of them (technique 3b). */
export function widestOf(cols: IntColumn[]): new (n: number) => IntColumn {
  if (cols.some((c) => c instanceof Int32Array)) return Int32Array;
  return cols.some((c) => c instanceof Int16Array) ? Int16Array : Int8Array;
}
