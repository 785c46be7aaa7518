/**
 * Small SQLite files for the page-reader tests (readers/pages.ts): built statement by statement
 * so a test can choose the page size, the journal mode, ALTER TABLE between inserts and values
 * of any storage class; and the same file read both ways, from the pages and through SQL only.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { NSYS_SHAPES } from './nsys-shapes.js';
import { tempDir } from './make-sqlite.js';
import { readNsysSqlite, type ReadOptions } from '../../src/readers/nsys-sqlite.js';
import type { Trace } from '../../src/model/trace.js';

/** nsys 2024.6 column lists with NOT NULL dropped, so any column can hold NULL. */
export const NULLABLE = Object.fromEntries(Object.entries(NSYS_SHAPES['2024.6']).map(([t, cols]) =>
  [t, cols.replace(/ NOT NULL/g, '')])) as Record<string, string>;
NULLABLE.CUPTI_ACTIVITY_KIND_MEMCPY = NSYS_SHAPES['2026.1'].CUPTI_ACTIVITY_KIND_MEMCPY.replace(/ NOT NULL/g, '');

export type Cell = number | bigint | string | Buffer | null;

export interface FileOptions { pageSize?: number; wal?: boolean }

/**
 * Creates a file in a fresh temp dir (make-sqlite.ts's tempDir: removeTempDirs() cleans up),
 * runs `build` in one transaction and closes the connection (a WAL file is checkpointed and its
 * -wal removed by the close, so the reader finds the header alone saying WAL).
 */
export function buildFile(build: (db: Database.Database) => void, opts: FileOptions = {}): string {
  const path = join(tempDir(), 'report.sqlite');
  const db = new Database(path);
  try {
    // page_size only takes effect before the first table is written
    if (opts.pageSize) db.pragma(`page_size = ${opts.pageSize}`);
    if (opts.wal) db.pragma('journal_mode = WAL');
    db.transaction(() => build(db))();
  } finally {
    db.close();
  }
  return path;
}

/** CREATE TABLE with the nullable nsys columns of `table` (or `columns` when given). */
export function createTable(db: Database.Database, table: string, columns = NULLABLE[table]): void {
  db.exec(`CREATE TABLE ${table} (${columns})`);
}

/** Inserts rows given as column → value; omitted columns are NULL. */
export function insertRows(db: Database.Database, table: string, rows: Record<string, Cell>[]): void {
  const stmts = new Map<string, Database.Statement>();
  for (const r of rows) {
    const cols = Object.keys(r);
    const key = cols.join(',');
    let st = stmts.get(key);
    if (!st) {
      st = db.prepare(`INSERT INTO ${table} (${cols.map((c) => `"${c}"`).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`);
      stmts.set(key, st);
    }
    st.run(...cols.map((c) => r[c]));
  }
}

/** StringIds with the given id → value rows. */
export function stringIds(db: Database.Database, strings: Record<number, string>): void {
  createTable(db, 'StringIds', NSYS_SHAPES['2024.6'].StringIds);
  insertRows(db, 'StringIds', Object.entries(strings).map(([id, value]) => ({ id: Number(id), value })));
}

export function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

export interface BothWays {
  /** read with the page reader allowed */
  pages: Trace;
  /** read with noPages: SQL only */
  sql: Trace;
  /** per table, how the last read of it went in the `pages` read (a read may run twice, see readOpen) */
  via: Record<string, 'pages' | 'sql' | 'workers'>;
  /** the same for the noPages read: must be 'sql' everywhere */
  viaSql: Record<string, 'pages' | 'sql' | 'workers'>;
}

/** Reads `path` twice, with and without the page reader, recording how each table was read. */
export function readBothWays(path: string, opts: ReadOptions = {}): BothWays {
  const via: Record<string, 'pages' | 'sql' | 'workers'> = {};
  const viaSql: Record<string, 'pages' | 'sql' | 'workers'> = {};
  const pages = readNsysSqlite(path, { ...opts, onTableRead: (t, v) => { via[t] = v; } });
  const sql = readNsysSqlite(path, { ...opts, noPages: true, onTableRead: (t, v) => { viaSql[t] = v; } });
  return { pages, sql, via, viaSql };
}

/** Page numbers and types ('leaf', 'internal', 'overflow') of a table's b-tree, from SQLite's dbstat. */
export function btreePages(path: string, table: string): { pageno: number; pagetype: string }[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare('SELECT pageno, pagetype FROM dbstat WHERE name = ? ORDER BY pageno').all(table) as { pageno: number; pagetype: string }[];
  } finally {
    db.close();
  }
}

/** The first `count` values of a column, as a plain array (typed arrays print poorly in diffs). */
export const head = (col: ArrayLike<number>, count: number): number[] => Array.from(col).slice(0, count);

/**
 * Where two traces differ, as paths (at most `limit`); [] when equal. Stricter than toEqual
 * (numbers by Object.is, so 0 and -0 differ and NaN equals NaN; typed arrays of the same class,
 * length and elements; the same keys) and ~50x faster on columns of 50k rows.
 */
export function traceDiff(a: unknown, b: unknown, limit = 10): string[] {
  const out: string[] = [];
  const show = (v: unknown): string => (Object.is(v, -0) ? '-0' : String(v));
  const walk = (x: unknown, y: unknown, path: string): void => {
    if (out.length >= limit) return;
    if (ArrayBuffer.isView(x) || ArrayBuffer.isView(y)) {
      if (!ArrayBuffer.isView(x) || !ArrayBuffer.isView(y) || x.constructor !== y.constructor) { out.push(`${path}: array class`); return; }
      const p = x as unknown as ArrayLike<number>; const q = y as unknown as ArrayLike<number>;
      if (p.length !== q.length) { out.push(`${path}: length ${p.length} vs ${q.length}`); return; }
      for (let i = 0; i < p.length; i++) {
        if (!Object.is(p[i], q[i])) { out.push(`${path}[${i}]: ${show(p[i])} vs ${show(q[i])}`); if (out.length >= limit) return; }
      }
      return;
    }
    if (typeof x !== 'object' || x === null || typeof y !== 'object' || y === null) {
      if (!Object.is(x, y)) out.push(`${path}: ${show(x)} vs ${show(y)}`);
      return;
    }
    if (Array.isArray(x) !== Array.isArray(y)) { out.push(`${path}: array vs object`); return; }
    const kx = Object.keys(x).sort(); const ky = Object.keys(y).sort();
    if (kx.join() !== ky.join()) { out.push(`${path}: keys ${kx.join()} vs ${ky.join()}`); return; }
    for (const k of kx) walk((x as Record<string, unknown>)[k], (y as Record<string, unknown>)[k], `${path}.${k}`);
  };
  walk(a, b, '');
  return out;
}
