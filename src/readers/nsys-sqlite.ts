/**
 * Reader for Nsight Systems SQLite exports (nsys 2020.3 – 2026.x) into the columnar Trace.
 * Only this folder knows SQL. The reader drops what it cannot use (rows without a time, rows
 * ending before they start) and says so in meta.warnings, one sentence each.
 */
import type Database from 'better-sqlite3';
import { emptyGpu, emptyKernels, emptySync } from '../model/build.js';
import { narrowed } from '../model/columns.js';
import type { ApiCallTotal, LaunchConfig, Trace, TraceMeta } from '../model/trace.js';
import { InputError } from '../errors.js';
import { openInput, sqliteInputError, type OpenOptions } from './open-input.js';
import { closePages, openPages, type PageFile, type PageHandle } from './pages.js';
import { rowidName } from './bulk.js';
import { ReadWorkers } from './read-pool.js';
import { endOfPhase } from '../model/memory.js';
import { detectSchema, has, ident, isNsysExport, type NsysSchema } from './schema.js';
import { Entities, Strings, readGpus } from './nsys-entities.js';
import { readCaptureEnvironment, readCudaEventLinks, readStreamInfo, type CallsRead } from './nsys-cuda-events.js';
import {
  NVTX_SCAN, readKernels, readMemcpy, readMemset, readNvtx, readRuntime, readSync, scanOf, startAside, syncTypesFromApiCalls,
  type ReadContext, type TableScan,
} from './nsys-events.js';

export interface ReadOptions extends OpenOptions {
  /** called as rows are read: rows so far and the rows the file holds (progress display) */
  onProgress?: (rowsRead: number, totalRows: number) => void;
  /** read the big tables through SQL only, never from the file's pages (tests compare the two) */
  noPages?: boolean;
  /** told, per activity table, whether it was read from the file's pages (by worker threads: 'workers') or through SQL */
  onTableRead?: (table: string, via: 'pages' | 'sql' | 'workers') => void;
  /**
   * Keep in Trace.runtime only the CUDA API calls whose name passes (analyze passes the calls the
   * analyses read); Trace.apiSummary still counts every call. Default: keep all.
   */
  keepApiCall?: (name: string) => boolean;
  /**
   * Read CUPTI's synchronization records into Trace.sync (default true). No analysis reads them
   * (host syncs come from the CUDA API calls), so analyze leaves them out: a trace that syncs
   * after every expert has one per kernel or so, 44 bytes each.
   */
  syncRecords?: boolean;
}

const SYNC_TABLE = 'CUPTI_ACTIVITY_KIND_SYNCHRONIZATION';

export const KERNEL_TABLE = 'CUPTI_ACTIVITY_KIND_KERNEL';

const SCANS: TableScan[] = [
  scanOf(KERNEL_TABLE, 'kernel'),
  scanOf('CUPTI_ACTIVITY_KIND_RUNTIME', 'CUDA API call'),
  scanOf('CUPTI_ACTIVITY_KIND_DRIVER', 'CUDA driver API call'),
  scanOf('CUPTI_ACTIVITY_KIND_MEMCPY', 'memcpy operation'),
  scanOf('CUPTI_ACTIVITY_KIND_MEMSET', 'memset operation'),
  scanOf(SYNC_TABLE, 'synchronization record'),
  NVTX_SCAN,
];

/** "1 kernel with" / "12 kernels with" */
function rowsWith(n: number, label: string): string {
  return n === 1 ? `1 ${label} with` : `${n} ${label}s with`;
}

const MAX_EXACT = BigInt(Number.MAX_SAFE_INTEGER);

interface ScanStats { kept: number; minStart: bigint | null; maxEnd: bigint | null }

/**
 * One aggregate pass per table: how many rows are kept, how many are dropped and why, and the
 * time range (read as BigInt) that decides whether times must be rebased to stay exact.
 * `unscanned`: for the start/end tables only COUNT(*), which SQLite answers from the b-tree
 * without reading rows: an upper bound on the rows kept, and no time range (see readOpen).
 */
