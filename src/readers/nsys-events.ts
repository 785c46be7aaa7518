/**
 * Reads the nsys activity tables (kernels, CUDA API calls, memcpy, memset, synchronization,
 * NVTX) column-wise into the model's typed arrays: from the file's pages where the context has
 * them (pages.ts), through SQL otherwise, with the same rows, values and numbering either way;
 * rows move in bulk (bulk.ts) and no object is allocated per row.
 * Columns a given nsys version lacks read as NULL, and NULL becomes -1 (NaN where the model says so).
 */
import type Database from 'better-sqlite3';
import {
  fitsInt32, LAUNCH_FIELDS, LaunchConfigTable, emptyKernels, emptyMemcpy, emptyMemset, emptyNvtx, emptyRuntime, emptySync, type Filling,
} from '../model/build.js';
import { narrowed } from '../model/columns.js';
import {
  processOfThread, type ApiCallTotal, type KernelColumns, type LaunchConfig, type MemcpyColumns, type MemsetColumns,
  type NvtxColumns, type RuntimeColumns, type SyncColumns, type ThreadInfo,
} from '../model/trace.js';
import { lowerBound, sortedOrder } from '../model/intervals.js';
import { has, type NsysSchema } from './schema.js';
import { ThreadNumbering, type Entities } from './nsys-entities.js';

import {
  LocalKeys, orderByTime, pageColumns, readColumns, type Column, readColumnsFromPages, readTexts, rowPlan, scanRows, type ColumnExpr, type PageFilter,
  type RowPlan, type Target,
} from './bulk.js';
import { PagesUnsupported, leafPages, tableLayout, type Layout, type PageFile } from './pages.js';
import { type ReadPool, type ReadWorkers, WorkerJobError } from './read-pool.js';
import {
  kernelFill, rowCount, runtimeCount, runtimeFill, type JobAnswer, type KernelFillJob, type KernelOut, type ReadJob, type RowCountJob,
  type RuntimeCountJob, type RuntimeFillJob, type RuntimeOut, type TableRead, type TableReadJob, type TargetSpec,
} from './read-jobs.js';

export interface TableScan {
  table: string;
  /** what a row is, singular, in the warning sentences: "kernel", "CUDA API call" */
  label: string;
  /** rows whose time is missing or inverted, excluded by `valid` */
  invalid: string;
  /** SQL condition for rows the reader keeps */
  valid: string;
  /** rows dropped for want of a numeric time (NULL, or text/blob in a hand-edited file) */
  noTime: string;
  /** rows dropped because they end before they start */
  inverted: string;
}

export interface ReadContext {
  db: Database.Database;
  schema: NsysSchema;
  entities: Entities;
  /** raw nsys timestamp subtracted from every time (0n normally) */
  origin: bigint;
  warnings: string[];
  /** told how many more rows were read, as they are read (progress display) */
  onRows?: (rows: number) => void;
  /**
   * Set when the time range was not scanned before reading: the readers then flag a time that a
   * double cannot hold exactly (the caller reads again with the range scanned and times rebased).
   */
  unscanned?: { inexactTime: boolean };
  /** the file's pages, when the big tables may be read from them (pages.ts) rather than through SQL */
  pages?: PageFile | null;
  /** worker threads for the big tables (read-pool.ts), when the machine and the file call for them */
  workers?: ReadWorkers;
  /** told how each table was read: from the pages, or through SQL (tests, --debug) */
  onTableRead?: (table: string, via: 'pages' | 'sql' | 'workers') => void;
  /** the smaller tables read by a worker beside the big ones (startAside), once collected */
  aside?: AsideReads;
}

/** Flags times of rows [from, to) that are not exact as doubles, when the range was not scanned. */
function checkTimes(ctx: ReadContext, start: Float64Array, end: Float64Array, from: number, to: number): void {
  const u = ctx.unscanned;
  if (!u || u.inexactTime) return;
  for (let i = from; i < to; i++) {
    if (Math.abs(start[i]) > Number.MAX_SAFE_INTEGER || Math.abs(end[i]) > Number.MAX_SAFE_INTEGER) { u.inexactTime = true; return; }
  }
}

/**
 * Column `name` of `table` (`op` as in ColumnExpr), or NULL when this nsys version's table lacks
 * it (notNull: 0), so one read serves every nsys version.
 */
function column(schema: NsysSchema, table: string, name: string, op?: 'pidKey' | 'tid' | 'thread' | 'notNull' | 'syncStream'): ColumnExpr {
  return has(schema, table, name) ? { col: name, op } : { value: op === 'notNull' ? 0 : null };
}

/**
 * readColumns, from the pages when the context has them and times need no rebasing; through
 * SQL otherwise, or when the pages hold what only SQL's conversions read right (PagesUnsupported).
 */
function readRows(ctx: ReadContext, table: string, where: string, filter: PageFilter, targets: Target[], at: number): number {
  if (ctx.pages && ctx.origin === 0n) {
    try {
      const n = readColumnsFromPages(ctx.pages, ctx.db, table, filter, targets, at, ctx.onRows);
      ctx.onTableRead?.(table, 'pages');
      return n;
    } catch (e) {
      if (!(e instanceof PagesUnsupported)) throw e;
    }
  }
  ctx.onTableRead?.(table, 'sql');
  return readColumns(ctx.db, table, where, targets, at, ctx.onRows);
}

/** typeof() rather than IS NOT NULL: a text or blob time (a hand-edited export) is no time either. */
const isNumber = (c: string): string => `typeof(${c}) IN ('integer', 'real')`;
const TIMED = `${isNumber('start')} AND ${isNumber('"end"')}`;
const TIME_VALID = `${TIMED} AND "end" >= start`;

/** Scan description for a start/end table, shared with the stats pass that decides the time origin. */
export function scanOf(table: string, label: string): TableScan {
  return {
    table, label,
    invalid: `NOT (${TIME_VALID})`,
    valid: TIME_VALID,
    noTime: `NOT (${TIMED})`,
    inverted: `${TIMED} AND "end" < start`,
  };
}

export const NVTX_EVENT_TYPES = '34, 59, 60';
// Marks (34) are instants and have no end; push/pop (59) and start/end (60) ranges need one.
const NVTX_TIMED = `${isNumber('start')} AND (eventType = 34 OR ${isNumber('"end"')})`;
export const NVTX_SCAN: TableScan = {
  table: 'NVTX_EVENTS',
  label: 'NVTX event',
  invalid: `eventType IN (${NVTX_EVENT_TYPES}) AND NOT (${NVTX_TIMED} AND (eventType = 34 OR "end" >= start))`,
  valid: `eventType IN (${NVTX_EVENT_TYPES}) AND ${NVTX_TIMED} AND (eventType = 34 OR "end" >= start)`,
  noTime: `NOT (${NVTX_TIMED})`,
  inverted: `${NVTX_TIMED} AND eventType <> 34 AND "end" < start`,
};

