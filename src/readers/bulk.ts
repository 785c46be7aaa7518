/**
 * Bulk column reads for the activity tables, two ways with the same result. From the file's
 * pages (readColumnsFromPages, pages.ts) where they allow it: ~0.1-0.2 µs a row. Through SQL
 * otherwise (readColumns): row by row, better-sqlite3 costs about a microsecond per row (a JS
 * array per row, a heap number per large integer); asking SQLite for one JSON array per column
 * per chunk of rows and parsing it with JSON.parse moves the same numbers 3-4x faster (measured
 * on 4M CUDA API rows: 12.7 s against 3.8 s). Rows come in rowid order, which is time order in
 * every export seen (nsys writes each table sorted by start); the rare table that is not is
 * sorted here, so callers always get columns ordered by (start, end).
 */
import type Database from 'better-sqlite3';
import { fitsInt32 } from '../model/build.js';
import { ident } from './schema.js';
import { threadKey } from './nsys-entities.js';
import {
  Kind, PagesUnsupported, hasTime, leafPages, numberAt, scanLeaves, tableLayout, threadPartAt, type Layout, type PageFile,
} from './pages.js';

export type Column = Float64Array | Int32Array | Uint8Array;

/**
 * One column of a read, defined once for both paths: readColumns turns it into SQL (sqlParts),
 * readColumnsFromPages computes the same value from the decoded record. A column's number
 * (`minus`: less the time origin, a BigInt so the SQL stays exact; the pages only read origin 0);
 * `globalTid >> 24` / `globalTid & 0xFFFFFF` (pidKey / tid); both, as a thread (op 'thread',
 * with `keys`); `col IS NOT NULL`; CUPTI's 0xFFFFFFFF "no stream" as NULL (syncStream); the
 * first non-NULL of several columns; or a constant (null: NULL).
 */
export type ColumnExpr =
  | { col: string; op?: 'pidKey' | 'tid' | 'thread' | 'notNull' | 'syncStream'; minus?: bigint }
  | { coalesce: string[] }
  | { value: number | null };

/** CUPTI_SYNCHRONIZATION_INVALID_VALUE: the stream of event and context syncs */
const NO_STREAM = 4294967295;

/** The SQL of a column: one expression, or two (a thread's pidKey and tid) read as a JSON pair. */
export function sqlParts(e: ColumnExpr): string[] {
  if ('value' in e) return [e.value === null ? 'NULL' : String(e.value)];
  if ('coalesce' in e) return [e.coalesce.length === 1 ? ident(e.coalesce[0]) : `COALESCE(${e.coalesce.map(ident).join(', ')})`];
  const c = ident(e.col);
  switch (e.op) {
    case 'pidKey': return [`(${c} >> 24)`];
    case 'tid': return [`(${c} & 16777215)`];
    case 'thread': return [`(${c} >> 24)`, `(${c} & 16777215)`];
    case 'notNull': return [`(${c} IS NOT NULL)`];
    case 'syncStream': return [`NULLIF(${c}, ${NO_STREAM})`];
    default: return [e.minus ? `(${c} - ${e.minus})` : c];
  }
}

/**
 * One column of a read and the array it lands in; `nan` makes NULL read as NaN instead of -1.
 */
export interface Target {
  col: ColumnExpr; out: Column; nan?: boolean; tuple?: Tuple;
  /** each value lands in `out` as its number in `keys` (LocalKeys; op 'thread': a thread's) */
  keys?: LocalKeys;
  /**
   * ids: `out` is an Int32Array that the read replaces by a Float64Array with the same values
   * when a value does not fit one; read `out` again after the read
   */
  widen?: boolean;
}

/**
 * Raw keys numbered in order of first appearance: processes by globalPid >> 24 (`local`), or
 * threads by (globalTid >> 24, globalTid & 0xFFFFFF) (`localThread`). While a table is read its
 * process or thread column holds these local numbers; `replay` then rewrites them as entity
 * indices, asked for in row order, so entities are numbered exactly as a pass over the raw keys
 * in that order numbers them, without columns of raw keys (8 bytes a row each, freed at once) in
 * between. The NULL key (-1) stays -1.
 */
