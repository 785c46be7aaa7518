import { describe, expect, it } from 'vitest';
import { quantile, quantileSorted } from 'd3-array';
import { distribution, distributionInPlace, quantileSelect, selectRank } from '../../src/model/intervals.js';
import {
  distributionAndRanks, distributionAndRanksUncounted, distributionOf, distributionOfUncounted, kthLargest, quantilesByBuckets, valueAtRank, valuesAtRanks, type Visit,
} from '../../src/model/distribution.js';

/** A seeded generator, so a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** The definition distribution() must keep: sort, sum in sorted order, d3's quantileSorted. */
function reference(values: number[]) {
  const sorted = Float64Array.from(values).sort();
  let total = 0;
  for (const v of sorted) total += v;
  const q = (p: number) => Math.round(quantileSorted(sorted as unknown as number[], p) as number);
  return { count: values.length, total, min: sorted[0], median: q(0.5), p95: q(0.95), max: sorted[sorted.length - 1] };
}

/** Arrays with heavy ties (few distinct values), light ties, sorted, reversed and constant runs. */
function cases(): number[][] {
  const r = rng(7);
  const out: number[][] = [[1], [2, 1], [1, 2], [3, 3], [5, 1, 3], [0, 0, 0, 1]];
  for (const n of [3, 4, 5, 19, 20, 21, 100, 101, 1000, 4097]) {
    out.push(Array.from({ length: n }, () => Math.floor(r() * 4)));
    out.push(Array.from({ length: n }, () => Math.floor(r() * 1e9)));
    out.push(Array.from({ length: n }, (_, i) => i * 3));
    out.push(Array.from({ length: n }, (_, i) => (n - i) * 7));
    out.push(Array.from({ length: n }, () => 42));
  }
  return out;
}

describe('quantileSelect', () => {
  it("equals d3's quantileSorted on the sorted values for every p, ties and small counts included", () => {
    for (const values of cases()) {
      const sorted = Float64Array.from(values).sort() as unknown as number[];
      for (const p of [0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 1]) {
        const a = Float64Array.from(values);
        expect(quantileSelect(a, a.length, p)).toBe(quantileSorted(sorted, p));
      }
    }
  });
  it("equals d3's quantile (which selects on a copy) for the median", () => {
    for (const values of cases()) {
      expect(quantileSelect(Float64Array.from(values), values.length, 0.5)).toBe(quantile(values, 0.5));
    }
  });
  it('takes the second rank after the first, starting from the partition the first left', () => {
    const values = Array.from({ length: 999 }, (_, i) => (i * 7919) % 1000);
    const a = Float64Array.from(values);
    const sorted = Float64Array.from(values).sort() as unknown as number[];
    expect(quantileSelect(a, a.length, 0.5)).toBe(quantileSorted(sorted, 0.5));
    expect(quantileSelect(a, a.length, 0.95, Math.floor(998 * 0.5))).toBe(quantileSorted(sorted, 0.95));
  });
  it('is NaN for no values', () => {
    expect(quantileSelect(new Float64Array(0), 0, 0.5)).toBeNaN();
  });
});

describe('selectRank', () => {
  it('puts the k-th smallest at k with smaller-or-equal before it and greater-or-equal after', () => {
    const r = rng(11);
    for (const n of [2, 3, 10, 257]) {
      for (let trial = 0; trial < 20; trial++) {
        const a = Float64Array.from({ length: n }, () => Math.floor(r() * 10));
        const sorted = Float64Array.from(a).sort();
        const k = Math.floor(r() * n);
        selectRank(a, 0, n - 1, k);
        expect(a[k]).toBe(sorted[k]);
        for (let i = 0; i < k; i++) expect(a[i]).toBeLessThanOrEqual(a[k]);
        for (let i = k + 1; i < n; i++) expect(a[i]).toBeGreaterThanOrEqual(a[k]);
        expect(Float64Array.from(a).sort()).toEqual(sorted);
      }
    }
  });
  it('stays correct on an input built against median-of-three (organ pipe)', () => {
    const n = 2000;
    const values = Array.from({ length: n }, (_, i) => (i < n / 2 ? i : n - i));
    const a = Float64Array.from(values);
    selectRank(a, 0, n - 1, 1500);
    expect(a[1500]).toBe(Float64Array.from(values).sort()[1500]);
  });
});