/** Reads one table's kept rows into the targets, ordered by (start, end); returns the number of rows. */
function fill(ctx: ReadContext, scan: TableScan, targets: Target[]): number {
  const n = readRows(ctx, scan.table, scan.valid, 'timed', targets, 0);
  checkTimes(ctx, targets[0].out as Float64Array, targets[1].out as Float64Array, 0, n);
  orderByTime(targets[0].out as Float64Array, targets[1].out as Float64Array, n, targets.map((t) => t.out));
  return n;
}

/** Kernels; their distinct launch configurations are appended to `launchConfigs` (empty on entry). */
export function readKernels(ctx: ReadContext, n: number, launchConfigs: LaunchConfig[]): KernelColumns {
  const t = 'CUPTI_ACTIVITY_KIND_KERNEL';
  const pool = ctx.pages && ctx.origin === 0n && n > 0 ? ctx.workers?.forTable(n) ?? null : null;
  if (pool) {
    const read = readKernelsParallel(ctx, n, launchConfigs, pool);
    if (read) { ctx.onTableRead?.(t, 'workers'); return read; }
  }
  const k = emptyKernels(n, Int32Array);
  if (n === 0) return k;
  const configs = new LaunchConfigTable();
  const has1 = (name: string): boolean => has(ctx.schema, t, name);
  const processes = new LocalKeys();
  const [graphNode, shortName] = plain(ctx, t, [['graphNodeId', k.graphNodeId], ['shortName', k.shortName]]);
  graphNode.widen = true;
  const device = deviceTargets(ctx, t, k, processes);
  // the full name, for kernel classes (DeepEP's "dispatch" is deep_ep::intranode::dispatch<...>)
  const demangled = has1('demangledName') ? new Int32Array(n) : null;
  const targets: Target[] = [...device.targets, graphNode, shortName,
    ...(demangled ? plain(ctx, t, [['demangledName', demangled]]) : []),
    {
      col: { value: null }, out: k.launchConfig,
      tuple: { cols: LAUNCH_FIELDS.map((f) => (has1(f) ? f : null)), intern: (v) => configs.intern(v) },
    }];
  k.count = fill(ctx, scanOf(t, 'kernels'), targets);
  launchConfigs.push(...configs.configs);
  // the id columns as read: Float64Array when a value did not fit an Int32Array
  return finishKernels(ctx, { ...k, correlationId: device.correlation.out as Float64Array | Int32Array, graphNodeId: graphNode.out as Float64Array | Int32Array },
    processes, demangled);
}

/**
 * The end of a kernel read: processes and names from the local numbers and string ids read, and
 * the integer columns narrowed.
 */
function finishKernels(ctx: ReadContext, k: Filling<KernelColumns>, processes: LocalKeys, demangled: Int32Array | null): KernelColumns {
  processes.replay(k.process, k.count, (key) => ctx.entities.process(key));
  const s = ctx.entities.strings;
  for (let i = 0; i < k.count; i++) {
    k.shortName[i] = s.fromStringId(k.shortName[i]);
  }
  if (demangled) {
    for (let i = 0; i < k.count; i++) demangled[i] = s.fromStringId(demangled[i]);
    k.demangledName = demangled.subarray(0, k.count);
  }
  return narrowed('kernels', k);
}

/**
 * CUDA runtime and driver calls. nsys records both in CUPTI_ACTIVITY_KIND_RUNTIME and tells
 * them apart by eventClass (0 runtime, 1 driver); a separate CUPTI_ACTIVITY_KIND_DRIVER table,
 * when an export has one, is merged in as driver calls.
 *
 * With `keep`, only calls whose API name passes it stay in the columns; the summary counts every
 * call either way. Every row is still read and walked in time order, so threads, processes and
 * names are numbered as without `keep`. (Filtering in SQL instead was measured slower: a nameId
 * IN (...) test costs ~110 ns a row per pass, more than the JSON of the dropped rows.)
 */
export function readRuntime(
  ctx: ReadContext, counts: Map<string, number>, keep?: (name: string) => boolean,
): { runtime: RuntimeColumns; apiSummary: ApiCallTotal[] } {
  const tables = ['CUPTI_ACTIVITY_KIND_RUNTIME', 'CUPTI_ACTIVITY_KIND_DRIVER'].filter((t) => counts.has(t));
  const n = tables.reduce((a, t) => a + (counts.get(t) ?? 0), 0);
  if (n > 0 && tables.length === 1) {
    // one table, in time order (every export seen): two passes, no column of the calls not kept
    let read: ReturnType<typeof readRuntimeInOrder> | undefined;
    const pool = ctx.pages && ctx.origin === 0n ? ctx.workers?.forTable(n) ?? null : null;
    if (ctx.pages && pool) {
      read = readRuntimeParallel(ctx, tables[0], ctx.pages, keep, pool) ?? undefined;
      if (read) ctx.onTableRead?.(tables[0], 'workers');
    }
    if (read === undefined && ctx.pages && ctx.origin === 0n) {
      try {
        read = readRuntimeInOrder(ctx, tables[0], ctx.pages, keep);
        if (read) ctx.onTableRead?.(tables[0], 'pages');
      } catch (e) {
        if (!(e instanceof PagesUnsupported)) throw e;
      }
    }
    if (read === undefined) {
      try {
        read = readRuntimeInOrder(ctx, tables[0], null, keep);
        if (read) ctx.onTableRead?.(tables[0], 'sql');
      } catch (e) {
        // a nameId past 32 bits: the general read below takes it
        if (!(e instanceof PagesUnsupported)) throw e;
      }
    }
    if (read) return read;
  }
  const r = emptyRuntime(n);
  if (n === 0) return { runtime: r, apiSummary: [] };
  const pidKey = new Float64Array(n);
  const tid = new Float64Array(n);
  const eventClass = new Float64Array(n);
  let count = 0;
  for (const t of tables) {
    const driver = t === 'CUPTI_ACTIVITY_KIND_DRIVER';
    const targets: Target[] = [
      ...times(ctx, r),
      { col: column(ctx.schema, t, 'globalTid', 'pidKey'), out: pidKey },
      { col: column(ctx.schema, t, 'globalTid', 'tid'), out: tid },
      ...plain(ctx, t, [['correlationId', r.correlationId], ['nameId', r.name]]),
      { col: driver ? { value: 1 } : column(ctx.schema, t, 'eventClass'), out: eventClass },
    ];
    count += readRows(ctx, t, TIME_VALID, 'timed', targets, count);
  }
  checkTimes(ctx, r.start, r.end, 0, count);
  r.count = count;
  orderByTime(r.start, r.end, count, [r.start, r.end, pidKey, tid, r.correlationId, r.name, eventClass]);
  const s = ctx.entities.strings;
  const summary = new Map<number, ApiCallTotal>();
  // per name index: 0 not yet decided, 1 kept, 2 dropped
  let decided = new Uint8Array(64);
  let kept = 0;
  let lastPid = NaN; let lastTid = NaN; let thread = -1;
  for (let i = 0; i < r.count; i++) {
    // calls come in runs of one thread: look up only when it changes
    if (pidKey[i] !== lastPid || tid[i] !== lastTid) {
      lastPid = pidKey[i]; lastTid = tid[i];
      thread = lastPid === -1 ? -1 : ctx.entities.thread(lastPid, lastTid);
    }
    r.thread[i] = thread;
    const name = s.apiNameFromStringId(r.name[i]);
    r.name[i] = name;
    r.api[i] = eventClass[i] === -1 ? (s.isDriverApi(name) ? 1 : 0) : eventClass[i] === 1 ? 1 : 0;
    const d = r.end[i] - r.start[i];
    const a = summary.get(name);
    if (a) { a.count++; a.total += d; } else summary.set(name, { name, count: 1, total: d });
    if (keep) {
      // name -1 (unknown): kept, as nothing proves that no analysis reads it
      if (name >= decided.length) { const grown = new Uint8Array(Math.max(2 * decided.length, name + 1)); grown.set(decided); decided = grown; }
      if (name >= 0 && decided[name] === 0) decided[name] = keep(s.table.strings[name]) ? 1 : 2;
      if (name < 0 || decided[name] === 1) kept++;
    }
  }
  const apiSummary = [...summary.values()];
  if (!keep || kept === count) return { runtime: narrowed('runtime', r), apiSummary };
  const out = emptyRuntime(kept);
  for (let i = 0, o = 0; i < count; i++) {
    const name = r.name[i];
    if (name >= 0 && decided[name] !== 1) continue;
    out.start[o] = r.start[i]; out.end[o] = r.end[i]; out.thread[o] = r.thread[i];
    out.correlationId[o] = r.correlationId[i]; out.name[o] = name; out.api[o] = r.api[i];
    o++;
  }
  out.count = kept;
  return { runtime: narrowed('runtime', out), apiSummary };
}