export class LocalKeys {
  private readonly index = new Map<number | string, number>();
  /** pidKey and tid (NaN for a process key) of each local number */
  private readonly parts: number[] = [];
  private lastPid = NaN;
  private lastTid = NaN;
  private last = -1;

  local(pidKey: number): number {
    return this.localThread(pidKey, NaN);
  }

  localThread(pidKey: number, tid: number): number {
    // rows come in runs of one key
    // Object.is: NaN (a process key) equals NaN
    if (pidKey === this.lastPid && Object.is(tid, this.lastTid)) return this.last;
    const key = Number.isNaN(tid) ? pidKey : threadKey(pidKey, tid);
    let i = this.index.get(key);
    if (i === undefined) { i = this.parts.length >> 1; this.parts.push(pidKey, tid); this.index.set(key, i); }
    this.lastPid = pidKey;
    this.lastTid = tid;
    this.last = i;
    return i;
  }

  /** The keys in order of local number: pidKey and tid (NaN for a process key) of each; `add` numbers them again the same way. */
  keys(): number[] { return this.parts.slice(); }

  /** Numbers `keys` (another LocalKeys' keys()) in their order: on an empty LocalKeys, with the numbers they had there. */
  add(keys: ArrayLike<number>): void {
    for (let i = 0; i + 1 < keys.length; i += 2) this.localThread(keys[i], keys[i + 1]);
  }

  /** col[0, count) from local numbers to entity(pidKey, tid), asked for in row order (tid NaN for processes). */
  replay(col: Int32Array, count: number, entity: (pidKey: number, tid: number) => number): void {
    const mapped = new Int32Array(this.parts.length >> 1).fill(-2);
    for (let i = 0; i < count; i++) {
      const l = col[i];
      let g = mapped[l];
      if (g === -2) {
        const pidKey = this.parts[2 * l];
        g = mapped[l] = pidKey === -1 ? -1 : entity(pidKey, this.parts[2 * l + 1]);
      }
      col[i] = g;
    }
  }
}

/** A widen target's Int32Array as a Float64Array of the same values (from then on it stays one). */
function widened(t: Target): Float64Array {
  const wide = Float64Array.from(t.out);
  t.out = wide;
  return wide;
}

/**
 * Several columns stored as one number: `intern` is given their values (NULL as the target's
 * null value; `cols` null: a column the table lacks) and returns what lands in `out`. Used for
 * launch configurations: nine kernel columns, a handful of distinct values.
 */
export interface Tuple { cols: (string | null)[]; intern: (values: ArrayLike<number>) => number }

/** A target's SQL expressions: a tuple's columns, or the column's parts. */
function partsOf(t: Target): string[] {
  return t.tuple ? t.tuple.cols.map((c) => (c === null ? 'NULL' : ident(c))) : sqlParts(t.col);
}

/** Rows per chunk: large enough that per-query overhead vanishes, small enough for short JSON strings. */
const CHUNK = 65536;

/**
 * Copies `targets`' expressions over the rows of `table` matching `where`, in rowid order, into
 * the arrays from index `at`. Stops when the arrays are full. Returns the number of rows copied.
 */
