/**
 * Mutations of nsys SQLite exports, the ways real files arrive broken: cut short, bit-flipped,
 * edited by hand (tables and columns dropped or renamed, NULLs, swapped or absurd times, ids
 * that collide or are missing) and names crafted against a terminal or a report viewer.
 * Everything is driven by a seeded generator so a failing case can be replayed by its number;
 * SQL never uses random(), whose choices the seed would not fix.
 */
import Database from 'better-sqlite3';
import { BYTE_MUTATIONS } from './mutate-bytes.js';
import { Rng } from './rng.js';

export { Rng };

export interface Applied {
  name: string;
  detail: string;
}

export const EVENT_TABLES = [
  'CUPTI_ACTIVITY_KIND_KERNEL', 'CUPTI_ACTIVITY_KIND_RUNTIME', 'CUPTI_ACTIVITY_KIND_DRIVER',
  'CUPTI_ACTIVITY_KIND_MEMCPY', 'CUPTI_ACTIVITY_KIND_MEMSET', 'CUPTI_ACTIVITY_KIND_SYNCHRONIZATION', 'NVTX_EVENTS',
] as const;

const LIMIT53 = 2n ** 53n;
/** Times past 2^53 (inexact as doubles), at the int64 limits, negative, and a REAL far past int64. */
const HUGE_TIMES: readonly (bigint | number)[] = [
  LIMIT53 + 1n, LIMIT53 * 3n, 2n ** 62n, 2n ** 63n - 1n, -(2n ** 63n), -(LIMIT53 + 7n), -1n, 0n, 1e300, -1e300,
];

/** Strings crafted to break out of HTML, JSON, a terminal or a line-oriented log. */
export const HOSTILE_STRINGS: readonly string[] = [
  '</script><script>alert(1)</script>',
  '<img src=x onerror=alert(document.domain)>',
  '<!--<script>',
  '"><svg onload=alert(1)>',
  "'; alert(1); //",
  '${alert(1)}{{constructor.constructor("alert(1)")()}}',
  '\u202eexpert_0\u202c \u200fRTL\u200e mixed \u2066isolate\u2069',
  'line1\nline2\r\nline3\u2028line4\u2029end',
  '\u001b[31mred\u001b[0m \u001b]0;pwned\u0007 bell\u0007 back\b\b nul\u0000after',
  'tab\there \u0085nel \u009bcsi',
  '\ud800 lone surrogate \udfff',
  'emoji 🧨 and combining e\u0301\u0301\u0301',
  '',
  ' ',
  '&lt;&amp;&#x3c;',
  '\\u003c/script\\u003e',
];

export function megabyteName(r: Rng): string {
  const unit = r.pick(['A', 'é', '<b>', '\u202e', 'x\u0000']);
  return unit.repeat(Math.ceil((1 << 20) / unit.length));
}

// ---------- SQL-level mutations (a valid database with content nsys would not write) ----------

export type SqlMutation = (db: Database.Database, r: Rng) => Applied | null;

const q = (name: string): string => `"${name.replace(/"/g, '""')}"`;

export function tablesOf(db: Database.Database): string[] {
  return db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").pluck().all() as string[];
}

export function columnsOf(db: Database.Database, table: string): string[] {
  return db.prepare('SELECT name FROM pragma_table_info(?)').pluck().all(table) as string[];
}

/** A deterministic subset of rows: every row (k = 1) or about one in k. */
function subset(r: Rng): string {
  const k = r.pick([1, 1, 2, 3, 10]);
  return k === 1 ? '1' : `(rowid * ${1 + r.int(97)} + ${r.int(k)}) % ${k} = 0`;
}

/** Rebuilds a table without its NOT NULL/PRIMARY KEY constraints so any value fits. */
function unconstrain(db: Database.Database, table: string, keep?: string[]): void {
  const cols = (keep ?? columnsOf(db, table)).map(q).join(', ');
  db.exec(`CREATE TABLE "fuzz_tmp" AS SELECT ${cols} FROM ${q(table)}; DROP TABLE ${q(table)}; ALTER TABLE "fuzz_tmp" RENAME TO ${q(table)}`);
}

