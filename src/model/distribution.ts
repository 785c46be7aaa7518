/**
 * Distribution statistics (count, total, min, median, p95, max) of up to millions of values, and
 * the order statistics behind them: selection instead of sorting, exact against d3's
 * quantileSorted on the sorted values.
 */
import { quantileSorted } from 'd3-array';
import type { Distribution } from '../report/types.js';
import { runningDoubles } from './columns.js';

/**
 * count, total, min, median, p95, max of the values. Quantiles are d3's quantileSorted (linear
 * interpolation between closest ranks, as numpy's default), rounded to the nearest integer ns
 * because inputs are integer ns. Every field is 0 when there are no values.
 *
 * A million values are the common case (kernel durations, gaps, launch latencies), so the two
 * quantiles come from selection (linear) rather than a sort. The total is then summed in input
 * order; that equals the sorted-order sum exactly when every value is an integer and the sum of
 * magnitudes stays below 2^52 (every partial sum is then exact). Anything else (fractions, NaN,
 * huge values) takes the sort, so the result never depends on the input's order.
 */
export function distribution(values: ArrayLike<number>, count = values.length): Distribution {
  if (count === 0) return distributionInPlace(new Float64Array(0), 0);
  const a = new Float64Array(count);
  for (let i = 0; i < count; i++) a[i] = values[i];
  return distributionInPlace(a, count);
}

/** distribution() of a[0..count) that reorders `a` instead of copying it. */
export function distributionInPlace(a: Float64Array, count = a.length): Distribution {
  if (count === 0) return { count: 0, total: 0, min: 0, median: 0, p95: 0, max: 0 };
  let total = 0;
  let magnitude = 0;
  let min = Infinity;
  let max = -Infinity;
  let integers = true;
  for (let i = 0; i < count; i++) {
    const v = a[i];
    total += v;
    magnitude += Math.abs(v);
    if (v < min) min = v;
    if (v > max) max = v;
    if (Math.floor(v) !== v) integers = false;
  }
  if (!integers || !(magnitude < 2 ** 52)) return sortedDistribution(a, count);
  const q = count >= BUCKET_MIN && min >= 0 ? quantilesByBuckets(a, count, [0.5, 0.95]) : null;
  if (q) return { count, total, min, median: Math.round(q[0]), p95: Math.round(q[1]), max };
  const median = quantileSelect(a, count, 0.5);
  // the median's selection left a[0..i0] <= a[i0 + 1..): the p95 rank lies right of it
  const p95 = quantileSelect(a, count, 0.95, Math.floor((count - 1) * 0.5));
  return { count, total, min, median: Math.round(median), p95: Math.round(p95), max };
}

/** Below this many values quickselect is faster: the buckets cost a fixed ~1 ms (measured: even at 100k, 2x faster at 1M). */
const BUCKET_MIN = 1 << 17;
/** Index of a double's high 32-bit word in a Uint32Array view of its bytes. */
const HIGH_WORD = new Uint8Array(Float64Array.of(1).buffer)[7] === 0x3f ? 1 : 0;

/**
 * Values given in passes: `visit(out)` puts each value into `out`, the same values in the same
 * order every time it is called. A million computed values (kernel durations, gaps, latencies)
 * then need no array: every statistic below takes a pass.
 */
export type Visit = (out: ValueSink) => void;

/**
 * Where a visit puts its values: a small buffer handed on in chunks. One class, so `put` is one
 * call target that the compiler inlines into each visit's loop: a value passed to a callback
 * that is not inlined is a new heap number, a million of them a pass.
 */
export class ValueSink {
  private readonly buffer = new Float64Array(1024);
  private n = 0;

  constructor(private readonly take: (values: Float64Array, n: number) => void) {}

  put(value: number): void {
    this.buffer[this.n++] = value;
    if (this.n === this.buffer.length) this.flush();
  }

  flush(): void {
    if (this.n > 0) this.take(this.buffer, this.n);
    this.n = 0;
  }
}

/** One pass of a visit: `take` gets its values in order, a chunk at a time. */
function pass(visit: Visit, take: (values: Float64Array, n: number) => void): void {
  const sink = new ValueSink(take);
  visit(sink);
  sink.flush();
}

