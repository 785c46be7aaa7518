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
import { nvtxFamilyName } from '../../model/nvtx-names.js';
import { communicationIntervals, type CommRowKind } from './communication.js';
import type { CommunicationIntervals } from '../../report/communication.js';

export interface TimeAxis {
  /** trace time (ns) that the chart's 0 stands for: the earliest window start */
  originNs: number;
  /** ns per chart unit: 1e3 (µs) or 1e6 (ms) */
  unitNs: number;
  unit: 'µs' | 'ms';
  /** chart-unit extent covered by the windows */
  span: number;
  /** what 0 is: "window start", or "first kernel" when the timeline spans the whole capture */
  from?: string;
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
  kind: 'kernel' | 'launch' | 'sync' | 'nvtx' | CommRowKind;
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
  /** bin number: it spans [bin, bin + 1) × binWidth from 0 (the spec computes start/end; saves bytes) */
  bin: number;
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
  /** width of a bin in chart units */
  binWidth: number;
  /** one sentence per aggregated category, for the page */
  aggregation: string[];
  colourSource: 'nvtx' | 'kernel';
  /** the kernel colour keys, most GPU time first ("other" not included) */
  colourKeys: string[];
  /** what the chart opens on (chart units) when that is not the whole window: the iterations */
  focus: { start: number; end: number; text: string } | null;
}

/** The window the tool chose (the steady-state iterations) inside the whole capture. */
function windowFocus(report: Report): { start: number; end: number; text: string } {
  const ws = report.devices.map((d) => d.window);
  const it = ws.find((w) => w.iterations)?.iterations;
  const start = Math.min(...ws.map((w) => w.start));
  const end = Math.max(...ws.map((w) => w.end));
  const pad = (end - start) * 0.01;
  const text = it ? `${it.count} steady-state iteration${it.count === 1 ? '' : 's'} "${it.name}" (the window measured${it.leftOut ? `; ${it.leftOut} warm-up left out` : ''})` : 'window measured';
  return { start: start - pad, end: end + pad, text };
}

/**
 * The iterations' extent on the GPU (trace time), when the window is much longer than them (a
 * whole-process capture: model load and warm-up, then the iterations).
 */
export function iterationFocus(report: Report): { start: number; end: number; text: string } | null {
  let lo = Infinity; let hi = -Infinity; let n = 0; let name = '';
  for (const d of report.devices) {
    const it = d.nvtxRanges?.iterations;
    for (const x of it?.instances ?? []) {
      if (x.gpuStart === null || x.gpuEnd === null) continue;
      lo = Math.min(lo, x.gpuStart); hi = Math.max(hi, x.gpuEnd); n++;
      name = it!.name;
    }
  }
  if (n === 0 || !(hi > lo)) return null;
  const w0 = Math.min(...report.devices.map((d) => d.window.start));
  const w1 = Math.max(...report.devices.map((d) => d.window.end));
  if (hi - lo > 0.8 * (w1 - w0)) return null;
  // a little room either side
  const pad = (hi - lo) * 0.01;
  return { start: Math.max(w0, lo - pad), end: Math.min(w1, hi + pad), text: `${n} iteration${n === 1 ? '' : 's'} "${name}"` };
}

/** Optional per-kernel expert label (index into trace.strings, -1 none), e.g. from NVTX projection. */
export type ExpertOf = (kernel: number) => number;

const MAX_COLOUR_KEYS = 12;
/** longest name the page carries: a 1 MB kernel name copied into thousands of marks would be gigabytes */
export const MAX_NAME = 300;

