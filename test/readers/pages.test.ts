/**
 * The page reader (readers/pages.ts, bulk.ts's readColumnsFromPages and scanRows, nsys-events.ts's in-order API-call read) on small
 * files built here: every record encoding it decodes, checked against values worked out by hand
 * and against the same file read through SQL only (noPages).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { isAnalysedApiCall } from '../../src/analyses/api-calls.js';
import type { Trace } from '../../src/model/trace.js';
import { removeTempDirs } from '../helpers/make-sqlite.js';
import { NULLABLE, btreePages, buildFile, createTable, head, insertRows, readBothWays, stringIds, traceDiff, type Cell } from '../helpers/page-files.js';
import { launchColumn } from '../helpers/launch.js';

afterAll(removeTempDirs);

const K = 'CUPTI_ACTIVITY_KIND_KERNEL';
const R = 'CUPTI_ACTIVITY_KIND_RUNTIME';
const N = 'NVTX_EVENTS';

/** One value per SQLite integer serial type: 8/9 (0, 1), 1 (8-bit) ... 6 (64-bit). */
const WIDTHS = [0, 1, -1, 127, -128, 32767, -32768, 2 ** 23 - 1, -(2 ** 23), 2 ** 31 - 1, -(2 ** 31),
  2 ** 47 - 1, -(2 ** 47), 2 ** 53 - 1, -(2 ** 53 - 1)];
/** Stored as REAL (serial type 7); 2^60 is an exact integer and SQLite stores it as type 6. */
const REALS = [0.5, -2.25, 1e300, 0.1 + 0.2, 2 ** 60];

/** nsys globalTid/globalPid layout: hwId|vmId in the top 16 bits, pid in 24-47, tid in 0-23. */
const gtid = (top: bigint, pid: number, tid: number): bigint => BigInt.asIntN(64, (top << 48n) | (BigInt(pid) << 24n) | BigInt(tid));
// above 2^53, where a double cannot hold the id and shifting it as a double would be wrong
const BIG = gtid(0x7F01n, 4242, 4243);
// negative as a signed 64-bit integer: SQL's >> is an arithmetic shift
const NEGATIVE = gtid(0x8001n, 5, 6);
const SMALL = gtid(0n, 7, 8);

/** Trace.strings[i] for every index of a column. */
const names = (strings: string[], col: ArrayLike<number>, n: number): (string | null)[] =>
  head(col, n).map((i) => (i < 0 ? null : strings[i]));

