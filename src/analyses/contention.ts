/**
 * Contention (issue 15): did running beside another kernel make a kernel slower? Per kernel name
 * and launch configuration, the median duration of the kernels that ran alone vs of those that
 * had another kernel beside them, and what overlap bought after paying for its slowdown.
 *
 * A kernel ran "alone" when another kernel ran beside it for at most 1% of its time (a split-K
 * GEMM's reduce launched with programmatic dependent launch overlaps its GEMM by ~100 ns), and
 * "overlapped" when another kernel ran beside it for at least half its time; the rest count in
 * neither. The time another kernel ran beside kernel i is |[start_i, end_i] ∩ {t : n(t) ≥ 2}|,
 * exact from one sweep (overlappedSet).
 *
 * The API is general (issue 17 reuses it for communication kernels): `kernelContention` takes any
 * subset of the device's kernels and groups by name + launch configuration.
 */
import type { Trace } from '../model/trace.js';
import type { ContentionEntry, ContentionSummary } from '../report/expert-types.js';
import { OverlapWalker, selectRank, type IntervalSet } from '../model/intervals.js';
import { grown } from '../model/columns.js';

/** A kernel ran alone when others ran beside it for at most this share of its time. */
export const ALONE_MAX_SHARE = 0.01;
/** A kernel ran overlapped when others ran beside it for at least this share of its time. */
export const OVERLAPPED_MIN_SHARE = 0.5;
/** A measured kernel's class in kernelContention's per-kernel column (its group times 4 plus this). */
const ALONE = 1;
const OVERLAPPED = 2;
/** Groups listed in the report, most kernel time first. */
export const CONTENTION_LIST_LIMIT = 50;

/**
 * {t : n(t) ≥ 2} for intervals sorted by start: the times at which two or more ran at once,
 * as disjoint sorted intervals.
 */
export function overlappedSet(start: ArrayLike<number>, end: ArrayLike<number>, count: number): IntervalSet {
  let outS = new Float64Array(64);
  let outE = new Float64Array(64);
  let n = 0;
  // ends of the running intervals: a binary min-heap, in a typed array grown as needed. Pushes,
  // pops and the output are written out in the loop, not closures over these variables: a double
  // passed to or returned by a closure that is not inlined is a new heap number (three a kernel).
  let heap = new Float64Array(64);
  let size = 0;
  let i = 0;
  // the start of the current stretch of n(t) >= 2 (NaN: none open), a running double
  const openAt = Float64Array.of(NaN);
  while (i < count || size > 0) {
    // ends before starts at equal times: touching kernels do not overlap
    const takeEnd = size > 0 && (i >= count || heap[0] <= start[i]);
    if (takeEnd) {
      // pop the earliest end
      const t = heap[0];
      const last = heap[--size];
      if (size > 0) {
        heap[0] = last;
        let h = 0;
        for (;;) {
          const l = 2 * h + 1;
          const r = l + 1;
          let m = h;
          if (l < size && heap[l] < heap[m]) m = l;
          if (r < size && heap[r] < heap[m]) m = r;
          if (m === h) break;
          const x = heap[m]; heap[m] = heap[h]; heap[h] = x;
          h = m;
        }
      }
      if (size === 1) {
        // the stretch [openAt, t] joins the output (merged into the last piece when they touch)
        const a = openAt[0];
        if (t > a) {
          if (n > 0 && outE[n - 1] >= a) { if (t > outE[n - 1]) outE[n - 1] = t; } else {
            if (n === outS.length) { outS = grown(outS, 2 * n); outE = grown(outE, 2 * n); }
            outS[n] = a; outE[n] = t; n++;
          }
        }
        openAt[0] = NaN;
      }
    } else {
      const s = start[i];
      const e = end[i];
      i++;
      if (!(e > s)) continue;
      // push e
      if (size === heap.length) heap = grown(heap, 2 * size);
      heap[size] = e;
      let h = size++;
      while (h > 0) {
        const p = (h - 1) >> 1;
        if (heap[p] <= heap[h]) break;
        const x = heap[p]; heap[p] = heap[h]; heap[h] = x;
        h = p;
      }
      if (size === 2) openAt[0] = s;
    }
  }
  return { count: n, start: outS.slice(0, n), end: outE.slice(0, n) };
}

