import { describe, expect, it } from 'vitest';
import {
  complement, concurrencyLevels, concurrencyTimeline, distribution, gapsWithin, groupPairOverlaps, intersect, intersectionLength,
  idleWithin, intervalSet, lowerBoundNear, OverlapWalker, overlapWith, sortedUnionMeets, totalLength, union, unionSorted, type IntervalSet,
} from '../../src/model/intervals.js';

const pairs = (s: IntervalSet) => Array.from(s.start, (x, i) => [x, s.end[i]]);
const levels = (iv: [number, number][]) => {
  const sorted = [...iv].sort((a, b) => a[0] - b[0]);
  return concurrencyLevels(sorted.map((p) => p[0]), sorted.map((p) => p[1]), sorted.length);
};

describe('union', () => {
  it('merges overlapping, nested, touching and identical intervals and drops empty ones', () => {
    const u = intervalSet([[0, 10], [5, 15], [2, 3], [15, 20], [30, 40], [30, 40], [50, 50], [60, 61]]);
    expect(pairs(u)).toEqual([[0, 20], [30, 40], [60, 61]]);
    expect(totalLength(u)).toBe(31);
  });
  it('sorts unsorted input', () => {
    expect(pairs(union([30, 0, 10], [35, 5, 12], 3))).toEqual([[0, 5], [10, 12], [30, 35]]);
  });
  it('is empty for no or only zero-length intervals', () => {
    expect(union([], [], 0).count).toBe(0);
    expect(union([4, 4], [4, 4], 2).count).toBe(0);
  });
});

describe('intersection and complement', () => {
  const a = intervalSet([[0, 10], [20, 30]]);
  const b = intervalSet([[5, 25], [30, 35]]);
  it('intersects, with touching pieces not overlapping', () => {
    expect(pairs(intersect(a, b))).toEqual([[5, 10], [20, 25]]);
    expect(intersectionLength(a, b)).toBe(10);
    expect(intersectionLength(intervalSet([[0, 5]]), intervalSet([[5, 9]]))).toBe(0);
  });
  it('sums what the plain merge walk sums, in its order, skipping far pieces (fractions included)', () => {
    const walk = (x: IntervalSet, y: IntervalSet) => {
      let t = 0;
      let i = 0;
      let j = 0;
      while (i < x.count && j < y.count) {
        const s = Math.max(x.start[i], y.start[j]);
        const e = Math.min(x.end[i], y.end[j]);
        if (e > s) t += e - s;
        if (x.end[i] < y.end[j]) i++; else j++;
      }
      return t;
    };
    let seed = 9;
    const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296);
    const set = (n: number, scale: number) => intervalSet(Array.from({ length: n }, () => {
      const s = rand() * 1000;
      return [s, s + rand() * scale] as [number, number];
    }));
    for (let trial = 0; trial < 300; trial++) {
      const x = set(Math.floor(rand() * 40), rand() < 0.5 ? 3 : 60);
      const y = set(Math.floor(rand() * 400), rand() < 0.5 ? 0.7 : 20);
      expect(intersectionLength(x, y)).toBe(walk(x, y));
      expect(intersectionLength(y, x)).toBe(walk(y, x));
    }
  });
  it('OverlapWalker measures as overlapWith does, queries moving forward or back', () => {
    let seed = 13;
    const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296);
    for (let trial = 0; trial < 100; trial++) {
      const set = intervalSet(Array.from({ length: Math.floor(rand() * 300) }, () => {
        const s = Math.floor(rand() * 2000);
        return [s, s + 1 + Math.floor(rand() * 10)] as [number, number];
      }));
      const walker = new OverlapWalker(set);
      let s = 0;
      for (let q = 0; q < 60; q++) {
        s = rand() < 0.1 ? Math.floor(rand() * 2000) : s + Math.floor(rand() * 80);
        const e = s + Math.floor(rand() * 50);
        expect(walker.overlap(s, e)).toBe(overlapWith(set, s, e));
      }
    }
  });
  it('measures [s, e) against a set', () => {
    expect(overlapWith(a, 8, 22)).toBe(4);
    expect(overlapWith(a, 10, 20)).toBe(0);
    expect(overlapWith(a, -5, 100)).toBe(20);
  });
  it('finds gaps including leading and trailing idle', () => {
    expect(pairs(complement(a, -5, 40))).toEqual([[-5, 0], [10, 20], [30, 40]]);
    expect(pairs(complement(a, 5, 25))).toEqual([[10, 20]]);
    expect(pairs(complement(a, 0, 30))).toEqual([[10, 20]]);
    expect(pairs(complement(EMPTY(), 3, 7))).toEqual([[3, 7]]);
  });
  it('finds gaps within each window segment only', () => {
    const w = intervalSet([[0, 12], [18, 40]]);
    expect(pairs(gapsWithin(a, w))).toEqual([[10, 12], [18, 20], [30, 40]]);
  });
});