describe('distribution by selection', () => {
  it('equals sort-then-read on every case, whatever the input order', () => {
    for (const values of cases()) expect(distribution(values)).toEqual(reference(values));
  });
  it('in place: the same figures, from the first count values, leaving them reordered but the same values', () => {
    for (const values of cases()) {
      const a = Float64Array.from([...values, -5, 1e9]);
      expect(distributionInPlace(a, values.length)).toEqual(reference(values));
      expect(Array.from(a.subarray(0, values.length)).sort((x, y) => x - y)).toEqual([...values].sort((x, y) => x - y));
      expect(Array.from(a.subarray(values.length))).toEqual([-5, 1e9]);
    }
    const fractions = Float64Array.from([0.1, 0.7, 0.2, 0.3, 99]);
    expect(distributionInPlace(fractions, 4)).toEqual(reference([0.1, 0.7, 0.2, 0.3]));
    expect(fractions[4]).toBe(99);
  });
  it('reads only the first count values', () => {
    const a = new Float64Array([9, 1, 5, 1000, 1000]);
    expect(distribution(a, 3)).toEqual(reference([9, 1, 5]));
  });
  it('sums fractions in sorted order (the sort path), where input order would change the last bit', () => {
    const values = [0.1, 1e16, 0.2, -1e16, 0.3];
    expect(distribution(values)).toEqual(reference(values));
    const fractions = [0.1, 0.7, 0.2, 0.3];
    expect(distribution(fractions).total).toBe(reference(fractions).total);
  });
});

describe('quantilesByBuckets', () => {
  /** Large arrays (distribution() takes the bucket path from 131072 values): ties, one bucket, spread, zeros, huge values. */
  function bigCases(): number[][] {
    const r = rng(5);
    const n = 140001;
    return [
      Array.from({ length: n }, () => Math.floor(r() * 4)),
      Array.from({ length: n + 1 }, () => 1000 + Math.floor(r() * 50)),
      Array.from({ length: n }, () => Math.floor(r() * 2 ** 40)),
      Array.from({ length: n }, () => Math.floor(2 ** (r() * 30))),
      Array.from({ length: n }, () => 77),
      Array.from({ length: n }, (_, i) => (i % 10 === 0 ? 0 : i)),
      Array.from({ length: 131072 }, (_, i) => 131072 - i),
    ];
  }
  it("equals d3's quantileSorted on the sorted values and leaves the input as it was", () => {
    for (const values of bigCases()) {
      const sorted = Float64Array.from(values).sort() as unknown as number[];
      const a = Float64Array.from(values);
      const ps = [0.5, 0.95, 0.01, 0.999];
      expect(quantilesByBuckets(a, a.length, ps)).toEqual(ps.map((p) => quantileSorted(sorted, p)));
      expect(Array.from(a)).toEqual(values);
    }
  });
  it('reads only the first count values', () => {
    const values = bigCases()[2];
    const a = Float64Array.from([...values, 2 ** 50, 2 ** 50]);
    const sorted = Float64Array.from(values).sort() as unknown as number[];
    expect(quantilesByBuckets(a, values.length, [0.95])).toEqual([quantileSorted(sorted, 0.95)]);
  });
  it('declines values with the sign bit set (negative or -0), which distribution then sorts', () => {
    const values = bigCases()[0];
    expect(quantilesByBuckets(Float64Array.from([...values, -1]), values.length + 1, [0.5])).toBeNull();
    expect(quantilesByBuckets(Float64Array.from([...values, -0]), values.length + 1, [0.5])).toBeNull();
    const negatives = values.map((v, i) => (i % 3 === 0 ? -v : v));
    expect(distribution(negatives)).toEqual(reference(negatives));
  });
  it('gives distribution() the same figures as sorting, on every large case', () => {
    for (const values of bigCases()) expect(distribution(values)).toEqual(reference(values));
  });
});