export interface ContentionOptions {
  /** only these kernels (trace rows) are grouped; every kernel of the device still counts as company */
  include?: (row: number) => boolean;
  /** list at most this many groups (default CONTENTION_LIST_LIMIT) */
  limit?: number;
  /**
   * alone medians measured elsewhere (another capture of the same work, by `contentionKey`): used
   * for groups that never ran alone here (a CUDA graph overlaps every expert GEMM)
   */
  reference?: ReadonlyMap<string, number>;
}

/** The key of a kernel group: name and launch configuration. */
export function contentionKey(name: string, config: string): string {
  return `${name}\u0000${config}`;
}

export interface ContentionResult {
  /** the listed groups (at most `limit`) */
  entries: ContentionEntry[];
  /** every group */
  all: ContentionEntry[];
  summary: ContentionSummary;
}

export function configText(trace: Trace, row: number): string {
  return configTextOf(trace, trace.kernels.launchConfig[row]);
}

function configTextOf(trace: Trace, index: number): string {
  const c = trace.launchConfigs[index];
  if (!c) return '?';
  return `${c.gridX}×${c.gridY}×${c.gridZ} / ${c.blockX}×${c.blockY}×${c.blockZ}`;
}

/**
 * The median of v's values, rounded (reorders v): the middle ranks by selection, not a sort
 * (a group may hold most of a million kernels). NaN-free input.
 */
function median(v: Float64Array): number | null {
  const n = v.length;
  if (n === 0) return null;
  const m = n >> 1;
  selectRank(v, 0, n - 1, m);
  if (n % 2) return Math.round(v[m]);
  // the rank below m: the largest of v[0 .. m), all <= v[m]
  let below = v[0];
  for (let j = 1; j < m; j++) if (v[j] > below) below = v[j];
  return Math.round((below + v[m]) / 2);
}

