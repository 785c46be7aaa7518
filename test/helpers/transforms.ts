/**
 * The page-reader audit's method as code: valid rewrites of a real export that change how its
 * bytes lie in the file (page size, reserved bytes, auto-vacuum pointer maps, records shorter
 * than the table after ADD COLUMN, overflow chains, a stale main file beside a -wal, ...) but not
 * what SQLite reads from it, or change it in one known way. differential.test.ts (a fast subset)
 * and differential.long.test.ts (every fixture, every transform) read each rewrite from the pages
 * and through SQL and compare the whole Report with the original's.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { tempDir } from './make-sqlite.js';

export const KERNEL = 'CUPTI_ACTIVITY_KIND_KERNEL';
export const ACTIVITY = ['CUPTI_ACTIVITY_KIND_KERNEL', 'CUPTI_ACTIVITY_KIND_RUNTIME', 'CUPTI_ACTIVITY_KIND_MEMCPY',
  'CUPTI_ACTIVITY_KIND_MEMSET', 'CUPTI_ACTIVITY_KIND_SYNCHRONIZATION', 'NVTX_EVENTS'];

/**
 * What a rewrite does to the Report: `same` (identical), `warning` (identical but for one more
 * warning matching the pattern) or `input-error` (one clear InputError line, both ways).
 */
export type Expect = { same: true } | { warning: RegExp } | { inputError: RegExp };

export interface Transform {
  name: string;
  /** whether the kernel table is still read from the pages after the rewrite */
  kernelsVia: 'pages' | 'sql';
  expect: Expect;
  /** writes the rewrite of `source` into a fresh directory; returns its path */
  apply: (source: string) => string;
  /** needs Debian's sqlite3 shell (reserved bytes are only settable through its .filectrl) */
  shell?: boolean;
}

export const hasShell = spawnSync('sqlite3', ['-version']).status === 0;

const q = (name: string): string => `"${name.replaceAll('"', '""')}"`;

function tables(db: Database.Database): string[] {
  return (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[]);
}

/** A copy of `source` in a fresh directory, changed by `edit` on a read-write connection. */
function rewrite(source: string, edit: (db: Database.Database) => void): string {
  const out = join(tempDir(), 'report.sqlite');
  copyFileSync(source, out);
  const db = new Database(out);
  // better-sqlite3 enforces foreign keys by default; exports reference tables they lack
  db.pragma('foreign_keys = OFF');
  try {
    edit(db);
  } finally {
    db.close();
  }
  return out;
}

interface Col { name: string; type: string; notnull: number; pk: number }

/**
 * Re-creates `table` with its columns (same names, types and rows in rowid order) as `make`
 * declares them: `make` gets the column definitions and returns the CREATE TABLE body. `rowid`
 * keeps the rowids.
 */
function rebuild(db: Database.Database, table: string, make: (defs: string[], cols: Col[]) => string, opts: { rowid?: boolean; extra?: [string, string] } = {}): void {
  const cols = db.prepare(`PRAGMA table_info(${q(table)})`).all() as Col[];
  const defs = cols.map((c) => `${q(c.name)} ${c.type}${c.notnull ? ' NOT NULL' : ''}`);
  const tmp = `${table}__new`;
  db.exec(`CREATE TABLE ${q(tmp)} (${make(defs, cols)})`);
  const names = cols.map((c) => q(c.name));
  const into = [...(opts.rowid ? ['rowid'] : []), ...names, ...(opts.extra ? [q(opts.extra[0])] : [])];
  const from = [...(opts.rowid ? ['rowid'] : []), ...names, ...(opts.extra ? [opts.extra[1]] : [])];
  db.exec(`INSERT INTO ${q(tmp)} (${into.join(', ')}) SELECT ${from.join(', ')} FROM ${q(table)} ORDER BY rowid`);
  db.exec(`DROP TABLE ${q(table)}`);
  db.exec(`ALTER TABLE ${q(tmp)} RENAME TO ${q(table)}`);
}