describe('distributionOf and valueAtRank: the values in passes, not in an array', () => {
  const r = rng(11);
  const n = 140001;
  /** Large and small cases, and the ones the buckets decline: fractions, negatives, -0, a sum past 2^52, NaN. */
  const passCases: number[][] = [
    ...cases(),
    // every value in one top bucket (more than valuesAtRanks copies at once), integers below 2^21:
    // the ranks' values read off their sub-buckets
    Array.from({ length: n }, () => 1000 + Math.floor(r() * 16)),
    // two such buckets, together too many to copy at once
    Array.from({ length: n }, (_, i) => (i % 2 ? 1000 : 3000) + Math.floor(r() * 8)),
    Array.from({ length: n }, () => Math.floor(r() * 4)),
    Array.from({ length: n }, () => Math.floor(r() * 2 ** 40)),
    Array.from({ length: n }, (_, i) => (i % 10 === 0 ? 0 : i)),
    Array.from({ length: n }, () => r() * 1000),
    Array.from({ length: n }, (_, i) => (i % 3 === 0 ? -i : i)),
    [...Array.from({ length: n }, (_, i) => i), -0],
    Array.from({ length: n }, () => 2 ** 40 + Math.floor(r() * 1000)),
  ];
  const visitOf = (values: number[]): Visit => (out) => { for (const v of values) out.put(v); };

  it('gives distribution()\'s figures exactly, whichever path the values take', () => {
    for (const values of passCases) expect(distributionOf(values.length, visitOf(values))).toEqual(distribution(values));
    const withNaN = [...passCases[passCases.length - 3].slice(0, n), NaN];
    expect(distributionOf(withNaN.length, visitOf(withNaN))).toEqual(distribution(withNaN));
    // infinities: +Infinity passes the first pass's integer and sign tests (its total does not), -Infinity has the sign bit
    for (const inf of [Infinity, -Infinity]) {
      const values = [...Array.from({ length: n }, (_, i) => i), inf];
      expect(distributionOf(values.length, visitOf(values))).toEqual(distribution(values));
    }
  });

  it('finds the value at a rank as sorting does', () => {
    for (const values of passCases) {
      const sorted = Float64Array.from(values).sort();
      for (const rank of [0, Math.floor(values.length / 2), values.length - 1]) {
        // (-0 and 0 tie: either may stand at their rank)
        expect(valueAtRank(values.length, visitOf(values), rank) === sorted[rank]).toBe(true);
      }
    }
  });

  it('distributionOfUncounted gives distributionOf\'s figures, whatever bound it is told (copied in its first pass or not)', () => {
    for (const values of passCases) {
      const expected = distributionOf(values.length, visitOf(values));
      for (const atMost of [values.length, values.length + 3, 1 << 20, 100]) expect(distributionOfUncounted(visitOf(values), atMost)).toEqual(expected);
    }
    // a visit that takes a distribution itself, while the lent array is out
    const inner = passCases[7];
    const outer = passCases[3];
    const nested: Visit = (out) => { distributionOfUncounted(visitOf(inner), inner.length); for (const v of outer) out.put(v); };
    expect(distributionOfUncounted(nested, outer.length)).toEqual(distributionOf(outer.length, visitOf(outer)));
  });

  it('distributionAndRanksUncounted gives distributionAndRanks\' figures, the ranks named by the count', () => {
    for (const values of passCases) {
      const ranksFor = (n: number) => [0, Math.floor(n / 3), n - 1];
      const expected = distributionAndRanks(values.length, visitOf(values), ranksFor(values.length));
      for (const atMost of [values.length, 1 << 20, 100]) expect(distributionAndRanksUncounted(visitOf(values), atMost, ranksFor)).toEqual(expected);
    }
  });

  it('distributionAndRanks gives distributionOf\'s figures and valueAtRank\'s values from the same passes', () => {
    for (const values of passCases) {
      const ranks = [0, Math.floor(values.length / 3), values.length - 1];
      const { distribution: d, atRanks } = distributionAndRanks(values.length, visitOf(values), ranks);
      expect(d).toEqual(distributionOf(values.length, visitOf(values)));
      // (-0 and 0 tie: either may stand at their rank)
      ranks.forEach((rank, j) => expect(atRanks[j] === valueAtRank(values.length, visitOf(values), rank)).toBe(true));
    }
  });

  it('valuesAtRanks declines a value with its sign bit set', () => {
    for (const values of passCases.slice(-3, -1)) expect(valuesAtRanks(values.length, visitOf(values), [0])).toBeNull();
  });

  it('says so when a visit does not emit the count it was given', () => {
    const values = passCases[passCases.length - 7];
    expect(() => distributionOf(values.length + 1, visitOf(values))).toThrow(/gave 140001 values, not 140002/);
    expect(() => distributionOf(3, visitOf([1, 2]))).toThrow(/gave 2 values, not 3/);
  });
});

describe('kthLargest', () => {
  it('is the value at rank n - k of the sorted values, repeats counted', () => {
    expect(kthLargest([5], 1, 1)).toBe(5);
    expect(kthLargest([1, 3, 2], 3, 1)).toBe(3);
    expect(kthLargest([1, 3, 2], 3, 2)).toBe(2);
    expect(kthLargest([1, 3, 2], 3, 3)).toBe(1);
    // repeats: 4, 4, 4, 1 -> the 2nd and 3rd largest are 4
    expect(kthLargest([4, 1, 4, 4], 4, 3)).toBe(4);
    expect(kthLargest([4, 1, 4, 4], 4, 4)).toBe(1);
    expect(kthLargest([0, 0, 7, 0, 2], 5, 2)).toBe(2);
    expect(kthLargest([0, 0, 7, 0, 2], 5, 3)).toBe(0);
  });

  it('agrees with a sort on arrays with ties, runs and random values', () => {
    for (const values of cases()) {
      const sorted = Float64Array.from(values).sort();
      const n = values.length;
      for (const k of [1, 2, Math.ceil(n / 3), n - 1, n]) {
        if (k < 1 || k > n) continue;
        expect(kthLargest(Float64Array.from(values), n, k)).toBe(sorted[n - k]);
      }
    }
  });
});
