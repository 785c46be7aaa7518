/**
 * Reads the rows of an SQLite table straight from the b-tree pages of the file, decoding the
 * record format (sqlite.org/fileformat2.html §1.6, §2.1) into numbers with no SQL and no per-row
 * objects. On a million kernels this moves the kernel and CUDA API tables about 8x faster than
 * any query through better-sqlite3 can, since every value that crosses into JavaScript through
 * SQLite's API costs a conversion (to a JS value, or to JSON text and back).
 *
 * It is a fast path only: the caller holds an SQLite read transaction on the same file (so no
 * writer can commit while the pages are read), and anything this reader does not handle, or finds
 * inconsistent, throws PagesUnsupported so the caller reads the table through SQL instead. SQLite
 * then reports damage in its own words. Handled: rollback-journal files (not WAL) in UTF-8, rowid
 * tables whose records hold numbers, NULL and text, overflow pages, columns added by ALTER TABLE.
 *
 * POSIX locks belong to the process: closing any descriptor of a file drops every lock the
 * process holds on it, SQLite's included. The descriptor is therefore closed only after the
 * SQLite connection (see readNsysSqlite).
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type Database from 'better-sqlite3';
import { ident } from './schema.js';

/** The file or table is outside what this reader handles: read it through SQL. */
export class PagesUnsupported extends Error {}

export interface PageFile {
  fd: number;
  pageSize: number;
  /** page size less the reserved bytes at the end of each page */
  usable: number;
  pageCount: number;
}

/** Value kinds, as SQLite's typeof() names them. */
export const Kind = { Null: 0, Integer: 1, Real: 2, Text: 3, Blob: 4 } as const;

/**
 * One decoded row, reused for every row: for requested column j, kind[j] and num[j] (integers
 * as the nearest double); hi[j]/lo[j] hold an integer's exact 64 bits (lo unsigned); a text's
 * bytes are text(j).
 */
export class Row {
  readonly num: Float64Array;
  readonly kind: Uint8Array;
  readonly hi: Int32Array;
  readonly lo: Uint32Array;
  readonly textAt: Int32Array;
  readonly textLen: Int32Array;
  rowid = 0;
  buf: Buffer = Buffer.alloc(0);
  constructor(n: number) {
    this.num = new Float64Array(n); this.kind = new Uint8Array(n);
    this.hi = new Int32Array(n); this.lo = new Uint32Array(n);
    this.textAt = new Int32Array(n); this.textLen = new Int32Array(n);
  }

  /** Column j's text (UTF-8); PagesUnsupported when its bytes are not valid UTF-8 or hold a NUL. */
  text(j: number): string {
    const s = this.buf.toString('utf8', this.textAt[j], this.textAt[j] + this.textLen[j]);
    // invalid UTF-8 (decoded as U+FFFD) or a NUL: SQL hands such text over its own way, so leave it to SQL
    if (s.includes('\uFFFD') || s.includes('\0')) {
      throw new PagesUnsupported('text that is not clean UTF-8');
    }
    return s;
  }
}

/** Column s as a number; NULL reads `nul`; text or a blob is left to SQL's conversions. */
export function numberAt(row: Row, s: number, nul: number): number {
  const k = row.kind[s];
  if (k === Kind.Integer || k === Kind.Real) return row.num[s];
  if (k === Kind.Null) return nul;
  throw new PagesUnsupported('text or blob where a number is read');
}

/** Whether column s holds a time (NULL: no); text or a blob is left to SQL. */
export function hasTime(row: Row, s: number): boolean {
  const k = row.kind[s];
  if (k >= Kind.Text) throw new PagesUnsupported('text or blob time');
  return k !== Kind.Null;
}

/**
 * nsys's `globalTid >> 24` (the process key) or `globalTid & 0xFFFFFF` (the tid) of column s,
 * exact on all 64 bits as SQL computes them; NULL reads `nul`.
 */
export function threadPartAt(row: Row, s: number, part: 'pidKey' | 'tid', nul: number): number {
  const k = row.kind[s];
  if (k === Kind.Null) return nul;
  if (k !== Kind.Integer) throw new PagesUnsupported('non-integer thread id');
  return part === 'pidKey' ? row.hi[s] * 256 + (row.lo[s] >>> 24) : row.lo[s] & 16777215;
}

