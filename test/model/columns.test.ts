import { describe, expect, it } from 'vitest';
import { fit as firstN, fitsInt32, grown, narrowIds, rowAt, rowsOf, rowView, runningDoubles, widenIds } from '../../src/model/columns.js';

describe('model/columns', () => {
  it('row views: null rows mean row j is j, without a copy', () => {
    const all = rowView(Int32Array.of(0, 1, 2), 3, 3);
    expect(all.rows).toBeNull();
    expect([rowAt(all, 2), ...rowsOf(all)]).toEqual([2, 0, 1, 2]);
    const some = rowView(Int32Array.of(0, 2, 5, 0), 3, 6);
    expect([some.count, rowAt(some, 1), ...rowsOf(some)]).toEqual([3, 2, 0, 2, 5]);
    // every row but out of order is not the identity
    expect(rowView(Int32Array.of(1, 0), 2, 2).rows).toEqual(Int32Array.of(1, 0));
  });

  it('id columns: narrow only when every value reads back the same, widen keeps values', () => {
    expect([fitsInt32(2 ** 31 - 1), fitsInt32(2 ** 31), fitsInt32(-0), fitsInt32(1.5), fitsInt32(-(2 ** 31))]).toEqual([true, false, false, false, true]);
    expect(narrowIds(Float64Array.of(1, 2, 3))).toBeInstanceOf(Int32Array);
    const wide = Float64Array.of(1, 2 ** 40);
    expect(narrowIds(wide)).toBe(wide);
    expect(Array.from(widenIds(Int32Array.of(-1, 7)))).toEqual([-1, 7]);
  });

  it('sizing and running doubles', () => {
    const a = Float64Array.of(1, 2, 3);
    expect(firstN(a, 3)).toBe(a);
    expect(Array.from(firstN(a, 2))).toEqual([1, 2]);
    expect(Array.from(grown(Int32Array.of(4, 5), 4))).toEqual([4, 5, 0, 0]);
    const acc = runningDoubles(Infinity, -Infinity);
    for (const x of [3.5, -1.25, 8]) { acc[0] = Math.min(acc[0], x); acc[1] = Math.max(acc[1], x); }
    expect(Array.from(acc)).toEqual([-1.25, 8]);
  });
});
