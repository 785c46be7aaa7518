/**
 * The parts of a table read that run on a range of its leaf pages, in a worker thread
 * (read-worker.ts) or on the main thread: plain data in, plain data and shared columns out.
 * The CUDA API call read of nsys-events.ts (readRuntimeInOrder) in two passes: `runtimeCount`
 * (pass 1: order, names, counts and times) and `runtimeFill` (pass 2: the kept calls into
 * columns at the range's offset, threads numbered locally by first use). The main thread joins
 * the ranges in key order, which gives exactly the one-thread read's numbering and totals, or
 * reads on one thread where it cannot (nsys-events.ts readRuntimeParallel says when).
 */
import { LAUNCH_FIELDS, LaunchConfigTable, fitsInt32 } from '../model/build.js';
import { LocalKeys, readLeafColumns, scanPlannedRows, type Column, type ColumnExpr, type PageFilter, type RowPlan, type Target } from './bulk.js';
import { ThreadNumbering } from './nsys-entities.js';
import { PagesUnsupported, type Layout, type PageFile } from './pages.js';

interface RangeJob { pages: PageFile; layout: Layout; plan: RowPlan; leaves: Int32Array }

/** Pass 1 on a range: columns start, end, nameId. */
export interface RuntimeCountJob extends RangeJob { kind: 'runtimeCount' }

export interface RuntimeCount {
  /** rows kept by the time filter */
  rows: number;
  /** ordered by (start, end) within the range */
  ordered: boolean;
  /** (start, end) of the first and last row; null when the range has no row */
  first: [number, number] | null;
  last: [number, number] | null;
  /** every end - start an integer (then the totals add up exactly in any grouping below 2^53) */
  integral: boolean;
  /** nameIds in order of first use in the range, with their calls and time */
  nameIds: number[]; counts: number[]; totals: number[];
}

export function runtimeCount(job: RuntimeCountJob): RuntimeCount {
  const last = Float64Array.of(-Infinity, -Infinity);
  const out: RuntimeCount = { rows: 0, ordered: true, first: null, last: null, integral: true, nameIds: [], counts: [], totals: [] };
  const index = new Map<number, number>();
  let lastNameId = NaN; let u = -1;
  scanPlannedRows(job.pages, job.layout, job.leaves, job.plan, (v) => {
    if (!out.ordered) return;
    const s = v[0]; const e = v[1];
    if (out.rows === 0) out.first = [s, e];
    else if (s < last[0] || (s === last[0] && e < last[1])) { out.ordered = false; return; }
    last[0] = s; last[1] = e;
    out.rows++;
    if (v[2] !== lastNameId) {
      lastNameId = v[2];
      let i = index.get(lastNameId);
      if (i === undefined) { i = out.nameIds.length; index.set(lastNameId, i); out.nameIds.push(lastNameId); out.counts.push(0); out.totals.push(0); }
      u = i;
    }
    const d = e - s;
    if (!Number.isInteger(d)) out.integral = false;
    out.counts[u]++; out.totals[u] += d;
  });
  if (out.rows > 0) out.last = [last[0], last[1]];
  return out;
}

/** The runtime columns, on shared memory: the fill jobs write their ranges in place. */
export interface RuntimeOut {
  start: Float64Array; end: Float64Array; thread: Int32Array; name: Int32Array; correlationId: Int32Array; api: Uint8Array;
}

/**
 * Pass 2 on a range: columns start, end, pidKey, tid, nameId, correlationId, eventClass. The
 * calls whose nameId is in `keep` land in `out` from `offset`, `count` of them; thread holds the
 * range's local thread (its [pidKey, tid] is threadKeys[2t, 2t + 1]), name the nameId, api the
 * eventClass (2: NULL), as readRuntimeInOrder's pass 2 leaves them.
 */
export interface RuntimeFillJob extends RangeJob { kind: 'runtimeFill'; keep: number[]; offset: number; count: number; out: RuntimeOut }