function scanStats(
  db: Database.Database, schema: NsysSchema, warnings: string[], unscanned: boolean, nvtxCounted: boolean, skip: ReadonlySet<string>,
): Map<string, ScanStats> {
  const stats = new Map<string, ScanStats>();
  for (const scan of SCANS) {
    if (!has(schema, scan.table) || skip.has(scan.table)) continue;
    const needed = scan === NVTX_SCAN ? ['start', 'end', 'eventType'] : ['start', 'end'];
    const missing = needed.filter((c) => !has(schema, scan.table, c));
    if (missing.length > 0) {
      warnings.push(`${scan.table} has no ${missing.join('/')} column, so its ${scan.label}s were ignored.`);
      continue;
    }
    if (unscanned && (scan !== NVTX_SCAN || nvtxCounted)) {
      // detectSchema counted every table's rows in this transaction already (a COUNT(*) reads every leaf page)
      const all = schema.tables.find((t) => t.name === scan.table)?.rows
        ?? db.prepare(`SELECT COUNT(*) FROM ${ident(scan.table)}`).pluck().get() as number;
      stats.set(scan.table, { kept: all, minStart: null, maxEnd: null });
      continue;
    }
    const quick = scan === NVTX_SCAN ? null : quickStats(db, scan.table);
    if (quick) { stats.set(scan.table, quick); continue; }
    // the time range only of kept rows: a dropped row's absurd time must not force a rebase
    const row = db.prepare(
      `SELECT COUNT(*), TOTAL(${scan.noTime}), TOTAL(${scan.inverted}), MIN(IIF(${scan.valid}, start, NULL)), MAX(IIF(${scan.valid}, "end", NULL)) `
      + `FROM ${ident(scan.table)} WHERE ${scan.valid} OR (${scan.invalid})`,
    ).safeIntegers(true).raw(true).get() as [bigint, number, number, bigint | null, bigint | null];
    const [all, noTimeRows, inverted, minStart, maxEnd] = row;
    if (noTimeRows > 0) warnings.push(`${rowsWith(noTimeRows, scan.label)} no start or end time ${noTimeRows === 1 ? 'was' : 'were'} ignored.`);
    if (inverted > 0) warnings.push(`${rowsWith(inverted, scan.label)} end < start ${inverted === 1 ? 'was' : 'were'} ignored.`);
    stats.set(scan.table, { kept: Number(all) - noTimeRows - inverted, minStart, maxEnd });
  }
  return stats;
}

/**
 * The stats of a start/end table whose every row is kept, from one cheap pass; null when some
 * row would be dropped (then the exact pass above runs). SQLite orders text and blobs after
 * every number, so numeric MAX(start) and MAX("end") prove that no time is text or a blob.
 */
function quickStats(db: Database.Database, table: string): ScanStats | null {
  const [all, noTime, inverted, minStart, maxEnd, maxStartType, maxEndType] = db.prepare(
    `SELECT COUNT(*), TOTAL(start IS NULL OR "end" IS NULL), TOTAL("end" < start), MIN(start), MAX("end"), typeof(MAX(start)), typeof(MAX("end")) FROM ${ident(table)}`,
  ).safeIntegers(true).raw(true).get() as [bigint, number, number, bigint | null, bigint | null, string, string];
  const numeric = (t: string): boolean => t === 'integer' || t === 'null';
  if (noTime > 0 || inverted > 0 || !numeric(maxStartType) || !numeric(maxEndType)) return null;
  return { kept: Number(all), minStart, maxEnd };
}

/** 0 unless some time would not be exact as a double; then the earliest start, so times stay small. */
function timeOrigin(stats: Map<string, ScanStats>): bigint {
  let needed = false;
  let min: bigint | null = null;
  for (const s of stats.values()) {
    if (s.maxEnd !== null && (s.maxEnd > MAX_EXACT || s.maxEnd < -MAX_EXACT)) needed = true;
    if (s.minStart !== null && (s.minStart < -MAX_EXACT || s.minStart > MAX_EXACT)) needed = true;
    if (s.minStart !== null && (min === null || s.minStart < min)) min = s.minStart;
  }
  return needed && min !== null ? min : 0n;
}