interface NameUse { id: number; keep: boolean; count: number; total: number }

/**
 * CUDA API calls of one table whose rows are in time order, keeping only the calls `keep` wants,
 * from the pages (`pages`) or through SQL (null). A million-kernel trace holds two or three API
 * calls per kernel, most of which no analysis reads (cudaEventRecord, cudaGetLastError, ...):
 * reading them all into columns first and filtering after would cost ~140 bytes per kernel at
 * the peak. Two passes instead: the first counts the calls kept, the second fills columns of
 * exactly that size.
 *
 * The result is exactly readRuntime's general read, which orders every call by time, then numbers
 * threads, processes and API names in order of first use: the rows come in rowid order, which is
 * time order here, so the first uses are recorded during the scan and replayed afterwards, in the
 * same order. A table out of time order returns null before anything is numbered.
 */
function readRuntimeInOrder(
  ctx: ReadContext, table: string, pages: PageFile | null, keep: ((name: string) => boolean) | undefined,
): { runtime: RuntimeColumns; apiSummary: ApiCallTotal[] } | null {
  const { entities } = ctx;
  const strings = entities.strings;
  const c = (name: string, op?: 'pidKey' | 'tid'): ColumnExpr => column(ctx.schema, table, name, op);
  const scan = (cols: ColumnExpr[], visit: (v: Float64Array) => void, onRows?: (rows: number) => void): void =>
    scanRows(ctx.db, pages, table, TIME_VALID, cols, visit, onRows);
  const [start, end] = times(ctx, { start: new Float64Array(0), end: new Float64Array(0) }).map((t) => t.col);
  // API names by nameId, in order of first use
  const names = new Map<number, NameUse>();
  const useOf = (nameId: number): NameUse => {
    let use = names.get(nameId);
    if (use === undefined) {
      const s = strings.apiName(nameId);
      // an unknown name is kept, as nothing proves that no analysis reads it
      use = { id: nameId, keep: !keep || s === undefined || keep(s), count: 0, total: 0 };
      names.set(nameId, use);
    }
    return use;
  };

  // pass 1: order, names, the count and time of every call, and how many are kept. The previous
  // call's start and end sit in a typed array: a double in a variable this closure shares is a
  // new heap number every time (millions of rows: seconds of scavenges)
  const last = Float64Array.of(-Infinity, -Infinity);
  let ordered = true;
  let lastNameId = NaN; let use: NameUse | undefined;
  let kept = 0;
  scan([start, end, c('nameId')], (v) => {
    if (!ordered) return;
    const s = v[0]; const e = v[1];
    if (s < last[0] || (s === last[0] && e < last[1])) { ordered = false; return; }
    last[0] = s; last[1] = e;
    // through SQL without the stats pass: a time a double cannot hold reads again, rebased
    if (ctx.unscanned && !(Math.abs(s) <= Number.MAX_SAFE_INTEGER && Math.abs(e) <= Number.MAX_SAFE_INTEGER)) ctx.unscanned.inexactTime = true;
    if (v[2] !== lastNameId) { lastNameId = v[2]; use = useOf(lastNameId); }
    use!.count++; use!.total += e - s;
    if (use!.keep) kept++;
  });
  if (!ordered) return null;

  // pass 2: the kept calls, with threads numbered locally by first use ([pidKey, tid] pairs)
  const r = emptyRuntime(kept, Int32Array);
  // until the replay below: thread holds the local thread, name the nameId, api the eventClass (2: NULL)
  const threads = new ThreadNumbering();
  lastNameId = NaN;
  let i = 0;
  const driver = table === 'CUPTI_ACTIVITY_KIND_DRIVER';
  scan([start, end, c('globalTid', 'pidKey'), c('globalTid', 'tid'), c('nameId'), c('correlationId'),
    driver ? { value: 1 } : c('eventClass')], (v) => {
    const thread = threads.id(v[2], v[3]);
    const nameId = v[4];
    if (nameId !== lastNameId) { lastNameId = nameId; use = names.get(nameId); }
    if (!use!.keep) return;
    if (i >= kept) throw new PagesUnsupported('the table changed between passes');
    if ((nameId | 0) !== nameId) throw new PagesUnsupported('nameId past 32 bits');
    r.start[i] = v[0]; r.end[i] = v[1]; r.thread[i] = thread; r.name[i] = nameId;
    const corr = v[5];
    if (r.correlationId instanceof Int32Array && !fitsInt32(corr)) r.correlationId = Float64Array.from(r.correlationId);
    r.correlationId[i] = corr;
    const cls = v[6];
    r.api[i] = cls === -1 ? 2 : cls === 1 ? 1 : 0;
    i++;
  }, ctx.onRows);
  if (i !== kept) throw new PagesUnsupported('the table changed between passes');
  return finishRuntime(ctx, names, threads.keys, r);
}

/**
 * Runs jobs[k] for every range k: the last on the main thread while the pool's workers run the
 * others. `last`: the workers' last jobs (they end once they have answered, ReadPool.post).
 */
function onRanges<J extends ReadJob, T>(pool: ReadPool, jobs: J[], here: (job: J) => T, last = false): T[] {
  pool.post(jobs.slice(0, -1), last);
  let mine: T | undefined; let failed: unknown = null;
  try { mine = here(jobs[jobs.length - 1]); } catch (e) { failed = e; }
  const theirs = pool.wait<T>(jobs.length - 1);
  if (failed !== null) throw failed;
  return [...theirs, mine as T];
}

