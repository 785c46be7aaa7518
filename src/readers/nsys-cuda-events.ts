/**
 * The small tables behind "why do streams wait for each other" (issue 15): event records and
 * stream waits (linked by eventId + eventSyncId), stream types and priorities, and the launched
 * process's CUDA-related environment (CUDA_DEVICE_MAX_CONNECTIONS=1 serializes every stream).
 * A few hundred rows per iteration at most: read through SQL.
 */
import type Database from 'better-sqlite3';
import type { CudaEventLinks, EventLinkColumns, RuntimeColumns, StreamInfo, ThreadInfo } from '../model/trace.js';
import { has, type NsysSchema } from './schema.js';
import type { Entities } from './nsys-entities.js';
import { Kind, PagesUnsupported, scanTable, threadPartAt, type PageFile, type Row } from './pages.js';

const EVENT_TABLE = 'CUPTI_ACTIVITY_KIND_CUDA_EVENT';
const SYNC_TABLE = 'CUPTI_ACTIVITY_KIND_SYNCHRONIZATION';
const STREAM_WAIT_EVENT = 2;

/**
 * The rows of `stmt` (deviceId, streamId, correlationId, globalPid, eventId, eventSyncId, in that
 * order) straight into columns: a capture that syncs per expert has hundreds of thousands of
 * records, and an object per row cost ~100 bytes a kernel at the peak.
 */
function columns(stmt: Database.Statement, entities: Entities): EventLinkColumns {
  let cap = 1024;
  let out: EventLinkColumns = empty(cap);
  let n = 0;
  // globalPid as a double loses its low bits past 2^53: read it exactly
  for (const row of stmt.raw(true).safeIntegers(true).iterate() as Iterable<(bigint | number | null)[]>) {
    if (n === cap) {
      const grown = empty((cap *= 2));
      for (const k of KEYS) (grown[k] as Int32Array | Float64Array).set(out[k] as Int32Array | Float64Array);
      out = grown;
    }
    const [deviceId, streamId, correlationId, globalPid, eventId, eventSyncId] = row;
    out.deviceId[n] = deviceId === null ? -1 : Number(deviceId);
    out.streamId[n] = Number(streamId);
    out.correlationId[n] = correlationId === null ? -1 : Number(correlationId);
    out.process[n] = globalPid === null ? -1 : entities.process(Number(BigInt(globalPid) >> 24n));
    out.eventId[n] = Number(eventId);
    out.eventSyncId[n] = eventSyncId === null ? NaN : Number(eventSyncId);
    n++;
  }
  const trimmed = empty(n);
  for (const k of KEYS) (trimmed[k] as Int32Array | Float64Array).set((out[k] as Int32Array | Float64Array).subarray(0, n));
  return trimmed;
}

const KEYS = ['deviceId', 'streamId', 'correlationId', 'process', 'eventId', 'eventSyncId'] as const;

function empty(n: number): EventLinkColumns {
  return {
    count: n, deviceId: new Int32Array(n), streamId: new Int32Array(n), correlationId: new Float64Array(n), process: new Int32Array(n),
    eventId: new Float64Array(n), eventSyncId: new Float64Array(n),
  };
}

/**
 * The CUDA API calls already read, for finding the stream waits without SQL's join (see
 * waitsFromPages): `runtime` must come from CUPTI_ACTIVITY_KIND_RUNTIME alone.
 */
export interface CallsRead {
  pages: PageFile;
  runtime: RuntimeColumns;
  threads: ThreadInfo[];
  strings: string[];
  /** whether `runtime` holds every row of CUPTI_ACTIVITY_KIND_RUNTIME whose API name (no `_vNNNN`) is `name` */
  holdsAll: (name: string) => boolean;
}

/** The names SQL's `value LIKE 'cudaStreamWaitEvent%' OR value LIKE 'cuStreamWaitEvent%'` takes (LIKE folds ASCII case only, as /i does here). */
const WAIT_CALL = /^(cudaStreamWaitEvent|cuStreamWaitEvent)/i;

/** (process, correlationId) as one exact double, for ids in [0, 2^32) and fewer than 2^20 processes. */
const callKey = (process: number, correlationId: number): number => (process + 1) * 4294967296 + correlationId;
const keyable = (process: number, correlationId: number): boolean =>
  Number.isInteger(correlationId) && correlationId >= 0 && correlationId < 4294967296 && process >= 0 && process < 1048576;

