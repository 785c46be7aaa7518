import { describe, expect, it } from 'vitest';
import { difference, differenceLength, intervalSet, totalLength, type IntervalSet } from '../../src/model/intervals.js';

const pairs = (s: IntervalSet): [number, number][] => Array.from({ length: s.count }, (_, i) => [s.start[i], s.end[i]]);

describe('difference a \\ b', () => {
  it('cuts every case exactly: disjoint, inside, straddling, covering, touching', () => {
    const a = intervalSet([[0, 10], [20, 30], [40, 50], [60, 70]]);
    // [2,4) inside the first; [8,22) straddles first and second; [40,50) covers the third exactly;
    // [70,80) only touches the fourth
    const b = intervalSet([[2, 4], [8, 22], [40, 50], [70, 80]]);
    expect(pairs(difference(a, b))).toEqual([[0, 2], [4, 8], [22, 30], [60, 70]]);
    expect(differenceLength(a, b)).toBe(2 + 4 + 8 + 10);
  });

  it('an empty b leaves a; an empty a stays empty; b covering all of a leaves nothing', () => {
    const a = intervalSet([[5, 9], [12, 13]]);
    expect(pairs(difference(a, intervalSet([])))).toEqual([[5, 9], [12, 13]]);
    expect(difference(intervalSet([]), a).count).toBe(0);
    expect(difference(a, intervalSet([[0, 100]])).count).toBe(0);
  });

  it('one piece of b cutting several pieces of a, and several of b inside one of a', () => {
    expect(pairs(difference(intervalSet([[0, 3], [5, 8], [10, 20]]), intervalSet([[1, 12]])))).toEqual([[0, 1], [12, 20]]);
    expect(pairs(difference(intervalSet([[0, 20]]), intervalSet([[1, 2], [4, 6], [19, 25]])))).toEqual([[0, 1], [2, 4], [6, 19]]);
  });

  it('equals a brute-force count over integer time on random sets', () => {
    let seed = 7;
    const rnd = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
    const randomSet = (): IntervalSet => intervalSet(Array.from({ length: rnd(8) }, () => {
      const s = rnd(100);
      return [s, s + rnd(20)] as [number, number];
    }));
    for (let trial = 0; trial < 300; trial++) {
      const a = randomSet();
      const b = randomSet();
      const inSet = (s: IntervalSet, t: number): boolean => pairs(s).some(([x, y]) => t >= x && t < y);
      let expected = 0;
      for (let t = 0; t < 130; t++) if (inSet(a, t) && !inSet(b, t)) expected++;
      const d = difference(a, b);
      expect(totalLength(d)).toBe(expected);
      expect(differenceLength(a, b)).toBe(expected);
      // disjoint, sorted, positive pieces inside a and outside b
      for (let i = 0; i < d.count; i++) {
        expect(d.end[i]).toBeGreaterThan(d.start[i]);
        if (i > 0) expect(d.start[i]).toBeGreaterThanOrEqual(d.end[i - 1]);
        expect(inSet(a, d.start[i]) && !inSet(b, d.start[i])).toBe(true);
      }
    }
  });
});

describe('StreamingUnion (analyses/communication.ts)', () => {
  it('equals union() on pieces in start order, kept or length-only, and sorts when out of order', async () => {
    const { StreamingUnion } = await import('../../src/analyses/communication.js');
    const { union } = await import('../../src/model/intervals.js');
    let seed = 11;
    const rnd = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
    for (let trial = 0; trial < 200; trial++) {
      const n = rnd(30);
      const ps = Array.from({ length: n }, () => { const s = rnd(500); return [s, s + rnd(40)] as [number, number]; });
      const sorted = [...ps].sort((a, b) => a[0] - b[0]);
      const expected = union(sorted.map((p) => p[0]), sorted.map((p) => p[1]), n);
      const kept = new StreamingUnion(true);
      const lengthOnly = new StreamingUnion(false);
      for (const [a, b] of sorted) { kept.add(a, b); lengthOnly.add(a, b); }
      const k = kept.finish();
      expect(pairs(k.set)).toEqual(pairs(expected));
      expect(k.length).toBe(totalLength(expected));
      expect(lengthOnly.finish().length).toBe(totalLength(expected));
      const unordered = new StreamingUnion(true);
      for (const [a, b] of ps) unordered.add(a, b);
      expect(pairs(unordered.finish().set)).toEqual(pairs(expected));
    }
  });
});