/** A table's leaf pages in `parts` ranges of about equal size, in key order. */
function leafRanges(leaves: Int32Array, parts: number): Int32Array[] {
  return Array.from({ length: parts }, (_, k) =>
    leaves.subarray(Math.floor((k * leaves.length) / parts), Math.floor(((k + 1) * leaves.length) / parts)));
}

/**
 * readKernels' read from the pages, in ranges of the table's leaf pages read at once by the
 * pool's workers and the main thread (as readRuntimeParallel): pass 1 counts each range's rows,
 * pass 2 fills shared columns at the ranges' offsets, numbering processes and launch
 * configurations locally; joined in key order, they are numbered as one thread numbers them.
 * The rows are then ordered as `fill` orders them. Null where one thread must read (an id past
 * 32 bits, more rows than counted, a failing worker): nothing has been numbered then.
 */
function readKernelsParallel(ctx: ReadContext, n: number, launchConfigs: LaunchConfig[], pool: ReadPool): KernelColumns | null {
  const t = 'CUPTI_ACTIVITY_KIND_KERNEL';
  const pages = ctx.pages!;
  const c = (name: string, op?: 'pidKey'): ColumnExpr => column(ctx.schema, t, name, op);
  const [start, end] = times(ctx, { start: new Float64Array(0), end: new Float64Array(0) }).map((x) => x.col);
  const hasDemangled = has(ctx.schema, t, 'demangledName');
  const split = splitForWorkers(ctx, t, pages, pool, () => [[start, end],
    [start, end, c('deviceId'), c('streamId'), c('correlationId'), c('globalPid', 'pidKey'), c('graphNodeId'),
      c('shortName'), hasDemangled ? c('demangledName') : { value: null }, ...LAUNCH_FIELDS.map((f) => c(f))]]);
  if (!split) return null;
  const { plan1, plan2, layout1, layout2, leaves, parts } = split;
  try {
    const ranges = leafRanges(leaves, parts);
    const counts = onRanges(pool, ranges.map((r): RowCountJob => ({ kind: 'rowCount', pages, layout: layout1, plan: plan1, leaves: r })), rowCount);
    const total = counts.reduce((a, b) => a + b, 0);
    // never cut short: a row more than SQL counted means the two disagree, and SQL decides
    if (total > n) return null;
    const shared = <T>(Ctor: new (b: SharedArrayBuffer) => T, bytes: number): T => new Ctor(new SharedArrayBuffer(bytes * n));
    const out: KernelOut = {
      start: shared(Float64Array, 8), end: shared(Float64Array, 8), deviceId: shared(Int32Array, 4), streamId: shared(Int32Array, 4),
      correlationId: shared(Int32Array, 4), process: shared(Int32Array, 4), graphNodeId: shared(Int32Array, 4),
      shortName: shared(Int32Array, 4), demangledName: hasDemangled ? shared(Int32Array, 4) : null, launchConfig: shared(Int32Array, 4),
    };
    let offset = 0;
    const fills = ranges.map((r, k): KernelFillJob => {
      const job: KernelFillJob = { kind: 'kernelFill', pages, layout: layout2, plan: plan2, leaves: r, offset, count: counts[k], out };
      offset += counts[k];
      return job;
    });
    const filled = onRanges(pool, fills, kernelFill);
    // processes and launch configurations by first use over the table
    const processes = new LocalKeys();
    const configs = new LaunchConfigTable();
    for (let k = 0; k < parts; k++) {
      const { pidKeys, configs: local } = filled[k];
      const proc = Int32Array.from(pidKeys, (p) => processes.local(p));
      const conf = Int32Array.from(local, (v) => configs.intern(v));
      for (let i = fills[k].offset; i < fills[k].offset + fills[k].count; i++) {
        out.process[i] = proc[out.process[i]];
        out.launchConfig[i] = conf[out.launchConfig[i]];
      }
    }
    ctx.onRows?.(total);
    const k: Filling<KernelColumns> = {
      count: total, start: out.start, end: out.end, deviceId: out.deviceId, streamId: out.streamId, correlationId: out.correlationId,
      process: out.process, shortName: out.shortName, launchConfig: out.launchConfig, graphNodeId: out.graphNodeId,
    };
    const cols: Column[] = [k.start, k.end, k.deviceId, k.streamId, k.correlationId, k.process, k.graphNodeId, k.shortName,
      ...(out.demangledName ? [out.demangledName] : []), k.launchConfig];
    orderByTime(k.start, k.end, total, cols);
    launchConfigs.push(...configs.configs);
    return finishKernels(ctx, k, processes, out.demangledName);
  } catch (e) {
    if (e instanceof PagesUnsupported || e instanceof WorkerJobError) return null;
    throw e;
  }
}

/**
 * The two passes of a table read in worker threads (pass 1 counts, pass 2 fills) and the table's
 * leaf pages cut for the pool: null when the page reader cannot plan those columns, or the table
 * has too few leaves to split (the caller reads on one thread).
 */
function splitForWorkers(
  ctx: ReadContext, table: string, pages: PageFile, pool: ReadPool, columns: () => [ColumnExpr[], ColumnExpr[]],
): { plan1: RowPlan; plan2: RowPlan; layout1: Layout; layout2: Layout; leaves: Int32Array; parts: number } | null {
  let plan1: RowPlan; let plan2: RowPlan; let layout1: Layout; let layout2: Layout;
  try {
    const [cols1, cols2] = columns();
    plan1 = rowPlan(cols1);
    plan2 = rowPlan(cols2);
    layout1 = tableLayout(ctx.db, table, plan1.names);
    layout2 = tableLayout(ctx.db, table, plan2.names);
  } catch (e) {
    if (e instanceof PagesUnsupported) return null;
    throw e;
  }
  const leaves = Int32Array.from(leafPages(pages, layout1.root));
  const parts = Math.min(pool.size + 1, leaves.length);
  return parts < 2 ? null : { plan1, plan2, layout1, layout2, leaves, parts };
}

/**
 * readRuntimeInOrder from the pages, its two passes split into ranges of the table's leaf pages
 * read at once by `workers` worker threads and the main thread (read-pool.ts, read-jobs.ts),
 * into exact-size columns on shared memory. The ranges are joined in key order: names and
 * threads numbered by first use over the whole table, order checked across the ranges' ends,
 * time totals added range by range, which is the one-thread sum exactly when every duration is
 * an integer and every total stays below 2^53. Null where the one-thread read must decide
 * (unordered rows, inexact totals, a value the ranges cannot hold, a worker that fails or does
 * not start): nothing has been numbered then.
 */