export function readColumns(
  db: Database.Database, table: string, where: string, targets: Target[], at: number,
  onRows?: (rows: number) => void,
): number {
  const m = targets.length;
  const nulls = targets.map((t) => (t.nan ? NaN : -1));
  const cap = targets[0].out.length;
  // Anything but a number reads as NULL. Text arrives as a JSON string and is caught below;
  // JSON cannot hold a BLOB, so a chunk with one fails and is read again with every value
  // checked in SQL (checking always costs ~30% more on clean exports).
  const parts = targets.map(partsOf);
  // a tuple or a thread is several values: one JSON array per row
  const many = targets.map((t, j) => t.tuple !== undefined || parts[j].length > 1);
  const query = (value: (e: string) => string) => chunkQuery(db, table, where,
    parts.map((p, j) => (many[j] ? `json_array(${p.map(value).join(', ')})` : value(p[0]))), many);
  const fast = query((e) => e);
  let checked: ReturnType<typeof query> | null = null;
  const chunk = (after: bigint | null): [string[], bigint | null] => {
    try {
      return fast(after);
    } catch {
      checked ??= query((e) => (e === 'NULL' ? e : `IIF(typeof(${e}) IN ('integer', 'real'), ${e}, NULL)`));
      return checked(after);
    }
  };
  let i = at;
  for (let after: bigint | null = null, first = true; (first || after !== null) && i < cap; first = false) {
    const [row, last] = chunk(after);
    after = last;
    let n = 0;
    for (let j = 0; j < m; j++) {
      const values = JSON.parse(row[j]) as unknown[];
      // a short chunk is the last one
      if (values.length < CHUNK) after = null;
      n = Math.min(values.length, cap - i);
      const t = targets[j];
      let out = t.out;
      const nul = nulls[j];
      const { tuple, keys } = t;
      if (tuple) {
        for (let r = 0; r < n; r++) {
          out[i + r] = tuple.intern((values[r] as unknown[]).map((v) => (typeof v === 'number' ? v : nul)));
        }
        continue;
      }
      if (keys && many[j]) {
        // a thread: [pidKey, tid]
        for (let r = 0; r < n; r++) {
          const [p, q] = values[r] as unknown[];
          out[i + r] = keys.localThread(typeof p === 'number' ? p : -1, typeof q === 'number' ? q : -1);
        }
        continue;
      }
      if (keys) {
        for (let r = 0; r < n; r++) {
          const v = values[r];
          out[i + r] = keys.local(typeof v === 'number' ? v : nul);
        }
        continue;
      }
      if (t.widen && out instanceof Int32Array) {
        for (let r = 0; r < n; r++) {
          const v = values[r];
          const x = typeof v === 'number' ? v : nul;
          if (out instanceof Int32Array && !fitsInt32(x)) out = widened(t);
          out[i + r] = x;
        }
        continue;
      }
      for (let r = 0; r < n; r++) {
        const v = values[r];
        out[i + r] = typeof v === 'number' ? v : nul;
      }
    }
    i += n;
    if (n > 0) onRows?.(n);
  }
  return i - at;
}

const MAX_EXACT = Number.MAX_SAFE_INTEGER;

/** Which rows a table read keeps, as in nsys-events.ts's TableScan.valid. */
export type PageFilter = 'timed' | 'nvtx';

/**
 * readColumns from the file's pages: the same rows, in the same order, into the same arrays,
 * for the targets' columns and the rows `filter` keeps. With `texts`, the named text
 * column of every kept row where it is not NULL is passed to `texts.each`, in order.
 * Throws PagesUnsupported (read through SQL instead) where SQL's answer would need SQL's type
 * conversions: text or a blob where a number is read, a real where an integer is shifted.
 */
export function readColumnsFromPages(
  pages: PageFile, db: Database.Database, table: string, filter: PageFilter, targets: Target[], at: number,
  onRows?: (rows: number) => void, texts?: { col: string; each: (value: string) => void },
  dropped?: { rows: number },
): number {
  const layout = tableLayout(db, table, pageColumns(filter, targets, texts?.col));
  return readLeafColumns(pages, layout, leafPages(pages, layout.root), filter, targets, at, onRows, texts, dropped);
}

/**
 * The record columns readColumnsFromPages decodes for these targets, in the order its layout
 * (tableLayout) must name them: what a worker thread's read (readLeafColumns) is given a layout for.
 */
export function pageColumns(filter: PageFilter, targets: Target[], textCol?: string): string[] {
  return planColumns(filter, targets, textCol).cols;
}

const OP = { pidKey: 1, tid: 2, notNull: 3, coalesce: 4, value: 5, tuple: 6, thread: 7, syncStream: 8 } as const;