/** An event table present in the file, or any table when none is. */
function eventTable(db: Database.Database, r: Rng, needs: string[] = []): string | null {
  const all = tablesOf(db);
  const fit = (t: string): boolean => needs.every((c) => columnsOf(db, t).includes(c));
  const events = all.filter((t) => (EVENT_TABLES as readonly string[]).includes(t) && fit(t));
  if (events.length > 0) return r.pick(events);
  const rest = all.filter(fit);
  return rest.length > 0 ? r.pick(rest) : null;
}

const IMPORTANT_TABLES = [...EVENT_TABLES, 'StringIds', 'TARGET_INFO_GPU', 'TARGET_INFO_CUDA_GPU', 'PROCESSES', 'ThreadNames', 'META_DATA_EXPORT', 'EXPORT_META_DATA'];

const dropTable: SqlMutation = (db, r) => {
  const all = tablesOf(db);
  const important = all.filter((t) => IMPORTANT_TABLES.includes(t));
  const t = r.chance(0.8) && important.length > 0 ? r.pick(important) : r.pick(all);
  db.exec(`DROP TABLE ${q(t)}`);
  return { name: 'drop-table', detail: t };
};

const KEY_COLUMNS = ['start', 'end', 'deviceId', 'streamId', 'correlationId', 'globalPid', 'globalTid', 'shortName', 'demangledName', 'nameId', 'eventType', 'text', 'textId', 'id', 'value', 'smCount', 'name'];

function pickColumn(db: Database.Database, r: Rng, t: string): string {
  const cols = columnsOf(db, t);
  const keys = cols.filter((c) => KEY_COLUMNS.includes(c));
  return r.chance(0.8) && keys.length > 0 ? r.pick(keys) : r.pick(cols);
}

const dropColumn: SqlMutation = (db, r) => {
  const t = r.chance(0.3) ? r.pick(tablesOf(db)) : eventTable(db, r);
  if (t === null || columnsOf(db, t).length < 2) return null;
  const c = pickColumn(db, r, t);
  unconstrain(db, t, columnsOf(db, t).filter((x) => x !== c));
  return { name: 'drop-column', detail: `${t}.${c}` };
};

const renameColumn: SqlMutation = (db, r) => {
  const t = r.chance(0.3) ? r.pick(tablesOf(db)) : eventTable(db, r);
  if (t === null) return null;
  const cols = columnsOf(db, t);
  if (cols.includes('start') && cols.includes('end') && r.chance(0.3)) {
    db.exec(`ALTER TABLE ${q(t)} RENAME COLUMN start TO fuzz_s; ALTER TABLE ${q(t)} RENAME COLUMN "end" TO start; ALTER TABLE ${q(t)} RENAME COLUMN fuzz_s TO "end"`);
    return { name: 'rename-column', detail: `${t}: start and end names swapped` };
  }
  const c = pickColumn(db, r, t);
  // Column names are case-insensitive in SQL but not in every reader's lookup table.
  const to = r.pick([`${c}_old`, c.toUpperCase() === c ? `${c}_x` : c.toUpperCase(), `${c} `, '<b>col</b>']);
  if (cols.includes(to)) return null;
  db.exec(`ALTER TABLE ${q(t)} RENAME COLUMN ${q(c)} TO ${q(to)}`);
  return { name: 'rename-column', detail: `${t}.${c} → ${to}` };
};

const setNull: SqlMutation = (db, r) => {
  const t = r.chance(0.2) ? r.pick(tablesOf(db)) : eventTable(db, r);
  if (t === null) return null;
  const c = pickColumn(db, r, t);
  unconstrain(db, t);
  const n = db.prepare(`UPDATE ${q(t)} SET ${q(c)} = NULL WHERE ${subset(r)}`).run().changes;
  return { name: 'set-null', detail: `${t}.${c} in ${n} rows` };
};

const swapStartEnd: SqlMutation = (db, r) => {
  const t = eventTable(db, r, ['start', 'end']);
  if (t === null) return null;
  // SQLite evaluates every right-hand side with the old row, so this swaps.
  // NVTX marks have no end; swapping one in would break the NOT NULL start.
  const n = db.prepare(`UPDATE ${q(t)} SET start = "end", "end" = start WHERE "end" IS NOT NULL AND ${subset(r)}`).run().changes;
  return { name: 'swap-start-end', detail: `${t}, ${n} rows` };
};

