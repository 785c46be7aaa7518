/**
 * Writes small SQLite files for tests: any tables (`writeSqlite`), or an nsys-shaped export in
 * one of the real schema shapes of nsys-shapes.ts (`writeNsysExport`), with kernel/API/NVTX
 * names given as plain strings and interned into StringIds the way nsys does.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { NSYS_SHAPES, type NsysShape } from './nsys-shapes.js';

export type Value = number | bigint | string | null | undefined;
export type Row = Record<string, Value>;

export interface TableSpec {
  name: string;
  /** column definitions as in CREATE TABLE, e.g. "start INTEGER NOT NULL, end INTEGER" */
  columns: string;
  rows?: Row[];
}

const made: string[] = [];

/** A fresh directory under the OS temp dir; removeTempDirs() deletes all of them. */
export function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'moe-trace-test-'));
  made.push(d);
  return d;
}

export function removeTempDirs(): void {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
}

interface ColumnDef { name: string; notNull: boolean; text: boolean }

function parseColumns(columns: string): ColumnDef[] {
  return columns.split(',').map((c) => c.trim()).filter(Boolean).map((c) => {
    const [name, type = ''] = c.split(/\s+/);
    return { name, notNull: /NOT NULL/i.test(c), text: /^TEXT$/i.test(type) };
  });
}

/**
 * Creates the tables and inserts the rows. A missing value is NULL, or 0 ('' for TEXT) in a
 * NOT NULL column; a key that is not a column throws, so a typo cannot pass silently.
 */
export function writeSqlite(tables: TableSpec[], opts: { dir?: string; file?: string; wal?: boolean } = {}): string {
  const path = join(opts.dir ?? tempDir(), opts.file ?? 'report.sqlite');
  const db = new Database(path);
  try {
    if (opts.wal) db.pragma('journal_mode = WAL');
    db.transaction(() => {
      for (const t of tables) {
        const cols = parseColumns(t.columns);
        db.exec(`CREATE TABLE ${t.name} (${t.columns})`);
        if (!t.rows?.length) continue;
        const insert = db.prepare(`INSERT INTO ${t.name} (${cols.map((c) => `"${c.name}"`).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`);
        const known = new Set(cols.map((c) => c.name));
        for (const row of t.rows) {
          for (const k of Object.keys(row)) if (!known.has(k)) throw new Error(`${t.name} has no column ${k}`);
          insert.run(cols.map((c) => row[c.name] ?? (c.notNull ? (c.text ? '' : 0) : null)));
        }
      }
    })();
  } finally {
    db.close();
  }
  return path;
}

/** nsys globalPid: vmId in bits 48-55, pid in bits 24-47. */
export function globalPid(pid: number, vmId = 1n): bigint {
  return (vmId << 48n) | (BigInt(pid) << 24n);
}

export function globalTid(pid: number, tid: number, vmId = 1n): bigint {
  return globalPid(pid, vmId) | BigInt(tid);
}

export interface NsysContent {
  kernels?: Row[];
  runtime?: Row[];
  driver?: Row[];
  memcpy?: Row[];
  memset?: Row[];
  sync?: Row[];
  nvtx?: Row[];
  /** TARGET_INFO_GPU rows (5-column shape in 2020.5, full from 2022.4) */
  gpus?: Row[];
  /** TARGET_INFO_CUDA_GPU rows (2020.x) */
  cudaGpus?: Row[];
  /** TARGET_INFO_CUDA_DEVICE rows (2026.1) */
  cudaDevices?: Row[];
  processes?: Row[];
  threadNames?: Row[];
  /** metadata rows added to (or overriding) the shape's defaults; ignored by shapes without metadata */
  meta?: Record<string, string>;
  sessionStart?: Row;
  /** extra StringIds rows (id → value), e.g. ids referenced on purpose without a string */
  strings?: Record<number, string>;
  /** more tables, e.g. a non-nsys table or a deliberately odd one */
  extraTables?: TableSpec[];
}

