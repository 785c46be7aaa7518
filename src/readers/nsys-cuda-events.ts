/**
 * The small tables behind "why do streams wait for each other" (issue 15): event records and
 * stream waits (linked by eventId + eventSyncId), stream types and priorities, and the launched
 * process's CUDA-related environment (CUDA_DEVICE_MAX_CONNECTIONS=1 serializes every stream).
 * A few hundred rows per iteration at most: read through SQL.
 */
import type Database from 'better-sqlite3';
import type { CudaEventLinks, EventLinkColumns, StreamInfo } from '../model/trace.js';
import { has, type NsysSchema } from './schema.js';
import type { Entities } from './nsys-entities.js';

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

/** Event records and stream waits; null when the export has neither table. */
export function readCudaEventLinks(db: Database.Database, schema: NsysSchema, entities: Entities): CudaEventLinks | null {
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
  // globalPid as a double loses its low bits past 2^53: read it exactly
  return { records: columns(records, entities), waits: columns(waits, entities) };
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