/** The table a transform changes: the kernels, or the CUDA API calls of an export without kernels. */
export function mainTable(file: string): string {
  const db = new Database(file, { readonly: true });
  try {
    return tables(db).includes(KERNEL) ? KERNEL : 'CUPTI_ACTIVITY_KIND_RUNTIME';
  } finally {
    db.close();
  }
}

/** The activity tables `db` holds with at least one row. */
function activity(db: Database.Database): string[] {
  const have = new Set(tables(db));
  return ACTIVITY.filter((t) => have.has(t) && db.prepare(`SELECT COUNT(*) FROM ${q(t)}`).pluck().get() as number > 0);
}

export function pageSize(size: number): Transform {
  return {
    name: `page size ${size}`, kernelsVia: 'pages', expect: { same: true },
    apply: (src) => rewrite(src, (db) => { db.pragma('journal_mode = DELETE'); db.pragma(`page_size = ${size}`); db.exec('VACUUM'); }),
  };
}

export function reservedBytes(n: number, size = 4096): Transform {
  return {
    name: `${n} reserved bytes a page (${size})`, kernelsVia: 'pages', expect: { same: true }, shell: true,
    apply: (src) => {
      const out = join(tempDir(), 'report.sqlite');
      copyFileSync(src, out);
      const r = spawnSync('sqlite3', [out], { input: `PRAGMA journal_mode = DELETE;\nPRAGMA page_size = ${size};\n.filectrl reserve_bytes ${n}\nVACUUM;\n`, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`sqlite3: ${r.stderr}`);
      if (readFileSync(out)[20] !== n) throw new Error(`reserve_bytes ${n} did not take`);
      return out;
    },
  };
}

export function autoVacuum(mode: 'FULL' | 'INCREMENTAL', size = 1024): Transform {
  return {
    name: `auto_vacuum ${mode} (pointer-map pages, ${size})`, kernelsVia: 'pages', expect: { same: true },
    apply: (src) => rewrite(src, (db) => {
      db.pragma('journal_mode = DELETE'); db.pragma(`page_size = ${size}`); db.pragma(`auto_vacuum = ${mode}`); db.exec('VACUUM');
      // a freelist and moved pages: delete a table's worth of rows from an unread table and vacuum incrementally
      db.exec('CREATE TABLE scratch (x TEXT)');
      const st = db.prepare('INSERT INTO scratch VALUES (?)');
      for (let i = 0; i < 200; i++) st.run('x'.repeat(500));
      db.exec('DROP TABLE scratch');
      if (mode === 'INCREMENTAL') db.pragma('incremental_vacuum(5)');
    }),
  };
}

/**
 * Columns the reader reads that are NULL in every row move to the end of their table through
 * ALTER TABLE ADD COLUMN, so the existing records are shorter than the table: those columns read
 * NULL from past a record's end. A column a record does hold (a new row after the ALTER) reads as stored.
 */
export const addColumn: Transform = {
  name: 'ALTER TABLE ADD COLUMN (records shorter than the table)', kernelsVia: 'pages', expect: { same: true },
  apply: (src) => rewrite(src, (db) => {
    for (const t of activity(db)) {
      const cols = db.prepare(`PRAGMA table_info(${q(t)})`).all() as Col[];
      const empty = cols.filter((c) => c.pk === 0 && !c.notnull
        && db.prepare(`SELECT COUNT(*) FROM ${q(t)} WHERE ${q(c.name)} IS NOT NULL`).pluck().get() === 0);
      const kept = cols.filter((c) => !empty.includes(c));
      const tmp = `${t}__new`;
      db.exec(`CREATE TABLE ${q(tmp)} (${kept.map((c) => `${q(c.name)} ${c.type}${c.notnull ? ' NOT NULL' : ''}`).join(', ')})`);
      db.exec(`INSERT INTO ${q(tmp)} (rowid, ${kept.map((c) => q(c.name)).join(', ')}) SELECT rowid, ${kept.map((c) => q(c.name)).join(', ')} FROM ${q(t)} ORDER BY rowid`);
      db.exec(`DROP TABLE ${q(t)}`);
      db.exec(`ALTER TABLE ${q(tmp)} RENAME TO ${q(t)}`);
      for (const c of empty) db.exec(`ALTER TABLE ${q(t)} ADD COLUMN ${q(c.name)} ${c.type}`);
    }
  }),
};

/** Every record of the read tables starts with a 3,000-byte text: every value comes from overflow pages. */
export function overflow(size = 1024): Transform {
  return {
    name: `overflow chains (3,000-byte text first in every record, ${size})`, kernelsVia: 'pages', expect: { same: true },
    apply: (src) => rewrite(src, (db) => {
      db.pragma('journal_mode = DELETE'); db.pragma(`page_size = ${size}`); db.exec('VACUUM');
      for (const t of activity(db)) {
        rebuild(db, t, (defs) => ['"pad" TEXT', ...defs].join(', '), { rowid: true, extra: ['pad', "printf('%.3000c', 'x')"] });
      }
      db.exec('VACUUM');
    }),
  };
}

/** A kernel that starts at 2^53 + 1 and ends at 2^53: SQL drops it (end < start exactly). */
export const past2p53: Transform = {
  name: 'a kernel at 2^53 + 1 ending at 2^53', kernelsVia: 'sql', expect: { warning: /^1 (kernel|CUDA API call) with end < start was ignored\.$/ },
  apply: (src) => rewrite(src, (db) => {
    const table = mainTable(src);
    const last = db.prepare(`SELECT * FROM ${table} ORDER BY rowid DESC LIMIT 1`).safeIntegers(true).get() as Record<string, unknown>;
    const cols = Object.keys(last);
    const row = { ...last, start: 2n ** 53n + 1n, end: 2n ** 53n };
    db.prepare(`INSERT INTO ${table} (${cols.map(q).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`).run(...cols.map((c) => row[c as keyof typeof row]));
  }),
};

/**
 * The export's kernels shifted by 1 ms in the main file and back in a -wal beside it, whose
 * header says rollback journal: SQLite applies the -wal, so the truth is the original.
 */
export const staleWal: Transform = {
  name: 'a -wal beside a rollback-journal file (stale main file)', kernelsVia: 'sql', expect: { same: true },
  apply: (src) => {
    const dir = tempDir();
    const live = join(dir, 'live.sqlite');
    copyFileSync(src, live);
    const table = mainTable(src);
    const db = new Database(live);
    db.pragma('foreign_keys = OFF');
    db.pragma('journal_mode = WAL');
    db.pragma('wal_autocheckpoint = 0');
    db.exec(`UPDATE ${table} SET start = start + 1000000, "end" = "end" + 1000000`);
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.exec(`UPDATE ${table} SET start = start - 1000000, "end" = "end" - 1000000`);
    const out = join(dir, 'report.sqlite');
    copyFileSync(live, out);
    copyFileSync(`${live}-wal`, `${out}-wal`);
    db.close();
    const b = readFileSync(out);
    b[18] = 1; b[19] = 1;
    writeFileSync(out, b);
    return out;
  },
};

/** The kernel table as WITHOUT ROWID: nsys never writes one; one clear input error. */
export const withoutRowid: Transform = {
  name: 'WITHOUT ROWID kernel table', kernelsVia: 'sql', expect: { inputError: /CUPTI_ACTIVITY_KIND_(KERNEL|RUNTIME) has no rowid/ },
  apply: (src) => rewrite(src, (db) => {
    rebuild(db, mainTable(src), (defs) => `${defs.join(', ')}, "rid" INTEGER PRIMARY KEY) WITHOUT ROWID --`, { extra: ['rid', 'rowid'] });
  }),
};

/** A column named rowid (all 1) in every read table: SQL must still page by the real rowid. */
export const rowidColumn: Transform = {
  name: 'a column named rowid', kernelsVia: 'pages', expect: { same: true },
  apply: (src) => rewrite(src, (db) => {
    for (const t of activity(db)) rebuild(db, t, (defs) => [...defs, '"rowid" INTEGER'].join(', '), { rowid: true, extra: ['rowid', '1'] });
  }),
};

/**
 * The CUDA API calls written in reverse time order: the in-order two-pass read gives up and the
 * general read (every call, sorted) takes the table; both must give the same Report.
 */
export const apiCallsReversed: Transform = {
  name: 'CUDA API calls stored in reverse time order (the general read)', kernelsVia: 'pages', expect: { same: true },
  apply: (src) => rewrite(src, (db) => {
    const t = 'CUPTI_ACTIVITY_KIND_RUNTIME';
    if (!tables(db).includes(t)) return;
    const cols = (db.prepare(`PRAGMA table_info(${q(t)})`).all() as Col[]).map((c) => q(c.name));
    db.exec(`CREATE TABLE ${q(`${t}__new`)} AS SELECT * FROM ${q(t)} WHERE 0`);
    db.exec(`INSERT INTO ${q(`${t}__new`)} (${cols.join(', ')}) SELECT ${cols.join(', ')} FROM ${q(t)} ORDER BY start DESC, "end" DESC, rowid DESC`);
    db.exec(`DROP TABLE ${q(t)}`);
    db.exec(`ALTER TABLE ${q(`${t}__new`)} RENAME TO ${q(t)}`);
  }),
};

/** UTF-16 text encoding: read through SQL (the page reader decodes UTF-8 only). */
export const utf16: Transform = {
  name: 'UTF-16le text encoding', kernelsVia: 'sql', expect: { same: true },
  apply: (src) => {
    const out = join(tempDir(), 'report.sqlite');
    const from = new Database(src, { readonly: true });
    const db = new Database(out);
    try {
      db.pragma("encoding = 'UTF-16le'");
      db.pragma('foreign_keys = OFF');
      // ATTACH needs one encoding on both sides: copy row by row, values exactly (BigInt)
      db.transaction(() => {
        for (const [name, sql] of from.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND sql IS NOT NULL").raw(true).all() as [string, string][]) {
          if (name.startsWith('sqlite_')) continue;
          db.exec(sql);
          const cols = (from.prepare(`PRAGMA table_info(${q(name)})`).all() as Col[]).map((c) => q(c.name));
          const ins = db.prepare(`INSERT INTO ${q(name)} (rowid, ${cols.join(', ')}) VALUES (${['?', ...cols.map(() => '?')].join(', ')})`);
          for (const row of from.prepare(`SELECT rowid, ${cols.join(', ')} FROM ${q(name)} ORDER BY rowid`).raw(true).safeIntegers(true).iterate()) {
            ins.run(...(row as unknown[]));
          }
        }
      })();
    } finally {
      from.close();
      db.close();
    }
    return out;
  },
};

export const PAGE_SIZES = [512, 1024, 2048, 4096, 8192, 16384, 32768, 65536];

/** Every transform, for the long battery. */
export function allTransforms(): Transform[] {
  return [
    ...PAGE_SIZES.map(pageSize),
    reservedBytes(1), reservedBytes(32, 512), reservedBytes(255, 65536),
    autoVacuum('FULL'), autoVacuum('INCREMENTAL', 4096),
    addColumn, overflow(), overflow(65536), past2p53, staleWal, withoutRowid, rowidColumn, utf16, apiCallsReversed,
  ];
}

/** The fast subset for npm test: each kind of transform once. */
export function fastTransforms(): Transform[] {
  return [pageSize(512), pageSize(65536), reservedBytes(32, 1024), autoVacuum('INCREMENTAL'),
    addColumn, overflow(), past2p53, staleWal, withoutRowid, rowidColumn, utf16, apiCallsReversed];
}
