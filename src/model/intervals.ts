/**
 * Interval maths, written once: union, intersection, complement, the +1/-1 concurrency sweep and
 * pairwise group overlap (distribution statistics are in distribution.ts). Everything works on
 * typed arrays so that a million kernels cost a few passes, not a million objects.
 *
 * Conventions (every analysis relies on them):
 * - An interval is [start, end) in integer ns. Two intervals that only touch (a.end = b.start)
 *   do not overlap; zero-length intervals cover no time.
 * - An IntervalSet is disjoint, sorted by start, and holds only positive-length pieces; touching
 *   pieces are merged, so its gaps are the real idle periods.
 *
 * Running doubles (cursors, running maxima) live in small Float64Arrays: columns.ts says why.
 */
// distribution statistics live in distribution.ts; exported here too, where every analysis imports them from
export { distribution, distributionInPlace, quantileSelect, selectRank } from './distribution.js';
import { runningDoubles } from './columns.js';

export interface IntervalSet {
  count: number;
  start: Float64Array;
  end: Float64Array;
}

export function intervalSet(pairs: ReadonlyArray<readonly [number, number]>): IntervalSet {
  const start = Float64Array.from(pairs, (p) => p[0]);
  const end = Float64Array.from(pairs, (p) => p[1]);
  return union(start, end, pairs.length);
}

export const EMPTY_SET: IntervalSet = { count: 0, start: new Float64Array(0), end: new Float64Array(0) };

export function totalLength(set: IntervalSet): number {
  let t = 0;
  for (let i = 0; i < set.count; i++) t += set.end[i] - set.start[i];
  return t;
}

function isSortedByStart(start: ArrayLike<number>, count: number): boolean {
  for (let i = 1; i < count; i++) if (start[i] < start[i - 1]) return false;
  return true;
}

/** Index permutation that orders `keys[0..count)` ascending (stable). */
export function sortedOrder(keys: ArrayLike<number>, count: number): Uint32Array {
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  return order.sort((a, b) => keys[a] - keys[b] || a - b);
}

/** Union of intervals already sorted by start: merges overlapping and touching, drops empty. */
export function unionSorted(start: ArrayLike<number>, end: ArrayLike<number>, count: number): IntervalSet {
  const outS = new Float64Array(count);
  const outE = new Float64Array(count);
  let n = 0;
  let curS = 0;
  let curE = 0;
  let open = false;
  for (let i = 0; i < count; i++) {
    const s = start[i];
    const e = end[i];
    if (!(e > s)) continue;
    if (open && s <= curE) {
      if (e > curE) curE = e;
    } else {
      if (open) { outS[n] = curS; outE[n] = curE; n++; }
      curS = s; curE = e; open = true;
    }
  }
  if (open) { outS[n] = curS; outE[n] = curE; n++; }
  return { count: n, start: outS.subarray(0, n), end: outE.subarray(0, n) };
}

/** Union of intervals in any order. */
export function union(start: ArrayLike<number>, end: ArrayLike<number>, count: number): IntervalSet {
  if (isSortedByStart(start, count)) return unionSorted(start, end, count);
  const order = sortedOrder(start, count);
  const s = new Float64Array(count);
  const e = new Float64Array(count);
  for (let i = 0; i < count; i++) { s[i] = start[order[i]]; e[i] = end[order[i]]; }
  return unionSorted(s, e, count);
}

export function intersect(a: IntervalSet, b: IntervalSet): IntervalSet {
  const cap = a.count + b.count;
  const outS = new Float64Array(cap);
  const outE = new Float64Array(cap);
  let n = 0;
  let i = 0;
  let j = 0;
  while (i < a.count && j < b.count) {
    const s = Math.max(a.start[i], b.start[j]);
    const e = Math.min(a.end[i], b.end[j]);
    if (e > s) { outS[n] = s; outE[n] = e; n++; }
    if (a.end[i] < b.end[j]) i++; else j++;
  }
  return { count: n, start: outS.subarray(0, n), end: outE.subarray(0, n) };
}