function readRuntimeParallel(
  ctx: ReadContext, table: string, pages: PageFile, keep: ((name: string) => boolean) | undefined, pool: ReadPool,
): { runtime: RuntimeColumns; apiSummary: ApiCallTotal[] } | null {
  const c = (name: string, op?: 'pidKey' | 'tid'): ColumnExpr => column(ctx.schema, table, name, op);
  const [start, end] = times(ctx, { start: new Float64Array(0), end: new Float64Array(0) }).map((t) => t.col);
  const driver = table === 'CUPTI_ACTIVITY_KIND_DRIVER';
  const split = splitForWorkers(ctx, table, pages, pool, () => [[start, end, c('nameId')],
    [start, end, c('globalTid', 'pidKey'), c('globalTid', 'tid'), c('nameId'), c('correlationId'), driver ? { value: 1 } : c('eventClass')]]);
  if (!split) return null;
  const { plan1, plan2, layout1, layout2, leaves, parts } = split;
  try {
    const ranges = leafRanges(leaves, parts);
    const onAll = <J extends ReadJob, T>(jobs: J[], here: (job: J) => T): T[] => onRanges(pool, jobs, here);
    const counts = onAll(ranges.map((r): RuntimeCountJob => ({ kind: 'runtimeCount', pages, layout: layout1, plan: plan1, leaves: r })), runtimeCount);
    // order across the ranges: each range's first row after the previous range's last
    let prev: [number, number] | null = null;
    for (const k of counts) {
      if (!k.ordered || !k.integral) return null;
      if (k.first && prev && (k.first[0] < prev[0] || (k.first[0] === prev[0] && k.first[1] < prev[1]))) return null;
      if (k.last) prev = k.last;
    }
    // names in order of first use over the table, as pass 1 of the one-thread read meets them
    const strings = ctx.entities.strings;
    const names = new Map<number, NameUse>();
    for (const k of counts) {
      for (let j = 0; j < k.nameIds.length; j++) {
        const id = k.nameIds[j];
        let use = names.get(id);
        if (use === undefined) {
          const s = strings.apiName(id);
          use = { id, keep: !keep || s === undefined || keep(s), count: 0, total: 0 };
          names.set(id, use);
        }
        use.count += k.counts[j]; use.total += k.totals[j];
      }
    }
    for (const u of names.values()) if (!(u.total <= Number.MAX_SAFE_INTEGER)) return null;
    const keptIds = [...names.values()].filter((u) => u.keep).map((u) => u.id);
    const keptIn = counts.map((k) => k.nameIds.reduce((a, id, j) => a + (names.get(id)!.keep ? k.counts[j] : 0), 0));
    const total = keptIn.reduce((a, b) => a + b, 0);
    const shared = <T>(Ctor: new (b: SharedArrayBuffer) => T, bytes: number): T => new Ctor(new SharedArrayBuffer(bytes * total));
    const out: RuntimeOut = {
      start: shared(Float64Array, 8), end: shared(Float64Array, 8), thread: shared(Int32Array, 4), name: shared(Int32Array, 4),
      correlationId: shared(Int32Array, 4), api: shared(Uint8Array, 1),
    };
    let offset = 0;
    const fills = ranges.map((r, k): RuntimeFillJob => {
      const job: RuntimeFillJob = { kind: 'runtimeFill', pages, layout: layout2, plan: plan2, leaves: r, keep: keptIds, offset, count: keptIn[k], out };
      offset += keptIn[k];
      return job;
    });
    // the API calls are the last table read in ranges (readTrace reads the kernels before them)
    const filled = onRanges(pool, fills, runtimeFill, true);
    // threads by first use over the table; each range's rows from its local numbers to those
    const threads = new ThreadNumbering();
    for (let k = 0; k < parts; k++) {
      const local = filled[k].threadKeys;
      const global = new Int32Array(local.length >> 1);
      for (let t = 0; t < global.length; t++) global[t] = threads.id(local[2 * t], local[2 * t + 1]);
      const from = fills[k].offset;
      for (let i = from; i < from + fills[k].count; i++) out.thread[i] = global[out.thread[i]];
    }
    // emptyRuntime's key order
    const r: Filling<RuntimeColumns> = {
      count: total, start: out.start, end: out.end, thread: out.thread, correlationId: out.correlationId, name: out.name, api: out.api,
    };
    ctx.onRows?.(counts.reduce((a, k) => a + k.rows, 0));
    return finishRuntime(ctx, names, threads.keys, r);
  } catch (e) {
    if (e instanceof PagesUnsupported || e instanceof WorkerJobError) return null;
    throw e;
  }
}

/**
 * The end of readRuntimeInOrder: `r` holds the kept calls with local threads (threadKeys[2t],
 * threadKeys[2t + 1]: [pidKey, tid] in order of first use), nameIds and eventClass (2: NULL) in
 * thread, name and api; `names` every nameId in order of first use. Replays the first uses: the
 * same numbering as reading every call in time order.
 */
function finishRuntime(
  ctx: ReadContext, names: Map<number, NameUse>, threadKeys: number[], r: Filling<RuntimeColumns>,
): { runtime: RuntimeColumns; apiSummary: ApiCallTotal[] } {
  const { entities } = ctx;
  const strings = entities.strings;
  const kept = r.count;
  const threadIndex = new Int32Array(threadKeys.length >> 1);
  for (let t = 0; t < threadIndex.length; t++) {
    const pid = threadKeys[2 * t]; const tid = threadKeys[2 * t + 1];
    threadIndex[t] = pid === -1 ? -1 : entities.thread(pid, tid);
  }
  const nameIndex = new Map<number, number>();
  const summary = new Map<number, ApiCallTotal>();
  for (const u of names.values()) {
    const name = strings.apiNameFromStringId(u.id);
    nameIndex.set(u.id, name);
    const a = summary.get(name);
    if (a) { a.count += u.count; a.total += u.total; } else summary.set(name, { name, count: u.count, total: u.total });
  }
  let lastId = NaN; let name = -1;
  for (let o = 0; o < kept; o++) {
    const t = r.thread[o];
    r.thread[o] = threadIndex[t];
    if (r.name[o] !== lastId) { lastId = r.name[o]; name = nameIndex.get(lastId)!; }
    r.name[o] = name;
    r.api[o] = r.api[o] === 2 ? (strings.isDriverApi(name) ? 1 : 0) : r.api[o];
  }
  return { runtime: narrowed('runtime', r), apiSummary: [...summary.values()] };
}

/** start and end, rebased by the time origin. */
function times(ctx: ReadContext, cols: { start: Float64Array; end: Float64Array }): Target[] {
  return [{ col: { col: 'start', minus: ctx.origin }, out: cols.start }, { col: { col: 'end', minus: ctx.origin }, out: cols.end }];
}

/** Columns read as they are (NULL when the table lacks one). */
function plain(ctx: ReadContext, t: string, cols: [string, Target['out']][]): Target[] {
  return cols.map(([name, out]) => ({ col: column(ctx.schema, t, name), out }));
}

/**
 * GPU-side columns every CUPTI activity table shares. The process column holds `processes`'
 * local numbers until LocalKeys.replay; an Int32Array correlationId column widens as needed
 * (read it from `correlation.out` afterwards).
 */
