/**
 * Crashes and silent repairs the fuzz campaign found, each pinned as a small exact case so it
 * stays fixed even if the campaign's random draw stops reaching it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli.js';
import { readNsysSqlite } from '../../src/readers/nsys-sqlite.js';
import { removeTempDirs, writeNsysExport } from '../helpers/make-sqlite.js';

afterAll(removeTempDirs);

const kernels = Array.from({ length: 6 }, (_, i) => ({
  start: 1000 + i * 100, end: 1050 + i * 100, streamId: 7, correlationId: i + 1, shortName: 'gemm', demangledName: 'gemm',
}));

/** Edits the export after writing it, the way a hand-edited or damaged file arrives. */
function edited(sql: string): string {
  const path = writeNsysExport('2024.6', { kernels, runtime: kernels.map((k) => ({ start: k.start - 50, end: k.start - 40, correlationId: k.correlationId, nameId: 'cudaLaunchKernel_v7000' })) });
  const db = new Database(path);
  // CREATE TABLE AS drops the NOT NULL constraints, so any value fits, as in a hand-made file
  db.exec(`CREATE TABLE k AS SELECT * FROM CUPTI_ACTIVITY_KIND_KERNEL; DROP TABLE CUPTI_ACTIVITY_KIND_KERNEL; ALTER TABLE k RENAME TO CUPTI_ACTIVITY_KIND_KERNEL; ${sql}`);
  db.close();
  return path;
}

async function analyzeJson(path: string): Promise<{ code: number; stderr: string; report?: { warnings: string[]; devices: { overlap: { kernelCount: number } }[] } }> {
  let stdout = ''; let stderr = '';
  const code = await main(['analyze', '--json', path], { stdout: (s) => { stdout += s; }, stderr: (s) => { stderr += s; } });
  return { code, stderr, report: code === 0 ? JSON.parse(stdout) : undefined };
}

describe('fuzz regressions', () => {
  it.each([
    ['start', 'ALTER TABLE CUPTI_ACTIVITY_KIND_SYNCHRONIZATION DROP COLUMN start'],
    ['correlationId', 'ALTER TABLE CUPTI_ACTIVITY_KIND_SYNCHRONIZATION DROP COLUMN correlationId'],
    ['StringIds.value', 'ALTER TABLE StringIds RENAME COLUMN value TO v'],
  ])('an export without %s reads its stream waits without an internal error ("no such column")', async (_, sql) => {
    // a stream wait (syncType 1) on stream 7, then the column goes
    const r = await analyzeJson(edited(`CREATE TABLE IF NOT EXISTS CUPTI_ACTIVITY_KIND_SYNCHRONIZATION (start INTEGER, end INTEGER, deviceId INTEGER,
      contextId INTEGER, streamId INTEGER, correlationId INTEGER, globalPid INTEGER, syncType INTEGER, eventId INTEGER);
      INSERT INTO CUPTI_ACTIVITY_KIND_SYNCHRONIZATION VALUES (1200, 1210, 0, 1, 7, 3, NULL, 1, 5); ${sql}`));
    expect(r.stderr).not.toMatch(/internal error/);
    expect([0, 2]).toContain(r.code);
  });

  it('a BLOB in a numeric column is read as unknown, not an internal error ("JSON cannot hold BLOB values")', async () => {
    const path = edited("UPDATE CUPTI_ACTIVITY_KIND_KERNEL SET correlationId = X'00ff01' WHERE rowid <= 2; UPDATE CUPTI_ACTIVITY_KIND_KERNEL SET streamId = 'seven' WHERE rowid = 3");
    const r = await analyzeJson(path);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const trace = readNsysSqlite(path);
    expect([...trace.kernels.correlationId.slice(0, 6)]).toEqual([-1, -1, 3, 4, 5, 6]);
    expect([...trace.kernels.streamId.slice(0, 6)]).toEqual([7, 7, -1, 7, 7, 7]);
  });

  it('kernels whose start or end is text or a blob are dropped and counted like missing times', async () => {
    const path = edited(`UPDATE CUPTI_ACTIVITY_KIND_KERNEL SET "end" = 'soon' WHERE rowid = 1; UPDATE CUPTI_ACTIVITY_KIND_KERNEL SET start = X'01' WHERE rowid = 2;
      UPDATE CUPTI_ACTIVITY_KIND_KERNEL SET start = NULL WHERE rowid = 3; UPDATE CUPTI_ACTIVITY_KIND_KERNEL SET start = 2000, "end" = 1900 WHERE rowid = 4`);
    const r = await analyzeJson(path);
    expect(r.code).toBe(0);
    expect(r.report!.warnings).toEqual(expect.arrayContaining([
      '3 kernels with no start or end time were ignored.',
      '1 kernel with end < start was ignored.',
    ]));
    expect(r.report!.devices[0].overlap.kernelCount).toBe(2);
    const trace = readNsysSqlite(path);
    expect([...trace.kernels.start.slice(0, trace.kernels.count)]).toEqual([1400, 1500]);
  });

  it('an inverted row with an absurd time does not rebase the kept rows', () => {
    const path = edited('UPDATE CUPTI_ACTIVITY_KIND_KERNEL SET start = 4611686018427387904, "end" = 4611686018427387903 WHERE rowid = 6');
    const trace = readNsysSqlite(path);
    expect(trace.meta.timeOriginNs).toBe('0');
    expect([...trace.kernels.start.slice(0, trace.kernels.count)]).toEqual([1000, 1100, 1200, 1300, 1400]);
    expect(trace.meta.warnings).toContain('1 kernel with end < start was ignored.');
  });
});

