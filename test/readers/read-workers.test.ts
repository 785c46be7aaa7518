/**
 * The CUDA API call and kernel tables decoded in worker threads (read-pool.ts, read-jobs.ts) reads to the
 * same Report as one thread, byte for byte; where the ranges cannot give the one-thread answer
 * the read falls back to it. Workers need the compiled worker script: these tests run dist/
 * (built by test/setup/build.ts), with MOE_TRACE_READ_WORKERS forcing workers on any machine.
 */
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { removeTempDirs, tempDir } from '../helpers/make-sqlite.js';
import { report, sameWithWorkers } from '../helpers/read-workers.js';
import { traceDiff } from '../helpers/page-files.js';
import type { Trace } from '../../src/model/trace.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const R = 'CUPTI_ACTIVITY_KIND_RUNTIME';
// the rewrites: a small capture whose API call and kernel tables span 15 and 14 leaf pages
const SMALL = join(root, 'fixtures/nsys-2025.3/sequential.sqlite');

afterAll(removeTempDirs);
afterEach(() => { delete process.env.MOE_TRACE_READ_WORKERS; });

function rewritten(source: string, edit: (db: Database.Database) => void): string {
  const path = join(tempDir(), 'report.sqlite');
  copyFileSync(source, path);
  const db = new Database(path);
  try { edit(db); } finally { db.close(); }
  return path;
}

describe('API calls and kernels decoded in worker threads', () => {
  // every fixture with 3 workers, whole-process captures and torch-streams-sync.sqlite (74 leaf
  // pages of API calls) included: read-workers.long.test.ts. Here the small capture's 15 and 14 leaves.
  for (const [f, n] of [['fixtures/nsys-2025.3/sequential.sqlite', 3], ['fixtures/nsys-2025.3/sequential.sqlite', 1]] as const) {
    it(`${f}: ${n} worker(s) give one thread's Report`, async () => {
      await sameWithWorkers(join(root, f), n);
    }, 60_000);
  }

  it('calls stored out of time order: the ranges say so and one thread reads (then the general read)', async () => {
    const f = rewritten(SMALL, (db) => {
      db.exec(`CREATE TABLE r2 AS SELECT * FROM ${R} ORDER BY start DESC; DELETE FROM ${R}; INSERT INTO ${R} SELECT * FROM r2; DROP TABLE r2`);
    });
    const one = await report(f, 0);
    const many = await report(f, 3);
    expect(many.via).toBe('pages');
    expect(many.json).toBe(one.json);
  }, 60_000);

  it('a correlation id past 32 bits in one range: the worker gives up and one thread reads (widening the column)', async () => {
    const f = rewritten(SMALL, (db) => {
      db.exec(`UPDATE ${R} SET correlationId = correlationId + 1099511627776 WHERE rowid = (SELECT MAX(rowid) FROM ${R} WHERE nameId IN (SELECT id FROM StringIds WHERE value LIKE 'cudaLaunchKernel%'))`);
    });
    const one = await report(f, 0);
    const many = await report(f, 3);
    expect(many.via).toBe('pages');
    expect(many.json).toBe(one.json);
  }, 60_000);

  it('a duration that is not an integer: totals added by range could round apart, so one thread reads', async () => {
    const f = rewritten(SMALL, (db) => {
      db.exec(`UPDATE ${R} SET "end" = "end" + 0.1 WHERE rowid = (SELECT MIN(rowid) FROM ${R})`);
    });
    const one = await report(f, 0);
    const many = await report(f, 3);
    expect(many.via).not.toBe('workers');
    expect(many.json).toBe(one.json);
  }, 60_000);

  it('a graph node id past 32 bits in one range: the kernel worker gives up and one thread reads (widening the column)', async () => {
    const f = rewritten(SMALL, (db) => {
      db.exec('UPDATE CUPTI_ACTIVITY_KIND_KERNEL SET graphNodeId = 1099511627776 WHERE rowid = (SELECT MAX(rowid) FROM CUPTI_ACTIVITY_KIND_KERNEL)');
    });
    const one = await report(f, 0);
    const many = await report(f, 3);
    expect(many.kernelsVia).toBe('pages');
    expect(many.via).toBe('workers');
    expect(many.json).toBe(one.json);
  }, 60_000);

  it('kernels stored out of time order: ordered after the ranges are joined, as one thread orders them', async () => {
    const f = rewritten(SMALL, (db) => {
      db.exec('CREATE TABLE k2 AS SELECT * FROM CUPTI_ACTIVITY_KIND_KERNEL ORDER BY streamId, start DESC; DELETE FROM CUPTI_ACTIVITY_KIND_KERNEL; INSERT INTO CUPTI_ACTIVITY_KIND_KERNEL SELECT * FROM k2; DROP TABLE k2');
    });
    const one = await report(f, 0);
    const many = await report(f, 3);
    expect(many.kernelsVia).toBe('workers');
    expect(many.json).toBe(one.json);
  }, 60_000);
});