function sessionStartUtcNs(db: Database.Database, schema: NsysSchema): string | null {
  if (!has(schema, 'TARGET_INFO_SESSION_START_TIME', 'utcEpochNs')) return null;
  const v = db.prepare('SELECT utcEpochNs FROM TARGET_INFO_SESSION_START_TIME LIMIT 1')
    .safeIntegers(true).pluck().get() as bigint | null | undefined;
  return v === null || v === undefined ? null : v.toString();
}

function readOpen(db: Database.Database, file: string, fileSizeBytes: number, opts: ReadOptions, pages: PageFile | null, workers: ReadWorkers): Trace {
  const schema = detectSchema(db);
  if (!isNsysExport(schema)) {
    const n = schema.columns.size;
    throw new InputError(`${file} is an SQLite database but not an Nsight Systems export (${n === 0 ? 'it has no tables' : `none of its ${n} tables is StringIds, CUPTI_ACTIVITY_KIND_* or TARGET_INFO_*`}); give the file written by \`nsys export --type sqlite\``);
  }
  for (const scan of SCANS) {
    if (has(schema, scan.table) && rowidName(db, scan.table) === null) {
      throw new InputError(`${file}: table ${scan.table} has no rowid (WITHOUT ROWID, or columns named rowid, _rowid_ and oid), which nsys never writes: the export was changed after nsys wrote it; export the report again`);
    }
  }
  // A clean export (every row kept, times exact as doubles) reads without the aggregate pass over
  // every table (about 0.5 s of a 6 s read on a million kernels); any other reads again with it.
  return readTrace(db, schema, file, fileSizeBytes, opts, true, pages, workers)
    ?? readTrace(db, schema, file, fileSizeBytes, opts, false, pages, workers)!;
}

