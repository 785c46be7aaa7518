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
import { overlapWith, type IntervalSet } from '../model/intervals.js';

/** A kernel ran alone when others ran beside it for at most this share of its time. */
export const ALONE_MAX_SHARE = 0.01;
/** A kernel ran overlapped when others ran beside it for at least this share of its time. */
export const OVERLAPPED_MIN_SHARE = 0.5;
/** Groups listed in the report, most kernel time first. */
export const CONTENTION_LIST_LIMIT = 50;

/**
 * {t : n(t) ≥ 2} for intervals sorted by start: the times at which two or more ran at once,
 * as disjoint sorted intervals.
 */
export function overlappedSet(start: ArrayLike<number>, end: ArrayLike<number>, count: number): IntervalSet {
  const outS: number[] = [];
  const outE: number[] = [];
  // ends of the running intervals: a binary min-heap
  const heap: number[] = [];
  const push = (v: number) => {
    heap.push(v);
    let i = heap.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (heap[p] <= heap[i]) break;
      [heap[p], heap[i]] = [heap[i], heap[p]];
      i = p;
    }
  };
  const pop = () => {
    const top = heap[0];
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && heap[l] < heap[m]) m = l;
        if (r < heap.length && heap[r] < heap[m]) m = r;
        if (m === i) break;
        [heap[m], heap[i]] = [heap[i], heap[m]];
        i = m;
      }
    }
    return top;
  };
  let i = 0;
  let openAt = NaN;
  const add = (a: number, b: number) => {
    if (!(b > a)) return;
    const n = outS.length;
    if (n > 0 && outE[n - 1] >= a) { if (b > outE[n - 1]) outE[n - 1] = b; } else { outS.push(a); outE.push(b); }
  };
  while (i < count || heap.length > 0) {
    // ends before starts at equal times: touching kernels do not overlap
    const takeEnd = heap.length > 0 && (i >= count || heap[0] <= start[i]);
    if (takeEnd) {
      const t = pop();
      if (heap.length === 1) { add(openAt, t); openAt = NaN; }
    } else {
      const s = start[i];
      const e = end[i];
      i++;
      if (!(e > s)) continue;
      push(e);
      if (heap.length === 2) openAt = s;
    }
  }
  return { count: outS.length, start: Float64Array.from(outS), end: Float64Array.from(outE) };
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
  /** per listed kernel of the window (trace row → time another kernel ran beside it) */
  besideOf: (row: number) => number;
}

export function configText(trace: Trace, row: number): string {
  return configTextOf(trace, trace.kernels.launchConfig[row]);
}

function configTextOf(trace: Trace, index: number): string {
  const c = trace.launchConfigs[index];
  if (!c) return '?';
  return `${c.gridX}×${c.gridY}×${c.gridZ} / ${c.blockX}×${c.blockY}×${c.blockZ}`;
}

function median(v: number[]): number | null {
  if (v.length === 0) return null;
  const a = [...v].sort((x, y) => x - y);
  const m = a.length >> 1;
  return Math.round(a.length % 2 ? a[m] : (a[m - 1] + a[m]) / 2);
}

