/**
 * Recognises which nsys export schema a database has. nsys creates a table only when it has
 * data and adds columns over the years, so the reader asks this module which tables and
 * columns exist instead of assuming a version. See nsys-corpus/MANIFEST.md for the eras:
 * metadata none (≤ 2022.1) / EXPORT_META_DATA (2022.2 – 2023.1) / META_DATA_EXPORT (2023.3+);
 * GPU info TARGET_INFO_CUDA_GPU (2020.3), 5-column TARGET_INFO_GPU (2020.5), full
 * TARGET_INFO_GPU with smCount (2021.2+).
 */
import type Database from 'better-sqlite3';
import type { TableInfo, TraceMeta } from '../model/trace.js';

export interface NsysSchema {
  /** table name → its column names */
  columns: Map<string, Set<string>>;
  tables: TableInfo[];
  metadataTable: TraceMeta['schemaShape']['metadataTable'];
  gpuTable: TraceMeta['schemaShape']['gpuTable'];
  nsysVersion: string | null;
  exportSchemaVersion: string | null;
}

/** Tables only an nsys export has; one of them present makes a database an export. */
const NSYS_MARKERS = /^(StringIds|ThreadNames|NVTX_EVENTS|META_DATA_EXPORT|EXPORT_META_DATA|CUPTI_ACTIVITY_KIND_\w+|TARGET_INFO_\w+|ENUM_NSYS_\w+)$/;

export function has(schema: NsysSchema, table: string, column?: string): boolean {
  const cols = schema.columns.get(table);
  return cols !== undefined && (column === undefined || cols.has(column));
}

export function isNsysExport(schema: NsysSchema): boolean {
  for (const name of schema.columns.keys()) if (NSYS_MARKERS.test(name)) return true;
  return false;
}

/** A quoted SQL identifier, for the few names that come from sqlite_master. */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function detectSchema(db: Database.Database): NsysSchema {
  const columns = new Map<string, Set<string>>();
  const rows = db.prepare(
    "SELECT m.name AS t, p.name AS c FROM sqlite_master AS m JOIN pragma_table_info(m.name) AS p WHERE m.type = 'table' ORDER BY m.name",
  ).raw(true).all() as [string, string][];
  for (const [t, c] of rows) {
    let set = columns.get(t);
    if (!set) columns.set(t, (set = new Set()));
    set.add(c);
  }
  const tables: TableInfo[] = [...columns.keys()].map((name) => ({
    name,
    rows: Number(db.prepare(`SELECT COUNT(*) FROM ${ident(name)}`).pluck().get()),
  }));
  const schema: NsysSchema = {
    columns, tables, metadataTable: null, gpuTable: null, nsysVersion: null, exportSchemaVersion: null,
  };
  for (const t of ['META_DATA_EXPORT', 'EXPORT_META_DATA'] as const) {
    if (!has(schema, t, 'name') || !has(schema, t, 'value')) continue;
    schema.metadataTable = t;
    const meta = new Map(db.prepare(`SELECT name, value FROM ${t}`).raw(true).all() as [string, string | null][]);
    schema.nsysVersion = meta.get('EXPORT_PRODUCT_VERSION') ?? null;
    schema.exportSchemaVersion = meta.get('EXPORT_SCHEMA_VERSION') ?? null;
    break;
  }
  if (has(schema, 'TARGET_INFO_GPU', 'smCount')) schema.gpuTable = 'TARGET_INFO_GPU';
  else if (has(schema, 'TARGET_INFO_GPU', 'deviceId')) schema.gpuTable = 'TARGET_INFO_GPU_5COL';
  else if (has(schema, 'TARGET_INFO_CUDA_GPU')) schema.gpuTable = 'TARGET_INFO_CUDA_GPU';
  return schema;
}