/**
 * The stream waits of the `byCall` query below, without it: that join reads every row of the
 * API call table through SQL (3.2M rows at a million kernels, a second or so, and an automatic
 * index) for the few hundred thousand waits. Here the synchronization table is read from the
 * pages and matched against the wait calls already in memory, each record once per matching
 * call as the join gives it, in the same order. Null when that cannot be exactly the join's
 * answer: calls missing from memory, ids past what a double key holds, two records with the
 * same start (the join's order of ties is SQLite's); PagesUnsupported where the pages need
 * SQL's conversions. The caller then runs the query.
 */
function waitsFromPages(db: Database.Database, schema: NsysSchema, entities: Entities, calls: CallsRead): EventLinkColumns | null {
  const { runtime, threads, strings } = calls;
  // API names of wait calls; every call of each must be in memory
  const isWait = new Uint8Array(strings.length);
  for (let n = 0; n < strings.length; n++) {
    if (!WAIT_CALL.test(strings[n])) continue;
    if (!calls.holdsAll(strings[n])) return null;
    isWait[n] = 1;
  }
  let waitCalls = 0;
  for (let j = 0; j < runtime.count; j++) if (runtime.name[j] >= 0 && isWait[runtime.name[j]] === 1) waitCalls++;
  const keys = new Float64Array(waitCalls);
  for (let j = 0, k = 0; j < runtime.count; j++) {
    if (runtime.name[j] < 0 || isWait[runtime.name[j]] !== 1) continue;
    const t = runtime.thread[j];
    const c = runtime.correlationId[j];
    // a call without a thread or a correlation id joins nothing (SQL: NULL = anything is false)
    if (t < 0 || c === -1) { keys[k++] = -1; continue; }
    const p = threads[t].process;
    if (!keyable(p, c)) return null;
    keys[k++] = callKey(p, c);
  }
  keys.sort();
  const T = SYNC_TABLE;
  const cols = ['deviceId', 'streamId', 'correlationId', 'globalPid', 'eventId'];
  const withSyncId = has(schema, T, 'eventSyncId');
  const withStart = has(schema, T, 'start');
  if (withSyncId) cols.push('eventSyncId');
  if (withStart) cols.push('start');
  const sSyncId = withSyncId ? cols.indexOf('eventSyncId') : -1;
  const sStart = withStart ? cols.indexOf('start') : -1;
  // the calls a record joins: 0 when none
  const matches = (row: Row): number => {
    const ck = row.kind[2];
    const pk = row.kind[3];
    if (ck === Kind.Null || pk === Kind.Null) return 0;
    if (ck >= Kind.Text) throw new PagesUnsupported('text correlationId');
    const p = entities.knownProcess(threadPartAt(row, 3, 'pidKey', -1));
    // a process no call was made from: nothing to join
    if (p === undefined) return 0;
    const c = row.num[2];
    if (!keyable(p, c)) throw new PagesUnsupported('a correlationId a double key cannot hold');
    const key = callKey(p, c);
    let lo = 0; let hi = keys.length;
    while (lo < hi) { const mid = (lo + hi) >>> 1; if (keys[mid] < key) lo = mid + 1; else hi = mid; }
    let m = 0;
    while (lo + m < keys.length && keys[lo + m] === key) m++;
    return m;
  };
  // one pass, into columns that grow as records match (a pass to count them first cost as much
  // again: 0.13 s at a million kernels with a wait per expert)
  let cap = 1024;
  let out = empty(cap);
  // order key (start; NULL first) and record of each row, to order them as ORDER BY y.start
  let at = withStart ? new Float64Array(cap) : null;
  let record = withStart ? new Int32Array(cap) : null;
  let i = 0; let r = 0;
  const num = (row: Row, s: number, nul: number): number => {
    const k = row.kind[s];
    if (k === Kind.Null) return nul;
    if (k >= Kind.Text) throw new PagesUnsupported('text or blob in a stream wait');
    return row.num[s];
  };
  scanTable(calls.pages, db, T, cols, (row) => {
    const m = matches(row);
    if (m > 0) {
      if (i + m > cap) {
        while (i + m > cap) cap *= 2;
        const grown = empty(cap);
        for (const k of KEYS) (grown[k] as Int32Array | Float64Array).set((out[k] as Int32Array | Float64Array).subarray(0, i));
        out = grown;
        if (at && record) {
          const a2 = new Float64Array(cap); a2.set(at.subarray(0, i)); at = a2;
          const r2 = new Int32Array(cap); r2.set(record.subarray(0, i)); record = r2;
        }
      }
      const p = entities.knownProcess(threadPartAt(row, 3, 'pidKey', -1))!;
      const start = withStart ? num(row, sStart, -Infinity) : 0;
      if (!(Math.abs(start) <= Number.MAX_SAFE_INTEGER) && start !== -Infinity) throw new PagesUnsupported('a start past 2^53');
      for (let q = 0; q < m; q++, i++) {
        out.deviceId[i] = num(row, 0, -1); out.streamId[i] = num(row, 1, 0); out.correlationId[i] = row.num[2];
        out.process[i] = p; out.eventId[i] = num(row, 4, 0); out.eventSyncId[i] = withSyncId ? num(row, sSyncId, NaN) : NaN;
        if (at && record) { at[i] = start; record[i] = r; }
      }
    }
    r++;
  });
  const n = i;
  if (cap !== n) {
    const trimmed = empty(n);
    for (const k of KEYS) (trimmed[k] as Int32Array | Float64Array).set((out[k] as Int32Array | Float64Array).subarray(0, n));
    out = trimmed;
  }
  // the order keys as filled (the closures below see them as such)
  const starts = at;
  const rows = record;
  if (starts && rows) {
    let sorted = true;
    for (let q = 1; q < n; q++) {
      if (starts[q] < starts[q - 1]) sorted = false;
      else if (starts[q] === starts[q - 1] && rows[q] !== rows[q - 1]) return null;
    }
    if (!sorted) {
      const order = Array.from({ length: n }, (_, q) => q).sort((a, b) => starts[a] - starts[b] || a - b);
      // two records with one start, apart in record order: SQLite's order of ties decides
      for (let q = 1; q < n; q++) if (starts[order[q]] === starts[order[q - 1]] && rows[order[q]] !== rows[order[q - 1]]) return null;
      for (const k of KEYS) {
        const col = out[k] as Int32Array | Float64Array;
        const copy = col.slice();
        for (let q = 0; q < n; q++) col[q] = copy[order[q]];
      }
    }
  }
  return out;
}