describe('the smaller tables (NVTX, memcpy, memset, synchronization) read by a worker beside the big ones', () => {
  const WHOLE = join(root, 'fixtures/nsys-2025.3-whole/torch-streams-sync.sqlite');
  const N = 'NVTX_EVENTS';
  const M = 'CUPTI_ACTIVITY_KIND_MEMCPY';

  it('whole-process capture (inline and registered NVTX texts, memcpy, memset, sync records): the whole Trace as one thread reads it', async () => {
    const one = await trace(WHOLE, 0);
    const many = await trace(WHOLE, 3);
    expect(one.via).toMatchObject({ [N]: 'pages', [M]: 'pages', CUPTI_ACTIVITY_KIND_MEMSET: 'pages' });
    expect(many.via).toMatchObject({ [N]: 'workers', [M]: 'workers', CUPTI_ACTIVITY_KIND_MEMSET: 'workers', CUPTI_ACTIVITY_KIND_SYNCHRONIZATION: 'workers' });
    expect(many.trace.nvtx.count).toBeGreaterThan(2000);
    expect(many.trace.sync.count).toBeGreaterThan(0);
    expect(traceDiff(many.trace, one.trace)).toEqual([]);
  }, 60_000);

  it('an NVTX text id past 32 bits: the worker gives up and one thread reads the table (widening the column)', async () => {
    const f = rewritten(WHOLE, (db) => {
      db.exec(`INSERT INTO StringIds (id, value) VALUES (1099511627776, 'far'); UPDATE ${N} SET textId = 1099511627776 WHERE rowid = (SELECT MAX(rowid) FROM ${N} WHERE textId IS NOT NULL)`);
    });
    const one = await trace(f, 0);
    const many = await trace(f, 3);
    expect(many.via).toMatchObject({ [N]: 'pages', [M]: 'workers' });
    expect(many.trace.strings).toContain('far');
    expect(traceDiff(many.trace, one.trace)).toEqual([]);
  }, 60_000);

  it('a memcpy byte count stored as text: the worker gives up and one thread reads it through SQL; the NVTX read stays the worker\'s', async () => {
    const f = rewritten(WHOLE, (db) => {
      db.exec(`UPDATE ${M} SET bytes = 'x' WHERE rowid = (SELECT MIN(rowid) FROM ${M})`);
    });
    const one = await trace(f, 0);
    const many = await trace(f, 3);
    expect(one.via[M]).toBe('sql');
    expect(many.via).toMatchObject({ [N]: 'workers', [M]: 'sql' });
    expect(traceDiff(many.trace, one.trace)).toEqual([]);
  }, 60_000);

  it('an NVTX range ending before it starts: dropped (and said) as one thread drops it', async () => {
    const f = rewritten(WHOLE, (db) => {
      db.exec(`UPDATE ${N} SET "end" = start - 1 WHERE rowid = (SELECT MIN(rowid) FROM ${N} WHERE eventType = 59)`);
    });
    const one = await trace(f, 0);
    const many = await trace(f, 3);
    expect(one.trace.meta.warnings.join(' ')).toMatch(/1 NVTX event with end < start was ignored/);
    expect(traceDiff(many.trace, one.trace)).toEqual([]);
  }, 60_000);
});

/** The Trace read (every table, sync records too) with `workers` read workers forced, and how each table was read. */
async function trace(file: string, workers: number): Promise<{ trace: Trace; via: Record<string, string> }> {
  const { readNsysSqlite } = await import(join(root, 'dist/readers/nsys-sqlite.js')) as { readNsysSqlite: (p: string, o: object) => Trace };
  process.env.MOE_TRACE_READ_WORKERS = String(workers);
  const via: Record<string, string> = {};
  // the synchronization table's last word is the stream-wait scan's (nsys-cuda-events.ts): record the first
  const t = readNsysSqlite(file, { onTableRead: (table: string, v: string) => { via[table] ??= v; } });
  return { trace: t, via };
}
