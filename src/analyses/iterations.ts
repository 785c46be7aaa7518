/**
 * The steady state of a capture: the iterations of the user's loop, found without flags, so that a
 * whole-process capture (`nsys profile python infer.py`: imports, model load, warm-up, then the
 * loop) is measured on the loop and not on its set-up. In order of trust:
 *
 * 1. NVTX: a repeated range family (texts equal up to their numbers: `forward seq 0` ..
 *    `forward seq 4` → `forward seq #`) that launched GPU work on the device and whose name says
 *    "one pass" (iteration, step, forward, batch, token, ProfilerStep#N ...: saysOnePass), the
 *    outermost first ("layer #" or "expert #" inside a step is not an iteration).
 * 2. The cudaProfilerStart → cudaProfilerStop ranges, when the capture records such pairs.
 * 3. No name says one pass: the outermost family (nothing encloses it) repeated at least three
 *    times that holds 90% of the device's kernels, unless its name leads with a part of a pass.
 * 4. No NVTX ranges at all: the repeating period of the device's kernel-name sequence (the same
 *    sequence of kernels launched again and again), when it repeats at least three times after
 *    kernels that do not repeat (set-up); an iteration then runs from its first kernel's start to
 *    the next iteration's first kernel's start.
 *
 * Leading iterations that differ markedly from the rest (another number of kernels, or a span
 * more than twice the median: warm-up, autotuning, lazy initialisation) are left out, and the
 * report says how many. An NVTX or profiler-range iteration's wall span is its GPU projection:
 * first GPU operation's start to last operation's end (kernels, copies and sets launched inside it).
 */
import type { Trace } from '../model/trace.js';
import { callLinks, type CallLinks } from './correlation.js';
import { ITERATION_WORDS, nestingDepth, nvtxFamilyName, PART_OF_A_PASS } from './nvtx-ranges.js';
import { nvtxRangeRows, projectNvtxSpans } from './nvtx-projection.js';
import { canonicalApiName } from './blocking-calls.js';

export type IterationMethod = 'nvtx' | 'profiler-range' | 'kernel-period';

export interface SteadyState {
  method: IterationMethod;
  /** the family ("forward seq #"), "cudaProfilerStart/Stop", or "a sequence of N kernels" */
  name: string;
  /** iterations found, warm-up included */
  found: number;
  /** leading iterations left out as warm-up */
  leftOut: number;
  /** why they were left out, one clause; null when none were */
  leftOutReason: string | null;
  /** the measured iterations in time order: GPU span of each */
  gpuStart: Float64Array;
  gpuEnd: Float64Array;
  /** kernels launched in each measured iteration */
  kernels: Int32Array;
  /** host-side extent of each measured iteration (its NVTX or profiler range, on its thread); null for kernel-period */
  cpu: { thread: Int32Array; start: Float64Array; end: Float64Array } | null;
}

/** A kernel-name sequence must repeat this often to count as a loop. */
const MIN_PERIODS = 3;
/** Comparisons the period search may spend before it gives up (a trace of millions of kernels). */
const PERIOD_WORK_LIMIT = 3e7;

/** `links`: the trace's call links (TraceIndex.links); computed when not given. */
export function detectSteadyState(trace: Trace, deviceId: number, links?: CallLinks): SteadyState | null {
  let l = links;
  const get = (): CallLinks => (l ??= callLinks(trace));
  return fromNvtx(trace, deviceId, get, 'named') ?? fromProfilerRanges(trace, deviceId, get) ?? fromNvtx(trace, deviceId, get, 'outermost') ??
    fromKernelPeriod(trace, deviceId);
}

/** Words (split at anything but letters, lower case) that say "one pass of the loop". */
const ONE_PASS = new Set([
  'iter', 'iters', 'iteration', 'iterations', 'step', 'steps', 'profilerstep', 'forward', 'fwd', 'batch', 'microbatch',
  'inference', 'token', 'decode', 'generate', 'epoch',
]);

/** "forward seq #", "ProfilerStep#N", "token_#_processing", "train_step #": yes; "expert #", "layer #": no. */
export function saysOnePass(name: string): boolean {
  if (PART_OF_A_PASS.test(name)) return false;
  return name.toLowerCase().split(/[^a-z]+/).some((w) => ONE_PASS.has(w)) || ITERATION_WORDS.test(name);
}

interface Candidate {
  name: string;
  /** projection rows of the instances with GPU work, in time order */
  q: number[];
  depth: number;
  kernels: number;
}

/**
 * Words that name a part of one pass ("expert 3", "layer 12", "attention"): a family led by one is
 * never taken for the iterations on its name's silence alone (an expert loop marked per expert).
 */
