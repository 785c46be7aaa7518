import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { orderByTime, readColumns } from '../../src/readers/bulk.js';

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
      { expr: 'start', out: start }, { expr: '"end"', out: end }, { expr: 'v', out: v }, { expr: 'v', out: w, nan: true },
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
    expect(readColumns(db, 't', '1', [{ expr: 'start', out: start }, { expr: '"end"', out: end }], 2)).toBe(2);
    expect([...start]).toEqual([-7, -7, 1, 3]);
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