/** a[0..count) as a Visit. */
export function visitArray(a: ArrayLike<number>, count = a.length): Visit {
  return (out) => { for (let i = 0; i < count; i++) out.put(a[i]); };
}

/**
 * distribution() of the `count` values a visit gives, without holding them when there are many:
 * one pass for count, total, min, max and the top bits, one or two more for the quantiles
 * (valuesAtRanks). Fewer than
 * BUCKET_MIN values, or values the buckets cannot order (fractions, NaN, negative or -0, sums
 * of magnitudes past 2^52), are collected into an array and take distributionInPlace: the
 * figures are distribution()'s either way, the total summed in visit order as it sums them.
 */
export function distributionOf(count: number, visit: Visit): Distribution {
  return distributionAndRanks(count, visit, NO_RANKS).distribution;
}

const NO_RANKS: readonly number[] = [];
/** The quantiles a Distribution gives: median and p95. */
const QUANTILES: readonly number[] = [0.5, 0.95];

/**
 * distributionOf(count, visit) and the values at `ranks` (valueAtRank's, each) of the same
 * values, in the passes of the distribution alone: the quantiles' ranks and these are found
 * together (a million gap lengths: two passes, where the two took four).
 */
export function distributionAndRanks(count: number, visit: Visit, ranks: readonly number[]): { distribution: Distribution; atRanks: number[] } {
  if (count < BUCKET_MIN) return collected(count, visit, (a) => inPlaceWithRanks(a, count, ranks));
  const first = firstPass(visit);
  if (first.n !== count) throw new Error(`distributionOf: the visit gave ${first.n} values, not ${count}`);
  return fromFirstPass(count, visit, first, ranks);
}

/**
 * distributionOf of a visit whose count the caller does not know, only that it is at most
 * `atMost`: the first pass counts the values, so the caller walks its values no extra time to
 * count them. When `atMost` is below BUCKET_MIN, that pass only copies the values into the lent
 * array, which distributionInPlace then takes: one pass in all (a stream's gaps, among 33
 * streams; no top-bits counts made for them: 256 KB each). Otherwise it takes their statistics
 * and distributionOf's passes follow (a million launch intervals: two walks of the calls, where
 * counting first took three).
 */
export function distributionOfUncounted(visit: Visit, atMost: number): Distribution {
  return distributionAndRanksUncounted(visit, atMost, noRanks).distribution;
}

const noRanks = (): readonly number[] => NO_RANKS;

/**
 * distributionOfUncounted, and the values at the ranks `ranksFor(count)` names once the count is
 * known (distributionAndRanks' for a visit of unknown count): from the same passes.
 */
export function distributionAndRanksUncounted(
  visit: Visit, atMost: number, ranksFor: (count: number) => readonly number[],
): { distribution: Distribution; atRanks: number[] } {
  // copy only when every value will fit (the lent array stays the size collected() gives it), and
  // not when the visit takes a distribution itself (the lent array is out)
  if (atMost < BUCKET_MIN && !lentOut) {
    let n = 0;
    lentOut = true;
    try {
      pass(visit, (values, k) => {
        const into = lendUpTo(n + k, atMost);
        if (into) into.set(values.subarray(0, k), n);
        n += k;
      });
      if (n < BUCKET_MIN) return inPlaceWithRanks(lent ?? new Float64Array(0), n, ranksFor(n));
    } finally {
      lentOut = false;
    }
    // more values than the bound said: the passes of a known count
    return distributionAndRanks(n, visit, ranksFor(n));
  }
  const first = firstPass(visit);
  if (first.n < BUCKET_MIN) return collected(first.n, visit, (a) => inPlaceWithRanks(a, first.n, ranksFor(first.n)));
  return fromFirstPass(first.n, visit, first, ranksFor(first.n));
}

/** What the first pass of a visit finds: its count, running total/min/max, top-16-bit counts, and whether buckets can order the values. */
interface FirstPass { n: number; acc: Float64Array; top: Int32Array; plain: boolean }

/**
 * The first pass: count, total, min, max, and the count of values per top 16 bits
 * (valuesAtRanks' first pass). Fast: per value only the sums and one integer test; a sign bit
 * (negative, -0) is seen in the top counts afterwards, and no sum of magnitudes is taken (for
 * plain values, non-negative integers, it is the total, added in the same order).
 */