export function intersectionLength(a: IntervalSet, b: IntervalSet): number {
  let t = 0;
  let i = 0;
  let j = 0;
  while (i < a.count && j < b.count) {
    // the pieces of one set that end before the other's piece starts meet nothing: skipped by
    // galloping, not one step each (a few thousand waits against a million idle gaps), the
    // pieces that do meet summed in the same order as the steps would
    if (b.end[j] <= a.start[i]) { j = upperBoundFrom(b.end, b.count, a.start[i], j); continue; }
    if (a.end[i] <= b.start[j]) { i = upperBoundFrom(a.end, a.count, b.start[j], i); continue; }
    const s = Math.max(a.start[i], b.start[j]);
    const e = Math.min(a.end[i], b.end[j]);
    if (e > s) t += e - s;
    if (a.end[i] < b.end[j]) i++; else j++;
  }
  return t;
}

/**
 * intersectionLength(union(intervals), set) for intervals that `next` gives in start order (it
 * writes the next one's start and end into at[0], at[1]; false when none is left), or null as
 * soon as one comes out of start order: the union's pieces are merged as they come and met with
 * the set's pieces as they close, with no columns of the intervals nor of their union. The same
 * additions in the same order as intersectionLength's (pieces in order, the set's within each).
 */
export function sortedUnionMeets(next: (at: Float64Array) => boolean, set: IntervalSet): number | null {
  const at = new Float64Array(2);
  // the merged piece [st[0], st[1]), the last start, the total
  const st = runningDoubles(0, 0, -Infinity, 0);
  let open = false;
  let j = 0;
  const meet = (ps: number, pe: number): void => {
    // the set's pieces that end by ps meet neither this piece nor a later one
    j = upperBoundFrom(set.end, set.count, ps, j);
    for (let k = j; k < set.count && set.start[k] < pe; k++) {
      const a = Math.max(ps, set.start[k]);
      const b = Math.min(pe, set.end[k]);
      if (b > a) st[3] += b - a;
    }
  };
  while (next(at)) {
    const s = at[0];
    const e = at[1];
    // empty ones add nothing (union drops them), wherever they come
    if (!(e > s)) continue;
    if (s < st[2]) return null;
    st[2] = s;
    if (open && s <= st[1]) {
      if (e > st[1]) st[1] = e;
    } else {
      if (open) meet(st[0], st[1]);
      st[0] = s; st[1] = e; open = true;
    }
  }
  if (open) meet(st[0], st[1]);
  return st[3];
}

/** The first i >= from with values[i] > x (values ascending), galloping from `from`: O(log distance). */
function upperBoundFrom(values: Float64Array, count: number, x: number, from: number): number {
  if (from >= count || values[from] > x) return from;
  let lo = from + 1;
  let hi = lo;
  for (let step = 1; hi < count && values[hi] <= x; step *= 2) { lo = hi + 1; hi = lo + step; }
  hi = Math.min(hi, count);
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (values[mid] <= x) lo = mid + 1; else hi = mid;
  }
  return lo;
}

/** a \ b: the parts of a not covered by b (both IntervalSets), in one merge walk. */
export function difference(a: IntervalSet, b: IntervalSet): IntervalSet {
  const cap = a.count + b.count;
  const outS = new Float64Array(cap);
  const outE = new Float64Array(cap);
  let n = 0;
  let j = 0;
  for (let i = 0; i < a.count; i++) {
    let cursor = a.start[i];
    const end = a.end[i];
    // b's pieces that end at or before the cursor cannot cut this or any later piece of a
    while (j < b.count && b.end[j] <= cursor) j++;
    for (let k = j; k < b.count && b.start[k] < end; k++) {
      if (b.start[k] > cursor) { outS[n] = cursor; outE[n] = b.start[k]; n++; }
      if (b.end[k] > cursor) cursor = b.end[k];
      if (cursor >= end) break;
    }
    if (cursor < end) { outS[n] = cursor; outE[n] = end; n++; }
  }
  return { count: n, start: outS.subarray(0, n), end: outE.subarray(0, n) };
}

/** |a \ b| without building it. */
export function differenceLength(a: IntervalSet, b: IntervalSet): number {
  return totalLength(a) - intersectionLength(a, b);
}