describe('page reader: stored values', () => {
  it('integers of every width, REALs and 64-bit thread ids read exactly', () => {
    const f = buildFile((db) => {
      stringIds(db, { 100: 'moe_expert_gemm', 200: 'cudaLaunchKernel_v7000', 201: 'cuKernelGetAttribute' });
      createTable(db, K);
      const corr = [...WIDTHS, ...REALS];
      insertRows(db, K, corr.map((c, i) => ({
        start: 1000 * i, end: 1000 * i + 500, deviceId: 0, streamId: 7, correlationId: c,
        graphNodeId: corr[corr.length - 1 - i], blockX: WIDTHS[i % WIDTHS.length], shortName: 100, demangledName: 100,
        globalPid: gtid(0xFF00n, 300, 0),
      })));
      createTable(db, R);
      // times of every width, in time order; three threads, two API names
      const starts = [...WIDTHS].sort((a, b) => a - b);
      const tids = [BIG, NEGATIVE, SMALL];
      insertRows(db, R, starts.map((s, i) => ({
        start: s, end: s + (i % 2), globalTid: tids[i % 3], correlationId: WIDTHS[i], nameId: 200 + (i % 2), eventClass: 0,
      })));
    });
    const { pages, sql, via } = readBothWays(f);
    expect(pages).toEqual(sql);
    expect([via[K], via[R]]).toEqual(['pages', 'pages']);

    const k = pages.kernels;
    expect(k.count).toBe(20);
    expect(head(k.correlationId, 20)).toEqual([...WIDTHS, ...REALS]);
    expect(head(k.correlationId, 20)[18]).toBe(0.30000000000000004);
    expect(head(k.graphNodeId, 20)).toEqual([...WIDTHS, ...REALS].reverse());
    // Int32 columns wrap as Int32Array does: 2^31-1 stays, 2^47-1 and 2^53-1 become -1
    expect(launchColumn(pages, 'blockX').slice(0, 15)).toEqual([0, 1, -1, 127, -128, 32767, -32768, 8388607, -8388608, 2147483647, -2147483648, -1, 0, -1, 1]);
    expect(pages.processes[k.process[0]]).toMatchObject({ globalPid: gtid(0xFF00n, 300, 0).toString(), pid: 300 });

    const r = pages.runtime;
    expect(head(r.start, 15)).toEqual([...WIDTHS].sort((a, b) => a - b));
    expect(head(r.end, 3)).toEqual([-(2 ** 53 - 1), -(2 ** 47) + 1, -(2 ** 31)]);
    expect(head(r.correlationId, 15)).toEqual(WIDTHS);
    expect(head(r.thread, 15).map((t) => pages.threads[t].globalTid)).toEqual(
      Array.from({ length: 15 }, (_, i) => [BIG, NEGATIVE, SMALL][i % 3].toString()));
    expect(pages.threads.map((t) => [t.tid, pages.processes[t.process].globalPid])).toEqual([
      [4243, gtid(0x7F01n, 4242, 0).toString()], [6, gtid(0x8001n, 5, 0).toString()], [8, gtid(0n, 7, 0).toString()]]);
    expect(names(pages.strings, r.name, 2)).toEqual(['cudaLaunchKernel', 'cuKernelGetAttribute']);

    const some = readBothWays(f, { keepApiCall: isAnalysedApiCall });
    expect(some.pages).toEqual(some.sql);
    // the even rows: cudaLaunchKernel only; the summary still counts all 15 calls
    expect(head(some.pages.runtime.start, 8)).toEqual([...WIDTHS].sort((a, b) => a - b).filter((_, i) => i % 2 === 0));
    expect(some.pages.apiSummary?.map((a) => [pages.strings[a.name], a.count, a.total])).toEqual([
      ['cudaLaunchKernel', 8, 0], ['cuKernelGetAttribute', 7, 7]]);
    expect(some.pages.threads).toEqual(pages.threads);
  });

  it('NULL in every column reads as -1 (NaN for NVTX end and payload)', () => {
    const f = buildFile((db) => {
      stringIds(db, { 100: 'range' });
      createTable(db, K);
      insertRows(db, K, [{ start: 10, end: 20 }]);
      createTable(db, R);
      insertRows(db, R, [{ start: 5, end: 6 }]);
      createTable(db, 'CUPTI_ACTIVITY_KIND_MEMCPY');
      insertRows(db, 'CUPTI_ACTIVITY_KIND_MEMCPY', [{ start: 30, end: 40 }]);
      createTable(db, 'CUPTI_ACTIVITY_KIND_MEMSET');
      insertRows(db, 'CUPTI_ACTIVITY_KIND_MEMSET', [{ start: 50, end: 60 }]);
      createTable(db, N);
      insertRows(db, N, [
        { start: 1, eventType: 34 },
        { start: 2, end: 3, eventType: 59 },
        // the payload is the first non-NULL of int64, uint64, int32, uint32, double, float
        { start: 4, end: 5, eventType: 59, uint64Value: 2n ** 60n + 1n, doubleValue: 9.5, textId: 100 },
        { start: 6, end: 7, eventType: 60, doubleValue: 2.5, floatValue: 1 },
        { start: 8, end: 9, eventType: 60, floatValue: 0.1 },
      ]);
    });
    const { pages, sql, via } = readBothWays(f);
    expect(pages).toEqual(sql);
    expect(via).toEqual({ [K]: 'pages', [R]: 'pages', CUPTI_ACTIVITY_KIND_MEMCPY: 'pages', CUPTI_ACTIVITY_KIND_MEMSET: 'pages', [N]: 'pages' });
    const k = pages.kernels;
    expect([k.deviceId, k.streamId, k.correlationId, k.process, k.shortName, k.graphNodeId]
      .map((c) => c[0])).toEqual(Array(6).fill(-1));
    expect(Object.values(pages.launchConfigs[k.launchConfig[0]])).toEqual(Array(9).fill(-1));
    const r = pages.runtime;
    expect([r.start[0], r.end[0], r.thread[0], r.correlationId[0], r.name[0], r.api[0]]).toEqual([5, 6, -1, -1, -1, 0]);
    const m = pages.memcpy;
    expect([m.bytes[0], m.copyKind[0], m.srcKind[0], m.dstKind[0], m.streamId[0], m.process[0]]).toEqual([-1, -1, -1, -1, -1, -1]);
    expect([pages.memset.bytes[0], pages.memset.memKind[0]]).toEqual([-1, -1]);
    const v = pages.nvtx;
    expect(head(v.end, 5)).toEqual([NaN, 3, 5, 7, 9]);
    expect(head(v.payload, 5)).toEqual([NaN, NaN, 2 ** 60, 2.5, 0.1]);
    expect(names(pages.strings, v.text, 5)).toEqual([null, null, 'range', null, null]);
    expect([v.thread[0], v.domainId[0]]).toEqual([-1, -1]);
  });

  it('drops rows with a NULL start or end, or end < start, as the SQL read does', () => {
    const f = buildFile((db) => {
      stringIds(db, { 100: 'k', 200: 'cudaLaunchKernel' });
      createTable(db, K);
      insertRows(db, K, [{ start: 1, end: 2, correlationId: 1 }, { start: null, end: 5, correlationId: 2 },
        { start: 6, end: null, correlationId: 3 }, { start: 9, end: 8, correlationId: 4 }, { start: 10, end: 10, correlationId: 5 }]);
      createTable(db, R);
      insertRows(db, R, [{ start: 1, end: 3, nameId: 200, correlationId: 1 }, { start: 2, end: 1, nameId: 200, correlationId: 2 },
        { start: null, end: 4, nameId: 200, correlationId: 3 }, { start: 5, end: 6, nameId: 200, correlationId: 4 }]);
      createTable(db, N);
      insertRows(db, N, [{ start: 1, eventType: 34 }, { start: 2, end: null, eventType: 59 }, { start: 5, end: 4, eventType: 60 },
        { start: null, end: 9, eventType: 59 }, { start: 7, end: 8, eventType: 59 }, { start: 3, eventType: 75 }, { start: 4, end: 5 }]);
    });
    const { pages, sql, via } = readBothWays(f);
    expect(pages).toEqual(sql);
    expect([via[K], via[R], via[N]]).toEqual(['pages', 'pages', 'pages']);
    expect(head(pages.kernels.correlationId, pages.kernels.count)).toEqual([1, 5]);
    expect(head(pages.runtime.correlationId, pages.runtime.count)).toEqual([1, 4]);
    expect([head(pages.nvtx.start, pages.nvtx.count), head(pages.nvtx.end, pages.nvtx.count)]).toEqual([[1, 7], [NaN, 8]]);
    expect(pages.meta.warnings).toEqual([
      '2 kernels with no start or end time were ignored.', '1 kernel with end < start was ignored.',
      '1 CUDA API call with no start or end time was ignored.', '1 CUDA API call with end < start was ignored.',
      '2 NVTX events with no start or end time were ignored.', '1 NVTX event with end < start was ignored.',
      'GPU -1 has activity but no description in the export; its SM count and limits are unknown.',
    ]);
  });

  it('a column added by ALTER TABLE reads NULL in rows written before it; with a DEFAULT, through SQL', () => {
    const build = (added: string): string => buildFile((db) => {
      createTable(db, K, NULLABLE[K].replace('graphNodeId INTEGER, ', ''));
      insertRows(db, K, [{ start: 1, end: 2, gridX: 3 }, { start: 3, end: 4, gridX: 4 }]);
      db.exec(`ALTER TABLE ${K} ADD COLUMN ${added}`);
      insertRows(db, K, [{ start: 5, end: 6, gridX: 5, graphNodeId: 11 }, { start: 7, end: 8, gridX: 6, graphNodeId: 2 ** 40 }]);
    });
    const plain = readBothWays(build('graphNodeId INTEGER'));
    expect(plain.pages).toEqual(plain.sql);
    expect(plain.via[K]).toBe('pages');
    expect(head(plain.pages.kernels.graphNodeId, 4)).toEqual([-1, -1, 11, 2 ** 40]);
    expect(launchColumn(plain.pages, 'gridX')).toEqual([3, 4, 5, 6]);
    // old records lack the column and SQL fills in the default, which the pages do not hold
    const withDefault = readBothWays(build('graphNodeId INTEGER DEFAULT 5'));
    expect(withDefault.pages).toEqual(withDefault.sql);
    expect(withDefault.via[K]).toBe('sql');
    expect(head(withDefault.pages.kernels.graphNodeId, 4)).toEqual([5, 5, 11, 2 ** 40]);
  });
});