interface ColumnPlan {
  cols: string[]; sStart: number; sEnd: number; sType: number; sText: number;
  f64: { slot: number; out: Float64Array; nul: number }[];
  i32: { slot: number; out: Int32Array; nul: number }[];
  ids: { slot: number; out: Column; nul: number; target: Target }[];
  other: {
    op: number; slot: number; slots: number[]; value: number | null; out: Column; nul: number; tuple?: Tuple;
    keys?: LocalKeys; target: Target;
  }[];
}

/** Which record column each target reads (slots in `cols`), and the loop each goes through. */
function planColumns(filter: PageFilter, targets: Target[], textCol?: string): ColumnPlan {
  const cols: string[] = [];
  const slot = (c: string): number => {
    let i = cols.indexOf(c);
    if (i < 0) { i = cols.length; cols.push(c); }
    return i;
  };
  const sStart = slot('start'); const sEnd = slot('end');
  const sType = filter === 'nvtx' ? slot('eventType') : -1;
  const sText = textCol !== undefined ? slot(textCol) : -1;
  // Plain numeric columns, the bulk of every table, go through two monomorphic loops (one per
  // array type); the rest through the general switch.
  const f64: ColumnPlan['f64'] = [];
  const i32: ColumnPlan['i32'] = [];
  // id columns (widen): a loop of their own, so the plain loops stay free of the check
  const ids: ColumnPlan['ids'] = [];
  const other: ColumnPlan['other'] = [];
  for (const t of targets) {
    const e = t.col;
    const nul = t.nan ? NaN : -1;
    const o = { slots: [], value: null, out: t.out, nul, keys: t.keys, target: t };
    if (t.tuple) {
      other.push({ ...o, op: OP.tuple, slot: -1, slots: t.tuple.cols.map((c) => (c === null ? -1 : slot(c))), tuple: t.tuple });
      continue;
    }
    if ('col' in e && e.minus) throw new PagesUnsupported('times rebased by an origin');
    if ('value' in e) other.push({ ...o, op: OP.value, slot: -1, value: e.value });
    else if ('coalesce' in e) other.push({ ...o, op: OP.coalesce, slot: -1, slots: e.coalesce.map(slot) });
    else if (e.op !== undefined || t.keys) other.push({ ...o, op: e.op === undefined ? 0 : OP[e.op], slot: slot(e.col) });
    else if (t.widen) ids.push({ slot: slot(e.col), out: t.out, nul, target: t });
    else if (t.out instanceof Float64Array) f64.push({ slot: slot(e.col), out: t.out, nul });
    else if (t.out instanceof Int32Array) i32.push({ slot: slot(e.col), out: t.out, nul });
    else other.push({ ...o, op: 0, slot: slot(e.col) });
  }
  return { cols, sStart, sEnd, sType, sText, f64, i32, ids, other };
}

/**
 * readColumnsFromPages over the given leaf pages of the table, with the layout of its
 * pageColumns: plain data (pages, layout, leaves) that a worker thread can be given.
 */