/** Length of [s, e) ∩ set, by binary search: O(log n + pieces hit). */
export function overlapWith(set: IntervalSet, s: number, e: number): number {
  let t = 0;
  for (let i = firstEndingAfter(set.end, set.count, s); i < set.count && set.start[i] < e; i++) {
    const a = Math.max(s, set.start[i]);
    const b = Math.min(e, set.end[i]);
    if (b > a) t += b - a;
  }
  return t;
}

/**
 * overlapWith(set, s, e) for many queries, by a cursor that moves forward while the queries' s
 * do not decrease (a binary search only when one does): the same pieces, summed in the same
 * order, without a search per query (a million kernels against the overlapped set).
 */
export class OverlapWalker {
  private at = 0;
  private last = -Infinity;

  constructor(private readonly set: IntervalSet) {}

  overlap(s: number, e: number): number {
    const { start, end, count } = this.set;
    let i = this.at;
    // (NaN: as a search would, from its answer)
    // (the pieces passed over meet nothing: galloped over, not stepped)
    if (!(s >= this.last)) i = firstEndingAfter(end, count, s);
    else i = upperBoundFrom(end, count, s, i);
    this.at = i;
    this.last = s;
    let t = 0;
    for (; i < count && start[i] < e; i++) {
      const a = Math.max(s, start[i]);
      const b = Math.min(e, end[i]);
      if (b > a) t += b - a;
    }
    return t;
  }
}

/** The parts of [lo, hi) not covered by `set`: the gaps, including any before the first and after the last piece. */
export function complement(set: IntervalSet, lo: number, hi: number): IntervalSet {
  const outS = new Float64Array(set.count + 1);
  const outE = new Float64Array(set.count + 1);
  let n = 0;
  let cursor = lo;
  for (let i = 0; i < set.count && cursor < hi; i++) {
    if (set.end[i] <= cursor) continue;
    const s = set.start[i];
    if (s > cursor) { outS[n] = cursor; outE[n] = Math.min(s, hi); n++; }
    cursor = set.end[i];
  }
  if (cursor < hi) { outS[n] = cursor; outE[n] = hi; n++; }
  return { count: n, start: outS.subarray(0, n), end: outE.subarray(0, n) };
}

/** window \ set: the idle parts of every window segment. */
export function gapsWithin(set: IntervalSet, window: IntervalSet): IntervalSet {
  if (window.count === 0) return EMPTY_SET;
  const hull = complement(set, window.start[0], window.end[window.count - 1]);
  // one segment: the hull's gaps already lie inside it, and intersecting would copy them all
  return window.count === 1 ? hull : intersect(hull, window);
}

/**
 * gapsWithin(unionSorted(start, end, count), window) for pieces sorted by start and clipped to
 * W, without building the union: a million kernels' union is two arrays of a million. Two
 * walks (count, then fill) so the gaps, which the findings keep, take exactly their size; one
 * when the caller knows a bound `atMost` that is nearly exact (device.ts: one stream's gaps and
 * the segments), into columns of that size (a bound that falls short: the two walks after all).
 */
export function idleWithin(start: ArrayLike<number>, end: ArrayLike<number>, count: number, window: IntervalSet, atMost = -1): IntervalSet {
  if (window.count === 0) return EMPTY_SET;
  const lo = window.start[0];
  const hi = window.end[window.count - 1];
  // several segments: the hull's gaps are cut to the segments as they come (gapsWithin's intersect)
  const clip = window.count === 1 ? null : window;
  if (atMost >= 0) {
    const s = new Float64Array(atMost);
    const e = new Float64Array(atMost);
    const m = walkGaps(start, end, count, lo, hi, s, e, clip);
    if (m <= atMost) return { count: m, start: s.subarray(0, m), end: e.subarray(0, m) };
  }
  const n = walkGaps(start, end, count, lo, hi, null, null, clip);
  const outS = new Float64Array(n);
  const outE = new Float64Array(n);
  walkGaps(start, end, count, lo, hi, outS, outE, clip);
  return { count: n, start: outS, end: outE };
}

/**
 * Writes gap [gs, ge) at n, or (with `clip`) its nonempty parts within clip's segments from
 * seg[0] on (advancing seg[0] past segments that end by gs: gaps come in order); returns the new n.
 */