const hugeTimes: SqlMutation = (db, r) => {
  const t = eventTable(db, r, ['start', 'end']);
  if (t === null) return null;
  if (r.chance(0.4)) {
    // The whole trace moved past 2^53 (or below -2^53): consistent, just not exact as doubles.
    const shift = r.pick([2n ** 60n, -(2n ** 60n), LIMIT53, 2n ** 62n]);
    const moved: string[] = [];
    for (const e of tablesOf(db).filter((x) => (EVENT_TABLES as readonly string[]).includes(x))) {
      const cols = columnsOf(db, e);
      if (!cols.includes('start')) continue;
      db.prepare(`UPDATE ${q(e)} SET start = start + ?${cols.includes('end') ? ', "end" = "end" + ?' : ''}`).run(...(cols.includes('end') ? [shift, shift] : [shift]));
      moved.push(e);
    }
    return { name: 'huge-times', detail: `all times + ${shift}` };
  }
  const s = r.pick(HUGE_TIMES); const e = r.chance(0.5) ? s : r.pick(HUGE_TIMES);
  const n = db.prepare(`UPDATE ${q(t)} SET start = ?, "end" = ? WHERE ${subset(r)}`).run(s, e).changes;
  return { name: 'huge-times', detail: `${t}: ${n} rows start=${s} end=${e}` };
};

const wrongTypes: SqlMutation = (db, r) => {
  const t = r.chance(0.2) ? r.pick(tablesOf(db)) : eventTable(db, r);
  if (t === null) return null;
  const c = pickColumn(db, r, t);
  const v = r.pick<string | number | Buffer>(['abc', '12', '', 1.5, -0.5, 1e300, Number.NaN, Buffer.from([0, 255, 1]), 'NULL']);
  // NaN binds as NULL, which is its own test of NOT NULL handling; unconstrain first.
  unconstrain(db, t);
  const n = db.prepare(`UPDATE ${q(t)} SET ${q(c)} = ? WHERE ${subset(r)}`).run(Number.isNaN(v) ? null : v).changes;
  return { name: 'wrong-types', detail: `${t}.${c} = ${Buffer.isBuffer(v) ? 'blob' : JSON.stringify(v)} in ${n} rows` };
};

const correlationIds: SqlMutation = (db, r) => {
  const t = eventTable(db, r, ['correlationId']);
  if (t === null) return null;
  const how = r.int(4);
  if (how === 0) {
    const n = db.prepare(`UPDATE ${q(t)} SET correlationId = ? WHERE ${subset(r)}`).run(r.pick([1, 7, 0, -1])).changes;
    return { name: 'dup-correlation', detail: `${t}: ${n} rows share one correlationId` };
  }
  if (how === 1) {
    const n = db.prepare(`INSERT INTO ${q(t)} SELECT * FROM ${q(t)} WHERE ${subset(r)}`).run().changes;
    return { name: 'dup-correlation', detail: `${t}: ${n} rows duplicated` };
  }
  if (how === 2) {
    unconstrain(db, t);
    const n = db.prepare(`UPDATE ${q(t)} SET correlationId = NULL WHERE ${subset(r)}`).run().changes;
    return { name: 'missing-correlation', detail: `${t}: ${n} rows without correlationId` };
  }
  const n = db.prepare(`UPDATE ${q(t)} SET correlationId = correlationId + ? WHERE ${subset(r)}`).run(r.pick([1_000_000_000, 2 ** 52, -(2 ** 40)])).changes;
  return { name: 'missing-correlation', detail: `${t}: ${n} rows with unmatched correlationId` };
};

/** Text columns a report shows: names from StringIds, NVTX text, process, GPU and metadata names. */
const TEXT_TARGETS: readonly [string, string][] = [
  ['StringIds', 'value'], ['StringIds', 'value'], ['StringIds', 'value'], ['NVTX_EVENTS', 'text'],
  ['PROCESSES', 'name'], ['TARGET_INFO_GPU', 'name'], ['TARGET_INFO_CUDA_GPU', 'name'],
  ['META_DATA_EXPORT', 'value'], ['EXPORT_META_DATA', 'value'],
];

function textTarget(db: Database.Database, r: Rng): [string, string] | null {
  const present = TEXT_TARGETS.filter(([t, c]) => tablesOf(db).includes(t) && columnsOf(db, t).includes(c));
  return present.length > 0 ? r.pick(present) : null;
}