function firstPass(visit: Visit): FirstPass {
  const acc = runningDoubles(0, Infinity, -Infinity);
  const top = new Int32Array(BUCKETS);
  let integers = true;
  let n = 0;
  pass(visit, (values, k) => {
    const words = highWords(values);
    for (let i = 0; i < k; i++) {
      const v = values[i];
      acc[0] += v;
      if (v < acc[1]) acc[1] = v;
      if (v > acc[2]) acc[2] = v;
      if (Math.floor(v) !== v) integers = false;
      top[words[2 * i + HIGH_WORD] >>> 16]++;
    }
    n += k;
  });
  // the sign bit set: the top half of the buckets
  let signed = false;
  for (let b = BUCKETS >>> 1; b < BUCKETS && !signed; b++) if (top[b] > 0) signed = true;
  return { n, acc, top, plain: integers && !signed };
}

/** distributionAndRanks of `count` values after their first pass. */
function fromFirstPass(count: number, visit: Visit, first: FirstPass, ranks: readonly number[]): { distribution: Distribution; atRanks: number[] } {
  const { acc, top } = first;
  if (!first.plain || !(acc[0] < 2 ** 52)) return collected(count, visit, (a) => inPlaceWithRanks(a, count, ranks));
  const wanted = quantileRanks(count, QUANTILES);
  const rankValue = valuesAtRanks(count, visit, [...wanted, ...ranks], top)!;
  const [median, p95] = interpolated(count, QUANTILES, rankValue);
  return {
    distribution: { count, total: acc[0], min: acc[1], median: Math.round(median), p95: Math.round(p95), max: acc[2] },
    atRanks: rankValue.slice(wanted.length),
  };
}

/** distributionInPlace(a, count), then the value at each rank (a selection in the reordered array: the same order statistics). */
function inPlaceWithRanks(a: Float64Array, count: number, ranks: readonly number[]): { distribution: Distribution; atRanks: number[] } {
  const distribution = distributionInPlace(a, count);
  return {
    distribution,
    atRanks: ranks.map((rank) => {
      selectRank(a, 0, count - 1, rank);
      return a[rank];
    }),
  };
}

/**
 * The lent array with room for `length` values of at most `atMost` (grown to hold them all at
 * once, as collected() grows it, the values so far kept), or null past BUCKET_MIN.
 */
function lendUpTo(length: number, atMost: number): Float64Array | null {
  if (length > BUCKET_MIN) return null;
  if (lent === null || lent.length < length) {
    const grown = new Float64Array(Math.min(BUCKET_MIN, Math.max(length, atMost, 2 * (lent?.length ?? 512))));
    if (lent) grown.set(lent);
    lent = grown;
  }
  return lent;
}

/**
 * The value at `rank` (0-based, ascending) of the `count` values a visit gives: by buckets
 * (valuesAtRanks) when they are many, else, or when a value has its sign bit set, by selection
 * in an array of them.
 */
export function valueAtRank(count: number, visit: Visit, rank: number): number {
  const byBuckets = count >= BUCKET_MIN ? valuesAtRanks(count, visit, [rank]) : null;
  if (byBuckets) return byBuckets[0];
  return collected(count, visit, (a) => {
    selectRank(a, 0, count - 1, rank);
    return a[rank];
  });
}

/**
 * The k-th largest of a[0..n) counting repeats (1 <= k <= n; NaN-free values): valueAtRank's value
 * at rank n - k. For a small k (the calls a report lists, out of ~150k) one pass with a min-heap
 * of the k largest so far, where most values are below its least and cost one comparison; the
 * buckets' passes and their 256 KB counts cost ~40 ms at 150k values.
 */
export function kthLargest(a: ArrayLike<number>, n: number, k: number): number {
  const heap = new Float64Array(k);
  for (let i = 0; i < k; i++) heap[i] = a[i];
  for (let i = (k >>> 1) - 1; i >= 0; i--) siftDown(heap, k, i);
  for (let i = k; i < n; i++) {
    const v = a[i];
    if (v > heap[0]) { heap[0] = v; siftDown(heap, k, 0); }
  }
  return heap[0];
}