function deviceTargets(ctx: ReadContext, t: string, cols: {
  start: Float64Array; end: Float64Array; deviceId: Int32Array; contextId?: Int32Array;
  streamId: Int32Array; correlationId: Float64Array | Int32Array; process: Int32Array;
}, processes: LocalKeys, stream?: ColumnExpr): { targets: Target[]; correlation: Target } {
  const [deviceId, streamId, correlation] = plain(ctx, t, [['deviceId', cols.deviceId],
    ['streamId', cols.streamId], ['correlationId', cols.correlationId]]);
  correlation.widen = true;
  // kernels keep no context: no analysis reads it, and a million kernels would pay 4 MB for it
  const context = cols.contextId ? plain(ctx, t, [['contextId', cols.contextId]]) : [];
  return {
    targets: [
      ...times(ctx, cols), deviceId, ...context,
      stream === undefined ? streamId : { col: stream, out: cols.streamId },
      correlation,
      { col: column(ctx.schema, t, 'globalPid', 'pidKey'), out: cols.process, keys: processes },
    ],
    correlation,
  };
}

export function readMemcpy(ctx: ReadContext, n: number): MemcpyColumns {
  const t = 'CUPTI_ACTIVITY_KIND_MEMCPY';
  const read = ctx.aside?.take<Filling<MemcpyColumns>>(t);
  const m = read?.cols ?? emptyMemcpy(n);
  if (n === 0) return m;
  const processes = new LocalKeys();
  const targets = memcpyTargets(ctx, m, processes);
  m.count = read ? fromAside(ctx, t, targets, read.answer) : fill(ctx, scanOf(t, ''), targets);
  processes.replay(m.process, m.count, (key) => ctx.entities.process(key));
  return narrowed('memcpy', m);
}

function memcpyTargets(ctx: ReadContext, m: Filling<MemcpyColumns>, processes: LocalKeys): Target[] {
  const t = 'CUPTI_ACTIVITY_KIND_MEMCPY';
  return [...deviceTargets(ctx, t, m, processes).targets,
    ...plain(ctx, t, [['bytes', m.bytes], ['copyKind', m.copyKind], ['srcKind', m.srcKind], ['dstKind', m.dstKind]])];
}

export function readMemset(ctx: ReadContext, n: number): MemsetColumns {
  const t = 'CUPTI_ACTIVITY_KIND_MEMSET';
  const read = ctx.aside?.take<Filling<MemsetColumns>>(t);
  const m = read?.cols ?? emptyMemset(n);
  if (n === 0) return m;
  const processes = new LocalKeys();
  const targets = memsetTargets(ctx, m, processes);
  m.count = read ? fromAside(ctx, t, targets, read.answer) : fill(ctx, scanOf(t, ''), targets);
  processes.replay(m.process, m.count, (key) => ctx.entities.process(key));
  return narrowed('memset', m);
}

function memsetTargets(ctx: ReadContext, m: Filling<MemsetColumns>, processes: LocalKeys): Target[] {
  const t = 'CUPTI_ACTIVITY_KIND_MEMSET';
  return [...deviceTargets(ctx, t, m, processes).targets, ...plain(ctx, t, [['bytes', m.bytes], ['memKind', m.memKind]])];
}

/** Synchronization records, with their integer columns wide: syncTypesFromApiCalls may still set syncType, then narrowed('sync'). */
export function readSync(ctx: ReadContext, n: number): Filling<SyncColumns> {
  const t = 'CUPTI_ACTIVITY_KIND_SYNCHRONIZATION';
  const read = ctx.aside?.take<Filling<SyncColumns>>(t);
  const y = read?.cols ?? emptySync(n);
  if (n === 0) return y;
  const processes = new LocalKeys();
  const targets = syncTargets(ctx, y, processes);
  y.count = read ? fromAside(ctx, t, targets, read.answer) : fill(ctx, scanOf(t, ''), targets);
  processes.replay(y.process, y.count, (key) => ctx.entities.process(key));
  return y;
}

function syncTargets(ctx: ReadContext, y: Filling<SyncColumns>, processes: LocalKeys): Target[] {
  const t = 'CUPTI_ACTIVITY_KIND_SYNCHRONIZATION';
  // CUPTI writes 0xFFFFFFFF (CUPTI_SYNCHRONIZATION_INVALID_VALUE) as the stream of event and
  // context syncs; the model says -1.
  const stream = column(ctx.schema, t, 'streamId', 'syncStream');
  const syncType = column(ctx.schema, t, has(ctx.schema, t, 'syncType') ? 'syncType' : 'deprecatedSyncType');
  return [...deviceTargets(ctx, t, y, processes, stream).targets, { col: syncType, out: y.syncType }];
}

/**
 * The end of `fill` for a table a worker read (AsideReads): its local keys given to the targets'
 * LocalKeys, times checked and rows ordered as `fill` does.
 */
function fromAside(ctx: ReadContext, table: string, targets: Target[], read: TableRead): number {
  targets.forEach((t, j) => { const keys = read.keys[j]; if (t.keys && keys) t.keys.add(keys); });
  ctx.onTableRead?.(table, 'workers');
  ctx.onRows?.(read.count);
  const n = read.count;
  checkTimes(ctx, targets[0].out as Float64Array, targets[1].out as Float64Array, 0, n);
  orderByTime(targets[0].out as Float64Array, targets[1].out as Float64Array, n, targets.map((t) => t.out));
  return n;
}

/**
 * The columns of `template` (an empty table of the model's column types) on shared memory, `n`
 * rows each: what a worker fills in place.
 */
function sharedColumns<C extends { count: number }>(template: C, n: number): C {
  const out: Record<string, unknown> = { ...template, count: n };
  for (const [k, v] of Object.entries(template)) {
    if (!ArrayBuffer.isView(v)) continue;
    const a = v as unknown as { BYTES_PER_ELEMENT: number; constructor: new (b: SharedArrayBuffer) => unknown };
    out[k] = new a.constructor(new SharedArrayBuffer(a.BYTES_PER_ELEMENT * n));
  }
  return out as C;
}

/** A target as plain data for a worker (TargetSpec): its LocalKeys, if any, become the worker's own. */
function targetSpec(t: Target): TargetSpec {
  if (t.tuple) throw new Error('a tuple target is read on the main thread');
  return { col: t.col, out: t.out, nan: t.nan, widen: t.widen, keys: t.keys !== undefined };
}

/**
 * The tables read beside the big ones (kernels, API calls) by a worker of their own: posted
 * before the big tables are read, collected after them (`collect`), taken by their readers
 * (readMemcpy, ..., readNvtx) where the main thread would read them. Each table's columns are
 * on shared memory, of the size its reader would allocate; a table whose worker read failed
 * (PagesUnsupported, an id past 32 bits, a worker that died) is read by its reader as before,
 * into columns of its own.
 */
export class AsideReads {
  private readonly reads: { table: string; job: TableReadJob; cols: unknown; answer: TableRead | null }[] = [];
  private collected = false;

  constructor(private readonly pool: ReadPool) {}

  add(table: string, job: TableReadJob, cols: unknown): void { this.reads.push({ table, job, cols, answer: null }); }

  get size(): number { return this.reads.length; }

  post(): void { this.pool.postAside({ kind: 'several', jobs: this.reads.map((r) => r.job) }); }