const hostileStrings: SqlMutation = (db, r) => {
  const target = textTarget(db, r);
  if (target === null) return null;
  const [t, c] = target;
  const rows = db.prepare(`SELECT rowid FROM ${q(t)} WHERE ${subset(r)}`).pluck().all() as number[];
  const set = db.prepare(`UPDATE ${q(t)} SET ${q(c)} = ? WHERE rowid = ?`);
  for (const id of rows) set.run(r.pick(HOSTILE_STRINGS) + (r.chance(0.5) ? ` #${id}` : ''), id);
  if (r.chance(0.2)) {
    // Bytes that are not UTF-8, stored as TEXT: what a hand-edited or mis-encoded export holds.
    db.prepare(`UPDATE ${q(t)} SET ${q(c)} = CAST(X'c328ffa0e282' AS TEXT) WHERE rowid = ?`).run(rows[0] ?? 1);
  }
  return { name: 'hostile-strings', detail: `${t}.${c} in ${rows.length} rows` };
};

const hugeName: SqlMutation = (db, r) => {
  const target = textTarget(db, r);
  if (target === null) return null;
  const [t, c] = target;
  const name = megabyteName(r);
  const n = db.prepare(`UPDATE ${q(t)} SET ${q(c)} = ? WHERE rowid IN (SELECT rowid FROM ${q(t)} ORDER BY rowid LIMIT ?)`).run(name, 1 + r.int(3)).changes;
  return { name: 'huge-name', detail: `${t}.${c}: ${n} names of ${name.length} chars` };
};

const dupRows: SqlMutation = (db, r) => {
  const t = eventTable(db, r);
  if (t === null) return null;
  const n = db.prepare(`INSERT INTO ${q(t)} SELECT * FROM ${q(t)} WHERE ${subset(r)}`).run().changes;
  return { name: 'dup-rows', detail: `${t}: ${n} rows duplicated` };
};

const emptyTable: SqlMutation = (db, r) => {
  const t = r.chance(0.7) ? eventTable(db, r) : r.pick(tablesOf(db));
  if (t === null) return null;
  db.exec(`DELETE FROM ${q(t)}`);
  return { name: 'empty-table', detail: t };
};

const ODD_IDS: readonly (bigint | number)[] = [-1n, 0n, 2n ** 31n, 2n ** 32n + 5n, 2n ** 40n, -(2n ** 63n), 2n ** 63n - 1n, 4294967295n];

const weirdIds: SqlMutation = (db, r) => {
  const t = eventTable(db, r);
  if (t === null) return null;
  const idCols = columnsOf(db, t).filter((c) => ['deviceId', 'streamId', 'contextId', 'globalPid', 'globalTid', 'eventClass', 'copyKind', 'srcKind', 'syncType', 'bytes', 'gridX', 'blockX', 'registersPerThread', 'domainId'].includes(c));
  if (idCols.length === 0) return null;
  const c = r.pick(idCols); const v = r.pick(ODD_IDS);
  const n = db.prepare(`UPDATE ${q(t)} SET ${q(c)} = ? WHERE ${subset(r)}`).run(v).changes;
  return { name: 'weird-ids', detail: `${t}.${c} = ${v} in ${n} rows` };
};

const nvtxChaos: SqlMutation = (db, r) => {
  if (!tablesOf(db).includes('NVTX_EVENTS')) return null;
  unconstrain(db, 'NVTX_EVENTS');
  const type = r.pick([34, 59, 60, 75, 0, -1, 999]);
  const n = db.prepare(`UPDATE NVTX_EVENTS SET eventType = ?, "end" = CASE WHEN ? THEN NULL ELSE "end" END WHERE ${subset(r)}`).run(type, r.chance(0.5) ? 1 : 0).changes;
  return { name: 'nvtx-chaos', detail: `${n} events of type ${type}` };
};

