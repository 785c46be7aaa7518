/**
 * Timeline data for the stream-timeline chart: one row per GPU stream, per host thread (launch
 * and sync calls) and per NVTX nesting level. Small traces get one mark per interval; big ones
 * keep the longest intervals as marks and fold everything into per-row time bins, so a
 * million-kernel trace stays a few megabytes and a few thousand marks.
 */
import type { Trace } from '../../model/trace.js';
import type { Report } from '../../report/types.js';
import { union } from '../../model/intervals.js';
import { formatNs } from '../format.js';

export interface TimeAxis {
  /** trace time (ns) that the chart's 0 stands for: the earliest window start */
  originNs: number;
  /** ns per chart unit: 1e3 (µs) or 1e6 (ms) */
  unitNs: number;
  unit: 'µs' | 'ms';
  /** chart-unit extent covered by the windows */
  span: number;
}

export interface TimelineLimits {
  /** a category (kernels, host calls, NVTX ranges) with more intervals than this is aggregated */
  maxMarks: number;
  /** how many of the longest intervals stay individual marks when aggregated */
  keepLongest: number;
  /** time bins across the span for the aggregated rest (about one per pixel) */
  bins: number;
}

export const DEFAULT_LIMITS: TimelineLimits = { maxMarks: 20_000, keepLongest: 3_000, bins: 1_000 };

/** One drawn interval. Times in chart units; the *Text fields are what tooltips show. */
export interface TimelineMark {
  row: string;
  kind: 'kernel' | 'launch' | 'sync' | 'nvtx';
  start: number;
  end: number;
  name: string;
  /** colour key: the NVTX expert range, else the kernel name; "other" past the top keys */
  colour: string;
  startText: string;
  durationText: string;
  stream?: number;
  grid?: string;
  block?: string;
  expert?: string;
  /** index in the trace's kernel columns */
  kernel?: number;
}

export interface TimelineBin {
  row: string;
  start: number;
  end: number;
  count: number;
  /** share of the bin covered by the row's intervals, 0..1 */
  busyShare: number;
  busyText: string;
}

export interface TimelineData {
  axis: TimeAxis;
  rows: string[];
  marks: TimelineMark[];
  bins: TimelineBin[];
  /** one sentence per aggregated category, for the page */
  aggregation: string[];
  colourSource: 'nvtx' | 'kernel';
}

/** Optional per-kernel expert label (index into trace.strings, -1 none), e.g. from NVTX projection. */
export type ExpertOf = (kernel: number) => number;

const MAX_COLOUR_KEYS = 12;
const LAUNCH_RE = /Launch|GraphLaunch/;

/** The chart time axis of a report; unitNs forces the unit (comparisons share one). */
export function timeAxis(report: Report, unitNs?: 1e3 | 1e6): TimeAxis {
  const ws = report.devices.map((d) => d.window);
  if (ws.length === 0) return { originNs: 0, unitNs: unitNs ?? 1e3, unit: unitNs === 1e6 ? 'ms' : 'µs', span: 0 };
  const originNs = Math.min(...ws.map((w) => w.start));
  const endNs = Math.max(...ws.map((w) => w.end));
  unitNs ??= endNs - originNs >= 10e6 ? 1e6 : 1e3;
  return { originNs, unitNs, unit: unitNs === 1e6 ? 'ms' : 'µs', span: (endNs - originNs) / unitNs };
}

interface Interval { row: number; start: number; end: number; ref: number }