/** Contention of the device's kernels clipped to the window. */
export function kernelContention(
  trace: Trace, deviceId: number, window: { start: number; end: number }, options: ContentionOptions = {},
): ContentionResult {
  const k = trace.kernels;
  // the window's kernels, in start order (kernel rows come in start order: no sort unless they do not)
  const inW = (i: number) => k.deviceId[i] === deviceId && Math.min(k.end[i], window.end) > Math.max(k.start[i], window.start);
  let nRows = 0;
  let first = -1;
  let last = -1;
  // whole: the window's kernels are the rows first .. last, in start order, none cut by its edges
  // (one GPU, the steady-state window): their columns are the kernel columns' own, not copies,
  // and row j is first + j (no list of rows). Checked in the same pass: when the rows are
  // first .. last, the window's kernels one after another are the rows one after another.
  let uncutInOrder = true;
  for (let i = 0; i < k.count; i++) {
    if (!inW(i)) continue;
    if (k.start[i] < window.start || k.end[i] > window.end || (last >= 0 && k.start[i] < k.start[last])) uncutInOrder = false;
    nRows++;
    if (first < 0) first = i;
    last = i;
  }
  const whole = nRows > 0 && last - first + 1 === nRows && uncutInOrder;
  let rows: Int32Array | null = null;
  if (!whole) {
    rows = new Int32Array(nRows);
    for (let i = 0, j = 0; i < k.count; i++) if (inW(i)) rows[j++] = i;
    let inOrder = true;
    for (let j = 1; j < nRows && inOrder; j++) if (k.start[rows[j]] < k.start[rows[j - 1]]) inOrder = false;
    if (!inOrder) rows.sort((a, b) => k.start[a] - k.start[b] || a - b);
  }
  const rowAt = (j: number): number => (rows ? rows[j] : first + j);
  const n = nRows;
  // the clipped kernels; once measured, the time another kernel ran beside each (beside) and its
  // duration (dur: e - s when whole, else in s's place: in place, no more columns a kernel than these)
  let s: Float64Array;
  let e: Float64Array;
  if (whole) {
    s = k.start.subarray(first, first + n);
    e = k.end.subarray(first, first + n);
  } else {
    s = new Float64Array(n);
    e = new Float64Array(n);
    for (let j = 0; j < n; j++) { s[j] = Math.max(k.start[rows![j]], window.start); e[j] = Math.min(k.end[rows![j]], window.end); }
  }
  const two = overlappedSet(s, e, n);
  // groups by (name, grid and block) as one number: no string per kernel (configurations that
  // differ only in registers or shared memory share their text, so their group)
  const textIds = new Map<string, number>();
  const configId = new Int32Array(trace.launchConfigs.length + 1);
  trace.launchConfigs.forEach((_, c) => {
    const text = configTextOf(trace, c);
    let id = textIds.get(text);
    if (id === undefined) textIds.set(text, (id = textIds.size));
    configId[c + 1] = id + 1;
  });
  const configs = textIds.size + 1;
  interface Acc { id: number; first: number; count: number; alone: number; over: number; measured: number; time: number; overlapNs: number; fit: boolean }
  const groups = new Map<number, Acc>();
  const list: Acc[] = [];
  const keys = trace.strings.length * configs;
  const dense = keys <= 1 << 22 ? new Int32Array(keys).fill(-1) : null;
  // the time beside others, kept a kernel only when cut (in e's place): whole, the few kernels that
  // need it again (a fit group's) have it measured again, not a column of 8 bytes a kernel made
  const beside = whole ? null : e;
  // dur[j] - durFrom[j]: the duration (the kernel columns' e - s when whole, else s's place)
  const dur = whole ? e : s;
  const durFrom = whole ? s : null;
  // per kernel: its group times 4 plus ALONE or OVERLAPPED (0: neither); -1 when not included or it
  // measures no duration
  const groupOf = new Int32Array(n).fill(-1);
  // the kernels come in start order: one walk along the overlapped set
  const twoWalk = new OverlapWalker(two);
  // only whole kernels measure a duration: a kernel cut by the window's edge does not
  const measures = (j: number): boolean => k.start[rowAt(j)] >= window.start && k.end[rowAt(j)] <= window.end && (durFrom ? dur[j] - durFrom[j] : dur[j]) > 0;
  // running doubles (kernel time, busy = |union|, the union's current piece) in a typed array,
  // summed in this loop, in kernel order as passes of their own would: one pass over the kernels, not three
  const acc = Float64Array.of(0, 0, NaN, NaN);
  for (let j = 0; j < n; j++) {
    const i = rowAt(j);
    const d = e[j] - s[j];
    acc[0] += d;
    if (e[j] > s[j]) {
      if (acc[3] >= s[j]) { if (e[j] > acc[3]) acc[3] = e[j]; } else { if (acc[3] > acc[2]) acc[1] += acc[3] - acc[2]; acc[2] = s[j]; acc[3] = e[j]; }
    }
    const b = twoWalk.overlap(s[j], e[j]);
    if (beside) { dur[j] = d; beside[j] = b; }
    if (options.include && !options.include(i)) continue;
    const key = k.shortName[i] * configs + configId[k.launchConfig[i] + 1];
    // a dense table of group ids when the keys are few (the usual few hundred names), a Map beyond
    let g = dense && key >= 0 && key < dense.length ? (dense[key] >= 0 ? list[dense[key]] : undefined) : groups.get(key);
    if (!g) {
      g = { id: list.length, first: i, count: 0, alone: 0, over: 0, measured: 0, time: 0, overlapNs: 0, fit: false };
      list.push(g);
      if (dense && key >= 0 && key < dense.length) dense[key] = g.id; else groups.set(key, g);
    }
    g.count++;
    g.time += d;
    g.overlapNs += b;
    if (!measures(j)) continue;
    g.measured++;
    if (b <= ALONE_MAX_SHARE * d) { g.alone++; groupOf[j] = 4 * g.id + ALONE; } else if (b >= OVERLAPPED_MIN_SHARE * d) { g.over++; groupOf[j] = 4 * g.id + OVERLAPPED; } else groupOf[j] = 4 * g.id;
  }
  if (acc[3] > acc[2]) acc[1] += acc[3] - acc[2];
  const kernelTime = acc[0];
  const busy = acc[1];
  // groups that never ran alone (and have no reference) fit their alone duration on the
  // (duration, company) of all their whole kernels
  for (const g of list) g.fit = g.alone === 0 && !options.reference?.has(contentionKey(trace.strings[k.shortName[g.first]] ?? '?', configText(trace, g.first)));
  // each group's alone and overlapped kernels' durations, and its fit kernels (indices j), in
  // kernel order: one column each (the durations gathered here, not through lists of indices
  // copied again a group: 12 bytes an alone kernel fewer)
  const aloneAt = new Int32Array(list.length + 1);
  const overAt = new Int32Array(list.length + 1);
  const fitAt = new Int32Array(list.length + 1);
  // (a fit group's fit kernels are its measured ones: no pass to count them)
  for (const g of list) { aloneAt[g.id + 1] = g.alone; overAt[g.id + 1] = g.over; fitAt[g.id + 1] = g.fit ? g.measured : 0; }
  for (let q = 0; q < list.length; q++) { aloneAt[q + 1] += aloneAt[q]; overAt[q + 1] += overAt[q]; fitAt[q + 1] += fitAt[q]; }
  const aloneD = new Float64Array(aloneAt[list.length]);
  const overD = new Float64Array(overAt[list.length]);
  const fitJ = new Int32Array(fitAt[list.length]);
  {
    const aloneN = aloneAt.slice(0, list.length);
    const overN = overAt.slice(0, list.length);
    const fitN = fitAt.slice(0, list.length);
    for (let j = 0; j < n; j++) {
      const code = groupOf[j];
      if (code < 0) continue;
      const q = code >> 2;
      if ((code & 3) === ALONE) aloneD[aloneN[q]++] = durFrom ? dur[j] - durFrom[j] : dur[j];
      else if ((code & 3) === OVERLAPPED) overD[overN[q]++] = durFrom ? dur[j] - durFrom[j] : dur[j];
      if (list[q].fit) fitJ[fitN[q]++] = j;
    }
  }
  /** the values col[j] (minus minus[j], when given) of the kernels js[from .. to), in order */
  const valuesOf = (col: Float64Array, js: Int32Array, from: number, to: number, minus: Float64Array | null = null): Float64Array => {
    const out = new Float64Array(to - from);
    if (minus) for (let m = from; m < to; m++) out[m - from] = col[js[m]] - minus[js[m]];
    else for (let m = from; m < to; m++) out[m - from] = col[js[m]];
    return out;
  };
  /** the time beside others of the (whole) kernels js[from .. to), in order, measured as the loop above measured it */
  const besideAgain = (js: Int32Array, from: number, to: number): Float64Array => {
    const out = new Float64Array(to - from);
    const walk = new OverlapWalker(two);
    for (let m = from; m < to; m++) out[m - from] = walk.overlap(s[js[m]], e[js[m]]);
    return out;
  };
  let addedNs = 0;
  let slowWeighted = 0;
  let slowWeight = 0;
  const named = list.map((g) => ({ ...g, name: trace.strings[k.shortName[g.first]] ?? '?', config: configText(trace, g.first) }));
  const all = named.sort((a, b) => b.time - a.time || a.name.localeCompare(b.name) || a.config.localeCompare(b.config));
  const entries: ContentionEntry[] = all.map((g) => {
    const reference = options.reference?.get(contentionKey(g.name, g.config));
    // no kernel ran alone: the duration a kernel would take with nothing beside it, from how its
    // duration grew with the time others ran beside it (a full-GPU GEMM overlapped only at its tails)
    const ptsD = valuesOf(dur, fitJ, fitAt[g.id], fitAt[g.id + 1], durFrom);
    const ptsB = beside ? valuesOf(beside, fitJ, fitAt[g.id], fitAt[g.id + 1]) : besideAgain(fitJ, fitAt[g.id], fitAt[g.id + 1]);
    const fit = g.alone === 0 && reference === undefined ? fitAloneColumns(ptsD, ptsB) : null;
    // (views: the medians below reorder only this group's part)
    const overSorted = overD.subarray(overAt[g.id], overAt[g.id + 1]);
    const alone = median(aloneD.subarray(aloneAt[g.id], aloneAt[g.id + 1])) ?? reference ?? (fit ? Math.round(fit.alone) : null);
    const aloneFrom = g.alone > 0 ? 'here' : reference !== undefined ? 'reference' : fit ? 'fit' : null;
    // with a fitted alone duration every kernel that had company counts (the fit is what their spread measured)
    let slowed: Float64Array;
    if (fit) {
      let m = 0;
      for (let p = 0; p < ptsD.length; p++) if (ptsB[p] > ALONE_MAX_SHARE * ptsD[p]) m++;
      slowed = new Float64Array(m);
      m = 0;
      for (let p = 0; p < ptsD.length; p++) if (ptsB[p] > ALONE_MAX_SHARE * ptsD[p]) slowed[m++] = ptsD[p];
    } else slowed = overSorted;
    let added = 0;
    let slowSum = 0;
    if (alone !== null && alone > 0) for (const d of slowed) added += d - alone;
    for (const d of slowed) slowSum += d;
    // (the sums above go in kernel order: the medians below sort in place)
    const over = median(overSorted);
    const slowedMedian = slowed === overSorted ? over : median(slowed);
    const slowdown = alone !== null && slowedMedian !== null && alone > 0 ? slowedMedian / alone : null;
    if (alone !== null && alone > 0 && slowed.length > 0) {
      addedNs += added;
      slowWeighted += slowSum;
      slowWeight += slowed.length * alone;
    }
    const entry: ContentionEntry = {
      name: g.name, config: g.config, count: g.count,
      alone: { count: g.alone, median: alone, from: aloneFrom }, overlapped: { count: g.over, median: over },
      slowdown, addedNs: Math.round(added), overlapNs: Math.round(g.overlapNs),
    };
    if (fit) entry.overlapCost = fit.slope;
    return entry;
  });
  const gainedNs = Math.round(kernelTime - busy);
  const summary: ContentionSummary = {
    gainedNs, addedNs: Math.round(addedNs), netNs: Math.round(gainedNs - addedNs), meanSlowdown: slowWeight > 0 ? slowWeighted / slowWeight : null,
  };
  return { entries: entries.slice(0, options.limit ?? CONTENTION_LIST_LIMIT), all: entries, summary };
}

