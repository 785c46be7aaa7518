/**
 * Per-expert load (issue 15): which expert took how long, with how many tokens, and which one
 * the others waited for.
 *
 * Experts are found, in order:
 * - from NVTX ranges of a family whose text names an expert ("expert 7", "layer 0 expert 7"):
 *   a kernel belongs to the instance when its launch call started inside the range on the range's
 *   thread (DESIGN.md "NVTX projection"); the range's integer payload, when present, is the
 *   expert's token count (the bundled workload records it);
 * - else from launch order: the kernel-name sequence in launch order holds a block of p ≤ 16 names
 *   with a matrix multiply in it, repeated 8 to 256 times in a row (one block per expert); each run
 *   of blocks is one iteration (two or more runs of one length are needed) and the block's position
 *   in the run the expert's number. A guess:
 *   the report says so (source 'launch-order').
 *
 * imbalance = max / mean of the experts' GPU time (union of their kernels, mean per instance).
 * The straggler of an iteration is the expert with the most GPU time in it.
 */
import type { Trace } from '../model/trace.js';
import type { ExpertStats, ExpertStraggler, ExpertsReport } from '../report/expert-types.js';
import { lowerBound, sortedOrder, totalLength, union } from '../model/intervals.js';
import { callLinks, type CallLinks } from './correlation.js';
import { nvtxRangeRows } from './nvtx-projection.js';
import { nvtxFamilyName } from './nvtx-ranges.js';
import { WEIGHTS_CLAUSE } from '../model/nvtx-names.js';

/** One instance of one expert: its kernels (trace rows, start order). */
export interface ExpertInstance {
  expert: number;
  iteration: number;
  /** nvtx row, -1 for launch-order instances */
  range: number;
  tokens: number | null;
  kernels: number[];
  /** the weight matrices its range text names ("weights=768x3072,3072x768:bf16"), null when it names none */
  weights: ExpertWeights | null;
}

/** An expert's weight matrices as its NVTX text names them: rows × columns each, in the order its GEMMs read them. */
export interface ExpertWeights {
  shapes: [number, number][];
  /** bytes per element */
  elementBytes: number;
  /** the element type as written (bf16, fp16, fp32, fp8, ...) */
  dtype: string;
}

const ELEMENT_BYTES: Record<string, number> = {
  fp64: 8, f64: 8, float64: 8, double: 8,
  fp32: 4, f32: 4, float32: 4, float: 4, tf32: 4,
  bf16: 2, bfloat16: 2, fp16: 2, f16: 2, float16: 2, half: 2,
  fp8: 1, e4m3: 1, e5m2: 1, int8: 1, i8: 1,
};

/**
 * The weights clause of an expert's range text: `weights=R1xC1,R2xC2:DTYPE` (R rows by C columns per
 * matrix, in the order the expert's GEMMs read them; DTYPE one of ELEMENT_BYTES' names). Null when
 * the text has no such clause or it does not parse.
 */
export function parseExpertWeights(text: string): ExpertWeights | null {
  const m = /\bweights=((?:\d+x\d+)(?:,\d+x\d+)*):([a-z0-9]+)\b/i.exec(text);
  if (!m) return null;
  const dtype = m[2].toLowerCase();
  const elementBytes = ELEMENT_BYTES[dtype];
  if (elementBytes === undefined) return null;
  const shapes = m[1].split(',').map((s) => s.split('x').map(Number) as [number, number]);
  if (shapes.some(([r, c]) => !(r > 0 && c > 0))) return null;
  return { shapes, elementBytes, dtype };
}

/** The text an expert is shown by: its range text without the weights clause. */
export function expertDisplayName(text: string): string {
  return text.replace(WEIGHTS_CLAUSE, '').trim() || text;
}

export interface ExpertInstances {
  source: ExpertsReport['source'];
  rangeName: string | null;
  instances: ExpertInstance[];
  /** expert number → text of its first instance */
  names: Map<number, string>;
}

const MIN_RUN = 4;
const MAX_BLOCK = 16;
/**
 * Launch order alone cannot tell experts from any other repeated block (a transformer's layers, a
 * solver's iterations), so without NVTX a run counts only when it looks like an expert loop: 8 to
 * 256 blocks in a row, each holding a matrix multiply.
 */
const MIN_EXPERTS = 8;
const MAX_EXPERTS = 256;
export const GEMM_NAME = /gemm|gemv|nvjet|cutlass|xmma|matmul|cublas|wgmma|hmma|_mm_|grouped_mm/i;