/**
 * Event records and stream waits; null when the export has neither table. With `calls`, the
 * waits come from the pages and the calls in memory where they can (waitsFromPages).
 */
export function readCudaEventLinks(
  db: Database.Database, schema: NsysSchema, entities: Entities, calls?: CallsRead,
  onTableRead?: (table: string, via: 'pages' | 'sql' | 'workers') => void,
): CudaEventLinks | null {
  const hasRecords = has(schema, EVENT_TABLE, 'eventId') && has(schema, EVENT_TABLE, 'streamId') && has(schema, EVENT_TABLE, 'deviceId');
  const hasWaits = has(schema, SYNC_TABLE, 'eventId') && has(schema, SYNC_TABLE, 'streamId') && has(schema, SYNC_TABLE, 'deviceId');
  if (!hasRecords && !hasWaits) return null;
  const pid = (t: string) => (has(schema, t, 'globalPid') ? 'globalPid' : 'NULL');
  const syncId = (t: string) => (has(schema, t, 'eventSyncId') ? 'eventSyncId' : 'NULL');
  const corr = (t: string) => (has(schema, t, 'correlationId') ? 'correlationId' : 'NULL');
  const none = db.prepare('SELECT 0, 0, 0, 0, 0, 0 WHERE 0');
  const read = (sql: string): Database.Statement => db.prepare(sql);
  const records = hasRecords
    ? read(`SELECT deviceId, streamId, ${corr(EVENT_TABLE)} AS correlationId, ${pid(EVENT_TABLE)} AS globalPid, eventId, ${syncId(EVENT_TABLE)} AS eventSyncId FROM ${EVENT_TABLE} ORDER BY rowid`)
    : none;
  // the stored syncType disagrees with the call across nsys versions (nsys-events.ts
  // syncTypesFromApiCalls): a wait is a record whose API call is cu(da)StreamWaitEvent
  const R = 'CUPTI_ACTIVITY_KIND_RUNTIME';
  const byCall = has(schema, R, 'nameId') && has(schema, R, 'correlationId') && has(schema, R, 'globalTid') && has(schema, 'StringIds', 'id') && has(schema, 'StringIds', 'value')
    && has(schema, SYNC_TABLE, 'correlationId') && has(schema, SYNC_TABLE, 'globalPid');
  const type = has(schema, SYNC_TABLE, 'syncType') ? 'syncType' : 'deprecatedSyncType';
  // a damaged or unusual export may lack any optional column: each is read only when present
  const order = has(schema, SYNC_TABLE, 'start') ? 'y.start' : 'y.rowid';
  const cols = `y.deviceId AS deviceId, y.streamId AS streamId, ${has(schema, SYNC_TABLE, 'correlationId') ? 'y.correlationId' : 'NULL'} AS correlationId, ${has(schema, SYNC_TABLE, 'globalPid') ? 'y.globalPid' : 'NULL'} AS globalPid, y.eventId AS eventId, ${has(schema, SYNC_TABLE, 'eventSyncId') ? 'y.eventSyncId' : 'NULL'} AS eventSyncId`;
  const waits = !hasWaits ? none
    : byCall
      ? read(`SELECT ${cols} FROM ${SYNC_TABLE} y JOIN ${R} r ON r.correlationId = y.correlationId AND (r.globalTid >> 24) = (y.globalPid >> 24)
          WHERE r.nameId IN (SELECT id FROM StringIds WHERE value LIKE 'cudaStreamWaitEvent%' OR value LIKE 'cuStreamWaitEvent%') ORDER BY ${order}`)
      : has(schema, SYNC_TABLE, type) ? read(`SELECT ${cols} FROM ${SYNC_TABLE} y WHERE ${type} = ${STREAM_WAIT_EVENT} ORDER BY ${order}`) : none;
  const recordColumns = columns(records, entities);
  if (byCall && hasWaits && calls) {
    try {
      const fromPages = waitsFromPages(db, schema, entities, calls);
      if (fromPages) {
        onTableRead?.(SYNC_TABLE, 'pages');
        return { records: recordColumns, waits: fromPages };
      }
    } catch (e) {
      if (!(e instanceof PagesUnsupported)) throw e;
    }
  }
  if (byCall && hasWaits) onTableRead?.(SYNC_TABLE, 'sql');
  // globalPid as a double loses its low bits past 2^53: read it exactly
  return { records: recordColumns, waits: columns(waits, entities) };
}