/** Restores the min-heap order of heap[0..k) below i. */
function siftDown(heap: Float64Array, k: number, i: number): void {
  const v = heap[i];
  for (;;) {
    let c = 2 * i + 1;
    if (c >= k) break;
    if (c + 1 < k && heap[c + 1] < heap[c]) c++;
    if (!(heap[c] < v)) break;
    heap[i] = heap[c];
    i = c;
  }
  heap[i] = v;
}

/**
 * The array `collected` lends for fewer than BUCKET_MIN values (1 MB at most), kept: the
 * analyses take distributions of a few hundred thousand values by the dozen (a statistic per
 * stream, per NVTX range name), and an array of their own each made ~15 MB of garbage at a
 * time at a million kernels over 33 streams, all of it in the peak.
 */
let lent: Float64Array | null = null;
let lentOut = false;

/**
 * `use` of the visit's values in a[0..count) (a may be longer), which `use` may reorder; the
 * array is lent for its call only.
 */
function collected<T>(count: number, visit: Visit, use: (a: Float64Array) => T): T {
  // many values, or a visit that takes a distribution itself: an array of its own
  if (count >= BUCKET_MIN || lentOut) return use(collect(count, visit, new Float64Array(count)));
  if (lent === null || lent.length < count) lent = new Float64Array(Math.min(BUCKET_MIN, Math.max(count, 2 * (lent?.length ?? 512))));
  const a = lent;
  lentOut = true;
  try {
    return use(collect(count, visit, a));
  } finally {
    lentOut = false;
  }
}

/** The values of a visit in a[0..count). */
function collect(count: number, visit: Visit, a: Float64Array): Float64Array {
  let at = 0;
  pass(visit, (values, k) => {
    if (at + k <= count) a.set(values.subarray(0, k), at);
    at += k;
  });
  if (at !== count) throw new Error(`distributionOf: the visit gave ${at} values, not ${count}`);
  return a;
}

/**
 * quantileSorted(sorted(a[0..count)), p) for each p, without reordering a; null when a value
 * has its sign bit set (negative, or -0), which the bucket order cannot place.
 */
export function quantilesByBuckets(a: Float64Array, count: number, ps: readonly number[]): number[] | null {
  return quantilesAt(count, visitArray(a, count), ps);
}

/** quantilesByBuckets of the values a visit gives. */
function quantilesAt(count: number, visit: Visit, ps: readonly number[], top?: Int32Array): number[] | null {
  const rankValue = valuesAtRanks(count, visit, quantileRanks(count, ps), top);
  return rankValue && interpolated(count, ps, rankValue);
}

/** The ranks each quantile p interpolates between, two a quantile: i0 and, unless i falls on it, i0 + 1. */
function quantileRanks(count: number, ps: readonly number[]): number[] {
  const ranks: number[] = [];
  for (const p of ps) {
    const i = (count - 1) * p;
    const i0 = Math.floor(i);
    ranks.push(i0, i === i0 ? i0 : i0 + 1);
  }
  return ranks;
}

/** The quantiles from the values at their ranks (quantileRanks' order). */
function interpolated(count: number, ps: readonly number[], rankValue: readonly number[]): number[] {
  return ps.map((p, q) => {
    const i = (count - 1) * p;
    const value0 = rankValue[2 * q];
    const value1 = rankValue[2 * q + 1];
    return value0 + (value1 - value0) * (i - Math.floor(i));
  });
}

/**
 * The value of each rank (0-based, ascending) among the `count` values a visit gives; null when
 * a value has its sign bit set (negative, or -0), which the bucket order cannot place.
 *
 * Non-negative doubles order as their bit patterns, so this is a radix selection on the high
 * 32 bits: one pass counts values by the top 16 bits (sign, exponent, 4 mantissa bits), which
 * places each rank in a bucket (`top`: those counts, when the caller's pass made them); a
 * second counts the values of those buckets by the next 16 bits (20 mantissa bits in all:
 * single integers up to 2^21 ns), and notes whether any of them has a nonzero low word: when
 * none has, a sub-bucket holds one distinct value, its high word's, and the rank's value is
 * known. Otherwise a third copies the values of the few sub-buckets that hold the ranks, and a
 * selection within each gives the exact value. When the ranks' top buckets hold few values
 * (DIRECT_MAX in all), the second pass copies them instead and a selection within each gives the
 * value. Two or three passes for any number of ranks, where quickselect swaps its way through
 * several.
 */