function putGap(gs: number, ge: number, n: number, outS: Float64Array | null, outE: Float64Array | null, clip: IntervalSet | null, seg: Int32Array): number {
  if (!clip) {
    if (outS) { outS[n] = gs; outE![n] = ge; }
    return n + 1;
  }
  while (seg[0] < clip.count && clip.end[seg[0]] <= gs) seg[0]++;
  for (let j = seg[0]; j < clip.count && clip.start[j] < ge; j++) {
    const s = Math.max(gs, clip.start[j]);
    const e = Math.min(ge, clip.end[j]);
    if (e > s) {
      if (outS) { outS[n] = s; outE![n] = e; }
      n++;
    }
  }
  return n;
}

/** complement(unionSorted(start, end, count), lo, hi), merging on the fly; writes the gaps when given arrays, returns their count. */
function walkGaps(
  start: ArrayLike<number>, end: ArrayLike<number>, count: number, lo: number, hi: number,
  outS: Float64Array | null, outE: Float64Array | null, clip: IntervalSet | null = null,
): number {
  let n = 0;
  const seg = new Int32Array(1);
  let open = false;
  // the cursor and the merged piece [st[CUR_S], st[CUR_E]) so far
  const st = runningDoubles(lo, 0, 0);
  const CURSOR = 0; const CUR_S = 1; const CUR_E = 2;
  for (let i = 0; i <= count; i++) {
    // i === count closes the last merged piece
    if (i < count) {
      const s = start[i];
      const e = end[i];
      if (!(e > s)) continue;
      if (open && s <= st[CUR_E]) {
        if (e > st[CUR_E]) st[CUR_E] = e;
        continue;
      }
      if (!open) { st[CUR_S] = s; st[CUR_E] = e; open = true; continue; }
    } else if (!open) {
      break;
    }
    // a merged piece is complete: the gap before it, as complement() takes it
    if (st[CURSOR] < hi && st[CUR_E] > st[CURSOR]) {
      if (st[CUR_S] > st[CURSOR]) n = putGap(st[CURSOR], Math.min(st[CUR_S], hi), n, outS, outE, clip, seg);
      st[CURSOR] = st[CUR_E];
    }
    if (i < count) { st[CUR_S] = start[i]; st[CUR_E] = end[i]; }
  }
  if (st[CURSOR] < hi) n = putGap(st[CURSOR], hi, n, outS, outE, clip, seg);
  return n;
}

/** First index i with values[i] >= x (values ascending). */
export function lowerBound(values: ArrayLike<number>, count: number, x: number): number {
  let lo = 0;
  let hi = count;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (values[mid] < x) lo = mid + 1; else hi = mid;
  }
  return lo;
}

/**
 * lowerBound(values, count, x) for lookups that mostly move forward: gallops from `hint` (the
 * previous answer) when the answer lies after it, so a run of increasing lookups costs
 * O(log distance) each instead of O(log count).
 */
export function lowerBoundNear(values: ArrayLike<number>, count: number, x: number, hint: number): number {
  if (hint >= count || !(values[hint] < x)) {
    // not past the hint: the hint itself when the value before it is below x (a repeated lookup), found without a search
    const h = Math.min(hint, count);
    return h === 0 || values[h - 1] < x ? h : lowerBoundIn(values, 0, h, x);
  }
  let lo = hint + 1;
  let hi = lo;
  for (let step = 1; hi < count && values[hi] < x; step *= 2) { lo = hi + 1; hi = lo + step; }
  return lowerBoundIn(values, lo, Math.min(hi + 1, count), x);
}

function lowerBoundIn(values: ArrayLike<number>, lo: number, hi: number, x: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (values[mid] < x) lo = mid + 1; else hi = mid;
  }
  return lo;
}

/** First index i with values[i] > x (values ascending). */
export function upperBound(values: ArrayLike<number>, count: number, x: number): number {
  let lo = 0;
  let hi = count;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (values[mid] <= x) lo = mid + 1; else hi = mid;
  }
  return lo;
}

function firstEndingAfter(end: ArrayLike<number>, count: number, x: number): number {
  return upperBound(end, count, x);
}