/**
 * The file opened for page reads. `pages` is null when its header says WAL, a non-UTF-8 encoding
 * or an odd page size (`why` says which): the tables are then read through SQL. The descriptor is
 * open either way and must stay open until the SQLite connection has closed (closePages after
 * db.close()): closing it earlier would drop SQLite's POSIX read lock on the file mid-read.
 */
export interface PageHandle { fd: number; pages: PageFile | null; why: string | null }

/** Opens the file for page reads; null only when it cannot be opened at all. */
export function openPages(path: string): PageHandle | null {
  let fd: number;
  try { fd = openSync(path, 'r'); } catch { return null; }
  const h = Buffer.alloc(100);
  const ok = readSync(fd, h, 0, 100, 0) === 100 && h.toString('latin1', 0, 16) === 'SQLite format 3\u0000';
  const raw = ok ? h.readUInt16BE(16) : 0;
  const pageSize = raw === 1 ? 65536 : raw;
  const encoding = ok ? h.readUInt32BE(56) : 0;
  const reserved = h[20];
  // 1/1: rollback journal (2/2 is WAL, where committed pages may still be in the -wal file)
  const why = !ok ? 'no SQLite header' : h[18] !== 1 || h[19] !== 1 ? 'WAL mode'
    : pageSize < 512 || (pageSize & (pageSize - 1)) !== 0 || pageSize - reserved < 480 ? 'odd page size'
      : encoding !== 1 && encoding !== 0 ? 'UTF-16 text' : null;
  if (why !== null) return { fd, pages: null, why };
  const fromSize = Math.floor(fstatSync(fd).size / pageSize);
  const inHeader = h.readUInt32BE(24) === h.readUInt32BE(92) ? h.readUInt32BE(28) : 0;
  return { fd, pages: { fd, pageSize, usable: pageSize - reserved, pageCount: Math.min(fromSize, inHeader || fromSize) }, why: null };
}

/** Closes what openPages opened: only after the SQLite connection on the same file has closed. */
export function closePages(p: PageHandle): void {
  closeSync(p.fd);
}

function damaged(what: string): never {
  throw new PagesUnsupported(`damaged page: ${what}`);
}

/** Where a table's columns sit in its records (plain data: it travels to worker threads). */
export interface Layout {
  root: number;
  /** record column index → requested slot, -1 when not requested */
  slotOf: Int16Array;
  /** slot of the INTEGER PRIMARY KEY column (the rowid), -1 if not requested or none */
  rowidSlot: number;
}

export function tableLayout(db: Database.Database, table: string, columns: string[]): Layout {
  const master = db.prepare("SELECT rootpage, sql FROM sqlite_master WHERE type = 'table' AND name = ?").raw(true)
    .get(table) as [number, string | null] | undefined;
  if (!master || typeof master[0] !== 'number' || master[0] < 1) throw new PagesUnsupported(`${table}: no root page`);
  if (/\bWITHOUT\s+ROWID\b/i.test(master[1] ?? '')) throw new PagesUnsupported(`${table} is WITHOUT ROWID`);
  const info = db.prepare('SELECT name, type, pk, dflt_value, hidden FROM pragma_table_xinfo(?)').raw(true)
    .all(table) as [string, string, number, unknown, number][];
  const pks = info.filter((c) => c[2] > 0);
  const slotOf = new Int16Array(info.length).fill(-1);
  let rowidSlot = -1;
  for (let s = 0; s < columns.length; s++) {
    const i = info.findIndex((c) => c[0] === columns[s]);
    if (i < 0) throw new PagesUnsupported(`${table} has no column ${columns[s]}`);
    const [, type, pk, dflt, hidden] = info[i];
    // a generated column is not stored; a default fills records written before an ALTER TABLE
    if (hidden !== 0 || dflt !== null) throw new PagesUnsupported(`${table}.${columns[s]} is generated or has a default`);
    if (pk > 0 && pks.length === 1 && type.toUpperCase() === 'INTEGER' && isRowidAlias(db, table, columns[s])) rowidSlot = s;
    else slotOf[i] = s;
  }
  if (info.some((c) => c[4] !== 0)) throw new PagesUnsupported(`${table} has generated columns`);
  return { root: master[0], slotOf, rowidSlot };
}