const FLAGS: Record<number, StreamInfo['flag']> = { 0: 'unknown', 1: 'default', 2: 'non-blocking', 3: 'null' };

export function readStreamInfo(db: Database.Database, schema: NsysSchema): StreamInfo[] | null {
  const t = 'TARGET_INFO_CUDA_STREAM';
  if (!has(schema, t, 'streamId') || !has(schema, t, 'flag')) return null;
  const pid = has(schema, t, 'processId') ? 'processId' : '-1';
  const prio = has(schema, t, 'priority') ? 'priority' : '0';
  const rows = db.prepare(`SELECT streamId, ${pid} AS pid, flag, ${prio} AS priority FROM ${t} ORDER BY processId, streamId`).all() as
    { streamId: number; pid: number; flag: number; priority: number }[];
  return rows.map((r) => ({ streamId: r.streamId, pid: r.pid, flag: FLAGS[r.flag] ?? 'unknown', priority: r.priority }));
}

/** Variables that change how CUDA schedules work or how PyTorch/NCCL behave. */
const RELEVANT = /^(CUDA_|PYTORCH_|NCCL_|TORCH_|CUBLAS_|NVIDIA_TF32)/;

/**
 * The launched process's relevant environment from META_DATA_CAPTURE (nsys writes every
 * variable as `PROCESS_n:ENVIRONMENT_VARIABLE` = `NAME="value"` when it launched the program);
 * null when none is recorded (an attach, an old export).
 */
export function readCaptureEnvironment(db: Database.Database, schema: NsysSchema): Record<string, string> | null {
  if (!has(schema, 'META_DATA_CAPTURE', 'name') || !has(schema, 'META_DATA_CAPTURE', 'value')) return null;
  const rows = db.prepare(`SELECT value FROM META_DATA_CAPTURE WHERE name LIKE 'PROCESS\\_%:ENVIRONMENT\\_VARIABLE' ESCAPE '\\'`).all() as { value: string }[];
  if (rows.length === 0) return null;
  const env: Record<string, string> = {};
  for (const { value } of rows) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)="?(.*?)"?$/s.exec(String(value));
    if (m && RELEVANT.test(m[1])) env[m[1]] = m[2];
  }
  return env;
}
