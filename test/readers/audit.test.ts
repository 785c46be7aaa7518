/**
 * The five findings of the page-reader audit (issue 14), each on a small valid file where the
 * page path used to read something other than SQL, or the SQL path failed. Each file here reads
 * the same from the pages as through SQL, and as SQLite itself says it should.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { readNsysSqlite } from '../../src/readers/nsys-sqlite.js';
import { removeTempDirs, tempDir } from '../helpers/make-sqlite.js';
import { NULLABLE, buildFile, createTable, head, insertRows, readBothWays, stringIds, traceDiff } from '../helpers/page-files.js';

afterAll(removeTempDirs);

const require = createRequire(import.meta.url);

const K = 'CUPTI_ACTIVITY_KIND_KERNEL';
const R = 'CUPTI_ACTIVITY_KIND_RUNTIME';
const P53 = 2n ** 53n;

const kernel = (i: number, extra: Record<string, number | bigint | null> = {}): Record<string, number | bigint | null> => ({
  start: 1000 * i, end: 1000 * i + 400, deviceId: 0, streamId: 7 + (i % 2), correlationId: i + 1, shortName: 100, demangledName: 100, globalPid: 1 << 24, ...extra,
});

describe('audit 1: times past 2^53 compare exactly', () => {
  it('a kernel with start = 2^53+1 > end = 2^53 is dropped, and no real kernel with it', () => {
    const f = buildFile((db) => {
      stringIds(db, { 100: 'k' });
      createTable(db, K);
      insertRows(db, K, [kernel(0), kernel(1), { ...kernel(2), start: P53 + 1n, end: P53 }, kernel(3), kernel(4)]);
    });
    const { pages, sql } = readBothWays(f);
    expect(traceDiff(pages, sql)).toEqual([]);
    // SQL's exact integers: the row ends before it starts, so 4 real kernels remain, the last one included
    expect(pages.kernels.count).toBe(4);
    expect(head(pages.kernels.correlationId, 4)).toEqual([1, 2, 4, 5]);
    expect(pages.meta.warnings.join(' ')).toMatch(/1 kernel with end < start was ignored/);
  });

  it('API calls and NVTX ranges with such times read the same as SQL', () => {
    const f = buildFile((db) => {
      stringIds(db, { 100: 'k', 200: 'cudaLaunchKernel_v7000' });
      createTable(db, K);
      insertRows(db, K, [kernel(0), kernel(1)]);
      createTable(db, R);
      insertRows(db, R, [
        { start: 10, end: 20, globalTid: 1 << 24, correlationId: 1, nameId: 200, eventClass: 0 },
        { start: P53 + 1n, end: P53, globalTid: 1 << 24, correlationId: 2, nameId: 200, eventClass: 0 },
        { start: 30, end: 40, globalTid: 1 << 24, correlationId: 3, nameId: 200, eventClass: 0 },
      ]);
      createTable(db, 'NVTX_EVENTS');
      insertRows(db, 'NVTX_EVENTS', [
        { start: 5, end: 50, eventType: 59, text: 'a', globalTid: 1 << 24 },
        { start: P53 + 1n, end: P53, eventType: 59, text: 'b', globalTid: 1 << 24 },
        { start: 6, end: 60, eventType: 59, text: 'c', globalTid: 1 << 24 },
      ]);
    });
    const { pages, sql } = readBothWays(f);
    expect(traceDiff(pages, sql)).toEqual([]);
    expect(pages.runtime.count).toBe(2);
    expect(pages.nvtx.count).toBe(2);
  });
});

describe('audit 2: a -wal beside a rollback-journal file', () => {
  /** A file with a stale main image and its newer state in a -wal, header patched to rollback journal. */
  function staleWal(): string {
    const dir = tempDir();
    const live = join(dir, 'live.sqlite');
    const db = new Database(live);
    db.pragma('journal_mode = WAL');
    db.pragma('wal_autocheckpoint = 0');
    db.transaction(() => {
      stringIds(db, { 100: 'k' });
      createTable(db, K);
      insertRows(db, K, [0, 1, 2].map((i) => kernel(i)));
    })();
    db.pragma('wal_checkpoint(TRUNCATE)');
    // the newer state, only in the -wal: kernels moved and one more
    db.prepare(`UPDATE ${K} SET start = start + 100, "end" = "end" + 100`).run();
    insertRows(db, K, [kernel(3)]);
    const f = join(dir, 'report.sqlite');
    copyFileSync(live, f);
    copyFileSync(`${live}-wal`, `${f}-wal`);
    db.close();
    const b = readFileSync(f);
    b[18] = 1; b[19] = 1;
    writeFileSync(f, b);
    return f;
  }

  it('reads what SQLite reads (the -wal applied), and writes nothing beside the input', () => {
    const f = staleWal();
    const before = readdirSync(dirname(f)).sort();
    const { pages, sql, via } = readBothWays(f);
    expect(traceDiff(pages, sql)).toEqual([]);
    expect(pages.kernels.count).toBe(4);
    expect(head(pages.kernels.start, 4)).toEqual([100, 1100, 2100, 3000]);
    expect(via[K]).toBe('sql');
    expect(readdirSync(dirname(f)).sort()).toEqual(before);
    expect(existsSync(`${f}-shm`)).toBe(false);
  });
});

