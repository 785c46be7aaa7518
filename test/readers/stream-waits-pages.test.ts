/**
 * The stream waits read from the pages and matched against the wait calls in memory
 * (nsys-cuda-events.ts waitsFromPages) give exactly SQL's join, or leave it to the join: on the
 * real capture, and on rewrites of it that reach each way out.
 */
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { isAnalysedApiCall } from '../../src/analyses/api-calls.js';
import { removeTempDirs, tempDir } from '../helpers/make-sqlite.js';
import { readBothWays, traceDiff } from '../helpers/page-files.js';

afterAll(removeTempDirs);

const SOURCE = 'fixtures/nsys-2025.3/streams.sqlite';
const Y = 'CUPTI_ACTIVITY_KIND_SYNCHRONIZATION';
const R = 'CUPTI_ACTIVITY_KIND_RUNTIME';

/** A copy of the capture, changed by `edit`. */
function rewritten(edit: (db: Database.Database) => void): string {
  const path = join(tempDir(), 'report.sqlite');
  copyFileSync(SOURCE, path);
  const db = new Database(path);
  try { edit(db); } finally { db.close(); }
  return path;
}

/** Reads both ways; the waits, records and processes must agree. Returns how the waits were read. */
function waitsVia(path: string, keep = true): { via: string | undefined; waits: number } {
  const { pages, sql, via, viaSql } = readBothWays(path, { keepApiCall: keep ? isAnalysedApiCall : undefined, syncRecords: false });
  expect(traceDiff(pages.cudaEvents, sql.cudaEvents)).toEqual([]);
  expect(pages.processes).toEqual(sql.processes);
  expect(viaSql[Y]).toBe('sql');
  return { via: via[Y], waits: pages.cudaEvents!.waits.count };
}

const waitName = (db: Database.Database): number =>
  db.prepare("SELECT id FROM StringIds WHERE value LIKE 'cudaStreamWaitEvent%'").pluck().get() as number;

describe('stream waits from the pages', () => {
  it('the capture as it is: from the pages, 384 waits, with or without the API call filter', () => {
    expect(waitsVia(SOURCE)).toEqual({ via: 'pages', waits: 384 });
    expect(waitsVia(SOURCE, false)).toEqual({ via: 'pages', waits: 384 });
  });

  it('records stored out of time order are put in ORDER BY start order', () => {
    const f = rewritten((db) => {
      db.exec(`CREATE TABLE y2 AS SELECT * FROM ${Y} ORDER BY start DESC; DELETE FROM ${Y}; INSERT INTO ${Y} SELECT * FROM y2; DROP TABLE y2`);
    });
    expect(waitsVia(f)).toEqual({ via: 'pages', waits: 384 });
  });

  it('a wait call made twice with one correlation id joins its record twice, as SQL does', () => {
    const f = rewritten((db) => {
      db.exec(`INSERT INTO ${R} SELECT * FROM ${R} WHERE nameId = ${waitName(db)} ORDER BY rowid LIMIT 1`);
    });
    expect(waitsVia(f)).toEqual({ via: 'pages', waits: 385 });
  });

  it('two waits with one start: the order of ties is SQLite\'s, so SQL decides', () => {
    const f = rewritten((db) => {
      const ids = db.prepare(`SELECT y.rowid FROM ${Y} y JOIN ${R} r ON r.correlationId = y.correlationId WHERE r.nameId = ? ORDER BY y.start LIMIT 2`)
        .pluck().all(waitName(db)) as number[];
      db.prepare(`UPDATE ${Y} SET start = (SELECT start FROM ${Y} WHERE rowid = ?) WHERE rowid = ?`).run(ids[0], ids[1]);
    });
    expect(waitsVia(f)).toEqual({ via: 'sql', waits: 384 });
  });

  it('a wait call dropped for its time (end < start) is still joined by SQL: SQL decides', () => {
    const f = rewritten((db) => {
      db.exec(`UPDATE ${R} SET "end" = start - 1 WHERE rowid = (SELECT rowid FROM ${R} WHERE nameId = ${waitName(db)} LIMIT 1)`);
    });
    expect(waitsVia(f)).toEqual({ via: 'sql', waits: 384 });
  });

  it('a wait call in another case (LIKE folds case, the API filter does not): SQL decides', () => {
    const f = rewritten((db) => {
      db.exec("INSERT INTO StringIds (id, value) VALUES (999999, 'CUDASTREAMWAITEVENT')");
      db.exec(`UPDATE ${R} SET nameId = 999999 WHERE rowid = (SELECT rowid FROM ${R} WHERE nameId = ${waitName(db)} LIMIT 1)`);
    });
    expect(waitsVia(f).via).toBe('sql');
  });

  it('a record with a text correlationId: SQL decides', () => {
    const f = rewritten((db) => {
      db.exec(`UPDATE ${Y} SET correlationId = 'x' || correlationId WHERE rowid = (SELECT MIN(rowid) FROM ${Y})`);
    });
    expect(waitsVia(f).via).toBe('sql');
  });

  it('a driver-call table beside the runtime table: SQL joins the runtime table alone, and decides', () => {
    const f = rewritten((db) => {
      db.exec(`CREATE TABLE CUPTI_ACTIVITY_KIND_DRIVER AS SELECT * FROM ${R} WHERE nameId = ${waitName(db)} LIMIT 3`);
    });
    expect(waitsVia(f).via).toBe('sql');
  });
});
