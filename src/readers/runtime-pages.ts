/**
 * CUDA API calls read straight from the pages (pages.ts), keeping only the calls the caller
 * wants. A million-kernel trace holds two or three API calls per kernel, most of which no
 * analysis reads (cudaEventRecord, cudaGetLastError, ...): reading them all into columns first
 * and filtering after would cost ~140 bytes per kernel at the peak. Two passes over the pages
 * instead: the first counts the calls kept (a page pass costs ~0.1 µs a row), the second fills
 * columns of exactly that size.
 *
 * The result is exactly readRuntime's (nsys-events.ts): that reader orders every call by time,
 * then numbers threads, processes and API names in order of first use. Here the rows come in
 * rowid order, so while they are also in time order (nsys writes them so) the first uses are
 * recorded during the scan and replayed afterwards, in the same order. A table out of time
 * order returns null before anything is numbered, and readRuntime reads it the general way.
 */
import type Database from 'better-sqlite3';
import { emptyRuntime, fitsInt32 } from '../model/build.js';
import type { ApiCallTotal, RuntimeColumns } from '../model/trace.js';
import { threadKey, type Entities } from './nsys-entities.js';
import {
  PagesUnsupported, hasTime, numberAt, scanTable, threadPartAt, type PageFile, type Row,
} from './pages.js';

interface NameUse { id: number; keep: boolean; count: number; total: number }

/** A number column: NULL (or no such column) reads -1; text or a blob is for SQL. */
const int = (row: Row, s: number): number => (s < 0 ? -1 : numberAt(row, s, -1));

/**
 * Reads CUPTI_ACTIVITY_KIND_RUNTIME from the pages; null when its rows are not in time order.
 * `columns`: the table's column names. A time past 2^53 throws PagesUnsupported (SQL compares it exactly).
 */
export function readRuntimeFromPages(
  pages: PageFile, db: Database.Database, table: string, columns: Set<string>, entities: Entities,
  keep: ((name: string) => boolean) | undefined, onRows?: (rows: number) => void, inexact?: { inexactTime: boolean },
): { runtime: RuntimeColumns; apiSummary: ApiCallTotal[] } | null {
  if (!columns.has('start') || !columns.has('end')) throw new PagesUnsupported(`${table} has no start/end`);
  const strings = entities.strings;
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

  // pass 1: order, names, the count and time of every call, and how many are kept
  const first = ['start', 'end', 'nameId'].filter((c) => columns.has(c));
  const [s1, e1, n1] = ['start', 'end', 'nameId'].map((c) => first.indexOf(c));
  // the previous call's start and end: in a typed array, because a double stored in a variable
  // this closure shares is a new heap number every time (millions of rows: seconds of scavenges)
  const last = Float64Array.of(-Infinity, -Infinity);
  let ordered = true;
  let lastNameId = NaN; let use: NameUse | undefined;
  let kept = 0;
  scanTable(pages, db, table, first, (row) => {
    if (!ordered || !hasTime(row, s1) || !hasTime(row, e1)) return;
    const start = row.num[s1]; const end = row.num[e1];
    // times compare exactly only up to 2^53: past that, SQL's exact integers decide
    if (!(Math.abs(start) <= Number.MAX_SAFE_INTEGER && Math.abs(end) <= Number.MAX_SAFE_INTEGER)) {
      throw new PagesUnsupported('a time past 2^53');
    }
    if (end < start) return;
    if (start < last[0] || (start === last[0] && end < last[1])) { ordered = false; return; }
    last[0] = start; last[1] = end;
    const nameId = int(row, n1);
    if (nameId !== lastNameId) { lastNameId = nameId; use = useOf(nameId); }
    use!.count++; use!.total += end - start;
    if (use!.keep) kept++;
  });
  if (!ordered) return null;

  // pass 2: the kept calls, with threads numbered locally by first use ([pidKey, tid] pairs)
  const want = ['start', 'end', 'globalTid', 'correlationId', 'nameId', 'eventClass'];
  const cols = want.filter((c) => columns.has(c));
  const [sStart, sEnd, sTid, sCorr, sName, sClass] = want.map((c) => cols.indexOf(c));
  const r = emptyRuntime(kept, Int32Array);
  // correlation ids: an Int32Array until a value does not fit one
  // until the replay below: thread holds the local thread, name the nameId, api the eventClass (2: NULL)
  const threadKeys: number[] = [];
  const threadOf = new Map<number | string, number>();
  let lastPid = NaN; let lastTid = NaN; let thread = -1;
  lastNameId = NaN;
  let i = 0;
  scanTable(pages, db, table, cols, (row) => {
    if (!hasTime(row, sStart) || !hasTime(row, sEnd)) return;
    const start = row.num[sStart]; const end = row.num[sEnd];
    if (end < start) return;
    const pid = sTid < 0 ? -1 : threadPartAt(row, sTid, 'pidKey', -1);
    const tid = sTid < 0 ? -1 : threadPartAt(row, sTid, 'tid', -1);
    if (pid !== lastPid || tid !== lastTid) {
      lastPid = pid; lastTid = tid;
      const key = threadKey(pid, tid);
      let t = threadOf.get(key);
      if (t === undefined) { t = threadKeys.length >> 1; threadOf.set(key, t); threadKeys.push(pid, tid); }
      thread = t;
    }
    const nameId = int(row, sName);
    if (nameId !== lastNameId) { lastNameId = nameId; use = names.get(nameId); }
    if (!use!.keep) return;
    if (i >= kept) throw new PagesUnsupported('the table changed between passes');
    if ((nameId | 0) !== nameId) throw new PagesUnsupported('nameId past 32 bits');
    r.start[i] = start; r.end[i] = end; r.thread[i] = thread; r.name[i] = nameId;
    const corr = int(row, sCorr);
    if (r.correlationId instanceof Int32Array && !fitsInt32(corr)) r.correlationId = Float64Array.from(r.correlationId);
    r.correlationId[i] = corr;
    const cls = int(row, sClass);
    r.api[i] = cls === -1 ? 2 : cls === 1 ? 1 : 0;
    i++;
  }, onRows);
  if (i !== kept) throw new PagesUnsupported('the table changed between passes');

  // replay the first uses: the same numbering as reading every call in time order
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
  return { runtime: r, apiSummary: [...summary.values()] };
}
