/**
 * The page reader (readers/pages.ts) on text, overflow pages, page sizes, CUDA API calls out of
 * time order and WAL files: each file built here, read from the pages and through SQL only
 * (noPages), with values worked out by hand.
 */
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { isAnalysedApiCall } from '../../src/analyses/api-calls.js';
import { removeTempDirs } from '../helpers/make-sqlite.js';
import { btreePages, buildFile, createTable, head, insertRows, readBothWays, sha256, stringIds, type Cell } from '../helpers/page-files.js';

afterAll(removeTempDirs);

const K = 'CUPTI_ACTIVITY_KIND_KERNEL';
const R = 'CUPTI_ACTIVITY_KIND_RUNTIME';
const N = 'NVTX_EVENTS';
const TID = (1n << 48n) | (77n << 24n) | 78n;

/** Text of exactly `bytes` UTF-8 bytes: 'é' 2, '日' 3, '🚀' 4 (a surrogate pair in JS), 'x' 1. */
function textOf(bytes: number): string {
  return 'é日🚀x'.repeat(Math.floor(bytes / 10)) + 'b'.repeat(bytes % 10);
}

/** NVTX ranges with inline texts of the given byte lengths; every 7th row names a registered string instead. */
function nvtxFile(lengths: number[], pageSize: number): string {
  return buildFile((db) => {
    stringIds(db, { 100: 'registered ✓' });
    createTable(db, N);
    insertRows(db, N, lengths.map((len, i) => ({
      start: 10 * i, end: 10 * i + 5, eventType: 59, globalTid: TID, domainId: 0,
      ...(i % 7 === 3 ? { textId: 100 } : { text: textOf(len) }),
    })));
  }, { pageSize });
}

function expectTexts(path: string, lengths: number[]): void {
  const { pages, sql, via } = readBothWays(path);
  expect(pages).toEqual(sql);
  expect(via).toEqual({ [N]: 'pages' });
  const v = pages.nvtx;
  expect(v.count).toBe(lengths.length);
  const got = head(v.text, v.count).map((i) => pages.strings[i]);
  expect(got).toEqual(lengths.map((len, i) => (i % 7 === 3 ? 'registered ✓' : textOf(len))));
  expect(Buffer.byteLength(got[0])).toBe(lengths[0]);
  expect(pages.meta.schemaShape.nvtxText).toBe('both');
}

describe('page reader: NVTX text', () => {
  it('textOf gives the byte length asked for', () => {
    expect([1, 10, 477, 65_501].map((n) => Buffer.byteLength(textOf(n)))).toEqual([1, 10, 477, 65_501]);
  });

  it('page size 512: every record size across the overflow threshold, and a 200-page overflow chain', () => {
    // usable 512: a payload over 477 bytes spills; the sweep covers every local/overflow split
    const lengths = [...Array.from({ length: 1000 }, (_, i) => 300 + i), 100_003];
    const f = nvtxFile(lengths, 512);
    expect(readFileSync(f).readUInt16BE(16)).toBe(512);
    expect(btreePages(f, N).filter((p) => p.pagetype === 'overflow').length).toBeGreaterThan(1000);
    expectTexts(f, lengths);
  });

  it('page size 65536: records around the 65501-byte local limit and a 200 kB text', () => {
    const lengths = [...Array.from({ length: 80 }, (_, i) => 65_380 + 3 * i), 200_003, 5];
    const f = nvtxFile(lengths, 65536);
    // 65536 is stored as 1 in the header's two bytes
    expect(readFileSync(f).readUInt16BE(16)).toBe(1);
    expect(btreePages(f, N).some((p) => p.pagetype === 'overflow')).toBe(true);
    expectTexts(f, lengths);
  });

  it.each([
    ['a blob', Buffer.from('héllo'), 'héllo'],
    ['a NUL inside', 'a\u0000b', 'a\u0000b'],
    // valid UTF-8 of U+FFFD: the page reader cannot tell it from a decoding error, so SQL reads it
    ['U+FFFD itself', '\uFFFD', '\uFFFD'],
    ['invalid UTF-8 (61 ff 62)', 'x61ff62', 'a\uFFFDb'],
    ['a cut multi-byte sequence (c3)', 'xc3', '\uFFFD'],
  ] as [string, Cell, string][])('text that is %s reads through SQL', (_, value, expected) => {
    const f = buildFile((db) => {
      createTable(db, N);
      if (typeof value === 'string' && /^x[0-9a-f]+$/.test(value)) {
        db.exec(`INSERT INTO ${N} (start, "end", eventType, text) VALUES (1, 2, 59, CAST(x'${value.slice(1)}' AS TEXT))`);
      } else insertRows(db, N, [{ start: 1, end: 2, eventType: 59, text: value }]);
      insertRows(db, N, [{ start: 3, end: 4, eventType: 59, text: 'next' }]);
    });
    const { pages, sql, via } = readBothWays(f);
    expect(pages).toEqual(sql);
    expect(via).toEqual({ [N]: 'sql' });
    expect(head(pages.nvtx.text, 2).map((i) => pages.strings[i])).toEqual([expected, 'next']);
  });
});