export interface ConcurrencyLevels {
  /** levelTime[k] = time with exactly k intervals active, k >= 1; levelTime[0] is left 0 (the caller knows its window) */
  levelTime: number[];
  /** time with at least one interval active */
  busy: number;
  /** time with at least two active */
  overlapTime: number;
  /** highest k held for a positive time (zero-length intervals never count) */
  maxConcurrency: number;
  /** the holes of the intervals' union: its stretches of positive length with none active, between its first start and last end */
  holes: number;
}

/**
 * The one sweep of n(t), the number of intervals active at time t: calls span(a, b, n) for each
 * stretch [a, b) between consecutive distinct event times, from the first start to the last end
 * (n = 0 in the holes). Starts are taken in the given order (must be sorted); the ends of the
 * intervals started so far wait in a min-heap, so no sorted copy of every end is made (a million
 * kernels on many streams end out of start order): the heap holds at most the concurrency. Time
 * passes only between distinct event times, so the order of simultaneous events (a kernel ending
 * exactly when another starts, zero-length kernels) cannot create phantom overlap.
 */
export function sweepConcurrency(
  start: ArrayLike<number>, end: ArrayLike<number>, count: number, span: (a: number, b: number, n: number) => void,
): void {
  let active = 0;
  // the previous event's time
  const prev = runningDoubles(count > 0 ? start[0] : 0);
  const ends = new EndHeap();
  let i = 0;
  while (i < count || ends.size > 0) {
    // a start before an end at the same time (ends are never before their starts)
    const takeStart = i < count && (ends.size === 0 || start[i] <= ends.min());
    const t = takeStart ? start[i] : ends.min();
    if (t > prev[0]) {
      span(prev[0], t, active);
      prev[0] = t;
    }
    if (takeStart) { ends.push(end[i]); active++; i++; } else { ends.pop(); active--; }
  }
}

/** n(t) as a step function: n = level[p] from time[p] until time[p + 1]; the last point is the last end, n = 0. */
export interface ConcurrencyTimeline {
  count: number;
  time: Float64Array;
  level: Int32Array;
}

/**
 * The change points of n(t) (sweepConcurrency), for a chart: only where n changes, from the first
 * start (its level) to the last end (level 0). Starts must be sorted; empty for no intervals.
 */
export function concurrencyTimeline(start: ArrayLike<number>, end: ArrayLike<number>, count: number): ConcurrencyTimeline {
  let time = new Float64Array(Math.min(16, 2 * count + 1));
  let level = new Int32Array(time.length);
  let n = 0;
  const push = (t: number, l: number): void => {
    if (n === time.length) {
      const t2 = new Float64Array(2 * n); t2.set(time); time = t2;
      const l2 = new Int32Array(2 * n); l2.set(level); level = l2;
    }
    time[n] = t; level[n] = l; n++;
  };
  // the end of the last span
  const last = runningDoubles(NaN);
  sweepConcurrency(start, end, count, (a, b, l) => {
    if (n === 0 || level[n - 1] !== l) push(a, l);
    last[0] = b;
  });
  if (n > 0) push(last[0], 0);
  return { count: n, time: time.subarray(0, n), level: level.subarray(0, n) };
}

/** Time at each concurrency level (sweepConcurrency). */
export function concurrencyLevels(start: ArrayLike<number>, end: ArrayLike<number>, count: number): ConcurrencyLevels {
  const levelTime: number[] = [0];
  // a hole is a run of spans with none active (a zero-length interval in it splits its span),
  // counted when the next busy span begins (the sweep ends with one)
  let holes = 0;
  let inHole = false;
  sweepConcurrency(start, end, count, (a, b, n) => {
    while (levelTime.length <= n) levelTime.push(0);
    levelTime[n] += b - a;
    if (n === 0) inHole = true;
    else if (inHole) { holes++; inHole = false; }
  });
  levelTime[0] = 0;
  let maxConcurrency = 0;
  let busy = 0;
  let overlapTime = 0;
  for (let k = 1; k < levelTime.length; k++) {
    if (levelTime[k] > 0) maxConcurrency = k;
    busy += levelTime[k];
    if (k >= 2) overlapTime += levelTime[k];
  }
  levelTime.length = maxConcurrency + 1;
  return { levelTime, busy, overlapTime, maxConcurrency, holes };
}