/** A trace string cut to MAX_NAME characters (on a code point boundary), marked with an ellipsis. */
export function shortText(s: string): string {
  if (s.length <= MAX_NAME) return s;
  let cut = s.slice(0, MAX_NAME - 1);
  if (/[\ud800-\udbff]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut}… (${s.length.toLocaleString('en-US')} characters)`;
}
export const LAUNCH_RE = /Launch|GraphLaunch/;

/** The chart time axis of a report; unitNs forces the unit (comparisons share one). */
export function timeAxis(report: Report, unitNs?: 1e3 | 1e6, extent?: [number, number] | null): TimeAxis {
  const ws = report.devices.map((d) => d.window);
  if (ws.length === 0) return { originNs: 0, unitNs: unitNs ?? 1e3, unit: unitNs === 1e6 ? 'ms' : 'µs', span: 0 };
  const originNs = extent ? extent[0] : Math.min(...ws.map((w) => w.start));
  const endNs = extent ? extent[1] : Math.max(...ws.map((w) => w.end));
  unitNs ??= endNs - originNs >= 10e6 ? 1e6 : 1e3;
  return { originNs, unitNs, unit: unitNs === 1e6 ? 'ms' : 'µs', span: (endNs - originNs) / unitNs, ...(extent ? { from: 'first kernel' } : {}) };
}

/** Intervals of one category as columns (a million objects would dominate the render time). */
class Intervals {
  row: number[] = [];
  start: number[] = [];
  end: number[] = [];
  ref: number[] = [];
  get count(): number { return this.row.length; }
  push(row: number, start: number, end: number, ref: number): void {
    this.row.push(row); this.start.push(start); this.end.push(end); this.ref.push(ref);
  }
}

/**
 * When the window is the steady-state iterations the tool chose by itself (source 'iterations'),
 * the timeline spans the whole capture, from the first to the last kernel of those devices, so the
 * overview shows model load and warm-up too; null otherwise (the window the user chose is the span).
 */
export function captureExtent(report: Report, trace: Trace): [number, number] | null {
  const devices = new Map(report.devices.filter((d) => d.window.source === 'iterations').map((d) => [d.deviceId, d.window]));
  if (devices.size === 0) return null;
  let lo = Math.min(...report.devices.map((d) => d.window.start));
  let hi = Math.max(...report.devices.map((d) => d.window.end));
  const k = trace.kernels;
  for (let i = 0; i < k.count; i++) {
    if (!devices.has(k.deviceId[i])) continue;
    if (k.start[i] < lo) lo = k.start[i];
    if (k.end[i] > hi) hi = k.end[i];
  }
  return [lo, hi];
}

/**
 * `communication`: each GPU's communication, compute and exposed intervals, as the command computed
 * them (src/analyses/communication-rows.ts); without it, no communication rows.
 */
export function buildTimeline(
  report: Report, trace: Trace, limits: TimelineLimits = DEFAULT_LIMITS, expertOf?: ExpertOf, unitNs?: 1e3 | 1e6,
  communication: readonly CommunicationIntervals[] = [],
): TimelineData {
  const extent = captureExtent(report, trace);
  const axis = timeAxis(report, unitNs, extent);
  const rows: string[] = [];
  const rowIndex = new Map<string, number>();
  const rowOf = (label: string): number => {
    let i = rowIndex.get(label);
    if (i === undefined) { i = rows.length; rows.push(label); rowIndex.set(label, i); }
    return i;
  };
  // ns-exact chart coordinates: whole ns divided once, so 1.5 µs stays 1.5 and not 1.5000000001
  const u = (ns: number): number => Math.round(ns - axis.originNs) / axis.unitNs;
  const at = (ns: number): string => formatNs(ns - axis.originNs);
  const spanStart = axis.originNs;
  const spanEnd = axis.originNs + axis.span * axis.unitNs;
  const tid = (thread: number): string => (trace.threads[thread] ? String(trace.threads[thread].tid) : `#${thread}`);

  // Row order: NVTX levels and host threads first (what the CPU did), then each device's streams.
  const lanes = nvtxIntervals(trace, spanStart, spanEnd);
  const nvtx = lanes.items;
  const laneRow = nvtxLaneLabels(trace, lanes, tid).map(rowOf);
  for (let j = 0; j < nvtx.count; j++) nvtx.row[j] = laneRow[nvtx.row[j]];
  const host = new Intervals();
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
      host.push(rowOf(`host · tid ${tid(c.thread)}`), s, e, syncNames.length);
      hostKind.push('sync'); syncNames.push(c.name);
    }
  }
  const rt = trace.runtime;
  const isLaunch = new Map<number, boolean>();
  for (let i = 0; i < rt.count; i++) {
    if (rt.end[i] < spanStart || rt.start[i] > spanEnd) continue;
    let launch = isLaunch.get(rt.name[i]);
    if (launch === undefined) isLaunch.set(rt.name[i], (launch = LAUNCH_RE.test(trace.strings[rt.name[i]] ?? '')));
    if (!launch) continue;
    host.push(rowOf(`host · tid ${tid(rt.thread[i])}`), Math.max(rt.start[i], spanStart), Math.min(rt.end[i], spanEnd), i);
    hostKind.push('launch');
  }
  const kernels = kernelIntervals(report, trace, (d, s) => rowOf(`GPU ${d} · stream ${s}`), extent);
  // communication, compute and exposed communication per GPU (issue 17, src/render/html/communication.ts)
  const comm = new Intervals();
  const commKinds: CommRowKind[] = [];
  communicationIntervals(communication, rowOf, (row, st, en, kind) => { comm.push(row, st, en, commKinds.length); commKinds.push(kind); });

  const k = trace.kernels;
  const str = (x: number, fallback: string): string => shortText(trace.strings[x] ?? fallback);
  // Colour keys: the NVTX range around the launch with its numbers folded ("expert #"), library
  // ranges (CUB's "cub::DeviceSelect::Flagged") left out, else the kernel's name. Keys are
  // numbers: 2 * family + 0 for ranges, 2 * string index + 1 for kernel names.
  const families: string[] = [];
  const familyOf = new Map<string, number>();
  const rangeKey = new Map<number, number>();
  const keyIndex = (i: number): number => {
    const x = expertOf ? expertOf(i) : -1;
    if (x >= 0) {
      let key = rangeKey.get(x);
      if (key === undefined) {
        const text = trace.strings[x] ?? '';
        if (text.includes('::')) key = -1;
        else {
          const fam = nvtxFamilyName(text) || text;
          let f = familyOf.get(fam);
          if (f === undefined) { f = families.length; families.push(fam); familyOf.set(fam, f); }
          key = 2 * f;
        }
        rangeKey.set(x, key);
      }
      if (key >= 0) return key;
    }
    return 2 * k.shortName[i] + 1;
  };
  const keyText = (key: number): string => (key % 2 === 0 ? `range: ${shortText(families[key / 2])}` : `kernel: ${str((key - 1) / 2, 'kernel')}`);
  const colours = topKeys(kernels, keyIndex);
  const marks: TimelineMark[] = [];
  const bins: TimelineBin[] = [];
  const aggregation: string[] = [];
  const take = (items: Intervals, what: string, toMark: (j: number) => TimelineMark): void => {
    const many = items.count > limits.maxMarks;
    const kept = many ? longest(items, limits.keepLongest) : items.row.map((_, j) => j);
    for (const j of kept) marks.push(toMark(j));
    if (many) {
      bins.push(...binRows(items, rows, spanStart, spanEnd, limits.bins, axis));
      aggregation.push(`${items.count.toLocaleString('en-US')} ${what}: the ${kept.length.toLocaleString('en-US')} longest are drawn one by one; all of them are summed into ${limits.bins} time bins per row (shade = share of the bin that is busy).`);
    }
  };
  const base = (items: Intervals, j: number) => ({
    row: rows[items.row[j]], start: u(items.start[j]), end: u(items.end[j]), startText: at(items.start[j]),
    durationText: formatNs(items.end[j] - items.start[j]),
  });
  take(kernels, 'kernels', (j) => {
    const i = kernels.ref[j]; const x = expertOf ? expertOf(i) : -1; const key = keyIndex(i);
    const c = trace.launchConfigs[k.launchConfig[i]];
    return {
      ...base(kernels, j), kind: 'kernel', name: str(k.shortName[i], 'kernel'),
      colour: colours.has(key) ? keyText(key) : 'other',
      stream: k.streamId[i], grid: `${c.gridX}×${c.gridY}×${c.gridZ}`, block: `${c.blockX}×${c.blockY}×${c.blockZ}`,
      expert: x >= 0 ? str(x, '–') : '–', kernel: i,
    };
  });
  take(comm, 'communication/compute intervals', (j) => {
    const kind = commKinds[comm.ref[j]];
    const name = kind === 'communication' ? 'communication (any communication or sync operation running)'
      : kind === 'compute' ? 'compute (any compute or expert-GEMM kernel running)' : 'exposed communication (no compute beside it)';
    return { ...base(comm, j), kind, name, colour: kind };
  });
  take(host, 'host calls', (j) => {
    const kind = hostKind[j]; const ref = host.ref[j];
    const name = kind === 'sync' ? shortText(syncNames[ref]) : str(rt.name[ref], 'launch');
    return { ...base(host, j), kind, name, colour: kind };
  });
  take(nvtx, 'NVTX ranges', (j) => {
    const text = trace.nvtx.text[nvtx.ref[j]];
    return { ...base(nvtx, j), kind: 'nvtx', name: text >= 0 ? str(text, '(no text)') : '(no text)', colour: 'nvtx' };
  });
  const f = extent ? windowFocus(report) : iterationFocus(report);
  const focus = f ? { start: u(f.start), end: u(f.end), text: f.text } : null;
  return { axis, rows, marks, bins, focus, binWidth: Math.max(spanEnd - spanStart, 1) / limits.bins / axis.unitNs, aggregation, colourSource: expertOf ? 'nvtx' : 'kernel',
    // ranges first, then kernel names, each most time first
    colourKeys: [...[...colours].filter((x) => x % 2 === 0), ...[...colours].filter((x) => x % 2 === 1)].map(keyText) };
}