/** The trace; null when `unscanned` and a row was dropped or a time needs rebasing. */
function readTrace(
  db: Database.Database, schema: NsysSchema, file: string, fileSizeBytes: number, opts: ReadOptions, unscanned: boolean,
  pages: PageFile | null, workers: ReadWorkers,
): Trace | null {
  const warnings: string[] = [];
  // NVTX rows of other event types are dropped legitimately, so only a read from the pages, which
  // tells rows dropped for their time apart, may skip its stats pass
  const nvtxCounted = unscanned && pages !== null;
  const withSync = opts.syncRecords !== false;
  const stats = scanStats(db, schema, warnings, unscanned, nvtxCounted, new Set(withSync ? [] : [SYNC_TABLE]));
  const origin = timeOrigin(stats);
  if (unscanned && origin !== 0n) return null;
  const kept = (t: string): number => stats.get(t)?.kept ?? 0;
  const runtimeCounts = new Map<string, number>();
  for (const t of ['CUPTI_ACTIVITY_KIND_RUNTIME', 'CUPTI_ACTIVITY_KIND_DRIVER']) {
    if (stats.has(t)) runtimeCounts.set(t, kept(t));
  }
  // workers started ahead (readNsysSqlite) read only big tables from the pages
  const bigRows = Math.max(kept(KERNEL_TABLE), ...runtimeCounts.values());
  if (pages === null || origin !== 0n) workers.close(); else workers.needed(bigRows);
  const strings = new Strings(db, schema);
  const entities = new Entities(strings);
  let totalRows = 0;
  for (const st of stats.values()) totalRows += st.kept;
  let rowsRead = 0;
  const onProgress = opts.onProgress;
  // a table read again through SQL after its pages fell through counts twice: never past the total
  const onRows = onProgress ? (n: number): void => { rowsRead = Math.min(totalRows, rowsRead + n); onProgress(rowsRead, totalRows); } : undefined;
  const check = unscanned ? { inexactTime: false } : undefined;
  const ctx: ReadContext = { db, schema, entities, origin, warnings, onRows, unscanned: check, pages, workers, onTableRead: opts.onTableRead };

  const hasKernelTable = stats.has(KERNEL_TABLE);
  // with workers for the big tables, one more reads the others meanwhile (taken by their readers below)
  const asideRows = new Map<string, number>([['CUPTI_ACTIVITY_KIND_MEMCPY', kept('CUPTI_ACTIVITY_KIND_MEMCPY')],
    ['CUPTI_ACTIVITY_KIND_MEMSET', kept('CUPTI_ACTIVITY_KIND_MEMSET')], ['NVTX_EVENTS', kept('NVTX_EVENTS')]]);
  if (withSync) asideRows.set(SYNC_TABLE, kept(SYNC_TABLE));
  startAside(ctx, bigRows, asideRows);
  const launchConfigs: LaunchConfig[] = [];
  const kernels = hasKernelTable ? readKernels(ctx, kept(KERNEL_TABLE), launchConfigs) : emptyKernels();
  // the kernel read's wide columns, garbage once narrowed (48 MB at a million kernels), gone
  // before the API call read makes its own (model/memory.ts)
  endOfPhase(kept(KERNEL_TABLE) + bigRows, 'kernel-read');
  if (!has(schema, KERNEL_TABLE)) {
    warnings.push('The export has no CUDA kernel records (no CUPTI_ACTIVITY_KIND_KERNEL table): CUDA kernel tracing was off or unsupported (e.g. under WSL); only CUDA API calls and other records are available.');
  }
  const { runtime, apiSummary } = readRuntime(ctx, runtimeCounts, opts.keepApiCall);
  ctx.aside?.collect();
  // the workers are for the big tables and those beside them: gone before the rest is read, so
  // that their memory (~8 MB each) and the whole trace's never count at once
  workers.close();
  const memcpy = readMemcpy(ctx, kept('CUPTI_ACTIVITY_KIND_MEMCPY'));
  const memset = readMemset(ctx, kept('CUPTI_ACTIVITY_KIND_MEMSET'));
  const syncRead = withSync ? readSync(ctx, kept(SYNC_TABLE)) : emptySync();
  if (withSync) syncTypesFromApiCalls(syncRead, runtime, strings.table.strings, entities.threads);
  const sync = narrowed('sync', syncRead);
  const { nvtx, inlineText, registeredText, complete } = readNvtx(ctx, kept('NVTX_EVENTS'), nvtxCounted);
  if (!complete) return null;
  if (check) {
    const apiCalls = apiSummary.reduce((n, a) => n + a.count, 0);
    const read: [string, number][] = [[KERNEL_TABLE, kernels.count], ['CUPTI_ACTIVITY_KIND_MEMCPY', memcpy.count],
      ['CUPTI_ACTIVITY_KIND_MEMSET', memset.count], ...(withSync ? [[SYNC_TABLE, sync.count] as [string, number]] : [])];
    const dropped = read.some(([t, n]) => n !== kept(t)) || apiCalls !== kept('CUPTI_ACTIVITY_KIND_RUNTIME') + kept('CUPTI_ACTIVITY_KIND_DRIVER');
    if (dropped || check.inexactTime) return null;
  }
  const cudaEvents = readCudaEventLinks(db, schema, entities, pages === null ? undefined : callsRead(schema, runtime, apiSummary, entities, opts.keepApiCall, pages), opts.onTableRead);
  entities.resolveNames(db, schema);
  if (strings.missing > 0) {
    warnings.push(`${strings.missing} string ids were missing from StringIds; those names read as unknown.`);
  }

  const gpus = readGpus(db, schema);
  const described = new Set(gpus.map((g) => g.deviceId));
  const used = new Set<number>();
  for (const ids of [kernels.deviceId, memcpy.deviceId, memset.deviceId]) {
    // devices come in long runs: a Set.add per row would cost more than the whole read of the column
    let last = NaN;
    for (let i = 0; i < ids.length; i++) if (ids[i] !== last) used.add((last = ids[i]));
  }
  for (const d of [...used].sort((a, b) => a - b)) {
    if (described.has(d)) continue;
    gpus.push(emptyGpu(d));
    warnings.push(`GPU ${d} has activity but no description in the export; its SM count and limits are unknown.`);
  }
  gpus.sort((a, b) => a.deviceId - b.deviceId);

  const nvtxText: TraceMeta['schemaShape']['nvtxText'] = !has(schema, 'NVTX_EVENTS') ? null
    : inlineText > 0 && registeredText > 0 ? 'both'
      : registeredText > 0 || (inlineText === 0 && !has(schema, 'NVTX_EVENTS', 'text')) ? 'StringIds' : 'inline';
  const meta: TraceMeta = {
    file, fileSizeBytes,
    nsysVersion: schema.nsysVersion,
    exportSchemaVersion: schema.exportSchemaVersion,
    schemaShape: { metadataTable: schema.metadataTable, gpuTable: schema.gpuTable, nvtxText },
    timeOriginNs: origin.toString(),
    sessionStartUtcNs: sessionStartUtcNs(db, schema),
    tables: schema.tables,
    warnings,
    cudaEnvironment: readCaptureEnvironment(db, schema),
    source: { format: 'nsys-sqlite', producer: nsysProducer(schema.nsysVersion) },
  };
  const trace: Trace = {
    meta, strings: strings.table.strings, kernels, launchConfigs, hasKernelTable, runtime, apiSummary, memcpy, memset, sync, nvtx,
    gpus, processes: entities.processes, threads: entities.threads,
  };
  if (cudaEvents) trace.cudaEvents = cudaEvents;
  const streamInfo = readStreamInfo(db, schema);
  if (streamInfo) trace.streamInfo = streamInfo;
  return trace;
}