  /** Waits for the worker's answers (the main thread has nothing else to do by then). */
  collect(): void {
    if (this.collected) return;
    this.collected = true;
    let answers: JobAnswer[];
    try {
      answers = this.pool.waitAside<JobAnswer[]>();
    } catch (e) {
      if (e instanceof WorkerJobError) return;
      throw e;
    }
    this.reads.forEach((r, k) => { const a = answers[k]; if (a && a.error === undefined) r.answer = a.ok as TableRead; });
  }

  /** The columns and answer of `table`'s read, once; null when it was not read aside or failed. */
  take<C>(table: string): { cols: C; answer: TableRead } | null {
    const k = this.reads.findIndex((r) => r.table === table);
    if (k < 0) return null;
    const [r] = this.reads.splice(k, 1);
    return r.answer ? { cols: r.cols as C, answer: r.answer } : null;
  }
}

/**
 * Posts the reads of the smaller tables (`rows` of each, as readMemcpy, ..., readNvtx are given)
 * to a worker of the pool's own beside the big tables' workers (ReadWorkers.aside), when the
 * pages may be read and the machine calls for workers; sets ctx.aside. Tables whose layout the
 * page reader cannot plan are left to their readers.
 */
export function startAside(ctx: ReadContext, bigRows: number, rows: Map<string, number>): void {
  if (!ctx.pages || ctx.origin !== 0n || !ctx.workers) return;
  let total = 0;
  for (const n of rows.values()) total += n;
  const pool = ctx.workers.aside(bigRows, total);
  if (!pool) return;
  const aside = new AsideReads(pool);
  const pages = ctx.pages;
  for (const [table, n] of rows) {
    if (n === 0) continue;
    try {
      let cols: { count: number };
      let targets: Target[];
      let texts: TableReadJob['texts'];
      let filter: PageFilter = 'timed';
      const keys = new LocalKeys();
      if (table === 'CUPTI_ACTIVITY_KIND_MEMCPY') {
        const m = sharedColumns(emptyMemcpy(), n); cols = m; targets = memcpyTargets(ctx, m, keys);
      } else if (table === 'CUPTI_ACTIVITY_KIND_MEMSET') {
        const m = sharedColumns(emptyMemset(), n); cols = m; targets = memsetTargets(ctx, m, keys);
      } else if (table === 'CUPTI_ACTIVITY_KIND_SYNCHRONIZATION') {
        const y = sharedColumns(emptySync(), n); cols = y; targets = syncTargets(ctx, y, keys);
      } else if (table === 'NVTX_EVENTS') {
        const v = sharedColumns(emptyNvtx(0, Int32Array), n);
        const inline = new Uint8Array(new SharedArrayBuffer(n));
        const t = nvtxTargets(ctx, v, inline, keys);
        cols = { nvtx: v, inline } as unknown as { count: number };
        targets = t.targets; filter = 'nvtx';
        texts = t.hasText ? { col: 'text', flags: NVTX_INLINE, into: NVTX_TEXT_IDS } : undefined;
      } else continue;
      const layout = tableLayout(ctx.db, table, pageColumns(filter, targets, texts?.col));
      const leaves = Int32Array.from(leafPages(pages, layout.root));
      aside.add(table, { kind: 'tableRead', pages, layout, leaves, filter, targets: targets.map(targetSpec), texts }, cols);
    } catch (e) {
      if (!(e instanceof PagesUnsupported)) throw e;
    }
  }
  if (aside.size === 0) return;
  aside.post();
  ctx.aside = aside;
}

/** CUPTI's syncType per blocking API (model: 1 event sync, 2 stream wait event, 3 stream sync, 4 context sync). */
const SYNC_TYPE_OF_API: Record<string, number> = {
  cudaEventSynchronize: 1, cuEventSynchronize: 1,
  cudaStreamWaitEvent: 2, cuStreamWaitEvent: 2,
  cudaStreamSynchronize: 3, cuStreamSynchronize: 3,
  cudaDeviceSynchronize: 4, cuCtxSynchronize: 4,
};

/**
 * Sets syncType from the API call each synchronization record belongs to. The stored value
 * disagrees with the call across nsys versions (real exports: cudaDeviceSynchronize is 0 in
 * 2024.6, 1 in 2023.3 and 4 in 2026.1; cuEventSynchronize is 2 in 2020.5 and 2023.3), while
 * the call's name does not. Records whose call is missing or not listed keep the stored value.
 */
export function syncTypesFromApiCalls(sync: SyncColumns, runtime: RuntimeColumns, strings: string[], threads: ThreadInfo[]): void {
  // numeric keys while process and correlationId fit side by side in a double (always, in practice)
  const numeric = (process: number, correlationId: number): boolean =>
    correlationId >= 0 && correlationId < 2 ** 32 && process >= -1 && process < 2 ** 20;
  const key = (process: number, correlationId: number): number => (process + 1) * 2 ** 32 + correlationId;
  // The records by key, sorted (ties in row order): typed arrays, where a Map of row lists cost
  // about 90 bytes a record (a sync per expert: 45 MB at a million kernels). Other keys, in a Map.
  let n = 0;
  for (let i = 0; i < sync.count; i++) if (sync.correlationId[i] !== -1 && numeric(sync.process[i], sync.correlationId[i])) n++;
  const keys = new Float64Array(n);
  const odd = new Map<string, number[]>();
  for (let i = 0, k = 0; i < sync.count; i++) {
    const p = sync.process[i];
    const c = sync.correlationId[i];
    if (c === -1) continue;
    if (numeric(p, c)) { keys[k++] = key(p, c); continue; }
    const rows = odd.get(`${p}:${c}`);
    if (rows) rows.push(i); else odd.set(`${p}:${c}`, [i]);
  }
  if (n === 0 && odd.size === 0) return;
  const order = sortedOrder(keys, n);
  const sortedKeys = Float64Array.from(order, (k) => keys[k]);
  // the record row of each sorted key: the k-th numeric record, in row order
  const rowOfKey = new Int32Array(n);
  for (let i = 0, k = 0; i < sync.count; i++) {
    if (sync.correlationId[i] !== -1 && numeric(sync.process[i], sync.correlationId[i])) rowOfKey[k++] = i;
  }
  // only calls of a synchronizing API can match: test the name before building a key
  const typeOfName = new Int8Array(strings.length);
  strings.forEach((s, i) => { typeOfName[i] = Object.hasOwn(SYNC_TYPE_OF_API, s) ? SYNC_TYPE_OF_API[s] : 0; });
  const processOf = processOfThread({ threads });
  for (let j = 0; j < runtime.count; j++) {
    const type = runtime.name[j] >= 0 ? typeOfName[runtime.name[j]] : 0;
    if (type === 0) continue;
    const p = processOf[runtime.thread[j] + 1];
    const c = runtime.correlationId[j];
    if (!numeric(p, c)) {
      for (const i of odd.get(`${p}:${c}`) ?? []) sync.syncType[i] = type;
      continue;
    }
    const k = key(p, c);
    for (let q = lowerBound(sortedKeys, n, k); q < n && sortedKeys[q] === k; q++) sync.syncType[rowOfKey[order[q]]] = type;
  }
}