function EMPTY(): IntervalSet {
  return intervalSet([]);
}

describe('concurrency sweep', () => {
  it('counts time per level for overlapping and nested intervals', () => {
    // [0,10) and [5,15) overlap on [5,10); [6,8) nests inside both.
    const lv = levels([[0, 10], [5, 15], [6, 8]]);
    expect(lv.levelTime).toEqual([0, 10, 3, 2]);
    expect(lv.busy).toBe(15);
    expect(lv.overlapTime).toBe(5);
    expect(lv.maxConcurrency).toBe(3);
  });
  it('does not count touching intervals as overlapping', () => {
    const lv = levels([[0, 5], [5, 10], [10, 12]]);
    expect(lv.levelTime).toEqual([0, 12]);
    expect(lv.maxConcurrency).toBe(1);
  });
  it('counts identical intervals at level 2', () => {
    expect(levels([[3, 7], [3, 7]]).levelTime).toEqual([0, 0, 4]);
  });
  it('ignores zero-length intervals, even on top of others', () => {
    const lv = levels([[0, 4], [2, 2], [4, 4], [9, 9]]);
    expect(lv.levelTime).toEqual([0, 4]);
    expect(lv.busy).toBe(4);
    expect(lv.maxConcurrency).toBe(1);
  });
  it('skips idle time between intervals', () => {
    expect(levels([[0, 2], [10, 13]]).busy).toBe(5);
  });
  it('is empty for nothing', () => {
    expect(levels([])).toEqual({ levelTime: [0], busy: 0, overlapTime: 0, maxConcurrency: 0, holes: 0 });
  });
  it('counts the holes of the union: touching pieces make none, a zero-length one in a hole does not split it', () => {
    expect(levels([[0, 5], [5, 10], [10, 12]]).holes).toBe(0);
    expect(levels([[0, 2], [10, 13]]).holes).toBe(1);
    expect(levels([[0, 2], [4, 4], [6, 6], [10, 13], [11, 12], [20, 21]]).holes).toBe(2);
    // nothing after the last piece but a zero-length one: no hole
    expect(levels([[0, 2], [3, 4], [9, 9]]).holes).toBe(1);
  });
});

describe('group pair overlaps', () => {
  it('measures |busy_a ∩ busy_b| per pair, merging each group first', () => {
    // group 0: [0,10) [10,20) (touching, one busy stretch); group 1: [5,8) [15,30); group 2: [25,40)
    const s = [0, 5, 10, 15, 25];
    const e = [10, 8, 20, 30, 40];
    const g = [0, 1, 0, 1, 2];
    const m = groupPairOverlaps(s, e, g, 5, 3);
    expect(Object.fromEntries(m)).toEqual({ [0 * 3 + 1]: 3 + 5, [1 * 3 + 2]: 5 });
  });
  it('counts a pair once however many pieces overlap and ignores touching groups', () => {
    const m = groupPairOverlaps([0, 0, 4, 10], [10, 2, 6, 12], [0, 1, 1, 1], 4, 2);
    expect(Object.fromEntries(m)).toEqual({ 1: 4 });
    expect(groupPairOverlaps([0, 5], [5, 9], [0, 1], 2, 2).size).toBe(0);
  });
  it('matches brute force on a random set', () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const n = 300;
    const groups = 5;
    const rows = Array.from({ length: n }, () => {
      const s = Math.floor(rand() * 1000);
      return { s, e: s + Math.floor(rand() * 40), g: Math.floor(rand() * groups) };
    }).sort((a, b) => a.s - b.s);
    const m = groupPairOverlaps(rows.map((r) => r.s), rows.map((r) => r.e), rows.map((r) => r.g), n, groups);
    // 600 groups (only the first few used) sums in a Map rather than a matrix: the same pairs
    const wide = groupPairOverlaps(rows.map((r) => r.s), rows.map((r) => r.e), rows.map((r) => r.g), n, 600);
    for (let a = 0; a < groups; a++) {
      for (let b = a + 1; b < groups; b++) {
        const ua = intervalSet(rows.filter((r) => r.g === a).map((r) => [r.s, r.e] as [number, number]));
        const ub = intervalSet(rows.filter((r) => r.g === b).map((r) => [r.s, r.e] as [number, number]));
        expect(m.get(a * groups + b) ?? 0).toBe(intersectionLength(ua, ub));
        expect(wide.get(a * 600 + b) ?? 0).toBe(intersectionLength(ua, ub));
      }
    }
    expect(wide.size).toBe(m.size);
  });
});