/** The window's kernels of the device with a launch call, as rows in start order. */
function windowKernels(trace: Trace, deviceId: number, window: { start: number; end: number }): number[] {
  const k = trace.kernels;
  const out: number[] = [];
  for (let i = 0; i < k.count; i++) {
    if (k.deviceId[i] !== deviceId || k.end[i] <= window.start || k.start[i] >= window.end) continue;
    out.push(i);
  }
  return out;
}

/** The expert instances of the window: from NVTX when the trace names experts, else from launch order; null when neither finds two experts. */
export function expertInstances(
  trace: Trace, deviceId: number, window: { start: number; end: number }, links?: CallLinks,
): ExpertInstances | null {
  const kernels = windowKernels(trace, deviceId, window);
  if (kernels.length === 0) return null;
  const { kernelCall } = links ?? callLinks(trace);
  return fromNvtx(trace, kernels, kernelCall) ?? fromLaunchOrder(trace, kernels, kernelCall);
}

/** A micro-batch's number in a range text: "mb1", "micro-batch 0", "ubatch_2". */
const MICRO_BATCH = /\b(mb|micro-?batch|ubatch)[\s_#-]*\d+/gi;

function expertNumber(text: string): number {
  const m = /\bexperts?\D{0,3}(\d+)/i.exec(text) ?? /(\d+)(?!.*\d)/.exec(text);
  return m ? Number(m[1]) : NaN;
}

function fromNvtx(trace: Trace, kernels: number[], kernelCall: CallLinks['kernelCall']): ExpertInstances | null {
  const { nvtx, strings, runtime } = trace;
  const rows = nvtxRangeRows(trace);
  // candidate families: text names an expert and carries a number
  const families = new Map<string, number[]>();
  const famOfText = new Map<number, string | null>();
  for (const row of rows) {
    const t = nvtx.text[row];
    if (t < 0) continue;
    let fam = famOfText.get(t);
    if (fam === undefined) {
      const text = strings[t];
      // "experts mb1" is micro-batch 1's expert phase, not expert 1: a micro-batch number names no expert
      const bare = text.replace(MICRO_BATCH, ' ');
      fam = /\bexperts?\b/i.test(bare) && /\d/.test(bare) ? nvtxFamilyName(text) : null;
      famOfText.set(t, fam);
    }
    if (fam === null) continue;
    const list = families.get(fam);
    if (list) list.push(row); else families.set(fam, [row]);
  }
  if (families.size === 0) return null;
  // kernels by (thread of launch call, call start)
  const launched = kernels.filter((i) => kernelCall[i] >= 0);
  const keyThread = Float64Array.from(launched, (i) => runtime.thread[kernelCall[i]]);
  const keyStart = Float64Array.from(launched, (i) => runtime.start[kernelCall[i]]);
  const byThread = new Map<number, { rows: number[]; start: Float64Array }>();
  {
    const order = sortedOrder(keyStart, launched.length);
    const tmp = new Map<number, number[]>();
    for (const j of order) {
      const t = keyThread[j];
      const l = tmp.get(t);
      if (l) l.push(launched[j]); else tmp.set(t, [launched[j]]);
    }
    for (const [t, l] of tmp) byThread.set(t, { rows: l, start: Float64Array.from(l, (i) => runtime.start[kernelCall[i]]) });
  }
  let best: ExpertInstances | null = null;
  let bestKernels = 0;
  for (const [fam, famRows] of families) {
    const found: ExpertInstance[] = [];
    const names = new Map<number, string>();
    let covered = 0;
    for (const row of famRows) {
      const g = byThread.get(nvtx.thread[row]);
      if (!g) continue;
      const lo = lowerBound(g.start, g.start.length, nvtx.start[row]);
      const hi = lowerBound(g.start, g.start.length, nvtx.end[row]);
      if (hi <= lo) continue;
      const text = strings[nvtx.text[row]];
      const expert = expertNumber(text);
      if (!Number.isFinite(expert)) continue;
      if (!names.has(expert)) names.set(expert, expertDisplayName(text));
      const payload = nvtx.payload[row];
      found.push({ expert, iteration: 0, range: row, tokens: Number.isFinite(payload) ? payload : null, kernels: g.rows.slice(lo, hi), weights: parseExpertWeights(text) });
      covered += hi - lo;
    }
    if (names.size < 2 || covered <= bestKernels) continue;
    bestKernels = covered;
    // iteration = the instance's ordinal among its expert's instances, by range start
    found.sort((a, b) => nvtx.start[a.range] - nvtx.start[b.range]);
    const seen = new Map<number, number>();
    for (const inst of found) {
      const n = seen.get(inst.expert) ?? 0;
      inst.iteration = n;
      seen.set(inst.expert, n + 1);
    }
    best = { source: 'nvtx', rangeName: fam, instances: found, names };
  }
  return best;
}

/**
 * Experts from the kernel-name sequence in launch order: the block length p (1..MAX_BLOCK) whose
 * runs of four or more back-to-back repeats cover the most kernels (the smallest p on a tie).
 */
function fromLaunchOrder(trace: Trace, kernels: number[], kernelCall: CallLinks['kernelCall']): ExpertInstances | null {
  const { runtime } = trace;
  const key = (i: number) => (kernelCall[i] >= 0 ? runtime.start[kernelCall[i]] : trace.kernels.start[i]);
  const ordered = [...kernels].sort((a, b) => key(a) - key(b) || a - b);
  const names = ordered.map((i) => trace.kernels.shortName[i]);
  const n = names.length;
  const gemmName = new Map<number, boolean>();
  const hasGemm = (ns: number[], at: number, p: number): boolean => {
    for (let k = at; k < at + p; k++) {
      let g = gemmName.get(ns[k]);
      if (g === undefined) gemmName.set(ns[k], (g = GEMM_NAME.test(trace.strings[ns[k]] ?? '')));
      if (g) return true;
    }
    return false;
  };
  let bestP = 0;
  let bestCover = 0;
  let bestRuns: [number, number][] = [];
  for (let p = 1; p <= MAX_BLOCK && 2 * p <= n; p++) {
    const runs: [number, number][] = [];
    let cover = 0;
    let i = 0;
    while (i + p <= n) {
      let r = 1;
      while (i + (r + 1) * p <= n && sameBlock(names, i, i + r * p, p)) r++;
      if (r >= MIN_RUN && r >= MIN_EXPERTS && r <= MAX_EXPERTS && hasGemm(names, i, p)) {
        runs.push([i, r]);
        cover += r * p;
        i += r * p;
      } else i++;
    }
    if (cover > bestCover) { bestCover = cover; bestP = p; bestRuns = runs; }
  }
  // a run must hold most of the window's kernels: a stray loop of copies is no expert layer
  if (bestP === 0 || bestCover < 0.3 * n) return null;
  // and the loop must come back: two or more runs of the same length (one per iteration); the
  // runs of the most common length are the iterations
  const lengths = new Map<number, number>();
  for (const [, r] of bestRuns) lengths.set(r, (lengths.get(r) ?? 0) + 1);
  const [commonR, times] = [...lengths.entries()].sort((a, b) => b[1] - a[1] || b[0] - a[0])[0];
  if (times < 2) return null;
  bestRuns = bestRuns.filter(([, r]) => r === commonR);
  const instances: ExpertInstance[] = [];
  const expertNames = new Map<number, string>();
  bestRuns.forEach(([at, r], iteration) => {
    for (let e = 0; e < r; e++) {
      expertNames.set(e, `expert ${e}`);
      instances.push({ expert: e, iteration, range: -1, tokens: null, kernels: ordered.slice(at + e * bestP, at + (e + 1) * bestP), weights: null });
    }
  });
  return { source: 'launch-order', rangeName: null, instances, names: expertNames };
}

function sameBlock(names: number[], a: number, b: number, p: number): boolean {
  for (let k = 0; k < p; k++) if (names[a + k] !== names[b + k]) return false;
  return true;
}

interface InstanceTimes { gpuTime: number; span: number; first: number; last: number; streams: number[] }

/** Scratch for instanceTimes' union when an instance's kernels are out of start order. */
let scratchS = new Float64Array(64);
let scratchE = new Float64Array(64);

function instanceTimes(trace: Trace, inst: ExpertInstance, window: { start: number; end: number }): InstanceTimes {
  const k = trace.kernels;
  const streams: number[] = [];
  let first = Infinity;
  let last = -Infinity;
  // the union's length in one pass while the kernels come in start order (they nearly always do)
  let n = 0;
  let sorted = true;
  let prev = -Infinity;
  let busy = 0;
  let cs = 0;
  let ce = -Infinity;
  if (scratchS.length < inst.kernels.length) { scratchS = new Float64Array(2 * inst.kernels.length); scratchE = new Float64Array(2 * inst.kernels.length); }
  for (const i of inst.kernels) {
    const a = Math.max(k.start[i], window.start);
    const b = Math.min(k.end[i], window.end);
    if (b < a) continue;
    scratchS[n] = a; scratchE[n] = b; n++;
    if (!streams.includes(k.streamId[i])) streams.push(k.streamId[i]);
    if (a < first) first = a;
    if (b > last) last = b;
    if (a < prev) sorted = false;
    prev = a;
    if (a <= ce) { if (b > ce) ce = b; } else { if (ce > cs) busy += ce - cs; cs = a; ce = b; }
  }
  if (ce > cs) busy += ce - cs;
  const gpuTime = n === 0 ? 0 : sorted ? busy : totalLength(union(scratchS.subarray(0, n), scratchE.subarray(0, n), n));
  return { gpuTime, span: n ? last - first : 0, first, last, streams };
}

const median = (v: number[]): number => {
  if (v.length === 0) return NaN;
  const a = [...v].sort((x, y) => x - y);
  const m = a.length >> 1;
  return a.length % 2 ? a[m] : (a[m - 1] + a[m]) / 2;
};

export function analyzeExperts(
  trace: Trace, deviceId: number, window: { start: number; end: number }, instances?: ExpertInstances | null,
): ExpertsReport | null {
  const found = instances === undefined ? expertInstances(trace, deviceId, window) : instances;
  if (!found) return null;
  const byExpert = new Map<number, { times: InstanceTimes[]; tokens: number[]; kernels: number[] }>();
  const byIteration = new Map<number, { expert: number; t: InstanceTimes }[]>();
  for (const inst of found.instances) {
    const t = instanceTimes(trace, inst, window);
    if (t.gpuTime <= 0 && t.span <= 0) continue;
    let g = byExpert.get(inst.expert);
    if (!g) byExpert.set(inst.expert, (g = { times: [], tokens: [], kernels: [] }));
    g.times.push(t);
    g.kernels.push(inst.kernels.length);
    if (inst.tokens !== null) g.tokens.push(inst.tokens);
    const it = byIteration.get(inst.iteration);
    if (it) it.push({ expert: inst.expert, t }); else byIteration.set(inst.iteration, [{ expert: inst.expert, t }]);
  }
  if (byExpert.size < 2) return null;
  const experts: ExpertStats[] = [...byExpert.entries()].sort((a, b) => a[0] - b[0]).map(([expert, g]) => {
    const streams = new Set<number>();
    for (const t of g.times) for (const s of t.streams) streams.add(s);
    return {
      expert,
      name: found.names.get(expert) ?? `expert ${expert}`,
      instances: g.times.length,
      tokens: g.tokens.length ? median(g.tokens) : null,
      kernels: median(g.kernels),
      gpuTime: Math.round(g.times.reduce((a, t) => a + t.gpuTime, 0) / g.times.length),
      span: Math.round(median(g.times.map((t) => t.span))),
      streams: [...streams].sort((a, b) => a - b),
    };
  });
  const ratio = (v: number[]): number | null => {
    if (v.length < 2) return null;
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    return mean > 0 ? Math.max(...v) / mean : null;
  };
  const imbalance = ratio(experts.map((e) => e.gpuTime));
  const tokens = experts.map((e) => e.tokens);
  const tokenImbalance = tokens.every((t) => t !== null) ? ratio(tokens as number[]) : null;
  const stragglers: ExpertStraggler[] = [];
  let imbalanceCostNs = 0;
  for (const [iteration, list] of [...byIteration.entries()].sort((a, b) => a[0] - b[0])) {
    if (list.length < 2) continue;
    let top = list[0];
    for (const x of list) if (x.t.gpuTime > top.t.gpuTime || (x.t.gpuTime === top.t.gpuTime && x.expert < top.expert)) top = x;
    let othersLast = -Infinity;
    for (const x of list) if (x !== top && x.t.last > othersLast) othersLast = x.t.last;
    const times = list.map((x) => x.t.gpuTime);
    const mean = times.reduce((a, b) => a + b, 0) / times.length;
    for (const t of times) if (t > mean) imbalanceCostNs += t - mean;
    stragglers.push({
      iteration, expert: top.expert, gpuTime: top.t.gpuTime, medianGpuTime: Math.round(median(times)), lateBy: top.t.last - othersLast,
    });
  }
  const tally = new Map<number, number>();
  for (const s of stragglers) tally.set(s.expert, (tally.get(s.expert) ?? 0) + 1);
  let straggler: number | null = null;
  let most = 0;
  for (const [e, c] of tally) if (c > most || (c === most && straggler !== null && e < straggler)) { most = c; straggler = e; }
  return {
    source: found.source, rangeName: found.rangeName, count: experts.length, experts, imbalance, tokenImbalance, stragglers, straggler,
    imbalanceCostNs: Math.round(imbalanceCostNs),
  };
}