describe('page reader: b-tree shapes', () => {
  it('reads 50k kernels and 70k API calls through interior pages and leaves out of file order', () => {
    const kernels = 50_000; const calls = 70_000;
    const f = buildFile((db) => {
      stringIds(db, { 100: 'k', 200: 'cudaLaunchKernel', 201: 'cudaGetDevice' });
      createTable(db, K); createTable(db, R);
      const k = db.prepare(`INSERT INTO ${K} (start, "end", correlationId, deviceId, shortName, demangledName, globalPid) VALUES (?, ?, ?, 0, 100, 100, ?)`);
      const r = db.prepare(`INSERT INTO ${R} (start, "end", correlationId, nameId, globalTid, eventClass) VALUES (?, ?, ?, ?, ?, 0)`);
      // interleaved inserts interleave the two tables' leaf pages in the file
      for (let i = 0; i < calls; i++) {
        if (i < kernels) k.run(10 * i, 10 * i + 7, i, gtid(1n, 11, 0));
        r.run(10 * i, 10 * i + 5, i, 200 + (i % 2), gtid(1n, 11, 11 + (i % 3)));
      }
    }, { pageSize: 512 });
    const kinds = (t: string): Set<string> => new Set(btreePages(f, t).map((p) => p.pagetype));
    expect(kinds(K)).toEqual(new Set(['internal', 'leaf']));
    expect(btreePages(f, R).filter((p) => p.pagetype === 'internal').length).toBeGreaterThan(1);

    const all = readBothWays(f);
    // traceDiff, not toEqual: toEqual walks these 120k-row columns in ~7 s
    expect(traceDiff(all.pages, all.sql)).toEqual([]);
    expect([all.via[K], all.via[R]]).toEqual(['pages', 'pages']);
    const k = all.pages.kernels;
    expect(k.count).toBe(kernels);
    expect([k.start[kernels - 1], k.end[kernels - 1], k.correlationId[12345]]).toEqual([10 * (kernels - 1), 10 * (kernels - 1) + 7, 12345]);
    expect(head(k.correlationId, kernels).every((c, i) => c === i)).toBe(true);
    expect(all.pages.runtime.count).toBe(calls);
    expect(all.pages.threads.map((t) => t.tid)).toEqual([11, 12, 13]);

    // more kept calls than one 65536-row chunk
    const some = readBothWays(f, { keepApiCall: isAnalysedApiCall });
    expect(traceDiff(some.pages, some.sql)).toEqual([]);
    const r = some.pages.runtime;
    expect(r.count).toBe(calls / 2);
    expect([r.correlationId[0], r.correlationId[34_999], r.start[34_999]]).toEqual([0, 69_998, 699_980]);
    expect(some.pages.apiSummary?.map((a) => [some.pages.strings[a.name], a.count, a.total])).toEqual([
      ['cudaLaunchKernel', 35_000, 175_000], ['cudaGetDevice', 35_000, 175_000]]);
  });
});