/** Kernels clipped to their device's window; kernels outside it are left out. */
function kernelIntervals(report: Report, trace: Trace, rowOf: (device: number, stream: number) => number, extent: [number, number] | null): Intervals {
  const k = trace.kernels;
  const windows = new Map(report.devices.map((d) => [d.deviceId, extent ? { start: extent[0], end: extent[1] } : d.window]));
  // Rows in stream order per device, whatever order kernels start in.
  for (const d of report.devices) for (const s of [...d.streams].sort((a, b) => a.streamId - b.streamId)) rowOf(d.deviceId, s.streamId);
  const rowCache = new Map<number, number>();
  const out = new Intervals();
  for (let i = 0; i < k.count; i++) {
    const w = windows.get(k.deviceId[i]);
    if (!w) continue;
    const s = Math.max(k.start[i], w.start); const e = Math.min(k.end[i], w.end);
    if (e < s || (e === s && k.end[i] > k.start[i])) continue;
    const key = k.deviceId[i] * 2 ** 32 + k.streamId[i];
    let row = rowCache.get(key);
    if (row === undefined) rowCache.set(key, (row = rowOf(k.deviceId[i], k.streamId[i])));
    out.push(row, s, e, i);
  }
  return out;
}

interface NvtxLanes {
  /** row = lane number */
  items: Intervals;
  lanes: { thread: number; depth: number }[];
}