export function valuesAtRanks(count: number, visit: Visit, ranks: readonly number[], top?: Int32Array): number[] | null {
  if (top === undefined) {
    const counts = new Int32Array(BUCKETS);
    pass(visit, (values, k) => {
      const words = highWords(values);
      for (let i = 0; i < k; i++) counts[words[2 * i + HIGH_WORD] >>> 16]++;
    });
    top = counts;
  }
  for (let b = BUCKETS >>> 1; b < BUCKETS; b++) if (top[b] > 0) return null;
  const level1 = ranks.map((r) => locate(top, 0, r));
  const tops = [...new Set(level1.map((l) => l.bucket))];
  const topSlot = new Int32Array(BUCKETS).fill(-1);
  tops.forEach((b, j) => { topSlot[b] = j; });
  let few = 0;
  for (const b of tops) few += top[b];
  if (few <= DIRECT_MAX) {
    // the values of the ranks' top buckets, copied in one pass
    const values = tops.map((b) => new Float64Array(top[b]));
    const fill = new Int32Array(tops.length);
    pass(visit, (chunk, n) => {
      const words = highWords(chunk);
      for (let i = 0; i < n; i++) {
        const j = topSlot[words[2 * i + HIGH_WORD] >>> 16];
        if (j >= 0) values[j][fill[j]++] = chunk[i];
      }
    });
    return level1.map((l) => {
      const v = values[topSlot[l.bucket]];
      selectRank(v, 0, v.length - 1, l.within);
      return v[l.within];
    });
  }
  const sub = new Int32Array(tops.length * BUCKETS);
  // per top bucket: the OR of its values' low words (0: each sub-bucket holds one value)
  const low = new Int32Array(tops.length);
  pass(visit, (values, k) => {
    const words = highWords(values);
    for (let i = 0; i < k; i++) {
      const h = words[2 * i + HIGH_WORD];
      const j = topSlot[h >>> 16];
      if (j >= 0) {
        sub[j * BUCKETS + (h & 0xffff)]++;
        low[j] |= words[2 * i + 1 - HIGH_WORD];
      }
    }
  });
  // each rank's sub-bucket, as an index into `sub`, and its rank within it
  const level2 = level1.map((l) => {
    const base = topSlot[l.bucket] * BUCKETS;
    const s = locate(sub, base, l.within);
    return { key: base + s.bucket, within: s.within, exact: low[topSlot[l.bucket]] === 0 ? ofHighWord(((l.bucket << 16) | s.bucket) >>> 0) : null };
  });
  const keys = [...new Set(level2.filter((l) => l.exact === null).map((l) => l.key))];
  const keySlot = new Int32Array(keys.length > 0 ? sub.length : 0).fill(-1);
  keys.forEach((k, j) => { keySlot[k] = j; });
  const values = keys.map((k) => new Float64Array(sub[k]));
  if (keys.length > 0) {
    const fill = new Int32Array(keys.length);
    pass(visit, (chunk, n) => {
      const words = highWords(chunk);
      for (let i = 0; i < n; i++) {
        const h = words[2 * i + HIGH_WORD];
        const j = topSlot[h >>> 16];
        if (j < 0) continue;
        const k = keySlot[j * BUCKETS + (h & 0xffff)];
        if (k >= 0) values[k][fill[k]++] = chunk[i];
      }
    });
  }
  return level2.map((l) => {
    if (l.exact !== null) return l.exact;
    const v = values[keySlot[l.key]];
    selectRank(v, 0, v.length - 1, l.within);
    return v[l.within];
  });
}

/** The high 32 bits of a chunk of doubles: words[2 * i + HIGH_WORD] is values[i]'s. */
function highWords(values: Float64Array): Uint32Array {
  return new Uint32Array(values.buffer, values.byteOffset, values.length * 2);
}