export function runtimeFill(job: RuntimeFillJob): { threadKeys: number[] } {
  const { out, offset, count } = job;
  const keep = new Set(job.keep);
  const threads = new ThreadNumbering();
  let lastNameId = NaN; let kept = false;
  let i = offset;
  const end = offset + count;
  scanPlannedRows(job.pages, job.layout, job.leaves, job.plan, (v) => {
    const thread = threads.id(v[2], v[3]);
    const nameId = v[4];
    if (nameId !== lastNameId) { lastNameId = nameId; kept = keep.has(nameId); }
    if (!kept) return;
    if (i >= end) throw new PagesUnsupported('the table changed between passes');
    if ((nameId | 0) !== nameId) throw new PagesUnsupported('nameId past 32 bits');
    const corr = v[5];
    // the one-thread read widens the column; here that read decides
    if (!fitsInt32(corr)) throw new PagesUnsupported('a correlationId past 32 bits');
    out.start[i] = v[0]; out.end[i] = v[1]; out.thread[i] = thread; out.name[i] = nameId; out.correlationId[i] = corr;
    const cls = v[6];
    out.api[i] = cls === -1 ? 2 : cls === 1 ? 1 : 0;
    i++;
  });
  if (i !== end) throw new PagesUnsupported('the table changed between passes');
  return { threadKeys: threads.keys };
}

/** Rows a range keeps (the time filter of scanRows); plan: start, end. */
export interface RowCountJob extends RangeJob { kind: 'rowCount' }

export function rowCount(job: RowCountJob): number {
  let n = 0;
  scanPlannedRows(job.pages, job.layout, job.leaves, job.plan, () => { n++; });
  return n;
}

/** Kernel columns on shared memory (readKernels' read): process holds local numbers until joined. */
export interface KernelOut {
  start: Float64Array; end: Float64Array; deviceId: Int32Array; streamId: Int32Array; correlationId: Int32Array;
  process: Int32Array; graphNodeId: Int32Array; shortName: Int32Array; demangledName: Int32Array | null; launchConfig: Int32Array;
}

/** The plan's columns, in this order: start, end, deviceId, streamId, correlationId, pidKey, graphNodeId, shortName, demangledName, the launch fields. */
export const KERNEL_PLAN_LAUNCH = 9;

/**
 * Pass 2 of the kernel read on a range, into `out` from `offset`: processes numbered locally by
 * first use (`pidKeys`), launch configurations too (`configs`, LAUNCH_FIELDS values each), as
 * readKernels' one-thread read numbers them over the whole table; nameIds as read.
 */
export interface KernelFillJob extends RangeJob { kind: 'kernelFill'; offset: number; count: number; out: KernelOut }

export function kernelFill(job: KernelFillJob): { pidKeys: number[]; configs: number[][] } {
  const { out, offset, count } = job;
  const processes = new Map<number, number>();
  const pidKeys: number[] = [];
  const configs = new LaunchConfigTable();
  const launch = new Float64Array(LAUNCH_FIELDS.length);
  const d = job.out.demangledName;
  let i = offset;
  const end = offset + count;
  let lastPid = NaN; let local = -1;
  scanPlannedRows(job.pages, job.layout, job.leaves, job.plan, (v) => {
    if (i >= end) throw new PagesUnsupported('the table changed between passes');
    const corr = v[4]; const node = v[6];
    // the one-thread read widens these columns; here it decides
    if (!fitsInt32(corr) || !fitsInt32(node)) throw new PagesUnsupported('an id past 32 bits');
    out.start[i] = v[0]; out.end[i] = v[1]; out.deviceId[i] = v[2]; out.streamId[i] = v[3]; out.correlationId[i] = corr;
    const pid = v[5];
    if (!Object.is(pid, lastPid)) {
      lastPid = pid;
      let l = processes.get(pid);
      if (l === undefined) { l = pidKeys.length; processes.set(pid, l); pidKeys.push(pid); }
      local = l;
    }
    out.process[i] = local;
    out.graphNodeId[i] = node; out.shortName[i] = v[7];
    if (d) d[i] = v[8];
    for (let f = 0; f < launch.length; f++) launch[f] = v[9 + f];
    out.launchConfig[i] = configs.intern(launch);
    i++;
  });
  if (i !== end) throw new PagesUnsupported('the table changed between passes');
  return { pidKeys, configs: configs.configs.map((c) => LAUNCH_FIELDS.map((f) => c[f])) };
}

