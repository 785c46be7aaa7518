/**
 * CUDA API calls read straight from the pages (pages.ts), keeping only the calls the caller
 * wants as they are read. A million-kernel trace holds two or three API calls per kernel, most
 * of which no analysis reads (cudaEventRecord, cudaGetLastError, ...): reading them all into
 * columns first and filtering after would cost ~140 bytes per kernel at the peak.
 *
 * The result is exactly readRuntime's (nsys-events.ts): that reader orders every call by time,
 * then numbers threads, processes and API names in order of first use. Here the rows come in
 * rowid order, so while they are also in time order (nsys writes them so) the first uses are
 * recorded during the scan and replayed afterwards, in the same order. A table out of time
 * order returns null before anything is numbered, and readRuntime reads it the general way.
 */
import type Database from 'better-sqlite3';
import { emptyRuntime } from '../model/build.js';
import type { ApiCallTotal, RuntimeColumns } from '../model/trace.js';
import type { Entities } from './nsys-entities.js';
import { Kind, PagesUnsupported, scanTable, type PageFile, type Row } from './pages.js';

const API_VERSION_SUFFIX = /_v\d+$/;

/** Rows per block of the growing columns: kept calls are not known until read. */
const BLOCK = 1 << 16;

/** Columns grown a block at a time, copied once into exact-size arrays at the end. */
class Blocks {
  private readonly full: { start: Float64Array; end: Float64Array; corr: Float64Array; thread: Int32Array; name: Float64Array; cls: Int8Array }[] = [];
  start = new Float64Array(BLOCK); end = new Float64Array(BLOCK); corr = new Float64Array(BLOCK);
  thread = new Int32Array(BLOCK); name = new Float64Array(BLOCK); cls = new Int8Array(BLOCK);
  at = 0;
  count = 0;

  next(): void {
    this.full.push({ start: this.start, end: this.end, corr: this.corr, thread: this.thread, name: this.name, cls: this.cls });
    this.start = new Float64Array(BLOCK); this.end = new Float64Array(BLOCK); this.corr = new Float64Array(BLOCK);
    this.thread = new Int32Array(BLOCK); this.name = new Float64Array(BLOCK); this.cls = new Int8Array(BLOCK);
    this.at = 0;
  }

  /** Calls `each(block, rows)` for every block in order, letting go of each block after it. */
  drain(each: (b: { start: Float64Array; end: Float64Array; corr: Float64Array; thread: Int32Array; name: Float64Array; cls: Int8Array }, rows: number) => void): void {
    for (let i = 0; i < this.full.length; i++) { each(this.full[i], BLOCK); this.full[i] = EMPTY; }
    if (this.at > 0) each(this, this.at);
  }
}

const EMPTY = {
  start: new Float64Array(0), end: new Float64Array(0), corr: new Float64Array(0),
  thread: new Int32Array(0), name: new Float64Array(0), cls: new Int8Array(0),
};

interface NameUse { id: number; keep: boolean; count: number; total: number }

/**
 * Reads CUPTI_ACTIVITY_KIND_RUNTIME from the pages; null when its rows are not in time order.
 * `columns`: the table's column names. `inexact` is set when a time passes 2^53 (see ReadContext).
 */