/**
 * Whether `column` is the table's rowid under another name. Not every INTEGER PRIMARY KEY is one:
 * `x INTEGER PRIMARY KEY DESC` is an ordinary column (a quirk SQLite keeps for compatibility),
 * stored in the record. SQLite's own plan says which: it reads an alias with Rowid, a column with
 * Column.
 */
function isRowidAlias(db: Database.Database, table: string, column: string): boolean {
  const plan = db.prepare(`EXPLAIN SELECT ${ident(column)} FROM ${ident(table)}`).all() as { opcode: string }[];
  return plan.some((op) => op.opcode === 'Rowid' || op.opcode === 'IdxRowid');
}

/** A rowid of 8 or 9 varint bytes, exactly: 64-bit two's complement (negative rowids take 9 bytes). */
function longRowid(buf: Buffer, p: number): bigint {
  let v = 0n;
  for (let n = 0; n < 9; n++) {
    const b = buf[p + n];
    if (n === 8) return BigInt.asIntN(64, (v << 8n) | BigInt(b));
    v = (v << 7n) | BigInt(b & 127);
    if ((b & 128) === 0) break;
  }
  return BigInt.asIntN(64, v);
}

/**
 * Bytes per file read: runs of consecutive leaf pages are fetched together (256 pages of 4 KiB,
 * 16 of 64 KiB) into one buffer that every scan of this thread reuses. A buffer freed after each
 * scan would raise glibc's mmap threshold to its size (the threshold follows the largest mmapped
 * block freed), and every array up to that size allocated afterwards (the analyses' columns)
 * would come from the heap, whose freed holes stay resident: measured, 1 MiB freed per scan
 * left about 19 MB of holes at the peak of a million-kernel analysis.
 */
const RUN_BYTES = 1 << 20;
let runBuffer: Buffer | null = null;

/**
 * Calls `visit` once per row of `table`, in rowid order, with the requested columns decoded
 * into `row` (the same object every time). Returns the number of rows. `onRows` hears of rows
 * as they are read, a page run at a time.
 */
export function scanTable(
  pages: PageFile, db: Database.Database, table: string, columns: string[],
  visit: (row: Row) => void, onRows?: (rows: number) => void,
): number {
  const layout = tableLayout(db, table, columns);
  return scanLeaves(pages, layout, leafPages(pages, layout.root), columns.length, visit, onRows);
}

/**
 * scanTable over the given leaf pages of a table (in key order: a run of leafPages' list), with
 * the layout tableLayout gave for `nColumns` requested columns. Worker threads read a table so,
 * a range of its leaves each.
 */
export function scanLeaves(
  pages: PageFile, layout: Layout, leaves: ArrayLike<number>, nColumns: number,
  visit: (row: Row) => void, onRows?: (rows: number) => void,
): number {
  const { slotOf, rowidSlot } = layout;
  const { pageSize, usable } = pages;
  const row = new Row(nColumns);
  const perRun = Math.max(1, Math.floor(RUN_BYTES / pageSize));
  const run = (runBuffer ??= Buffer.alloc(Math.max(RUN_BYTES, pageSize)));
  const runView = new DataView(run.buffer, run.byteOffset, run.length);
  const overflow = { buf: Buffer.alloc(0) };
  // a record is decoded up to its last requested column: the rest is never looked at (as SQLite
  // itself parses a record's header only as far as the column asked for)
  let nCols = 0;
  for (let c = 0; c < slotOf.length; c++) if (slotOf[c] >= 0) nCols = c + 1;
  let rows = 0;
  for (let i = 0; i < leaves.length;) {
    let j = i + 1;
    while (j < leaves.length && j - i < perRun && leaves[j] === leaves[j - 1] + 1) j++;
    readPages(pages, run, leaves[i], j - i);
    const before = rows;
    for (let k = 0; k < j - i; k++) {
      const base = k * pageSize;
      const head = leaves[i + k] === 1 ? base + 100 : base;
      if (run[head] !== 13) damaged(`page ${leaves[i + k]} is not a table leaf`);
      const cells = (run[head + 3] << 8) | run[head + 4];
      const end = base + usable;
      if (head + 8 + 2 * cells > end) damaged('cell count');
      for (let c = 0; c < cells; c++) {
        const cell = base + ((run[head + 8 + 2 * c] << 8) | run[head + 9 + 2 * c]);
        if (cell < head + 8 || cell >= end) damaged('cell pointer');
        // payload size, then rowid, as varints
        let p = cell; let size = 0; let b = 0; let n = 0;
        do { b = run[p++]; size = size * 128 + (b & 127); } while (b & 128 && ++n < 9);
        let rowid = 0; n = 0;
        const rowidAt = p;
        do { b = run[p++]; rowid = n === 8 ? rowid * 256 + b : rowid * 128 + (b & 127); } while (b & 128 && ++n < 9);
        if (p > end) damaged('cell header');
        // past 7 bytes (2^49) the double may round, and a 9-byte rowid is negative: decode exactly
        const exact = p - rowidAt > 7 ? longRowid(run, rowidAt) : null;
        row.rowid = exact === null ? rowid : Number(exact);
        if (size <= usable - 35) {
          if (p + size > end) damaged('payload size');
          row.buf = run;
          decodeRecord(run, runView, p, p + size, slotOf, nCols, row);
        } else {
          row.buf = assembleOverflow(pages, run, p, end, size, overflow);
          decodeRecord(row.buf, new DataView(row.buf.buffer, row.buf.byteOffset, row.buf.length), 0, size, slotOf, nCols, row);
        }
        if (rowidSlot >= 0) {
          if (exact === null) setInteger(row, rowidSlot, rowid); else setBigInteger(row, rowidSlot, exact);
        }
        visit(row);
        rows++;
      }
    }
    onRows?.(rows - before);
    i = j;
  }
  return rows;
}

