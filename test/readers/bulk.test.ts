import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { LocalKeys, orderByTime, readColumns, sqlParts } from '../../src/readers/bulk.js';

describe('readColumns', () => {
  it('reads every matching row across chunk boundaries, NULL as -1 or NaN, in rowid order', () => {
    const db = new Database(':memory:');
    db.exec('CREATE TABLE t (start INTEGER, "end" INTEGER, v INTEGER)');
    const n = 150_000;
    const ins = db.prepare('INSERT INTO t VALUES (?, ?, ?)');
    db.transaction(() => { for (let i = 0; i < n; i++) ins.run(i * 10 + 2 ** 40, i * 10 + 5 + 2 ** 40, i % 3 === 0 ? null : i); })();
    const start = new Float64Array(n); const end = new Float64Array(n); const v = new Int32Array(n); const w = new Float64Array(n);
    let reported = 0;
    const rows = readColumns(db, 't', 'rowid % 2 = 1', [
      { col: { col: 'start' }, out: start }, { col: { col: 'end' }, out: end }, { col: { col: 'v' }, out: v }, { col: { col: 'v' }, out: w, nan: true },
    ], 0, (r) => { reported += r; });
    expect(rows).toBe(n / 2);
    expect(reported).toBe(n / 2);
    expect([start[0], start[rows - 1], end[rows - 1]]).toEqual([2 ** 40, 2 ** 40 + (n - 2) * 10, 2 ** 40 + (n - 2) * 10 + 5]);
    expect([v[0], v[1], v[2], Number.isNaN(w[0]), w[1]]).toEqual([-1, 2, 4, true, 2]);
  });

  it('stops when the arrays are full and appends from an offset', () => {
    const db = new Database(':memory:');
    db.exec('CREATE TABLE t (start INTEGER, "end" INTEGER); INSERT INTO t VALUES (1, 2), (3, 4), (5, 6)');
    const start = new Float64Array(4).fill(-7); const end = new Float64Array(4);
    expect(readColumns(db, 't', '1', [{ col: { col: 'start' }, out: start }, { col: { col: 'end' }, out: end }], 2)).toBe(2);
    expect([...start]).toEqual([-7, -7, 1, 3]);
  });
});

describe('sqlParts: one definition, the SQL side', () => {
  it('gives each kind of column its SQL', () => {
    expect(sqlParts({ col: 'start', minus: 5n })).toEqual(['("start" - 5)']);
    expect(sqlParts({ col: 'globalTid', op: 'thread' })).toEqual(['("globalTid" >> 24)', '("globalTid" & 16777215)']);
    expect(sqlParts({ col: 'streamId', op: 'syncStream' })).toEqual(['NULLIF("streamId", 4294967295)']);
    expect(sqlParts({ coalesce: ['a', 'b'] })).toEqual(['COALESCE("a", "b")']);
    expect(sqlParts({ value: null })).toEqual(['NULL']);
  });

  it('a thread column reads the same pairs through SQL as LocalKeys numbers them', () => {
    const db = new Database(':memory:');
    db.exec('CREATE TABLE t (start INTEGER, "end" INTEGER, g INTEGER); INSERT INTO t VALUES (1, 2, 16777217), (3, 4, NULL), (5, 6, 16777217), (7, 8, 33554433)');
    const start = new Float64Array(4); const end = new Float64Array(4); const th = new Int32Array(4);
    const keys = new LocalKeys();
    readColumns(db, 't', '1', [{ col: { col: 'start' }, out: start }, { col: { col: 'end' }, out: end }, { col: { col: 'g', op: 'thread' }, out: th, keys }], 0);
    expect([...th]).toEqual([0, 1, 0, 2]);
    const seen: number[][] = [];
    keys.replay(th, 4, (p, t) => { seen.push([p, t]); return seen.length * 10; });
    // the NULL thread stays -1
    expect(seen).toEqual([[1, 1], [2, 1]]);
    expect([...th]).toEqual([10, -1, 10, 20]);
  });
});

describe('orderByTime', () => {
  it('sorts every column by (start, end), ties in read order, only when out of order', () => {
    const start = Float64Array.from([5, 1, 5, 1]);
    const end = Float64Array.from([9, 4, 6, 4]);
    const id = Int32Array.from([0, 1, 2, 3]);
    orderByTime(start, end, 4, [start, end, id]);
    expect([[...start], [...end], [...id]]).toEqual([[1, 1, 5, 5], [4, 4, 6, 9], [1, 3, 2, 0]]);
    // a mark (NaN end) sorts before a range with the same start, as NULL does in SQL
    const ms = Float64Array.from([2, 2]); const me = Float64Array.from([5, NaN]);
    orderByTime(ms, me, 2, [ms, me]);
    expect([...me]).toEqual([NaN, 5]);
    const sorted = Int32Array.from([7, 8]);
    orderByTime(Float64Array.from([1, 2]), Float64Array.from([3, 3]), 2, [sorted]);
    expect([...sorted]).toEqual([7, 8]);
  });
});