const DEFAULT_META: Partial<Record<NsysShape, Record<string, string>>> = {
  '2022.4': { EXPORT_PRODUCT_NAME: 'NVIDIA Nsight Systems', EXPORT_PRODUCT_VERSION: '2022.4.2.1', EXPORT_SCHEMA_VERSION: '3.0.0' },
  '2024.6': { EXPORT_PRODUCT_NAME: 'NVIDIA Nsight Systems', EXPORT_PRODUCT_VERSION: '2024.6.2.225', EXPORT_SCHEMA_VERSION: '3.16.1' },
  '2026.1': { EXPORT_PRODUCT_NAME: 'NVIDIA Nsight Systems', EXPORT_PRODUCT_VERSION: '2026.1.1.204', EXPORT_SCHEMA_VERSION: '3.24.14' },
};

/** Columns that hold StringIds ids; a string given there is interned. */
const STRING_ID_COLUMNS = new Set(['shortName', 'demangledName', 'mangledName', 'nameId', 'textId']);
/** First StringIds id handed out: far from 0 so a reader confusing ids with indices fails. */
const FIRST_STRING_ID = 100;

/**
 * Writes an export in the given shape. Only tables with rows are created (as nsys does), plus
 * StringIds and the shape's metadata table. A driver table is not in any real shape; `driver`
 * rows create CUPTI_ACTIVITY_KIND_DRIVER with the runtime table's columns.
 */
export function writeNsysExport(shape: NsysShape, content: NsysContent, opts: { dir?: string; file?: string; wal?: boolean } = {}): string {
  const ddl = NSYS_SHAPES[shape];
  const strings = new Map<string, number>();
  const stringRows: Row[] = Object.entries(content.strings ?? {}).map(([id, value]) => ({ id: Number(id), value }));
  let next = FIRST_STRING_ID;
  const intern = (rows: Row[] | undefined): Row[] | undefined => rows?.map((r) => {
    const out: Row = { ...r };
    for (const [k, v] of Object.entries(r)) {
      if (!STRING_ID_COLUMNS.has(k) || typeof v !== 'string') continue;
      let id = strings.get(v);
      if (id === undefined) {
        id = next++;
        strings.set(v, id);
        stringRows.push({ id, value: v });
      }
      out[k] = id;
    }
    return out;
  });
  const metaTable = 'META_DATA_EXPORT' in ddl ? 'META_DATA_EXPORT' : 'EXPORT_META_DATA' in ddl ? 'EXPORT_META_DATA' : null;
  const meta = { ...DEFAULT_META[shape], ...content.meta };
  const wanted: [string, Row[] | undefined][] = [
    ['CUPTI_ACTIVITY_KIND_KERNEL', intern(content.kernels)],
    ['CUPTI_ACTIVITY_KIND_RUNTIME', intern(content.runtime)],
    ['CUPTI_ACTIVITY_KIND_MEMCPY', content.memcpy],
    ['CUPTI_ACTIVITY_KIND_MEMSET', content.memset],
    ['CUPTI_ACTIVITY_KIND_SYNCHRONIZATION', content.sync],
    ['NVTX_EVENTS', intern(content.nvtx)],
    ['TARGET_INFO_GPU', content.gpus],
    ['TARGET_INFO_CUDA_GPU', content.cudaGpus],
    ['TARGET_INFO_CUDA_DEVICE', content.cudaDevices],
    ['PROCESSES', content.processes],
    ['ThreadNames', intern(content.threadNames)],
    ['TARGET_INFO_SESSION_START_TIME', content.sessionStart ? [content.sessionStart] : undefined],
  ];
  const tables: TableSpec[] = [];
  for (const [name, rows] of wanted) {
    if (!rows?.length) continue;
    const columns = ddl[name];
    if (columns === undefined) throw new Error(`nsys ${shape} exports have no ${name} table`);
    tables.push({ name, columns, rows });
  }
  const driver = intern(content.driver);
  if (driver?.length) tables.push({ name: 'CUPTI_ACTIVITY_KIND_DRIVER', columns: ddl.CUPTI_ACTIVITY_KIND_RUNTIME, rows: driver });
  if (metaTable) tables.push({ name: metaTable, columns: ddl[metaTable], rows: Object.entries(meta).map(([name, value]) => ({ name, value })) });
  tables.push({ name: 'StringIds', columns: ddl.StringIds, rows: stringRows });
  tables.push(...(content.extraTables ?? []));
  return writeSqlite(tables, opts);
}