/** A kernel table with one odd value in `row`, for the fallback cases below. */
function oddKernel(row: Record<string, Cell>): string {
  return buildFile((db) => {
    stringIds(db, { 100: 'k' });
    createTable(db, K);
    // the odd row first: once the rows SQL counted are read, later rows are not looked at
    insertRows(db, K, [{ start: 1, end: 2, gridX: 1, correlationId: 1, globalPid: gtid(1n, 9, 0), shortName: 100, ...row },
      { start: 3, end: 4, gridX: 2, correlationId: 2, globalPid: gtid(2n, 9, 0), shortName: 100 }]);
  });
}

describe('page reader: values only SQL converts (fallback to SQL)', () => {
  it.each([
    ['text in an INTEGER column', { gridX: 'abc' }, (t: Trace) => launchColumn(t, 'gridX')[0], -1],
    ['a blob in an INTEGER column', { correlationId: Buffer.from([1, 2]) }, (t: Trace) => t.kernels.correlationId[0], -1],
    ['text as a start time', { start: 'x' }, (t: Trace) => head(t.kernels.correlationId, t.kernels.count), [2]],
    ['a REAL globalPid', { globalPid: 2 ** 24 + 0.5 }, (t: Trace) => t.processes[0]?.globalPid, String(2 ** 24)],
    ['text globalPid', { globalPid: 'pid' }, (t: Trace) => t.processes[0]?.globalPid, '0'],
  ] as const)('%s', (_, row, value, expected) => {
    const { pages, sql, via } = readBothWays(oddKernel(row));
    expect(pages).toEqual(sql);
    expect(via[K]).toBe('sql');
    expect(value(pages)).toEqual(expected);
  });
});

describe('traceDiff (test helper)', () => {
  it('finds one changed element, 0 against -0, a missing key; NaN equals NaN', () => {
    const a = { x: Float64Array.from([1, NaN, 0]), y: [{ z: 1 }] };
    expect(traceDiff(a, { x: Float64Array.from([1, NaN, 0]), y: [{ z: 1 }] })).toEqual([]);
    expect(traceDiff(a, { x: Float64Array.from([1, NaN, -0]), y: [{ z: 1 }] })).toEqual(['.x[2]: 0 vs -0']);
    expect(traceDiff(a, { x: Float64Array.from([1, NaN, 0]), y: [{ z: 2 }] })).toEqual(['.y.0.z: 1 vs 2']);
    expect(traceDiff(a, { x: Int32Array.from([1, 0, 0]), y: [{ z: 1 }] })).toEqual(['.x: array class']);
    expect(traceDiff(a, { x: a.x })).toEqual([': keys x,y vs x']);
  });
});