/** `complete` false: `n` was only COUNT(*) and the rows could not be read exactly without the stats pass. */
export interface NvtxRead { nvtx: NvtxColumns; inlineText: number; registeredText: number; complete: boolean }

/**
 * NVTX marks and ranges; text is inline (`text`) or registered (`textId` → StringIds) per row.
 * `counted`: `n` is the table's COUNT(*), not the rows kept (no stats pass ran): then only a read
 * from the pages that drops no row for its time is complete.
 */
export function readNvtx(ctx: ReadContext, n: number, counted = false): NvtxRead {
  const t = 'NVTX_EVENTS';
  const read = ctx.aside?.take<{ nvtx: Filling<NvtxColumns>; inline: Uint8Array }>(t);
  let v = read?.cols.nvtx ?? emptyNvtx(n, Int32Array);
  if (n === 0) return { nvtx: v, inlineText: 0, registeredText: 0, complete: true };
  const inline = read?.cols.inline ?? new Uint8Array(n);
  // threads by local number (LocalKeys), replayed as entity numbers once read
  const threads = new LocalKeys();
  const { targets, hasText } = nvtxTargets(ctx, v, inline, threads);
  const textIds = targets[NVTX_TEXT_IDS];
  const domains = targets[NVTX_DOMAINS];
  // The inline texts come in the same rowid order as the rows flagged `inline`. Read from the
  // pages, they are interned as they come: should the pages fall through to SQL midway, SQL
  // interns the same texts in the same order, so the indices already given stay right.
  const s = ctx.entities.strings;
  let inlineText = 0; let registeredText = 0;
  let at = 0;
  const each = (text: string): void => {
    while (at < n && inline[at] === 0) at++;
    if (at < n) { v.text[at++] = s.intern(text); inlineText++; }
  };
  let count = -1;
  let fromPages = false;
  const dropped = { rows: 0 };
  if (read) {
    // a worker read it (AsideReads): its texts are numbered locally, in order of first use,
    // which interned in that order are numbered as interning every text in row order numbers them
    const { answer } = read;
    count = answer.count;
    dropped.rows = answer.dropped;
    fromPages = true;
    threads.add(answer.keys[NVTX_THREAD]!);
    const global = Int32Array.from(answer.texts, (text) => s.intern(text));
    inlineText = answer.textRows;
    for (let i = 0, k = 0; k < inlineText; i++) if (inline[i] !== 0) { v.text[i] = global[v.text[i]]; k++; }
    ctx.onTableRead?.(t, 'workers');
    ctx.onRows?.(count);
  } else if (ctx.pages && ctx.origin === 0n) {
    try {
      count = readColumnsFromPages(ctx.pages, ctx.db, t, 'nvtx', targets, 0, ctx.onRows,
        hasText ? { col: 'text', each } : undefined, dropped);
      fromPages = true;
      ctx.onTableRead?.(t, 'pages');
    } catch (e) {
      if (!(e instanceof PagesUnsupported)) throw e;
    }
  }
  if (counted) {
    // without the stats pass, only a read from the pages that dropped no row for its time is exact
    if (!fromPages || dropped.rows > 0) return { nvtx: emptyNvtx(), inlineText: 0, registeredText: 0, complete: false };
    checkTimes(ctx, v.start, v.end, 0, count);
  }
  if (!fromPages) {
    ctx.onTableRead?.(t, 'sql');
    count = readColumns(ctx.db, t, NVTX_SCAN.valid, targets, 0, ctx.onRows);
    if (hasText) {
      at = 0; inlineText = 0;
      // CAST: JSON cannot hold a BLOB, which a hand-edited export may have in place of text
      readTexts(ctx.db, t, `(${NVTX_SCAN.valid}) AND text IS NOT NULL`, 'CAST(text AS TEXT)', (text) => { if (at < count) each(text); });
    }
  }
  // threads are numbered in read order, as the rows come
  threads.replay(v.thread, count, (pidKey, tid) => ctx.entities.thread(pidKey, tid));
  // the text ids as read: in the text column itself, or a Float64Array when one did not fit
  const ids = textIds.out;
  for (let i = 0; i < count; i++) {
    if (inline[i] !== 0) continue;
    if (ids[i] !== -1) { v.text[i] = s.fromStringId(ids[i]); registeredText++; } else v.text[i] = -1;
  }
  v = { ...v, count, domainId: domains.out as Float64Array | Int32Array };
  // COUNT(*) also counted rows of other event types (domain creation, ...): cut the columns to the
  // rows read. A few rows more are left where they are (a copy would hold the columns twice at
  // the read's peak: 14 MB at a million kernels); many more are copied out.
  if (count < n) {
    const cut = <T extends Float64Array | Int32Array>(a: T): T => (n - count <= n >> 3 ? a.subarray(0, count) : a.slice(0, count)) as T;
    v = { count, start: cut(v.start), end: cut(v.end), text: cut(v.text), thread: cut(v.thread), eventType: cut(v.eventType),
      domainId: cut(v.domainId), payload: cut(v.payload) };
  }
  orderByTime(v.start, v.end, count, [v.start, v.end, v.text, v.thread, v.eventType, v.domainId, v.payload]);
  return { nvtx: narrowed('nvtx', v), inlineText, registeredText, complete: true };
}

/** Where readNvtx's targets are: the inline-text flags, the text ids (in the text column), domains, threads. */
const NVTX_INLINE = 2;
const NVTX_TEXT_IDS = 3;
const NVTX_DOMAINS = 5;
const NVTX_THREAD = 7;

/** readNvtx's targets into `v` and `inline`, threads by their number in `threads`; `hasText`: the table has inline text. */
function nvtxTargets(ctx: ReadContext, v: Filling<NvtxColumns>, inline: Uint8Array, threads: LocalKeys): { targets: Target[]; hasText: boolean } {
  const t = 'NVTX_EVENTS';
  const c = (name: string, op?: 'thread' | 'notNull'): ColumnExpr => column(ctx.schema, t, name, op);
  const payloadCols = ['int64Value', 'uint64Value', 'int32Value', 'uint32Value', 'doubleValue', 'floatValue']
    .filter((p) => has(ctx.schema, t, p));
  const [start, end] = times(ctx, v);
  // textId lands in the text column (string ids are small integers) and is rewritten as a string
  // index by readNvtx; the rows with inline text get theirs from its `each`
  const targets: Target[] = [
    start, { ...end, nan: true },
    { col: c('text', 'notNull'), out: inline },
    { col: c('textId'), out: v.text, widen: true },
    { col: c('eventType'), out: v.eventType },
    { col: c('domainId'), out: v.domainId, widen: true },
    { col: payloadCols.length > 0 ? { coalesce: payloadCols } : { value: null }, out: v.payload, nan: true },
    { col: c('globalTid', 'thread'), out: v.thread, keys: threads },
  ];
  return { targets, hasText: has(ctx.schema, t, 'text') };
}