export function readLeafColumns(
  pages: PageFile, layout: Layout, leaves: ArrayLike<number>, filter: PageFilter, targets: Target[], at: number,
  onRows?: (rows: number) => void, texts?: { col: string; each: (value: string) => void },
  dropped?: { rows: number },
): number {
  const { cols, sStart, sEnd, sType, sText, f64, i32, ids, other } = planColumns(filter, targets, texts?.col);
  const cap = targets[0].out.length;
  // a tuple's values: a typed array, so that reading them back boxes nothing
  let scratch = new Float64Array(0);
  let i = at;
  scanLeaves(pages, layout, leaves, cols.length, (row) => {
    // times compare exactly only up to 2^53: past that, SQL's exact integers decide
    if (!(Math.abs(row.num[sStart]) <= MAX_EXACT && Math.abs(row.num[sEnd]) <= MAX_EXACT)) {
      throw new PagesUnsupported('a time past 2^53');
    }
    if (filter === 'nvtx') {
      const k = row.kind[sType];
      if (k >= Kind.Text) throw new PagesUnsupported('text eventType');
      const type = k === Kind.Null ? NaN : row.num[sType];
      if (type !== 34 && type !== 59 && type !== 60) return;
      if (!hasTime(row, sStart) || (type !== 34 && (!hasTime(row, sEnd) || row.num[sEnd] < row.num[sStart]))) {
        if (dropped) dropped.rows++;
        return;
      }
    } else if (!hasTime(row, sStart) || !hasTime(row, sEnd) || row.num[sEnd] < row.num[sStart]) {
      if (dropped) dropped.rows++;
      return;
    }
    // never cut short: a row more than SQL counted means the two disagree, and SQL decides
    if (i >= cap) throw new PagesUnsupported('more rows pass the page filter than SQL counted');
    for (let j = 0; j < f64.length; j++) { const t = f64[j]; t.out[i] = numberAt(row, t.slot, t.nul); }
    for (let j = 0; j < i32.length; j++) { const t = i32[j]; t.out[i] = numberAt(row, t.slot, t.nul); }
    for (let j = 0; j < ids.length; j++) {
      const t = ids[j];
      const v = numberAt(row, t.slot, t.nul);
      if (t.out instanceof Int32Array && !fitsInt32(v)) t.out = widened(t.target);
      t.out[i] = v;
    }
    for (let j = 0; j < other.length; j++) {
      const p = other[j];
      let v: number;
      switch (p.op) {
        case OP.pidKey: v = threadPartAt(row, p.slot, 'pidKey', p.nul); break;
        case OP.tid: v = threadPartAt(row, p.slot, 'tid', p.nul); break;
        case OP.thread: v = p.keys!.localThread(threadPartAt(row, p.slot, 'pidKey', -1), threadPartAt(row, p.slot, 'tid', -1)); break;
        case OP.notNull: v = row.kind[p.slot] === Kind.Null ? 0 : 1; break;
        case OP.syncStream: v = numberAt(row, p.slot, p.nul); if (v === NO_STREAM) v = p.nul; break;
        case OP.coalesce: {
          v = p.nul;
          for (const s of p.slots) if (row.kind[s] !== Kind.Null) { v = numberAt(row, s, p.nul); break; }
          break;
        }
        case OP.value: v = p.value ?? p.nul; break;
        case OP.tuple: {
          const values = scratch.length === p.slots.length ? scratch : (scratch = new Float64Array(p.slots.length));
          for (let c = 0; c < p.slots.length; c++) values[c] = p.slots[c] < 0 ? p.nul : numberAt(row, p.slots[c], p.nul);
          v = p.tuple!.intern(values);
          break;
        }
        default: v = numberAt(row, p.slot, p.nul);
      }
      if (p.keys && p.op !== OP.thread) v = p.keys.local(v);
      else if (p.target.widen && p.out instanceof Int32Array && !fitsInt32(v)) p.out = widened(p.target);
      p.out[i] = v;
    }
    if (texts && row.kind[sText] !== Kind.Null) {
      if (row.kind[sText] !== Kind.Text) throw new PagesUnsupported('blob text');
      texts.each(row.text(sText));
    }
    i++;
  }, onRows);
  return i - at;
}

/**
 * Calls `visit` once per row of `table` that has both times and ends no earlier than it starts,
 * in rowid order, with the values of `cols` in `v` (NULL as -1; the same array every time):
 * from the file's pages with `pages`, else through SQL (`where` says which rows). Plain columns,
 * pidKey/tid and constants only. For reads in two passes that keep no column of every row.
 * From the pages, PagesUnsupported as readColumnsFromPages; times past 2^53 included.
 */
