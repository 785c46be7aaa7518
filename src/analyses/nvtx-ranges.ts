/**
 * The NVTX ranges of one device as a table: each range name (and each family of names that
 * differ only in their numbers, "expert 0" .. "expert 63" → "expert #") with its instances, GPU
 * time, kernels, host syncs and how much its kernels overlapped anybody else's; and the
 * iterations, found from repeated ranges, for per-iteration figures ("64 syncs per iteration").
 *
 * A kernel belongs to a range instance when its launch call started inside the range on the
 * range's thread (DESIGN.md "NVTX projection").
 */
import type { Trace } from '../model/trace.js';
import type { IterationSummary, NvtxRangeGroup, NvtxRangesReport } from '../report/types.js';
import { distribution, intersectionLength, lowerBound, unionSorted } from '../model/intervals.js';
import { nvtxRangeRows, projectNvtxRanges } from './nvtx-projection.js';
import { callLinks } from './correlation.js';
import { blockingIndex } from './blocking-calls.js';

/** Names that say "one pass of the loop"; the first repeated one found, outermost, is the iteration. */
const ITERATION_WORDS = /\b(iter(ation)?s?|step|forward|fwd|batch|micro-?batch|train_step|inference)\b|^(iter|step)[ _-]?\d/i;
/** Keeps the JSON small on traces that give every instance its own text. */
const MAX_NAMES = 200;

interface Instance {
  row: number;
  depth: number;
  /** CPU-side end - start */
  duration: number;
  gpuStart: number;
  gpuEnd: number;
  gpuTime: number;
  kernels: number;
  syncs: number;
  /** blocking calls by API name */
  syncsByName: Map<string, number>;
  /** |own kernels' busy time ∩ other kernels' busy time| */
  overlapOthers: number;
}

/** A range's family: its text with every number replaced by '#' ("expert 17" → "expert #"). */
export function nvtxFamilyName(text: string): string {
  return text.replace(/\d+/g, '#');
}

export function analyzeNvtxRanges(trace: Trace, deviceId: number, window?: { start: number; end: number }): NvtxRangesReport {
  const rows = nvtxRangeRows(trace);
  if (rows.length === 0) return { byName: [], families: [], iterations: null };
  const proj = projectNvtxRanges(trace, { deviceId, ranges: rows, includeTransfers: false });
  const depth = nestingDepth(trace, rows);
  // A range belongs to the window when its GPU work meets it (launches may run far ahead of the
  // GPU), or, without GPU work, when the range itself does.
  const meets = (s: number, e: number): boolean => !window || (e >= window.start && s <= window.end);
  const own = ownKernelTest(trace);
  const deviceKernels = kernelsOf(trace, deviceId, window);
  const syncsOf = syncCounter(trace);
  const instances: Instance[] = [];
  for (let q = 0; q < proj.count; q++) {
    const row = proj.range[q];
    const inWindow = proj.kernelCount[q] > 0 ? meets(proj.gpuStart[q], proj.gpuEnd[q]) : meets(trace.nvtx.start[row], trace.nvtx.end[row]);
    if (!inWindow) continue;
    const inst: Instance = {
      row, depth: depth.get(row) ?? 0, duration: trace.nvtx.end[row] - trace.nvtx.start[row], gpuStart: proj.gpuStart[q], gpuEnd: proj.gpuEnd[q], gpuTime: proj.gpuTime[q],
      kernels: proj.kernelCount[q], syncs: 0, syncsByName: syncsOf(row), overlapOthers: 0,
    };
    for (const n of inst.syncsByName.values()) inst.syncs += n;
    if (inst.kernels > 0) inst.overlapOthers = overlapWithOthers(trace, row, inst, deviceKernels, own);
    instances.push(inst);
  }
  if (instances.length === 0) return { byName: [], families: [], iterations: null };
  const text = (row: number): string => (trace.nvtx.text[row] >= 0 ? trace.strings[trace.nvtx.text[row]] : '(unnamed)');
  const byText = groupBy(instances, (i) => text(i.row));
  const familyOfText = new Map<string, string>();
  const family = (t: string): string => {
    let f = familyOfText.get(t);
    if (f === undefined) { f = nvtxFamilyName(t); familyOfText.set(t, f); }
    return f;
  };
  const byFamily = groupBy(instances, (i) => family(text(i.row)));
  const byName = [...byText.entries()].map(([name, list]) => summarize(name, list, 1));
  const families: NvtxRangeGroup[] = [];
  for (const [name, list] of byFamily) {
    const distinct = new Set(list.map((i) => text(i.row))).size;
    if (distinct >= 2) families.push(summarize(name, list, distinct));
  }
  const byGpuTime = (a: NvtxRangeGroup, b: NvtxRangeGroup): number => b.gpuTime.total - a.gpuTime.total || a.name.localeCompare(b.name);
  byName.sort(byGpuTime);
  families.sort(byGpuTime);
  return {
    byName: byName.slice(0, MAX_NAMES),
    families,
    iterations: findIterations([...families, ...byName], byFamily, byText),
  };
}