const PART_WORDS = /^\W*(experts?|layers?|blocks?|attn|attention|mlp|ffn|heads?|gemm|matmul|router|gate|dispatch|combine|all[-_ ]?to[-_ ]?all|copy|sync)\b/i;
/** An unnamed outermost family is the loop only when its instances hold this share of the device's kernels. */
const UNNAMED_MIN_KERNEL_SHARE = 0.9;
/** ... and repeat this often (one may be warm-up and two must remain). */
const UNNAMED_MIN_INSTANCES = 3;

/**
 * `named`: the family whose name says "one pass"; `outermost`: when no name says so (a
 * micro-benchmark's record_function("MoE[experts=64, ...]") called 3 times), the outermost ranges
 * are the loop when nothing encloses them, their name is not a part of a pass, and they hold nearly
 * all of the device's kernels.
 */
function fromNvtx(trace: Trace, deviceId: number, links: () => CallLinks, which: 'named' | 'outermost'): SteadyState | null {
  const all = nvtxRangeRows(trace);
  if (all.length < 2) return null;
  const depthAll = nestingDepth(trace, all);
  const familyOfText = new Map<number, { name: string; named: boolean }>();
  const familyOf = (t: number): { name: string; named: boolean } => {
    let f = familyOfText.get(t);
    if (f === undefined) {
      const name = nvtxFamilyName(trace.strings[t] ?? '');
      familyOfText.set(t, (f = { name, named: saysOnePass(name) }));
    }
    return f;
  };
  if (which === 'named') {
    // only the named family's ranges are projected (an expert loop has hundreds of thousands of others)
    return fromFamilies(trace, deviceId, links, all, depthAll, (t) => (familyOf(t).named ? familyOf(t).name : null), 2);
  }
  const outerOnly = (t: number, q: number): string | null => {
    if (depthAll[q] !== 0) return null;
    const f = familyOf(t);
    return f.named || PART_OF_A_PASS.test(f.name) || PART_WORDS.test(f.name) ? null : f.name;
  };
  return fromFamilies(trace, deviceId, links, all, depthAll, outerOnly, UNNAMED_MIN_INSTANCES, UNNAMED_MIN_KERNEL_SHARE);
}

/**
 * The outermost, then busiest, repeated family among the ranges `familyName` names (null: not a
 * candidate), with GPU work on the device, repeated `minInstances` times on one thread and holding
 * `minKernelShare` of the device's kernels; null when there is none.
 */
function fromFamilies(
  trace: Trace, deviceId: number, links: () => CallLinks, all: Int32Array, depthAll: Int32Array,
  familyName: (text: number, q: number) => string | null, minInstances: number, minKernelShare = 0,
): SteadyState | null {
  const fam = (q: number): string | null => (trace.nvtx.text[all[q]] >= 0 ? familyName(trace.nvtx.text[all[q]], q) : null);
  let m = 0;
  for (let q = 0; q < all.length; q++) if (fam(q) !== null) m++;
  if (m === 0) return null;
  const rows = new Int32Array(m);
  const depth = new Int32Array(m);
  const names: string[] = [];
  for (let q = 0, j = 0; q < all.length; q++) {
    const f = fam(q);
    if (f !== null) { rows[j] = all[q]; depth[j] = depthAll[q]; names.push(f); j++; }
  }
  const proj = projectNvtxSpans(trace, { deviceId, ranges: rows, links: links() });
  const families = new Map<string, Candidate>();
  for (let q = 0; q < proj.count; q++) {
    if (proj.opCount[q] === 0) continue;
    let c = families.get(names[q]);
    if (!c) families.set(names[q], (c = { name: names[q], q: [], depth: Infinity, kernels: 0 }));
    c.q.push(q);
    c.depth = Math.min(c.depth, depth[q]);
    c.kernels += proj.kernelCount[q];
  }
  const deviceKernels = minKernelShare > 0 ? countDeviceKernels(trace, deviceId) : 0;
  const pool = [...families.values()].filter((c) => c.q.length >= 2 && c.kernels > 0 && c.kernels >= minKernelShare * deviceKernels);
  // outermost first ("iteration #" encloses "layer #" encloses "expert #"), then the most kernels
  pool.sort((a, b) => a.depth - b.depth || b.kernels - a.kernels || a.name.localeCompare(b.name));
  const pick = pool[0];
  if (!pick) return null;
  // instances on several threads (one per data-loader worker, say): keep the thread with the most kernels
  const byThread = new Map<number, number[]>();
  for (const q of pick.q) {
    const th = trace.nvtx.thread[rows[q]];
    let l = byThread.get(th);
    if (!l) byThread.set(th, (l = []));
    l.push(q);
  }
  const kernelsOf = (l: number[]): number => l.reduce((n, q) => n + proj.kernelCount[q], 0);
  const qs = [...byThread.values()].sort((a, b) => kernelsOf(b) - kernelsOf(a))[0];
  if (qs.length < 2) return null;
  // nested instances of the family on one thread (recursion): only the outermost ones
  const outer: number[] = [];
  for (const q of qs) {
    const last = outer[outer.length - 1];
    if (last !== undefined && trace.nvtx.start[rows[q]] < trace.nvtx.end[rows[last]]) continue;
    outer.push(q);
  }
  if (outer.length < minInstances || kernelsOf(outer) < minKernelShare * deviceKernels) return null;
  return withWarmupLeftOut({
    method: 'nvtx', name: pick.name,
    gpuStart: outer.map((q) => proj.gpuStart[q]), gpuEnd: outer.map((q) => proj.gpuEnd[q]),
    kernels: outer.map((q) => proj.kernelCount[q]),
    cpu: outer.map((q) => ({ thread: trace.nvtx.thread[rows[q]], start: trace.nvtx.start[rows[q]], end: trace.nvtx.end[rows[q]] })),
  });
}