/** Contention of the device's kernels clipped to the window. */
export function kernelContention(
  trace: Trace, deviceId: number, window: { start: number; end: number }, options: ContentionOptions = {},
): ContentionResult {
  const k = trace.kernels;
  // the window's kernels, in start order (kernel rows come in start order: no sort unless they do not)
  const inW = (i: number) => k.deviceId[i] === deviceId && Math.min(k.end[i], window.end) > Math.max(k.start[i], window.start);
  let nRows = 0;
  for (let i = 0; i < k.count; i++) if (inW(i)) nRows++;
  const rows = new Int32Array(nRows);
  for (let i = 0, j = 0; i < k.count; i++) if (inW(i)) rows[j++] = i;
  let inOrder = true;
  for (let j = 1; j < nRows && inOrder; j++) if (k.start[rows[j]] < k.start[rows[j - 1]]) inOrder = false;
  if (!inOrder) rows.sort((a, b) => k.start[a] - k.start[b] || a - b);
  const s = Float64Array.from(rows, (i) => Math.max(k.start[i], window.start));
  const e = Float64Array.from(rows, (i) => Math.min(k.end[i], window.end));
  const two = overlappedSet(s, e, rows.length);
  let kernelTime = 0;
  for (let j = 0; j < rows.length; j++) kernelTime += e[j] - s[j];
  // busy = |union|
  let busy = 0;
  {
    let cs = NaN;
    let ce = NaN;
    for (let j = 0; j < rows.length; j++) {
      if (!(e[j] > s[j])) continue;
      if (ce >= s[j]) { if (e[j] > ce) ce = e[j]; } else { if (ce > cs) busy += ce - cs; cs = s[j]; ce = e[j]; }
    }
    if (ce > cs) busy += ce - cs;
  }
  interface Acc { first: number; count: number; alone: number[]; over: number[]; time: number; overlapNs: number; key: number }
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
  const groups = new Map<number, Acc>();
  const beside = new Float64Array(rows.length);
  for (let j = 0; j < rows.length; j++) {
    const i = rows[j];
    const d = e[j] - s[j];
    const b = overlapWith(two, s[j], e[j]);
    beside[j] = b;
    if (options.include && !options.include(i)) continue;
    const key = k.shortName[i] * configs + configId[k.launchConfig[i] + 1];
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { first: i, count: 0, alone: [], over: [], time: 0, overlapNs: 0, key }));
    g.count++;
    g.time += d;
    g.overlapNs += b;
    // only whole kernels measure a duration: a kernel cut by the window's edge does not
    const whole = k.start[i] >= window.start && k.end[i] <= window.end;
    if (!whole || !(d > 0)) continue;
    if (b <= ALONE_MAX_SHARE * d) g.alone.push(d);
    else if (b >= OVERLAPPED_MIN_SHARE * d) g.over.push(d);
  }
  // (duration, company) of the whole kernels of groups that never ran alone: what fitAlone reads
  const pointsOf = new Map<number, [number, number][]>();
  for (const g of groups.values()) if (g.alone.length === 0 && !options.reference?.has(contentionKey(trace.strings[k.shortName[g.first]] ?? '?', configText(trace, g.first)))) pointsOf.set(g.key, []);
  if (pointsOf.size > 0) {
    for (let j = 0; j < rows.length; j++) {
      const i = rows[j];
      const pts = pointsOf.get(k.shortName[i] * configs + configId[k.launchConfig[i] + 1]);
      const d = e[j] - s[j];
      if (!pts || !(k.start[i] >= window.start && k.end[i] <= window.end) || !(d > 0)) continue;
      if (options.include && !options.include(i)) continue;
      pts.push([d, beside[j]]);
    }
  }
  let addedNs = 0;
  let slowWeighted = 0;
  let slowWeight = 0;
  const named = [...groups.values()].map((g) => ({ ...g, name: trace.strings[k.shortName[g.first]] ?? '?', config: configText(trace, g.first) }));
  const all = named.sort((a, b) => b.time - a.time || a.name.localeCompare(b.name) || a.config.localeCompare(b.config));
  const entries: ContentionEntry[] = all.map((g) => {
    const reference = options.reference?.get(contentionKey(g.name, g.config));
    // no kernel ran alone: the duration a kernel would take with nothing beside it, from how its
    // duration grew with the time others ran beside it (a full-GPU GEMM overlapped only at its tails)
    const pts = pointsOf.get(g.key) ?? [];
    const fit = g.alone.length === 0 && reference === undefined ? fitAlone(pts) : null;
    const alone = median(g.alone) ?? reference ?? (fit ? Math.round(fit.alone) : null);
    const aloneFrom = g.alone.length > 0 ? 'here' : reference !== undefined ? 'reference' : fit ? 'fit' : null;
    // with a fitted alone duration every kernel that had company counts (the fit is what their spread measured)
    const slowed = fit ? pts.filter(([d, b]) => b > ALONE_MAX_SHARE * d).map(([d]) => d) : g.over;
    const over = median(g.over);
    let added = 0;
    if (alone !== null && alone > 0) for (const d of slowed) added += d - alone;
    const slowedMedian = median(slowed);
    const slowdown = alone !== null && slowedMedian !== null && alone > 0 ? slowedMedian / alone : null;
    if (alone !== null && alone > 0 && slowed.length > 0) {
      addedNs += added;
      slowWeighted += slowed.reduce((a, b) => a + b, 0);
      slowWeight += slowed.length * alone;
    }
    const entry: ContentionEntry = {
      name: g.name, config: g.config, count: g.count,
      alone: { count: g.alone.length, median: alone, from: aloneFrom }, overlapped: { count: g.over.length, median: over },
      slowdown, addedNs: Math.round(added), overlapNs: Math.round(g.overlapNs),
    };
    if (fit) entry.overlapCost = fit.slope;
    return entry;
  });
  const gainedNs = Math.round(kernelTime - busy);
  const summary: ContentionSummary = {
    gainedNs, addedNs: Math.round(addedNs), netNs: Math.round(gainedNs - addedNs), meanSlowdown: slowWeight > 0 ? slowWeighted / slowWeight : null,
  };
  const position = new Map<number, number>();
  return {
    entries: entries.slice(0, options.limit ?? CONTENTION_LIST_LIMIT), all: entries, summary,
    besideOf: (row) => {
      if (position.size === 0) rows.forEach((r, j) => position.set(r, j));
      const j = position.get(row);
      return j === undefined ? 0 : beside[j];
    },
  };
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
  const n = pts.length;
  if (n < 4) return null;
  let sx = 0; let sy = 0;
  for (const [d, b] of pts) { sx += b; sy += d; }
  const mx = sx / n; const my = sy / n;
  let sxx = 0; let sxy = 0; let syy = 0;
  let lo = Infinity; let hi = -Infinity;
  for (const [d, b] of pts) { sxx += (b - mx) ** 2; sxy += (b - mx) * (d - my); syy += (d - my) ** 2; lo = Math.min(lo, b); hi = Math.max(hi, b); }
  const med = median(pts.map(([d]) => d)) ?? 0;
  const shortest = Math.min(...pts.map(([d]) => d));
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