/** Depth of each range on its thread: 0 for a range no other range on that thread encloses. */
function nestingDepth(trace: Trace, rows: Int32Array): Map<number, number> {
  const { start, end, thread } = trace.nvtx;
  const sorted = [...rows].sort((a, b) => thread[a] - thread[b] || start[a] - start[b] || end[b] - end[a]);
  const out = new Map<number, number>();
  const stack: number[] = [];
  let currentThread = NaN;
  for (const r of sorted) {
    if (thread[r] !== currentThread) { stack.length = 0; currentThread = thread[r]; }
    while (stack.length > 0 && end[stack[stack.length - 1]] <= start[r]) stack.pop();
    out.set(r, stack.length);
    stack.push(r);
  }
  return out;
}

/** Whether kernel i was launched inside NVTX row `row` (same thread, call start in [start, end)). */
function ownKernelTest(trace: Trace): (row: number, kernel: number) => boolean {
  const call = callLinks(trace).kernelCall;
  const { runtime, nvtx } = trace;
  return (row, i) => {
    const c = call[i];
    return c >= 0 && runtime.thread[c] === nvtx.thread[row] && runtime.start[c] >= nvtx.start[row] && runtime.start[c] < nvtx.end[row];
  };
}

interface DeviceKernels { rows: Int32Array; start: Float64Array; end: Float64Array; maxDuration: number }

/** The device's kernels clipped to the window, by start. */
function kernelsOf(trace: Trace, deviceId: number, window?: { start: number; end: number }): DeviceKernels {
  const k = trace.kernels;
  const lo = window?.start ?? -Infinity;
  const hi = window?.end ?? Infinity;
  const rows: number[] = [];
  for (let i = 0; i < k.count; i++) {
    if (k.deviceId[i] === deviceId && Math.min(k.end[i], hi) > Math.max(k.start[i], lo)) rows.push(i);
  }
  // kernel columns are sorted by start (model contract) and clipping keeps that order: no sort
  const start = Float64Array.from(rows, (i) => Math.max(k.start[i], lo));
  const end = Float64Array.from(rows, (i) => Math.min(k.end[i], hi));
  let maxDuration = 0;
  for (let j = 0; j < rows.length; j++) maxDuration = Math.max(maxDuration, end[j] - start[j]);
  return { rows: Int32Array.from(rows), start, end, maxDuration };
}

function overlapWithOthers(trace: Trace, row: number, inst: Instance, dk: DeviceKernels, own: (row: number, i: number) => boolean): number {
  // Only kernels that can meet the instance's GPU span: those starting less than the longest kernel before it.
  const from = lowerBound(dk.start, dk.rows.length, inst.gpuStart - dk.maxDuration);
  const ownS: number[] = []; const ownE: number[] = [];
  const otherS: number[] = []; const otherE: number[] = [];
  for (let j = from; j < dk.rows.length && dk.start[j] < inst.gpuEnd; j++) {
    if (dk.end[j] <= inst.gpuStart) continue;
    if (own(row, dk.rows[j])) { ownS.push(dk.start[j]); ownE.push(dk.end[j]); } else { otherS.push(dk.start[j]); otherE.push(dk.end[j]); }
  }
  if (ownS.length === 0 || otherS.length === 0) return 0;
  return intersectionLength(unionSorted(ownS, ownE, ownS.length), unionSorted(otherS, otherE, otherS.length));
}