/** cudaProfilerStart → the next cudaProfilerStop on the same thread, each pair one iteration. */
function fromProfilerRanges(trace: Trace, deviceId: number, links: () => CallLinks): SteadyState | null {
  const { runtime, strings } = trace;
  const kind = new Map<number, number>();
  const pairs: { thread: number; start: number; end: number }[] = [];
  const open = new Map<number, number>();
  for (let r = 0; r < runtime.count; r++) {
    let k = kind.get(runtime.name[r]);
    if (k === undefined) {
      const n = canonicalApiName(strings[runtime.name[r]] ?? '');
      k = n === 'cudaProfilerStart' || n === 'cuProfilerStart' ? 1 : n === 'cudaProfilerStop' || n === 'cuProfilerStop' ? 2 : 0;
      kind.set(runtime.name[r], k);
    }
    if (k === 1) { if (!open.has(runtime.thread[r])) open.set(runtime.thread[r], runtime.end[r]); } else if (k === 2) {
      const s = open.get(runtime.thread[r]);
      if (s !== undefined) { pairs.push({ thread: runtime.thread[r], start: s, end: runtime.start[r] }); open.delete(runtime.thread[r]); }
    }
  }
  if (pairs.length === 0) return null;
  // the GPU work each pair launched (any thread of the process: a profiler range is process-wide)
  const { kernelCall } = links();
  const k = trace.kernels;
  const found = pairs.map((p) => ({ ...p, gpuStart: Infinity, gpuEnd: -Infinity, kernels: 0 }));
  for (let i = 0; i < k.count; i++) {
    if (k.deviceId[i] !== deviceId) continue;
    const c = kernelCall[i];
    if (c < 0) continue;
    const t = runtime.start[c];
    for (const p of found) {
      if (t >= p.start && t < p.end) {
        p.kernels++;
        if (k.start[i] < p.gpuStart) p.gpuStart = k.start[i];
        if (k.end[i] > p.gpuEnd) p.gpuEnd = k.end[i];
        break;
      }
    }
  }
  const withWork = found.filter((p) => p.kernels > 0);
  if (withWork.length === 0) return null;
  // a single range that holds every kernel says nothing the whole trace does not
  const deviceKernels = countDeviceKernels(trace, deviceId);
  if (withWork.length === 1 && withWork[0].kernels === deviceKernels) return null;
  return withWarmupLeftOut({
    method: 'profiler-range', name: 'cudaProfilerStart/Stop',
    gpuStart: withWork.map((p) => p.gpuStart), gpuEnd: withWork.map((p) => p.gpuEnd), kernels: withWork.map((p) => p.kernels),
    cpu: withWork.map((p) => ({ thread: p.thread, start: p.start, end: p.end })),
  });
}

function countDeviceKernels(trace: Trace, deviceId: number): number {
  let n = 0;
  for (let i = 0; i < trace.kernels.count; i++) if (trace.kernels.deviceId[i] === deviceId) n++;
  return n;
}

/**
 * The shortest period p whose repetition covers the longest tail of the device's kernel-name
 * sequence, when it covers at least MIN_PERIODS periods; iterations start where the idle time
 * before them is largest (the loop's boundary: the host turns around between iterations).
 */