/** A runtime table with calls (start, end, tid) in the given rowid order. */
function runtimeFile(calls: [number, number, number][]): string {
  return buildFile((db) => {
    stringIds(db, { 200: 'cudaLaunchKernel', 201: 'cudaGetDevice' });
    createTable(db, R);
    insertRows(db, R, calls.map(([start, end, tid], i) => ({
      start, end, globalTid: (1n << 48n) | (5n << 24n) | BigInt(tid), nameId: 200 + (i % 2), correlationId: i, eventClass: 0,
    })));
  });
}

describe('page reader: CUDA API calls out of time order', () => {
  it.each([
    // rowid order is not time order: numbering must follow time order (thread 12 first)
    ['starts out of order', [[200, 210, 11], [100, 110, 12], [300, 310, 11]], [100, 200, 300], [110, 210, 310], [12, 11]],
    // equal starts, ends decreasing: out of (start, end) order
    ['equal starts, ends out of order', [[100, 200, 11], [100, 150, 12]], [100, 100], [150, 200], [12, 11]],
    // equal (start, end): in order, ties keep rowid order
    ['equal starts and ends', [[100, 150, 11], [100, 150, 12]], [100, 100], [150, 150], [11, 12]],
  ] as [string, [number, number, number][], number[], number[], number[]][])('%s', (_, calls, starts, ends, tids) => {
    const f = runtimeFile(calls);
    const { pages, sql, via } = readBothWays(f);
    expect(pages).toEqual(sql);
    // out of order, the in-order API-call read (nsys-events.ts) gives up and the table is read from the pages by readColumnsFromPages
    expect(via).toEqual({ [R]: 'pages' });
    const r = pages.runtime;
    expect([head(r.start, r.count), head(r.end, r.count)]).toEqual([starts, ends]);
    expect(pages.threads.map((t) => t.tid)).toEqual(tids);
    expect(head(r.thread, r.count).map((t) => pages.threads[t].tid)).toEqual(
      [...calls].sort((a, b) => a[0] - b[0] || a[1] - b[1]).map((c) => c[2]));

    const some = readBothWays(f, { keepApiCall: isAnalysedApiCall });
    expect(some.pages).toEqual(some.sql);
    expect(some.pages.threads).toEqual(pages.threads);
    // only the even rowids (cudaLaunchKernel) stay
    const kept = calls.filter((_c, i) => i % 2 === 0).map((c) => c[0]).sort((a, b) => a - b);
    expect(head(some.pages.runtime.start, some.pages.runtime.count)).toEqual(kept);
  });
});

describe('page reader: WAL files', () => {
  it('a WAL-mode file is read through SQL only, from a copy, and left as it was', () => {
    const f = buildFile((db) => {
      stringIds(db, { 100: 'gemm', 200: 'cudaLaunchKernel' });
      createTable(db, K); createTable(db, R); createTable(db, N);
      insertRows(db, K, [{ start: 5, end: 9, correlationId: 2 ** 40, shortName: 100, deviceId: 0 }]);
      insertRows(db, R, [{ start: 1, end: 3, correlationId: 2 ** 40, nameId: 200, globalTid: TID }]);
      insertRows(db, N, [{ start: 0, end: 20, eventType: 59, text: 'step 1 ✓', globalTid: TID }]);
    }, { wal: true });
    const header = readFileSync(f);
    expect([header[18], header[19]]).toEqual([2, 2]);
    const before = sha256(f);
    const { pages, sql, via } = readBothWays(f);
    expect(pages).toEqual(sql);
    expect(via).toEqual({ [K]: 'sql', [R]: 'sql', [N]: 'sql' });
    expect([pages.kernels.start[0], pages.kernels.end[0], pages.kernels.correlationId[0]]).toEqual([5, 9, 2 ** 40]);
    expect(pages.strings[pages.kernels.shortName[0]]).toBe('gemm');
    expect(pages.strings[pages.nvtx.text[0]]).toBe('step 1 ✓');
    expect(pages.threads.map((t) => t.globalTid)).toEqual([TID.toString()]);
    expect([sha256(f), existsSync(`${f}-wal`), existsSync(`${f}-shm`)]).toEqual([before, false, false]);
  });
});