/**
 * The CUDA API calls in memory, for the stream waits (nsys-cuda-events.ts): only when they are
 * CUPTI_ACTIVITY_KIND_RUNTIME's alone and no row of it was dropped for its time, so that every
 * call of a kept name is there.
 */
function callsRead(
  schema: NsysSchema, runtime: Trace['runtime'], apiSummary: ApiCallTotal[], entities: Entities,
  keep: ((name: string) => boolean) | undefined, pages: PageFile,
): CallsRead | undefined {
  const T = 'CUPTI_ACTIVITY_KIND_RUNTIME';
  if (has(schema, 'CUPTI_ACTIVITY_KIND_DRIVER') || !has(schema, T)) return undefined;
  const rows = schema.tables.find((t) => t.name === T)?.rows;
  let read = 0;
  for (const a of apiSummary) read += a.count;
  if (rows === undefined || read !== rows) return undefined;
  return { pages, runtime, threads: entities.threads, strings: entities.strings.table.strings, holdsAll: (name) => !keep || keep(name) };
}

/** "nsys 2025.3.1.90-..." or, before 2022.2 (no version in the export), says so. */
export function nsysProducer(version: string | null): string {
  return version ? `nsys ${version}` : 'nsys (version not recorded: export before 2022.2)';
}

/**
 * Reads an nsys SQLite export. Throws InputError (exit 2) for anything wrong with the file;
 * an export without kernel records still reads, with hasKernelTable false and a warning.
 */
export function readNsysSqlite(path: string, opts: ReadOptions = {}): Trace {
  const { db, fileSizeBytes, inPlace, close } = openInput(path, opts);
  let handle: PageHandle | null = null;
  const workers = new ReadWorkers();
  try {
    // the big tables' workers start while the tables are counted (closed below when none is big)
    if (inPlace && !opts.noPages) workers.ahead(fileSizeBytes);
    // One read transaction: every query sees the same snapshot even while a writer (nsys still
    // exporting) commits between them, so row counts and rows agree. Its shared lock, taken by
    // the first read, also keeps the file's pages as committed while pages.ts reads them.
    // A small page cache: the big tables are read from the pages or streamed once through SQL,
    // so SQLite's default 16 MB cache would only hold pages no query reads again.
    db.pragma('cache_size = -1024');
    db.exec('BEGIN');
    db.prepare('SELECT COUNT(*) FROM sqlite_master').get();
    if (inPlace && !opts.noPages) handle = openPages(path);
    return readOpen(db, path, fileSizeBytes, opts, handle?.pages ?? null, workers);
  } catch (e) {
    throw sqliteInputError(e, path) ?? e;
  } finally {
    workers.close();
    close();
    // only now, whether or not its pages were read: closing a descriptor of the file drops the
    // process's locks on it, SQLite's too
    if (handle) closePages(handle);
  }
}