export function scanRows(
  db: Database.Database, pages: PageFile | null, table: string, where: string, cols: ColumnExpr[],
  visit: (v: Float64Array) => void, onRows?: (rows: number) => void,
): void {
  const v = new Float64Array(cols.length);
  if (pages === null) {
    const parts = cols.map((e) => {
      const p = sqlParts(e);
      if (p.length !== 1) throw new Error('scanRows: one value per column');
      return p[0];
    });
    const fast = chunkQuery(db, table, where, parts);
    let checked: ReturnType<typeof chunkQuery> | null = null;
    const chunk = (after: bigint | null): [string[], bigint | null] => {
      try {
        return fast(after);
      } catch {
        // a BLOB cannot travel as JSON: read the chunk again with every value checked
        checked ??= chunkQuery(db, table, where, parts.map((e) => (e === 'NULL' ? e : `IIF(typeof(${e}) IN ('integer', 'real'), ${e}, NULL)`)));
        return checked(after);
      }
    };
    for (let after: bigint | null = null, first = true; first || after !== null; first = false) {
      const [json, last] = chunk(after);
      const values = json.map((j) => JSON.parse(j) as unknown[]);
      const n = values[0].length;
      after = n < CHUNK ? null : last;
      for (let r = 0; r < n; r++) {
        for (let j = 0; j < cols.length; j++) { const x = values[j][r]; v[j] = typeof x === 'number' ? x : -1; }
        visit(v);
      }
      if (n > 0) onRows?.(n);
    }
    return;
  }
  const plan = rowPlan(cols);
  const layout = tableLayout(db, table, plan.names);
  scanPlannedRows(pages, layout, leafPages(pages, layout.root), plan, visit, onRows);
}

/**
 * scanRows' columns as the page reader reads them: the record columns to decode (`names`, start
 * and end first) and what each value is. Plain data, so that worker threads can scan with it.
 */
export interface RowPlan {
  names: string[];
  /** per requested column: kind 0 constant (`value`), 1 a number, 2 pidKey, 3 tid; `slot` in names */
  kind: number[]; slot: number[]; value: number[];
}

export function rowPlan(cols: ColumnExpr[]): RowPlan {
  const names: string[] = [];
  const slot = (c: string): number => {
    let i = names.indexOf(c);
    if (i < 0) { i = names.length; names.push(c); }
    return i;
  };
  slot('start'); slot('end');
  const plan: RowPlan = { names, kind: [], slot: [], value: [] };
  for (const e of cols) {
    if ('value' in e) { plan.kind.push(0); plan.slot.push(-1); plan.value.push(e.value ?? -1); continue; }
    if ('coalesce' in e || (e.op !== undefined && e.op !== 'pidKey' && e.op !== 'tid')) throw new Error('scanRows: plain columns only');
    if (e.minus) throw new PagesUnsupported('times rebased by an origin');
    plan.kind.push(e.op === 'pidKey' ? 2 : e.op === 'tid' ? 3 : 1); plan.slot.push(slot(e.col)); plan.value.push(0);
  }
  return plan;
}

/** scanRows from the pages, over the given leaves of the table (scanLeaves), with `plan`'s layout. */
export function scanPlannedRows(
  pages: PageFile, layout: Layout, leaves: ArrayLike<number>, plan: RowPlan, visit: (v: Float64Array) => void,
  onRows?: (rows: number) => void,
): void {
  const { kind, slot, value } = plan;
  const m = kind.length;
  const v = new Float64Array(m);
  scanLeaves(pages, layout, leaves, plan.names.length, (row) => {
    if (!(Math.abs(row.num[0]) <= MAX_EXACT && Math.abs(row.num[1]) <= MAX_EXACT)) throw new PagesUnsupported('a time past 2^53');
    if (!hasTime(row, 0) || !hasTime(row, 1) || row.num[1] < row.num[0]) return;
    for (let j = 0; j < m; j++) {
      const k = kind[j];
      v[j] = k === 0 ? value[j] : k === 1 ? numberAt(row, slot[j], -1) : threadPartAt(row, slot[j], k === 2 ? 'pidKey' : 'tid', -1);
    }
    visit(v);
  }, onRows);
}

/**
 * Calls `each` with `expr` for every row of `table` matching `where`, in rowid order: the text
 * column counterpart of readColumns (NVTX text), with the same chunked bulk transfer.
 */
