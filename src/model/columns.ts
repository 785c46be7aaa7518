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
 * 4. Sizing (`fit`, `grown`). `fit(a, n)` is a's first n values without a copy when a holds exactly
 *    n; `grown(a, length)` a copy with room for more (amortized doubling).
 */
import type { IdColumn } from './trace.js';

export type { IdColumn } from './trace.js';

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
  return Int32Array.from(col);
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