describe('distribution', () => {
  it('gives count, total, min, median, p95 (linear interpolation, rounded to ns) and max', () => {
    const values = Array.from({ length: 20 }, (_, i) => (i + 1) * 10); // 10..200
    // p95 at rank 0.95 * 19 = 18.05: 190 + 0.05 * 10 = 190.5 → 191; median (100 + 110) / 2 = 105
    expect(distribution(values)).toEqual({ count: 20, total: 2100, min: 10, median: 105, p95: 191, max: 200 });
  });
  it('does not depend on input order and handles one value', () => {
    expect(distribution([5, 1, 3])).toEqual({ count: 3, total: 9, min: 1, median: 3, p95: 5, max: 5 });
    expect(distribution(new Float64Array([7]))).toEqual({ count: 1, total: 7, min: 7, median: 7, p95: 7, max: 7 });
  });
  it('is all zero when empty', () => {
    expect(distribution([])).toEqual({ count: 0, total: 0, min: 0, median: 0, p95: 0, max: 0 });
  });
});

describe('idleWithin', () => {
  it('equals gapsWithin of the union, for one-segment and several-segment windows', () => {
    let seed = 3;
    const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296);
    for (let trial = 0; trial < 200; trial++) {
      const n = Math.floor(rand() * 12);
      const iv: [number, number][] = Array.from({ length: n }, () => {
        const s = 10 + Math.floor(rand() * 80);
        return [s, s + Math.floor(rand() * 15) * (rand() < 0.2 ? 0 : 1)];
      });
      iv.sort((a, b) => a[0] - b[0]);
      const windows = [intervalSet([[10, 105]]), intervalSet([[0, 120]]), intervalSet([[10, 40], [50, 105]])];
      for (const w of windows) {
        // pieces clipped to the window, as the selection gives them
        const clipped = w.count === 1
          ? iv.map(([s, e]) => [Math.max(s, w.start[0]), Math.min(e, w.end[0])] as [number, number]).filter(([s, e]) => e >= s)
          : iv;
        const s = clipped.map((p) => p[0]);
        const e = clipped.map((p) => p[1]);
        const expected = pairs(gapsWithin(unionSorted(s, e, s.length), w));
        expect(pairs(idleWithin(s, e, s.length, w))).toEqual(expected);
        // with a bound: exact, loose, or short (then the counting walk after all)
        for (const atMost of [expected.length, expected.length + 3, Math.max(0, expected.length - 1)]) {
          expect(pairs(idleWithin(s, e, s.length, w, atMost))).toEqual(expected);
        }
      }
    }
  });
  it('is the whole window when nothing ran, and nothing when the window is covered', () => {
    expect(pairs(idleWithin([], [], 0, intervalSet([[5, 9]])))).toEqual([[5, 9]]);
    expect(pairs(idleWithin([5, 7], [8, 9], 2, intervalSet([[5, 9]])))).toEqual([]);
    // touching pieces leave no gap; a zero-length piece does not split one
    expect(pairs(idleWithin([0, 4, 6, 8], [4, 5, 6, 10], 4, intervalSet([[0, 10]])))).toEqual([[5, 8]]);
  });
});

describe('lowerBoundNear', () => {
  it('equals a plain lower bound from any hint', () => {
    const values = [1, 3, 3, 3, 7, 8, 8, 20, 21, 40];
    const lower = (x: number) => { const i = values.findIndex((v) => v >= x); return i < 0 ? values.length : i; };
    for (let hint = 0; hint <= values.length + 1; hint++) {
      for (const x of [0, 1, 2, 3, 4, 7, 8, 9, 20, 21, 22, 40, 41]) expect(lowerBoundNear(values, values.length, x, hint)).toBe(lower(x));
    }
    expect(lowerBoundNear([], 0, 5, 0)).toBe(0);
  });
});