/** Blocking host calls (DESIGN.md's list) that start inside the range, on its thread, by API name. */
function syncCounter(trace: Trace): (row: number) => Map<string, number> {
  const { byThread } = blockingIndex(trace);
  const { runtime, strings } = trace;
  const perThread = new Map<number, { rows: Int32Array; start: Float64Array }>();
  for (const [t, rows] of byThread) perThread.set(t, { rows, start: Float64Array.from(rows, (r) => runtime.start[r]) });
  // most ranges hold no blocking call: they share one empty map instead of one each
  const none: Map<string, number> = new Map();
  return (row) => {
    const calls = perThread.get(trace.nvtx.thread[row]);
    if (!calls) return none;
    const hi = lowerBound(calls.start, calls.rows.length, trace.nvtx.end[row]);
    const lo = lowerBound(calls.start, calls.rows.length, trace.nvtx.start[row]);
    if (lo >= hi) return none;
    const out = new Map<string, number>();
    for (let c = lo; c < hi; c++) {
      const name = strings[runtime.name[calls.rows[c]]] ?? '?';
      out.set(name, (out.get(name) ?? 0) + 1);
    }
    return out;
  };
}

function addCounts(list: Instance[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const i of list) for (const [n, c] of i.syncsByName) out[n] = (out[n] ?? 0) + c;
  return out;
}

function groupBy(list: Instance[], key: (i: Instance) => string): Map<string, Instance[]> {
  const m = new Map<string, Instance[]>();
  for (const i of list) {
    const k = key(i);
    const l = m.get(k);
    if (l) l.push(i); else m.set(k, [i]);
  }
  return m;
}

function summarize(name: string, list: Instance[], distinctNames: number): NvtxRangeGroup {
  const withGpu = list.filter((i) => i.kernels > 0);
  const gpuTime = withGpu.reduce((t, i) => t + i.gpuTime, 0);
  return {
    name, distinctNames, instances: list.length,
    depth: list.reduce((d, i) => Math.min(d, i.depth), Infinity),
    duration: distribution(list.map((i) => i.duration)),
    gpuSpan: distribution(withGpu.map((i) => i.gpuEnd - i.gpuStart)),
    gpuTime: distribution(withGpu.map((i) => i.gpuTime)),
    kernelCount: list.reduce((t, i) => t + i.kernels, 0),
    overlapWithOthers: gpuTime > 0 ? withGpu.reduce((t, i) => t + i.overlapOthers, 0) / gpuTime : null,
    syncs: list.reduce((t, i) => t + i.syncs, 0),
    syncsByName: addCounts(list),
  };
}

function findIterations(
  groups: NvtxRangeGroup[], byFamily: Map<string, Instance[]>, byText: Map<string, Instance[]>,
): IterationSummary | null {
  const repeated = groups.filter((g) => g.instances >= 2 && g.kernelCount > 0);
  const named = repeated.filter((g) => ITERATION_WORDS.test(g.name));
  // Outermost first: "iteration #" encloses "layer #", which encloses "expert #".
  const pick = (named.length > 0 ? named : repeated).sort((a, b) => a.depth - b.depth || b.kernelCount - a.kernelCount)[0];
  if (!pick) return null;
  const list = (pick.distinctNames > 1 ? byFamily.get(pick.name) : byText.get(pick.name)) ?? [];
  const withGpu = list.filter((i) => i.kernels > 0);
  return {
    name: pick.name,
    count: list.length,
    duration: distribution(withGpu.map((i) => i.gpuEnd - i.gpuStart)),
    kernelsPerIteration: pick.kernelCount / list.length,
    syncsPerIteration: pick.syncs / list.length,
    syncsPerIterationByName: Object.fromEntries(Object.entries(pick.syncsByName).map(([n, c]) => [n, c / list.length])),
    busyPerIteration: distribution(withGpu.map((i) => i.gpuTime)).median,
  };
}