/**
 * One of readColumnsFromPages' targets as plain data: `out` on shared memory; `keys`: the values
 * land as local numbers (a LocalKeys of the job's own, handed back as its keys).
 */
export interface TargetSpec { col: ColumnExpr; out: Column; nan?: boolean; widen?: boolean; keys?: boolean }

/**
 * A whole table read from the pages into shared columns (readLeafColumns over every leaf, from row
 * 0): the smaller tables (memcpy, memset, synchronization, NVTX), read in a worker thread of
 * their own while the main thread and the other workers read the kernels and API calls. With
 * `texts`, the text column's values are numbered locally by first use (TableRead.texts): the
 * n-th text lands in targets[texts.into] at the n-th row whose targets[texts.flags] is not 0,
 * as readNvtx's `each` places them.
 */
export interface TableReadJob {
  kind: 'tableRead'; pages: PageFile; layout: Layout; leaves: Int32Array; filter: PageFilter; targets: TargetSpec[]; texts?: { col: string; flags: number; into: number };
}

export interface TableRead {
  /** rows read, and rows dropped for their time (readColumnsFromPages' `dropped`) */
  count: number; dropped: number;
  /** per target: its LocalKeys' keys (LocalKeys.keys) when it has keys, else null */
  keys: (number[] | null)[];
  /** the distinct texts in order of first use, and how many rows got one */
  texts: string[]; textRows: number;
}

export function tableRead(job: TableReadJob): TableRead {
  const targets: Target[] = job.targets.map((t) => ({ col: t.col, out: t.out, nan: t.nan, widen: t.widen, keys: t.keys ? new LocalKeys() : undefined }));
  const texts: string[] = [];
  let textRows = 0;
  let each: ((text: string) => void) | undefined;
  if (job.texts) {
    const flags = job.targets[job.texts.flags].out;
    const into = job.targets[job.texts.into].out;
    const local = new Map<string, number>();
    let at = 0;
    each = (text) => {
      while (at < into.length && flags[at] === 0) at++;
      if (at >= into.length) return;
      let l = local.get(text);
      if (l === undefined) { l = texts.length; local.set(text, l); texts.push(text); }
      into[at++] = l;
      textRows++;
    };
  }
  const dropped = { rows: 0 };
  const count = readLeafColumns(job.pages, job.layout, job.leaves, job.filter, targets, 0, undefined,
    job.texts && each ? { col: job.texts.col, each } : undefined, dropped);
  // an id past 32 bits widened a column into memory of this thread's own: one thread reads instead
  if (targets.some((t, j) => t.out !== job.targets[j].out)) throw new PagesUnsupported('an id past 32 bits');
  return { count, dropped: dropped.rows, keys: targets.map((t) => t.keys?.keys() ?? null), texts, textRows };
}

/** Several jobs one after the other on one worker, each answered on its own (an error ends only its job). */
export interface SeveralJob { kind: 'several'; jobs: ReadJob[] }

export type JobAnswer = { ok: unknown; error?: undefined; unsupported?: undefined } | { ok?: undefined; error: string; unsupported: boolean };

export function answerOf(job: ReadJob): JobAnswer {
  try {
    return { ok: runJob(job) };
  } catch (e) {
    return { error: e instanceof Error ? (e.stack ?? e.message) : String(e), unsupported: e instanceof PagesUnsupported };
  }
}

export type ReadJob = RuntimeCountJob | RuntimeFillJob | RowCountJob | KernelFillJob | TableReadJob | SeveralJob;

export function runJob(job: ReadJob): unknown {
  switch (job.kind) {
    case 'runtimeCount': return runtimeCount(job);
    case 'runtimeFill': return runtimeFill(job);
    case 'rowCount': return rowCount(job);
    case 'kernelFill': return kernelFill(job);
    case 'tableRead': return tableRead(job);
    case 'several': return job.jobs.map(answerOf);
  }
}