describe('fuzz regressions: NVTX text', () => {
  it('an inline NVTX text stored as a BLOB reads as its bytes, not an internal error', async () => {
    const path = writeNsysExport('2024.6', {
      kernels: kernels.slice(0, 2),
      nvtx: [
        { start: 900, end: 1300, eventType: 59, text: 'layer 0' },
        { start: 950, end: 1100, eventType: 59, text: 'expert 0' },
      ],
    });
    const db = new Database(path);
    db.exec("UPDATE NVTX_EVENTS SET text = CAST('expert 0' AS BLOB) WHERE rowid = 2");
    db.close();
    const r = await analyzeJson(path);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const trace = readNsysSqlite(path);
    expect([...trace.nvtx.text.slice(0, 2)].map((i) => trace.strings[i])).toEqual(['layer 0', 'expert 0']);
  });
});

describe('fuzz regressions: damaged headers and schemas', () => {
  async function analyzeText(path: string): Promise<{ code: number; stderr: string }> {
    let stderr = '';
    const code = await main(['analyze', path], { stdout: () => {}, stderr: (s) => { stderr += s; } });
    return { code, stderr };
  }

  it('a schema format number SQLite does not know ("unsupported file format") is a damaged file, not an internal error', async () => {
    const path = writeNsysExport('2024.6', { kernels });
    const buf = readFileSync(path);
    buf[44] = 0; buf[45] = 0; buf[46] = 0; buf[47] = 9; // schema format number: SQLite knows 1-4
    writeFileSync(path, buf);
    const r = await analyzeText(path);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`moe-trace: ${path} is a damaged SQLite database (unsupported file format); copy or export it again\n`);
  });

  it('a damaged multi-line CREATE TABLE quoted in SQLite\'s message still gives one line', async () => {
    const path = writeNsysExport('2024.6', { kernels }, {});
    const db = new Database(path);
    db.exec('CREATE TABLE TARGET_INFO_EXTRA (\n    start INTEGER,\n    marker INTEGER\n)');
    db.close();
    const buf = readFileSync(path);
    const at = buf.indexOf('marker INTEGER\n)');
    expect(at).toBeGreaterThan(0);
    buf[at] = 0x27; // a quote opens a token that never closes, across the newline
    writeFileSync(path, buf);
    const r = await analyzeText(path);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^moe-trace: .* is a damaged SQLite database \(malformed database schema \(TARGET_INFO_EXTRA\) - unrecognized token: "'arker INTEGER \)"\); copy or export it again\n$/);
  });
});