/** Push/pop and start/end ranges, stacked into nesting levels (lanes) per thread; lanes in thread then depth order. */
function nvtxIntervals(trace: Trace, spanStart: number, spanEnd: number): NvtxLanes {
  const n = trace.nvtx;
  const open = new Map<number, number[]>();
  const items = new Intervals();
  const laneOf = new Map<string, number>();
  const lanes: { thread: number; depth: number }[] = [];
  for (let i = 0; i < n.count; i++) {
    if (!Number.isFinite(n.end[i]) || n.eventType[i] === 34 || n.end[i] < spanStart || n.start[i] > spanEnd) continue;
    let stack = open.get(n.thread[i]);
    if (!stack) open.set(n.thread[i], (stack = []));
    while (stack.length > 0 && stack[stack.length - 1] <= n.start[i]) stack.pop();
    const depth = stack.length;
    stack.push(n.end[i]);
    const key = `${n.thread[i]}:${depth}`;
    let lane = laneOf.get(key);
    if (lane === undefined) { lane = lanes.length; lanes.push({ thread: n.thread[i], depth }); laneOf.set(key, lane); }
    items.push(lane, Math.max(n.start[i], spanStart), Math.min(n.end[i], spanEnd), i);
  }
  // renumber lanes in (thread, depth) order
  const order = lanes.map((_, l) => l).sort((a, b) => lanes[a].thread - lanes[b].thread || lanes[a].depth - lanes[b].depth);
  const rank = new Int32Array(lanes.length);
  order.forEach((l, r) => { rank[l] = r; });
  for (let j = 0; j < items.count; j++) items.row[j] = rank[items.row[j]];
  return { items, lanes: order.map((l) => lanes[l]) };
}

/**
 * A row label per NVTX lane, from the ranges on it: the name (numbers folded: "expert #") that
 * covers the most time, "+N" for the other names, the thread only when several threads have
 * ranges; unique.
 */