describe('audit 3: INTEGER PRIMARY KEY DESC and negative rowids', () => {
  it('correlationId INTEGER PRIMARY KEY DESC is an ordinary column, not the rowid', () => {
    const cols = NULLABLE[K].replace(/correlationId INTEGER/, 'correlationId INTEGER PRIMARY KEY DESC');
    expect(cols).toContain('PRIMARY KEY DESC');
    const f = buildFile((db) => {
      stringIds(db, { 100: 'k' });
      createTable(db, K, cols);
      insertRows(db, K, [0, 1, 2].map((i) => kernel(i, { correlationId: 1000 + i })));
    });
    const { pages, sql, via } = readBothWays(f);
    expect(traceDiff(pages, sql)).toEqual([]);
    expect(via[K]).toBe('pages');
    expect(head(pages.kernels.correlationId, 3)).toEqual([1000, 1001, 1002]);
  });

  it('a negative INTEGER PRIMARY KEY (the rowid itself) reads signed', () => {
    const cols = NULLABLE[K].replace(/correlationId INTEGER/, 'correlationId INTEGER PRIMARY KEY');
    const f = buildFile((db) => {
      stringIds(db, { 100: 'k' });
      createTable(db, K, cols);
      insertRows(db, K, [kernel(0, { correlationId: -5 }), kernel(1, { correlationId: -(2 ** 40) }),
        kernel(2, { correlationId: 2 ** 50 + 3 }), kernel(3, { correlationId: 7 })]);
    });
    const { pages, sql, via } = readBothWays(f);
    expect(traceDiff(pages, sql)).toEqual([]);
    expect(via[K]).toBe('pages');
    expect(head(pages.kernels.correlationId, 4)).toEqual([-5, -(2 ** 40), 2 ** 50 + 3, 7]);
  });
});

describe('audit 4: the SQL path and the rowid', () => {
  it('a column named rowid does not page the SQL read by that column (past 65,536 rows)', () => {
    const n = 70_000;
    const f = buildFile((db) => {
      stringIds(db, { 100: 'k' });
      createTable(db, K, `${NULLABLE[K]}, rowid INTEGER`);
      const st = db.prepare(`INSERT INTO ${K} (start, "end", deviceId, streamId, correlationId, shortName, globalPid, rowid) VALUES (?, ?, 0, 7, ?, 100, 16777216, ?)`);
      // the user's rowid column holds one value: paging by it would stop after the first chunk
      for (let i = 0; i < n; i++) st.run(10 * i, 10 * i + 5, i + 1, 1);
    });
    const { pages, sql } = readBothWays(f);
    expect(sql.kernels.count).toBe(n);
    expect(traceDiff(pages, sql)).toEqual([]);
    expect(sql.kernels.correlationId[n - 1]).toBe(n);
  });

  it('a WITHOUT ROWID activity table is one clear input error (exit 2), not our bug', () => {
    const f = buildFile((db) => {
      stringIds(db, { 100: 'k' });
      createTable(db, K, `${NULLABLE[K].replace(/correlationId INTEGER/, 'correlationId INTEGER PRIMARY KEY')}) WITHOUT ROWID --`);
      insertRows(db, K, [0, 1].map((i) => kernel(i)));
    });
    for (const noPages of [false, true]) {
      let err: unknown;
      try { readNsysSqlite(f, { noPages }); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(InputError);
      expect((err as Error).message).toMatch(/CUPTI_ACTIVITY_KIND_KERNEL has no rowid \(WITHOUT ROWID/);
      expect((err as Error).message).not.toMatch(/\n/);
    }
  });
});

describe('audit 5: UTF-16 files keep SQLite\'s read lock', () => {
  it('a UTF-16 file reads through SQL, the same both ways, and holds its read lock until the end', () => {
    const dir = tempDir();
    const f = join(dir, 'report.sqlite');
    const db = new Database(f);
    db.pragma("encoding = 'UTF-16le'");
    db.transaction(() => {
      stringIds(db, { 100: 'moe_expert' });
      createTable(db, K);
      insertRows(db, K, [0, 1, 2].map((i) => kernel(i)));
    })();
    db.close();
    // a writer in another process (POSIX locks are per process) that tries to commit while the
    // reader reads must find the file locked: the progress callback runs mid-read and starts one
    const attempts: string[] = [];
    const writer = `const D = require(${JSON.stringify(require.resolve('better-sqlite3'))}); const w = new D(${JSON.stringify(f)}, { timeout: 0 });`
      + `try { w.prepare('DELETE FROM ${K}').run(); console.log('written'); } catch (e) { console.log(e.code); }`;
    const { pages, sql, via } = readBothWays(f);
    expect(traceDiff(pages, sql)).toEqual([]);
    expect(via[K]).toBe('sql');
    expect(pages.strings).toContain('moe_expert');
    readNsysSqlite(f, {
      onProgress: () => {
        attempts.push(spawnSync(process.execPath, ['-e', writer], { encoding: 'utf8' }).stdout.trim());
      },
    });
    expect(attempts.length).toBeGreaterThan(0);
    expect(new Set(attempts)).toEqual(new Set(['SQLITE_BUSY']));
  });
});