export function buildTimeline(report: Report, trace: Trace, limits: TimelineLimits = DEFAULT_LIMITS, expertOf?: ExpertOf, unitNs?: 1e3 | 1e6): TimelineData {
  const axis = timeAxis(report, unitNs);
  const rows: string[] = [];
  const rowIndex = new Map<string, number>();
  const rowOf = (label: string): number => {
    let i = rowIndex.get(label);
    if (i === undefined) { i = rows.length; rows.push(label); rowIndex.set(label, i); }
    return i;
  };
  const u = (ns: number): number => (ns - axis.originNs) / axis.unitNs;
  const at = (ns: number): string => formatNs(ns - axis.originNs);
  const spanStart = axis.originNs;
  const spanEnd = axis.originNs + axis.span * axis.unitNs;
  const tid = (thread: number): string => (trace.threads[thread] ? String(trace.threads[thread].tid) : `#${thread}`);

  // Row order: NVTX levels and host threads first (what the CPU did), then each device's streams.
  const nvtx = nvtxIntervals(trace, spanStart, spanEnd, (t, depth) => rowOf(`NVTX · tid ${tid(t)} · L${depth}`));
  const host: Interval[] = [];
  const hostKind: ('launch' | 'sync')[] = [];
  const syncNames: string[] = [];
  const seen = new Set<string>();
  for (const d of report.devices) {
    for (const c of d.hostSyncs.calls) {
      const s = Math.max(c.start, spanStart); const e = Math.min(c.end, spanEnd);
      // a device-wide sync can be listed under every device it waited for: draw it once
      const id = `${c.thread}:${c.start}:${c.name}`;
      if (e < s || seen.has(id)) continue;
      seen.add(id);
      host.push({ row: rowOf(`host · tid ${tid(c.thread)}`), start: s, end: e, ref: syncNames.length });
      hostKind.push('sync'); syncNames.push(c.name);
    }
  }
  const rt = trace.runtime;
  for (let i = 0; i < rt.count; i++) {
    if (rt.end[i] < spanStart || rt.start[i] > spanEnd || !LAUNCH_RE.test(trace.strings[rt.name[i]] ?? '')) continue;
    host.push({ row: rowOf(`host · tid ${tid(rt.thread[i])}`), start: Math.max(rt.start[i], spanStart), end: Math.min(rt.end[i], spanEnd), ref: i });
    hostKind.push('launch');
  }
  const kernels = kernelIntervals(report, trace, (d, s) => rowOf(`GPU ${d} · stream ${s}`));

  const k = trace.kernels;
  const expertText = (i: number): string | undefined => {
    const x = expertOf ? expertOf(i) : -1;
    return x >= 0 ? trace.strings[x] : undefined;
  };
  const keyOf = (i: number): string => expertText(i) ?? trace.strings[k.shortName[i]] ?? 'kernel';
  const colours = topKeys(kernels, keyOf);

  const marks: TimelineMark[] = [];
  const bins: TimelineBin[] = [];
  const aggregation: string[] = [];
  const take = (items: Interval[], what: string, toMark: (iv: Interval, j: number) => TimelineMark): void => {
    const kept = items.length > limits.maxMarks ? longest(items, limits.keepLongest) : items.map((_, j) => j);
    for (const j of kept) marks.push(toMark(items[j], j));
    if (items.length > limits.maxMarks) {
      bins.push(...binRows(items, rows, spanStart, spanEnd, limits.bins, axis));
      aggregation.push(`${items.length.toLocaleString('en-US')} ${what}: the ${kept.length.toLocaleString('en-US')} longest are drawn one by one; all of them are summed into ${limits.bins} time bins per row (shade = share of the bin that is busy).`);
    }
  };
  const base = (iv: Interval) => ({
    row: rows[iv.row], start: u(iv.start), end: u(iv.end), startText: at(iv.start), durationText: formatNs(iv.end - iv.start),
  });
  take(kernels, 'kernels', (iv) => {
    const i = iv.ref; const expert = expertText(i); const key = keyOf(i);
    return {
      ...base(iv), kind: 'kernel', name: trace.strings[k.shortName[i]] ?? 'kernel', colour: colours.has(key) ? key : 'other',
      stream: k.streamId[i], grid: `${k.gridX[i]}×${k.gridY[i]}×${k.gridZ[i]}`, block: `${k.blockX[i]}×${k.blockY[i]}×${k.blockZ[i]}`,
      expert: expert ?? '–', kernel: i,
    };
  });
  take(host, 'host calls', (iv, j) => {
    const kind = hostKind[j];
    const name = kind === 'sync' ? syncNames[iv.ref] : trace.strings[rt.name[iv.ref]] ?? 'launch';
    return { ...base(iv), kind, name, colour: kind };
  });
  take(nvtx, 'NVTX ranges', (iv) => {
    const name = trace.nvtx.text[iv.ref] >= 0 ? trace.strings[trace.nvtx.text[iv.ref]] : '(no text)';
    return { ...base(iv), kind: 'nvtx', name, colour: 'nvtx' };
  });
  return { axis, rows, marks, bins, aggregation, colourSource: expertOf ? 'nvtx' : 'kernel' };
}