function nvtxLaneLabels(trace: Trace, { items, lanes }: NvtxLanes, tid: (thread: number) => string): string[] {
  const time = lanes.map(() => new Map<string, number>());
  for (let j = 0; j < items.count; j++) {
    const text = trace.nvtx.text[items.ref[j]];
    const name = text >= 0 ? nvtxFamilyName(trace.strings[text] ?? '') || '(no text)' : '(no text)';
    const m = time[items.row[j]];
    m.set(name, (m.get(name) ?? 0) + Math.max(1, items.end[j] - items.start[j]));
  }
  const threads = new Set(lanes.map((l) => l.thread)).size;
  const used = new Set<string>();
  return lanes.map((l, i) => {
    const names = [...time[i]].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    const top = names[0]?.[0] ?? '(no text)';
    const head = `NVTX ${top.length > 60 ? `${top.slice(0, 59)}…` : top}${names.length > 1 ? ` +${names.length - 1}` : ''}`;
    let label = threads > 1 ? `${head} · tid ${tid(l.thread)}` : head;
    if (used.has(label)) label = `${label} · L${l.depth}`;
    used.add(label);
    return label;
  });
}

/** The colour keys with the most kernel time, most first. */
function topKeys(kernels: Intervals, keyIndex: (i: number) => number): Set<number> {
  const total = new Map<number, number>();
  for (let j = 0; j < kernels.count; j++) {
    const key = keyIndex(kernels.ref[j]);
    total.set(key, (total.get(key) ?? 0) + kernels.end[j] - kernels.start[j]);
  }
  const used = [...total].filter(([, t]) => t > 0).sort((a, b) => b[1] - a[1] || a[0] - b[0]).map(([key]) => key);
  return new Set(used.slice(0, MAX_COLOUR_KEYS));
}

/** Indices of the n longest intervals (ties: earliest first), in their original order. */
function longest(items: Intervals, n: number): number[] {
  const dur = new Float64Array(items.count);
  for (let j = 0; j < items.count; j++) dur[j] = items.end[j] - items.start[j];
  const sorted = Float64Array.from(dur).sort();
  const cut = sorted[Math.max(0, sorted.length - n)];
  let above = 0;
  for (let j = 0; j < items.count; j++) if (dur[j] > cut) above++;
  let atCut = n - above;
  const out: number[] = [];
  for (let j = 0; j < items.count; j++) {
    if (dur[j] > cut) out.push(j);
    else if (dur[j] === cut && atCut > 0) { out.push(j); atCut--; }
  }
  return out;
}

/** Per row: intervals starting in each bin, and the bin's share covered by the row's union. */
function binRows(items: Intervals, rows: string[], spanStart: number, spanEnd: number, nBins: number, axis: TimeAxis): TimelineBin[] {
  const width = Math.max(spanEnd - spanStart, 1) / nBins;
  const byRow = new Map<number, number[]>();
  for (let j = 0; j < items.count; j++) {
    const list = byRow.get(items.row[j]);
    if (list) list.push(j); else byRow.set(items.row[j], [j]);
  }
  const out: TimelineBin[] = [];
  const binOf = (t: number): number => Math.min(nBins - 1, Math.max(0, Math.floor((t - spanStart) / width)));
  for (const [row, list] of byRow) {
    const count = new Float64Array(nBins);
    const busy = new Float64Array(nBins);
    const starts = new Float64Array(list.length);
    const ends = new Float64Array(list.length);
    for (let q = 0; q < list.length; q++) {
      const j = list[q];
      starts[q] = items.start[j]; ends[q] = items.end[j];
      count[binOf(starts[q])]++;
    }
    const set = union(starts, ends, list.length);
    for (let p = 0; p < set.count; p++) {
      const s = set.start[p]; const e = set.end[p];
      for (let b = binOf(s); b <= binOf(e); b++) {
        const lo = spanStart + b * width;
        busy[b] += Math.max(0, Math.min(e, lo + width) - Math.max(s, lo));
      }
    }
    for (let b = 0; b < nBins; b++) {
      if (count[b] === 0 && busy[b] === 0) continue;
      out.push({
        row: rows[row], bin: b, count: count[b], busyShare: Math.round(Math.min(1, busy[b] / width) * 1000) / 1000,
        busyText: formatNs(Math.round(busy[b])),
      });
    }
  }
  return out;
}