function fromKernelPeriod(trace: Trace, deviceId: number): SteadyState | null {
  // "with no NVTX at all": ranges that name no iteration still mean the user marked the code
  if (nvtxRangeRows(trace).length > 0) return null;
  const k = trace.kernels;
  const rowsList: number[] = [];
  for (let i = 0; i < k.count; i++) if (k.deviceId[i] === deviceId) rowsList.push(i);
  const n = rowsList.length;
  if (n < 2 * MIN_PERIODS) return null;
  const name = Int32Array.from(rowsList, (i) => k.shortName[i]);
  // cover[p]: length of the tail that repeats with period p (name[i] === name[i - p]), plus p
  const covers: { p: number; cover: number }[] = [];
  let work = 0;
  for (let p = 1; p <= Math.floor(n / MIN_PERIODS); p++) {
    let i = n - 1;
    while (i >= p && name[i] === name[i - p]) i--;
    work += n - i;
    const cover = n - 1 - i + p;
    if (cover >= MIN_PERIODS * p) covers.push({ p, cover });
    if (cover === n || work > PERIOD_WORK_LIMIT) break;
  }
  if (covers.length === 0) return null;
  // a multiple of the period covers at most a period more: the shortest period within one period of the longest cover
  const maxCover = Math.max(...covers.map((c) => c.cover));
  const best = covers.find((c) => c.cover >= maxCover - c.p)!;
  const bestP = best.p;
  const bestCover = best.cover;
  // the whole sequence repeats: there is no set-up to leave out, the whole trace is the steady state
  if (bestCover >= n) return null;
  const p = bestP;
  const from = n - bestCover;
  // phase: the offset r in [0, p) whose iteration starts follow the most idle time
  const idleBefore = (j: number): number => (j > 0 ? Math.max(0, k.start[rowsList[j]] - maxEndBefore(j)) : 0);
  const ends = new Float64Array(n);
  for (let j = 0; j < n; j++) ends[j] = Math.max(j > 0 ? ends[j - 1] : -Infinity, k.end[rowsList[j]]);
  function maxEndBefore(j: number): number { return ends[j - 1]; }
  let bestR = 0;
  let bestIdle = -1;
  for (let r = 0; r < p; r++) {
    let idle = 0;
    for (let j = from + r; j < n; j += p) idle += idleBefore(j);
    if (idle > bestIdle) { bestIdle = idle; bestR = r; }
  }
  const starts: number[] = [];
  for (let j = from + bestR; j + p <= n; j += p) starts.push(j);
  // an iteration runs from its first kernel's start to the next iteration's: the turnaround between
  // them is part of the loop (the last complete period, with no next start, is not measured)
  if (starts.length - 1 < MIN_PERIODS - 1) return null;
  const gpuStart: number[] = [];
  const gpuEnd: number[] = [];
  for (let m = 0; m + 1 < starts.length; m++) {
    gpuStart.push(k.start[rowsList[starts[m]]]);
    gpuEnd.push(k.start[rowsList[starts[m + 1]]]);
  }
  return withWarmupLeftOut({
    method: 'kernel-period', name: `a repeating sequence of ${p} kernel${p === 1 ? '' : 's'}`,
    gpuStart, gpuEnd, kernels: gpuStart.map(() => p), cpu: null,
  });
}

interface Found {
  method: IterationMethod;
  name: string;
  gpuStart: number[];
  gpuEnd: number[];
  kernels: number[];
  cpu: { thread: number; start: number; end: number }[] | null;
}

/**
 * Leading iterations that differ markedly from the rest are warm-up: another number of kernels
 * than the median iteration (by more than 10%), or a span more than twice the median span. At
 * least two iterations (and half of them) are kept.
 */
function withWarmupLeftOut(f: Found): SteadyState {
  const n = f.gpuStart.length;
  const spans = f.gpuStart.map((s, i) => f.gpuEnd[i] - s);
  const medianOf = (a: number[]): number => {
    const b = [...a].sort((x, y) => x - y);
    const m = b.length >> 1;
    return b.length % 2 ? b[m] : (b[m - 1] + b[m]) / 2;
  };
  const medianKernels = medianOf(f.kernels);
  const medianSpan = medianOf(spans);
  let drop = 0;
  const reasons = new Set<string>();
  const maxDrop = Math.min(n - 2, Math.floor(n / 2));
  while (drop < maxDrop) {
    const otherWork = Math.abs(f.kernels[drop] - medianKernels) > 0.1 * medianKernels;
    const slow = spans[drop] > 2 * medianSpan;
    if (!otherWork && !slow) break;
    if (otherWork) reasons.add('another number of kernels');
    if (slow) reasons.add('more than twice the median time');
    drop++;
  }
  const keep = (a: number[]): number[] => a.slice(drop);
  return {
    method: f.method, name: f.name, found: n, leftOut: drop,
    leftOutReason: drop > 0 ? `warm-up: ${[...reasons].join(' and ')}` : null,
    gpuStart: Float64Array.from(keep(f.gpuStart)), gpuEnd: Float64Array.from(keep(f.gpuEnd)), kernels: Int32Array.from(keep(f.kernels)),
    cpu: f.cpu ? {
      thread: Int32Array.from(f.cpu.slice(drop), (c) => c.thread),
      start: Float64Array.from(f.cpu.slice(drop), (c) => c.start),
      end: Float64Array.from(f.cpu.slice(drop), (c) => c.end),
    } : null,
  };
}
