/**
 * Chart data derived from one device's report and kernels: the active-kernel count over time,
 * time at each concurrency level, and the gap-length histogram. Times are in chart units (see
 * TimeAxis); the *Text fields are the exact values formatted for tooltips.
 */
import type { Trace } from '../../model/trace.js';
import { concurrencyTimeline, sortedOrder } from '../../model/intervals.js';
import { forEachInWindow, piece, windowIntervals } from '../../model/window-pieces.js';
import { GAP_CLASSES, type DeviceReport, type GapClass } from '../../report/types.js';
import { formatNs, formatPct } from '../format.js';
import type { TimeAxis } from './timeline.js';

export interface ConcurrencyPoint {
  t: number;
  active: number;
  /** 'active kernels' when exact; 'max in bin' / 'mean in bin' when aggregated */
  series: string;
}

export interface ConcurrencySeries {
  points: ConcurrencyPoint[];
  aggregated: boolean;
  /** change points before aggregation */
  changes: number;
  /** bins when aggregated, else 0 */
  bins: number;
}

export { GAP_CLASSES };

/**
 * n(t) over the device's window as a step function (value holds until the next point). Above
 * maxPoints change points (about two per pixel, where a step line turns into a solid block that
 * hides how idle the GPU is) it becomes per-bin max and time-weighted mean.
 */
export function concurrencySeries(d: DeviceReport, trace: Trace, axis: TimeAxis, maxPoints = 2_000, nBins = 900): ConcurrencySeries {
  const { start: w0, end: w1 } = d.window;
  // the kernels in the window, piece by piece (--range segments included), as the analyses select them
  const window = windowIntervals(d.window);
  const starts: number[] = [];
  const ends: number[] = [];
  forEachInWindow(trace.kernels, d.deviceId, window, () => { starts.push(piece[0]); ends.push(piece[1]); });
  const order = sortedOrder(starts, starts.length);
  const st = Float64Array.from(order, (o) => starts[o]);
  const en = Float64Array.from(order, (o) => ends[o]);
  // n(t) by the one sweep of model/intervals.ts, from the window's start to its end
  const steps = concurrencyTimeline(st, en, st.length);
  const times: number[] = [w0];
  const levels: number[] = [0];
  for (let p = 0; p < steps.count; p++) {
    const t = steps.time[p];
    if (times[times.length - 1] === t) levels[levels.length - 1] = steps.level[p];
    else if (levels[levels.length - 1] !== steps.level[p]) { times.push(t); levels.push(steps.level[p]); }
  }
  const u = (ns: number): number => (ns - axis.originNs) / axis.unitNs;
  if (times.length <= maxPoints) {
    const points = times.map((t, x) => ({ t: u(t), active: levels[x], series: 'active kernels' }));
    if (times[times.length - 1] < w1) points.push({ t: u(w1), active: levels[levels.length - 1], series: 'active kernels' });
    return { points, aggregated: false, changes: times.length, bins: 0 };
  }
  const width = Math.max(w1 - w0, 1) / nBins;
  const max = new Float64Array(nBins);
  const area = new Float64Array(nBins);
  for (let x = 0; x < times.length; x++) {
    const a = times[x]; const b = x + 1 < times.length ? times[x + 1] : w1;
    if (b <= a) continue;
    const last = Math.min(nBins - 1, Math.floor((b - w0) / width));
    for (let bin = Math.min(nBins - 1, Math.floor((a - w0) / width)); bin <= last; bin++) {
      const lo = w0 + bin * width;
      const part = Math.min(b, lo + width) - Math.max(a, lo);
      if (part <= 0) continue;
      max[bin] = Math.max(max[bin], levels[x]);
      area[bin] += part * levels[x];
    }
  }
  const points: ConcurrencyPoint[] = [];
  for (let bin = 0; bin <= nBins; bin++) {
    const b = Math.min(bin, nBins - 1);
    const t = u(w0 + bin * width);
    points.push({ t, active: area[b] / width, series: 'mean in bin' }, { t, active: max[b], series: 'max in bin' });
  }
  return { points, aggregated: true, changes: times.length, bins: nBins };
}

export interface LevelRow { level: number; time: number; timeText: string; shareText: string }

export function levelRows(d: DeviceReport, axis: TimeAxis): LevelRow[] {
  // |W|: the window's time, its pieces' total under --range
  const covered = d.window.coveredDuration ?? d.window.duration;
  return d.overlap.levelTime.map((ns, level) => ({
    level, time: ns / axis.unitNs, timeText: formatNs(ns),
    shareText: formatPct(covered > 0 ? ns / covered : null),
  }));
}

export interface GapBin {
  lo: number; hi: number; range: string; class: GapClass; count: number; totalText: string;
  /** stacked extent in the bin, classes in GAP_CLASSES order (stacked here: Vega-Lite does not stack ranged bars) */
  y0: number; y1: number;
}

/**
 * Gap counts in log-spaced duration bins (4 per decade, in ns), split by class: from the report's
 * exact histogram, or from its gap list when an older report has no histogram.
 */
export function gapHistogram(d: DeviceReport): GapBin[] {
  const acc = new Map<string, { bin: number; cls: GapClass; count: number; total: number }>();
  if (d.gaps.histogram) {
    for (const h of d.gaps.histogram) acc.set(`${h.bin}|${h.class}`, { bin: h.bin, cls: h.class, count: h.count, total: h.total });
  } else {
    for (const g of d.gaps.gaps) {
      if (!(g.duration > 0)) continue;
      const bin = Math.floor(4 * Math.log10(g.duration) + 1e-9);
      const key = `${bin}|${g.class}`;
      const a = acc.get(key) ?? { bin, cls: g.class, count: 0, total: 0 };
      a.count++; a.total += g.duration;
      acc.set(key, a);
    }
  }
  let stackBin = NaN; let top = 0;
  return [...acc.values()]
    .sort((a, b) => a.bin - b.bin || GAP_CLASSES.indexOf(a.cls) - GAP_CLASSES.indexOf(b.cls))
    .map(({ bin, cls, count, total }) => {
      if (bin !== stackBin) { stackBin = bin; top = 0; }
      const lo = 10 ** (bin / 4); const hi = 10 ** ((bin + 1) / 4);
      top += count;
      return { lo, hi, range: `${formatNs(Math.round(lo))} – ${formatNs(Math.round(hi))}`, class: cls, count, totalText: formatNs(total), y0: top - count, y1: top };
    });
}