/** The double whose high word is `h` and low word 0. */
function ofHighWord(h: number): number {
  const words = new Uint32Array(2);
  words[HIGH_WORD] = h;
  return new Float64Array(words.buffer)[0];
}

/** Values of the ranks' top buckets, in all, up to which valuesAtRanks copies them at once (1 MB). */
const DIRECT_MAX = 1 << 17;

const BUCKETS = 65536;

/** The bucket of hist[base .. base + BUCKETS) holding rank r (0-based, counting from base), and r's rank within it. */
function locate(hist: Int32Array, base: number, r: number): { bucket: number; within: number } {
  let below = 0;
  for (let b = 0; b < BUCKETS; b++) {
    const c = hist[base + b];
    if (r < below + c) return { bucket: b, within: r - below };
    below += c;
  }
  throw new Error(`rank ${r} beyond the ${below} values counted`);
}

function sortedDistribution(values: Float64Array, count: number): Distribution {
  const sorted = values.subarray(0, count).sort();
  let total = 0;
  for (let i = 0; i < count; i++) total += sorted[i];
  return {
    count,
    total,
    min: sorted[0],
    median: Math.round(quantileSorted(sorted as unknown as number[], 0.5) as number),
    p95: Math.round(quantileSorted(sorted as unknown as number[], 0.95) as number),
    max: sorted[count - 1],
  };
}

/**
 * d3's quantileSorted(sorted(a[0..count)), p), without sorting: selects the two closest ranks in
 * place (reordering a). `from`: an index known to be partitioned already (every value before it
 * <= every value from it on, as after a previous call with a smaller p); 0 when unknown.
 * NaN-free input only (d3's quantile drops NaN; callers do too).
 */
export function quantileSelect(a: Float64Array, count: number, p: number, from = 0): number {
  if (count === 0) return NaN;
  if (count < 2 || p <= 0 || p >= 1) {
    const k = count < 2 || p <= 0 ? 0 : count - 1;
    selectRank(a, 0, count - 1, k);
    return a[k];
  }
  const i = (count - 1) * p;
  const i0 = Math.floor(i);
  selectRank(a, Math.min(from, i0), count - 1, i0);
  const value0 = a[i0];
  // the next rank is the smallest value right of i0 (all of them are >= a[i0]); when i falls on
  // a rank it is weighted 0, and finite values make that value0 + 0 whatever it is
  let value1 = i === i0 ? value0 : Infinity;
  if (i !== i0) for (let j = i0 + 1; j < count; j++) if (a[j] < value1) value1 = a[j];
  return value0 + (value1 - value0) * (i - i0);
}

/**
 * Puts the k-th smallest of a[lo..hi] (inclusive) at a[k], with a[lo..k) <= a[k] <= a(k..hi]:
 * Hoare partition around a median-of-three pivot (Numerical Recipes' select), which stays linear
 * on runs of equal values (durations repeat a lot). Sorts the rest of the range should the
 * partitions keep coming out lopsided, so the worst case is n log n, not n^2.
 */
export function selectRank(a: Float64Array, lo: number, hi: number, k: number): void {
  let l = lo;
  let r = hi;
  let rounds = 2 * Math.ceil(Math.log2(hi - lo + 2)) + 16;
  for (;;) {
    if (r <= l + 1) {
      if (r === l + 1 && a[r] < a[l]) swap(a, l, r);
      return;
    }
    if (--rounds < 0) { a.subarray(l, r + 1).sort(); return; }
    const mid = (l + r) >>> 1;
    swap(a, mid, l + 1);
    if (a[l] > a[r]) swap(a, l, r);
    if (a[l + 1] > a[r]) swap(a, l + 1, r);
    if (a[l] > a[l + 1]) swap(a, l, l + 1);
    let i = l + 1;
    let j = r;
    const pivot = a[l + 1];
    for (;;) {
      do i++; while (a[i] < pivot);
      do j--; while (a[j] > pivot);
      if (j < i) break;
      swap(a, i, j);
    }
    a[l + 1] = a[j];
    a[j] = pivot;
    if (j >= k) r = j - 1;
    if (j <= k) l = i;
  }
}

function swap(a: Float64Array, i: number, j: number): void {
  const t = a[i];
  a[i] = a[j];
  a[j] = t;
}