/**
 * Pairwise overlap |busy_a ∩ busy_b| between groups (streams), for pieces sorted by start.
 * Each group's pieces are merged on the fly; a co-active period of two groups is credited when
 * the first of them goes idle, so the cost is O(n · groups active at once), not O(n · groups²).
 * Returns only pairs with positive overlap, keyed a * groupCount + b with a < b.
 */
export function groupPairOverlaps(
  start: ArrayLike<number>, end: ArrayLike<number>, group: ArrayLike<number>, count: number, groupCount: number,
): Map<number, number> {
  // since, until per group: running doubles in typed arrays (columns.ts)
  const since = new Float64Array(groupCount);
  const until = new Float64Array(groupCount);
  const activeIdx = new Int32Array(groupCount).fill(-1);
  // the active groups, in order of becoming active
  const active = new Int32Array(groupCount);
  let nActive = 0;
  // pair sums: a matrix for the usual few streams (a Map's double values are a heap number per
  // update, millions of them on a million kernels over 33 streams), a Map beyond
  const matrix = groupCount <= PAIR_MATRIX_MAX ? new Float64Array(groupCount * groupCount) : null;
  const map = matrix ? null : new Map<number, number>();
  const retire = (g: number): void => {
    const t = until[g];
    for (let k = activeIdx[g]; k < nActive - 1; k++) active[k] = active[k + 1];
    nActive--;
    activeIdx[g] = -1;
    for (let k = 0; k < nActive; k++) {
      const r = active[k];
      activeIdx[r] = k;
      const d = t - Math.max(since[g], since[r]);
      if (d > 0) {
        const key = g < r ? g * groupCount + r : r * groupCount + g;
        if (matrix) matrix[key] += d; else map!.set(key, (map!.get(key) ?? 0) + d);
      }
    }
  };
  const retireBefore = (t: number): void => {
    for (;;) {
      let next = -1;
      for (let k = 0; k < nActive; k++) {
        const g = active[k];
        if (until[g] < t && (next < 0 || until[g] < until[next])) next = g;
      }
      if (next < 0) return;
      retire(next);
    }
  };
  for (let i = 0; i < count; i++) {
    const s = start[i];
    const e = end[i];
    if (!(e > s)) continue;
    retireBefore(s);
    const g = group[i];
    if (activeIdx[g] >= 0) {
      if (e > until[g]) until[g] = e;
    } else {
      since[g] = s; until[g] = e; activeIdx[g] = nActive; active[nActive++] = g;
    }
  }
  retireBefore(Infinity);
  if (map) return map;
  // every credited pair has a positive sum: the nonzero entries, in key order
  const pairs = new Map<number, number>();
  for (let key = 0; key < matrix!.length; key++) if (matrix![key] > 0) pairs.set(key, matrix![key]);
  return pairs;
}

/** Up to this many groups (streams), pair sums go in a groups x groups matrix (2 MB at most). */
const PAIR_MATRIX_MAX = 512;

/** A binary min-heap of doubles in a typed array that doubles as it fills. */
class EndHeap {
  private a = new Float64Array(64);
  size = 0;

  min(): number {
    return this.a[0];
  }

  push(v: number): void {
    if (this.size === this.a.length) {
      const grown = new Float64Array(2 * this.a.length);
      grown.set(this.a);
      this.a = grown;
    }
    const a = this.a;
    let k = this.size++;
    while (k > 0) {
      const parent = (k - 1) >> 1;
      if (a[parent] <= v) break;
      a[k] = a[parent];
      k = parent;
    }
    a[k] = v;
  }

  pop(): void {
    const a = this.a;
    const n = --this.size;
    if (n === 0) return;
    const v = a[n];
    let k = 0;
    for (;;) {
      let c = 2 * k + 1;
      if (c >= n) break;
      if (c + 1 < n && a[c + 1] < a[c]) c++;
      if (a[c] >= v) break;
      a[k] = a[c];
      k = c;
    }
    a[k] = v;
  }
}