export function readRuntimeFromPages(
  pages: PageFile, db: Database.Database, table: string, columns: Set<string>, entities: Entities,
  keep: ((name: string) => boolean) | undefined, onRows?: (rows: number) => void, inexact?: { inexactTime: boolean },
): { runtime: RuntimeColumns; apiSummary: ApiCallTotal[] } | null {
  const want = ['start', 'end', 'globalTid', 'correlationId', 'nameId', 'eventClass'];
  const cols = want.filter((c) => columns.has(c));
  if (!columns.has('start') || !columns.has('end')) throw new PagesUnsupported(`${table} has no start/end`);
  const slot = (c: string): number => cols.indexOf(c);
  const [sStart, sEnd, sTid, sCorr, sName, sClass] = want.map(slot);
  const strings = entities.strings;

  // first uses, in order: threads as [pidKey, tid] (pidKey -1: no thread), API names by nameId
  const threadKeys: number[] = [];
  const threadOf = new Map<number | string, number>();
  const names = new Map<number, NameUse>();
  const blocks = new Blocks();
  let lastStart = -Infinity; let lastEnd = -Infinity; let ordered = true;
  let lastPid = NaN; let lastTid = NaN; let thread = -1;
  let lastNameId = NaN; let use: NameUse | undefined;
  let tooBig = false;

  const int = (row: Row, s: number): number => {
    if (s < 0) return -1;
    const k = row.kind[s];
    if (k === Kind.Null) return -1;
    if (k !== Kind.Integer && k !== Kind.Real) throw new PagesUnsupported('text or blob where a number is read');
    return row.num[s];
  };

  scanTable(pages, db, table, cols, (row) => {
    if (!ordered) return;
    const ks = row.kind[sStart]; const ke = row.kind[sEnd];
    if (ks >= Kind.Text || ke >= Kind.Text) throw new PagesUnsupported('text or blob time');
    if (ks === Kind.Null || ke === Kind.Null) return;
    const start = row.num[sStart]; const end = row.num[sEnd];
    if (end < start) return;
    if (start < lastStart || (start === lastStart && end < lastEnd)) { ordered = false; return; }
    lastStart = start; lastEnd = end;
    if (Math.abs(start) > Number.MAX_SAFE_INTEGER || Math.abs(end) > Number.MAX_SAFE_INTEGER) tooBig = true;

    let pid = -1; let tid = -1;
    if (sTid >= 0 && row.kind[sTid] !== Kind.Null) {
      if (row.kind[sTid] !== Kind.Integer) throw new PagesUnsupported('non-integer globalTid');
      pid = row.hi[sTid] * 256 + (row.lo[sTid] >>> 24); tid = row.lo[sTid] & 16777215;
    }
    if (pid !== lastPid || tid !== lastTid) {
      lastPid = pid; lastTid = tid;
      const packed = pid * 16777216 + tid;
      const key = Number.isSafeInteger(packed) ? packed : `${pid}:${tid}`;
      let t = threadOf.get(key);
      if (t === undefined) { t = threadKeys.length >> 1; threadOf.set(key, t); threadKeys.push(pid, tid); }
      thread = t;
    }
    const nameId = int(row, sName);
    if (nameId !== lastNameId) {
      lastNameId = nameId;
      use = names.get(nameId);
      if (use === undefined) {
        const s = strings.value(nameId);
        // an unknown name is kept, as nothing proves that no analysis reads it
        use = { id: nameId, keep: !keep || s === undefined || keep(s.replace(API_VERSION_SUFFIX, '')), count: 0, total: 0 };
        names.set(nameId, use);
      }
    }
    use!.count++; use!.total += end - start;
    if (!use!.keep) return;
    if (blocks.at === BLOCK) blocks.next();
    const a = blocks.at++;
    blocks.count++;
    blocks.start[a] = start; blocks.end[a] = end; blocks.thread[a] = thread;
    blocks.corr[a] = int(row, sCorr); blocks.name[a] = nameId;
    const cls = int(row, sClass);
    blocks.cls[a] = cls === -1 ? -1 : cls === 1 ? 1 : 0;
  }, onRows);
  if (!ordered) return null;
  if (tooBig && inexact) inexact.inexactTime = true;

  // replay the first uses: the same numbering as reading every call in time order
  const threadIndex = new Int32Array(threadKeys.length >> 1);
  const processIndex = new Int32Array(threadKeys.length >> 1);
  for (let t = 0; t < threadIndex.length; t++) {
    const pid = threadKeys[2 * t]; const tid = threadKeys[2 * t + 1];
    threadIndex[t] = pid === -1 ? -1 : entities.thread(pid, tid);
    processIndex[t] = pid === -1 ? -1 : entities.process(pid);
  }
  const nameIndex = new Map<number, number>();
  const summary = new Map<number, ApiCallTotal>();
  for (const u of names.values()) {
    const name = strings.apiNameFromStringId(u.id);
    nameIndex.set(u.id, name);
    const a = summary.get(name);
    if (a) { a.count += u.count; a.total += u.total; } else summary.set(name, { name, count: u.count, total: u.total });
  }
  const r = emptyRuntime(blocks.count);
  let o = 0;
  blocks.drain((b, rows) => {
    r.start.set(b.start.subarray(0, rows), o); r.end.set(b.end.subarray(0, rows), o);
    r.correlationId.set(b.corr.subarray(0, rows), o);
    for (let i = 0; i < rows; i++, o++) {
      const t = b.thread[i];
      r.thread[o] = threadIndex[t]; r.process[o] = processIndex[t];
      const name = nameIndex.get(b.name[i])!;
      r.name[o] = name;
      r.api[o] = b.cls[i] === -1 ? (strings.isDriverApi(name) ? 1 : 0) : b.cls[i];
    }
  });
  return { runtime: r, apiSummary: [...summary.values()] };
}