/**
 * Least squares of duration on time-beside-others over a group's whole kernels, when none ran
 * alone: the intercept is the duration alone, the slope what each ns of company cost. Only when
 * the company varied (by at least 10% of the median duration), some kernels had company for at
 * most half the median duration (the line is not extrapolated far), the fit explains at least half
 * the spread (r² ≥ 0.5), the slope is positive and the intercept at least half the shortest
 * kernel. Four kernels at least.
 */
export function fitAlone(pts: [number, number][]): { alone: number; slope: number; r2: number } | null {
  return fitAloneColumns(Float64Array.from(pts, ([d]) => d), Float64Array.from(pts, ([, b]) => b));
}

/** fitAlone of the points (d[p], b[p]): duration and time beside others. */
function fitAloneColumns(dur: Float64Array, beside: Float64Array): { alone: number; slope: number; r2: number } | null {
  const n = dur.length;
  if (n < 4) return null;
  let sx = 0; let sy = 0;
  for (let p = 0; p < n; p++) { sx += beside[p]; sy += dur[p]; }
  const mx = sx / n; const my = sy / n;
  let sxx = 0; let sxy = 0; let syy = 0;
  let lo = Infinity; let hi = -Infinity;
  let shortest = Infinity;
  for (let p = 0; p < n; p++) {
    const d = dur[p];
    const b = beside[p];
    sxx += (b - mx) ** 2; sxy += (b - mx) * (d - my); syy += (d - my) ** 2; lo = Math.min(lo, b); hi = Math.max(hi, b);
    shortest = Math.min(shortest, d);
  }
  const med = median(dur.slice()) ?? 0;
  // extrapolate only a little: some kernels had company for at most half the median duration
  if (!(sxx > 0) || !(syy > 0) || hi - lo < 0.1 * med || lo > 0.5 * med) return null;
  const slope = sxy / sxx;
  const alone = my - slope * mx;
  const r2 = (sxy * sxy) / (sxx * syy);
  if (!(slope > 0) || !(alone >= 0.5 * shortest) || r2 < 0.5) return null;
  return { alone, slope, r2 };
}

/** The alone medians measured in this trace, by contentionKey: the reference for another capture of the same work. */
export function aloneMedians(result: ContentionResult): Map<string, number> {
  const out = new Map<string, number>();
  for (const g of result.entries) if (g.alone.median !== null && g.alone.from === 'here') out.set(contentionKey(g.name, g.config), g.alone.median);
  return out;
}
