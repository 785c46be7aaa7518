/** LocalKeys: raw keys numbered as they come, renumbered by first use in the final row order. */
import { describe, expect, it } from 'vitest';
import { LocalKeys } from '../../src/readers/bulk.js';

describe('LocalKeys', () => {
  it('numbers keys by first appearance, runs of one key included', () => {
    const k = new LocalKeys();
    expect([7, 7, 9, 7, -1, 9, -1].map((x) => k.local(x))).toEqual([0, 0, 1, 0, 2, 1, 2]);
  });

  it('replays in row order: entities are asked for in first use of the final order, the NULL key stays -1', () => {
    const k = new LocalKeys();
    // read order: 7, 9, -1, 11; after reordering the rows the column reads 11, -1, 9, 7, 9
    for (const x of [7, 9, -1, 11]) k.local(x);
    const col = Int32Array.of(3, 2, 1, 0, 1);
    const asked: number[] = [];
    k.replay(col, col.length, (key) => { asked.push(key); return 100 + asked.length - 1; });
    expect(asked).toEqual([11, 9, 7]);
    expect(Array.from(col)).toEqual([100, -1, 101, 102, 101]);
  });

  it('replays only the first `count` rows', () => {
    const k = new LocalKeys();
    k.local(5); k.local(6);
    const col = Int32Array.of(1, 0, 1);
    k.replay(col, 2, (key) => key * 10);
    expect(Array.from(col)).toEqual([60, 50, 1]);
  });
});