const gpuChaos: SqlMutation = (db, r) => {
  const t = ['TARGET_INFO_GPU', 'TARGET_INFO_CUDA_GPU', 'TARGET_INFO_CUDA_DEVICE'].find((x) => tablesOf(db).includes(x));
  if (t === undefined) return null;
  const c = r.pick(columnsOf(db, t).filter((x) => /smCount|numMultiprocessors|id|deviceId|gpuId|Warp|Block|Shmem|Shared|Registers|threadsPerWarp/i.test(x)));
  if (c === undefined) return null;
  unconstrain(db, t);
  if (r.chance(0.3)) db.exec(`INSERT INTO ${q(t)} SELECT * FROM ${q(t)}`);
  const v = r.pick<bigint | number | null>([0n, -1n, null, 2n ** 40n, 1e300, 2n ** 63n - 1n]);
  const n = db.prepare(`UPDATE ${q(t)} SET ${q(c)} = ?`).run(v).changes;
  return { name: 'gpu-chaos', detail: `${t}.${c} = ${v} in ${n} rows` };
};

const junkTable: SqlMutation = (db, r) => {
  const name = r.pick(['CUPTI_ACTIVITY_KIND_"evil', '<script>alert(1)</script>', 'TARGET_INFO_\u202eGPU', 'ENUM_NSYS_X; DROP TABLE StringIds']);
  if (tablesOf(db).includes(name)) return null;
  db.exec(`CREATE TABLE ${q(name)} (start INTEGER, ${q('end')} INTEGER, ${q('<img src=x onerror=alert(1)>')} TEXT)`);
  db.prepare(`INSERT INTO ${q(name)} VALUES (1, 0, ?)`).run(r.pick(HOSTILE_STRINGS));
  return { name: 'junk-table', detail: name };
};

const walMode: SqlMutation = (db) => {
  db.pragma('journal_mode = WAL');
  return { name: 'wal-mode', detail: 'journal_mode=WAL' };
};

export const SQL_MUTATIONS: readonly SqlMutation[] = [
  dropTable, dropColumn, renameColumn, setNull, setNull, swapStartEnd, swapStartEnd, hugeTimes, hugeTimes,
  wrongTypes, correlationIds, correlationIds, hostileStrings, hostileStrings, hostileStrings, hugeName,
  dupRows, emptyTable, weirdIds, nvtxChaos, gpuChaos, junkTable, walMode,
];

export interface Mutated {
  applied: Applied[];
  /** kernel rows the reader must drop and report, counted on the final file; null after byte damage */
  kernelTimes: { inverted: number; noTime: number } | null;
}

function kernelTimes(db: Database.Database): Mutated['kernelTimes'] {
  const t = 'CUPTI_ACTIVITY_KIND_KERNEL';
  const cols = tablesOf(db).includes(t) ? columnsOf(db, t) : [];
  if (!cols.includes('start') || !cols.includes('end')) return null;
  // A time is a number: NULL, text and blob are no time (the file was edited by hand).
  const timed = `typeof(start) IN ('integer', 'real') AND typeof("end") IN ('integer', 'real')`;
  const [inverted, noTime] = db.prepare(`SELECT TOTAL(${timed} AND "end" < start), TOTAL(NOT (${timed})) FROM ${t}`).raw(true).get() as [number, number];
  return { inverted, noTime };
}

/**
 * Applies 1–3 SQL mutations and, when asked, one byte mutation on top (sometimes alone).
 * SQL mutations that do not fit the file (no such table) are skipped and another is drawn.
 */
export function mutate(path: string, r: Rng, opts: { bytes: boolean }): Mutated {
  const applied: Applied[] = [];
  let facts: Mutated['kernelTimes'] = null;
  const wanted = opts.bytes && r.chance(0.4) ? 0 : 1 + r.int(3);
  if (wanted > 0) {
    const db = new Database(path);
    try {
      db.pragma('journal_mode = DELETE');
      // a scratch copy: durability buys nothing and fsyncs cost more than the edits
      db.pragma('synchronous = OFF');
      // Old exports declare REFERENCES to tables they never created; enforcing them blocks every edit.
      db.pragma('foreign_keys = OFF');
      for (let tries = 0; applied.length < wanted && tries < 20; tries++) {
        const m = r.pick(SQL_MUTATIONS);
        let a: Applied | null;
        try {
          a = m(db, r);
        } catch (e) {
          throw new Error(`${m.name} after [${applied.map((x) => x.name).join(', ')}]: ${(e as Error).message}`);
        }
        if (a) applied.push(a);
      }
      facts = kernelTimes(db);
    } finally {
      db.close();
    }
  }
  if (opts.bytes) {
    applied.push(r.pick(BYTE_MUTATIONS)(path, r));
    facts = null;
  }
  return { applied, kernelTimes: facts };
}