describe('concurrencyLevels against a sweep over sorted ends', () => {
  /** The sweep as written before the heap: every end sorted up front. */
  function reference(start: number[], end: number[]) {
    const ends = Float64Array.from(end).sort();
    const levelTime = [0];
    let active = 0; let prev = start.length > 0 ? start[0] : 0; let i = 0;
    for (let j = 0; j < ends.length;) {
      const takeStart = i < start.length && start[i] <= ends[j];
      const t = takeStart ? start[i] : ends[j];
      if (t > prev) { while (levelTime.length <= active) levelTime.push(0); levelTime[active] += t - prev; prev = t; }
      if (takeStart) { active++; i++; } else { active--; j++; }
    }
    return levelTime;
  }
  it('gives the same time at every level on random overlapping, nested, touching and zero-length intervals', () => {
    let seed = 3;
    const r = () => { seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0; return seed / 4294967296; };
    for (let c = 0; c < 200; c++) {
      const n = Math.floor(r() * 60);
      const pairs = Array.from({ length: n }, () => {
        const s = Math.floor(r() * 100);
        return [s, s + (r() < 0.2 ? 0 : Math.floor(r() * 40))] as const;
      }).sort((a, b) => a[0] - b[0]);
      const start = pairs.map((p) => p[0]);
      const end = pairs.map((p) => p[1]);
      const expected = reference(start, end);
      expected[0] = 0;
      let top = 0;
      for (let k = 1; k < expected.length; k++) if (expected[k] > 0) top = k;
      expect(concurrencyLevels(start, end, n).levelTime).toEqual(expected.slice(0, top + 1));
    }
  });
});

describe('concurrencyTimeline', () => {
  it('gives n(t) at its change points, back-to-back intervals not overlapping, ending at 0', () => {
    // [0,10) and [10,20) touch; [5,15) overlaps both; [30,30] has zero length; [30,40) after a hole
    const s = [0, 5, 10, 30, 30];
    const e = [10, 15, 20, 30, 40];
    const tl = concurrencyTimeline(s, e, 5);
    expect(Array.from(tl.time)).toEqual([0, 5, 15, 20, 30, 40]);
    expect(Array.from(tl.level)).toEqual([1, 2, 1, 0, 1, 0]);
  });

  it('holds each level for exactly the time concurrencyLevels credits it (the same sweep)', () => {
    const s = [0, 0, 3, 4, 9, 20];
    const e = [8, 5, 4, 12, 10, 21];
    const tl = concurrencyTimeline(s, e, s.length);
    const credited: number[] = [];
    for (let p = 0; p + 1 < tl.count; p++) credited[tl.level[p]] = (credited[tl.level[p]] ?? 0) + tl.time[p + 1] - tl.time[p];
    credited[0] = 0;
    expect(credited).toEqual(concurrencyLevels(s, e, s.length).levelTime);
    expect(concurrencyTimeline([], [], 0).count).toBe(0);
  });
});

describe('sortedUnionMeets', () => {
  const given = (start: number[], end: number[]) => {
    let i = 0;
    return (at: Float64Array) => {
      if (i >= start.length) return false;
      at[0] = start[i]; at[1] = end[i]; i++;
      return true;
    };
  };
  const set = intervalSet([[0, 10], [20, 30], [35, 36], [50, 100]]);

  it('is intersectionLength(union(...), set) for intervals in start order', () => {
    // overlapping [5,12) and [8,22), touching [22,25), empty [26,26), nested [60,70) in [55,90)
    const start = [5, 8, 22, 26, 40, 55, 60];
    const end = [12, 22, 25, 26, 45, 90, 70];
    expect(sortedUnionMeets(given(start, end), set)).toBe(intersectionLength(union(start, end, start.length), set));
    expect(sortedUnionMeets(given(start, end), set)).toBe(5 + 5 + 35);
    expect(sortedUnionMeets(given([], []), set)).toBe(0);
  });

  it('is null once an interval comes out of start order (an empty one does not count)', () => {
    expect(sortedUnionMeets(given([5, 3], [6, 4]), set)).toBeNull();
    expect(sortedUnionMeets(given([5, 3, 7], [6, 3, 8]), set)).toBe(2);
  });

  it('agrees with the union on random sorted intervals', () => {
    let seed = 5;
    const rnd = (k: number) => { seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0; return seed % k; };
    for (let round = 0; round < 200; round++) {
      const n = rnd(30);
      const start = Array.from({ length: n }, () => rnd(120)).sort((a, b) => a - b);
      const end = start.map((x) => x + rnd(15));
      expect(sortedUnionMeets(given(start, end), set)).toBe(intersectionLength(union(start, end, n), set));
    }
  });
});