/** Reads `count` pages from page number `first` (1-based) into `into`. */
function readPages(pages: PageFile, into: Buffer, first: number, count: number): void {
  const bytes = count * pages.pageSize;
  let got = 0;
  while (got < bytes) {
    const n = readSync(pages.fd, into, got, bytes - got, (first - 1) * pages.pageSize + got);
    if (n === 0) damaged('file shorter than its pages');
    got += n;
  }
}

/** Leaf page numbers of the table b-tree at `root`, in key order. */
export function leafPages(pages: PageFile, root: number): number[] {
  const leaves: number[] = [];
  const page = Buffer.alloc(pages.pageSize);
  const stack = [root];
  let visited = 0;
  while (stack.length > 0) {
    const pg = stack.pop()!;
    if (pg < 1 || pg > pages.pageCount) damaged(`page number ${pg}`);
    if (++visited > pages.pageCount) damaged('b-tree loop');
    readPages(pages, page, pg, 1);
    const head = pg === 1 ? 100 : 0;
    const type = page[head];
    if (type === 13) { leaves.push(pg); continue; }
    if (type !== 5) throw new PagesUnsupported(`page ${pg} is not a table b-tree page`);
    const cells = page.readUInt16BE(head + 3);
    if (head + 12 + 2 * cells > pages.usable) damaged('cell count');
    const children: number[] = [];
    for (let c = 0; c < cells; c++) {
      const cell = page.readUInt16BE(head + 12 + 2 * c);
      if (cell + 4 > pages.usable) damaged('cell pointer');
      children.push(page.readUInt32BE(cell));
    }
    children.push(page.readUInt32BE(head + 8));
    for (let c = children.length - 1; c >= 0; c--) stack.push(children[c]);
  }
  return leaves;
}

/** A payload larger than a leaf holds: the local part, then the chain of overflow pages (§1.6). */
function assembleOverflow(pages: PageFile, run: Buffer, p: number, end: number, size: number, scratch: { buf: Buffer }): Buffer {
  const u = pages.usable;
  const x = u - 35;
  const m = Math.floor(((u - 12) * 32) / 255) - 23;
  const k = m + ((size - m) % (u - 4));
  const local = k <= x ? k : m;
  if (p + local + 4 > end) damaged('overflow cell');
  // a damaged size must not become a huge allocation: the chain cannot hold more than every page
  if (size - local > pages.pageCount * (u - 4)) damaged('payload size past the file');
  if (scratch.buf.length < size) scratch.buf = Buffer.alloc(Math.max(size, 2 * scratch.buf.length));
  const out = scratch.buf;
  run.copy(out, 0, p, p + local);
  let got = local;
  let next = run.readUInt32BE(p + local);
  const page = Buffer.alloc(pages.pageSize);
  let hops = 0;
  while (got < size) {
    if (next < 1 || next > pages.pageCount || ++hops > pages.pageCount) damaged('overflow chain');
    readPages(pages, page, next, 1);
    const take = Math.min(u - 4, size - got);
    page.copy(out, got, 4, 4 + take);
    got += take;
    next = page.readUInt32BE(0);
  }
  return out;
}