/** Kernels clipped to their device's window; kernels outside it are left out. */
function kernelIntervals(report: Report, trace: Trace, rowOf: (device: number, stream: number) => number): Interval[] {
  const k = trace.kernels;
  const windows = new Map(report.devices.map((d) => [d.deviceId, d.window]));
  // Rows in stream order per device, whatever order kernels start in.
  for (const d of report.devices) for (const s of [...d.streams].sort((a, b) => a.streamId - b.streamId)) rowOf(d.deviceId, s.streamId);
  const out: Interval[] = [];
  for (let i = 0; i < k.count; i++) {
    const w = windows.get(k.deviceId[i]);
    if (!w) continue;
    const s = Math.max(k.start[i], w.start); const e = Math.min(k.end[i], w.end);
    if (e < s || (e === s && k.end[i] > k.start[i])) continue;
    out.push({ row: rowOf(k.deviceId[i], k.streamId[i]), start: s, end: e, ref: i });
  }
  return out;
}

/** Push/pop and start/end ranges, stacked into nesting levels per thread. */
function nvtxIntervals(trace: Trace, spanStart: number, spanEnd: number, rowOf: (thread: number, depth: number) => number): Interval[] {
  const n = trace.nvtx;
  const open = new Map<number, number[]>();
  const out: Interval[] = [];
  for (let i = 0; i < n.count; i++) {
    if (!Number.isFinite(n.end[i]) || n.end[i] < spanStart || n.start[i] > spanEnd) continue;
    const stack = open.get(n.thread[i]) ?? [];
    while (stack.length > 0 && stack[stack.length - 1] <= n.start[i]) stack.pop();
    const depth = stack.length;
    stack.push(n.end[i]);
    open.set(n.thread[i], stack);
    out.push({ row: rowOf(n.thread[i], depth), start: Math.max(n.start[i], spanStart), end: Math.min(n.end[i], spanEnd), ref: i });
  }
  return out;
}

function topKeys(kernels: Interval[], keyOf: (i: number) => string): Set<string> {
  const total = new Map<string, number>();
  for (const iv of kernels) {
    const key = keyOf(iv.ref);
    total.set(key, (total.get(key) ?? 0) + iv.end - iv.start);
  }
  return new Set([...total].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, MAX_COLOUR_KEYS).map(([key]) => key));
}

/** Indices of the n longest intervals, in their original order. */
function longest(items: Interval[], n: number): number[] {
  const idx = items.map((_, j) => j);
  idx.sort((a, b) => (items[b].end - items[b].start) - (items[a].end - items[a].start) || a - b);
  return idx.slice(0, n).sort((a, b) => a - b);
}

/** Per row: intervals starting in each bin, and the bin's share covered by the row's union. */
function binRows(items: Interval[], rows: string[], spanStart: number, spanEnd: number, nBins: number, axis: TimeAxis): TimelineBin[] {
  const width = Math.max(spanEnd - spanStart, 1) / nBins;
  const byRow = new Map<number, Interval[]>();
  for (const iv of items) {
    const list = byRow.get(iv.row);
    if (list) list.push(iv); else byRow.set(iv.row, [iv]);
  }
  const out: TimelineBin[] = [];
  for (const [row, list] of byRow) {
    const count = new Float64Array(nBins);
    const busy = new Float64Array(nBins);
    const binOf = (t: number): number => Math.min(nBins - 1, Math.max(0, Math.floor((t - spanStart) / width)));
    for (const iv of list) count[binOf(iv.start)]++;
    const set = union(Float64Array.from(list, (iv) => iv.start), Float64Array.from(list, (iv) => iv.end), list.length);
    for (let p = 0; p < set.count; p++) {
      const s = set.start[p]; const e = set.end[p];
      for (let b = binOf(s); b <= binOf(e); b++) {
        const lo = spanStart + b * width;
        busy[b] += Math.max(0, Math.min(e, lo + width) - Math.max(s, lo));
      }
    }
    for (let b = 0; b < nBins; b++) {
      if (count[b] === 0 && busy[b] === 0) continue;
      const lo = spanStart + b * width;
      out.push({
        row: rows[row], start: (lo - axis.originNs) / axis.unitNs, end: (lo + width - axis.originNs) / axis.unitNs,
        count: count[b], busyShare: Math.min(1, busy[b] / width), busyText: formatNs(Math.round(busy[b])),
      });
    }
  }
  return out;
}