export function readTexts(
  db: Database.Database, table: string, where: string, expr: string, each: (value: string) => void,
): void {
  const chunk = chunkQuery(db, table, where, [expr]);
  for (let after: bigint | null = null, first = true; first || after !== null; first = false) {
    const [[json], last] = chunk(after);
    const values = JSON.parse(json) as unknown[];
    after = values.length < CHUNK ? null : last;
    for (const v of values) each(String(v));
  }
}

/**
 * A query for the next CHUNK rows of `table` matching `where` after rowid `after` (null: from the
 * first), in rowid order: one JSON array per expression and the last rowid read (null when none
 * was). Paging by the last rowid seen, not by fixed rowid ranges, keeps sparse rowids (1 and 2^40
 * in one table) to one query per chunk of rows; rowids travel as BigInt, exact to 2^63.
 */
function chunkQuery(
  db: Database.Database, table: string, where: string, exprs: string[], json: boolean[] = [],
): (after: bigint | null) => [string[], bigint | null] {
  const rowid = rowidName(db, table);
  if (rowid === null) throw new Error(`${table} has no rowid SQL can name`);
  // json(): an expression that is itself JSON (json_array) loses that mark through the subquery
  const select = (bound: string) => db.prepare(
    `SELECT ${exprs.map((_, j) => `json_group_array(${json[j] ? `json(c${j})` : `c${j}`})`).join(', ')}, MAX(rid) FROM (`
    + `SELECT ${exprs.map((e, j) => `${e} AS c${j}`).join(', ')}, ${rowid} AS rid FROM ${ident(table)} `
    + `WHERE ${bound} (${where}) ORDER BY ${rowid} LIMIT ${CHUNK})`,
  ).raw(true).safeIntegers(true);
  const fromFirst = select('');
  const after = select(`${rowid} > ? AND`);
  return (last) => {
    const row = (last === null ? fromFirst.get() : after.get(last)) as unknown[];
    return [row.slice(0, exprs.length) as string[], row[exprs.length] as bigint | null];
  };
}

/**
 * A name that means the rowid of `table`, or null when it has none that SQL can name: a WITHOUT
 * ROWID table, or columns named rowid, _rowid_ and oid (a column hides that name of the rowid,
 * and paging by it would page by the column). readNsysSqlite refuses such a file up front.
 */
export function rowidName(db: Database.Database, table: string): string | null {
  const cols = new Set((db.prepare('SELECT name FROM pragma_table_xinfo(?)').pluck().all(table) as string[]).map((c) => c.toLowerCase()));
  const name = ['rowid', '_rowid_', 'oid'].find((n) => !cols.has(n));
  if (name === undefined) return null;
  try {
    db.prepare(`SELECT ${name} FROM ${ident(table)} LIMIT 0`);
  } catch {
    // no such column: a WITHOUT ROWID table
    return null;
  }
  return name;
}

/** NaN ends (NVTX marks) order before every number, as NULL does in SQL. */
const endKey = (v: number): number => (Number.isNaN(v) ? -Infinity : v);

/** Whether rows [0, count) are ordered by (start, end). */
function isTimeOrdered(start: Float64Array, end: Float64Array, count: number): boolean {
  for (let i = 1; i < count; i++) {
    const d = start[i] - start[i - 1];
    if (d < 0 || (d === 0 && endKey(end[i]) < endKey(end[i - 1]))) return false;
  }
  return true;
}

/**
 * Orders rows [0, count) of every column by (start, end), ties in read order; a no-op when they
 * already are, which is the common case. NaN ends (NVTX marks) sort before any number.
 */
export function orderByTime(start: Float64Array, end: Float64Array, count: number, columns: Column[]): void {
  if (isTimeOrdered(start, end, count)) return;
  const key = endKey;
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  order.sort((a, b) => start[a] - start[b] || key(end[a]) - key(end[b]) || a - b);
  for (const col of columns) {
    const copy = col.slice(0, count);
    for (let i = 0; i < count; i++) col[i] = copy[order[i]];
  }
}