function setInteger(row: Row, s: number, v: number): void {
  row.kind[s] = Kind.Integer; row.num[s] = v;
  row.hi[s] = Math.floor(v / 4294967296); row.lo[s] = v >>> 0;
}

function setBigInteger(row: Row, s: number, v: bigint): void {
  row.kind[s] = Kind.Integer; row.num[s] = Number(v);
  row.hi[s] = Number(BigInt.asIntN(32, v >> 32n)); row.lo[s] = Number(BigInt.asUintN(32, v));
}

/**
 * Decodes the record in buf[p, end) into the requested slots. Columns past the record's end
 * (added by ALTER TABLE after it was written) are NULL. Integers are assembled from bytes here
 * rather than with Buffer's readers: this loop runs for every value of every row.
 */
function decodeRecord(buf: Buffer, dv: DataView, p: number, end: number, slotOf: Int16Array, nCols: number, row: Row): void {
  let headerSize = 0; let b = 0; let n = 0;
  do { b = buf[p + n]; headerSize = headerSize * 128 + (b & 127); n++; } while (b & 128 && n < 9);
  const headerEnd = p + headerSize;
  if (headerEnd > end || headerSize < n) damaged('record header');
  let h = p + n;
  let q = headerEnd;
  const { num, kind, hi, lo, textAt, textLen } = row;
  for (let col = 0; col < nCols; col++) {
    const s = slotOf[col];
    if (h >= headerEnd) {
      if (s >= 0) { kind[s] = Kind.Null; num[s] = 0; }
      continue;
    }
    let t = buf[h++];
    if (t > 127) {
      t &= 127; n = 1;
      do { b = buf[h++]; t = t * 128 + (b & 127); } while (b & 128 && ++n < 9);
    }
    const len = t < 12 ? SIZE_OF_TYPE[t] : (t - 12) >>> 1;
    if (q + len > end || h > headerEnd) damaged('record body');
    if (s >= 0) {
      let hv = 0; let lv = 0;
      switch (t) {
        case 0: kind[s] = Kind.Null; num[s] = 0; q += len; continue;
        case 1: lv = (buf[q] << 24) >> 24; break;
        case 2: lv = ((buf[q] << 24) >> 16) | buf[q + 1]; break;
        case 3: lv = ((buf[q] << 24) >> 8) | (buf[q + 1] << 8) | buf[q + 2]; break;
        case 4: lv = (buf[q] << 24) | (buf[q + 1] << 16) | (buf[q + 2] << 8) | buf[q + 3]; break;
        case 5:
          hv = ((buf[q] << 24) >> 16) | buf[q + 1];
          lv = ((buf[q + 2] << 24) | (buf[q + 3] << 16) | (buf[q + 4] << 8) | buf[q + 5]) >>> 0;
          break;
        case 6:
          hv = (buf[q] << 24) | (buf[q + 1] << 16) | (buf[q + 2] << 8) | buf[q + 3];
          lv = ((buf[q + 4] << 24) | (buf[q + 5] << 16) | (buf[q + 6] << 8) | buf[q + 7]) >>> 0;
          break;
        case 7: kind[s] = Kind.Real; num[s] = dv.getFloat64(q); q += len; continue;
        case 8: lv = 0; break;
        case 9: lv = 1; break;
        // biome-ignore lint/suspicious/noFallthroughSwitchClause: damaged() throws
        case 10: case 11: damaged('reserved serial type');
        default:
          kind[s] = t & 1 ? Kind.Text : Kind.Blob; textAt[s] = q; textLen[s] = len; q += len; continue;
      }
      kind[s] = Kind.Integer;
      if (t === 5 || t === 6) { hi[s] = hv; lo[s] = lv; num[s] = hv * 4294967296 + lv; } else { hi[s] = lv < 0 ? -1 : 0; lo[s] = lv >>> 0; num[s] = lv; }
    }
    q += len;
  }
}

/** Bytes of a value by serial type, for types 0-11 (12 and up: blob or text of (t - 12) / 2 bytes). */
const SIZE_OF_TYPE = new Uint8Array([0, 1, 2, 3, 4, 6, 8, 8, 0, 0, 0, 0]);
