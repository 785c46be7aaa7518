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
import { selectRank, totalLength, union } from '../model/intervals.js';
import { callLinks, type CallLinks } from './correlation.js';
import { nvtxRangeRows } from './nvtx-projection.js';
import { nvtxFamilyName } from './nvtx-ranges.js';
import { WEIGHTS_CLAUSE } from '../model/nvtx-names.js';

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

/**
 * The expert instances of a window, as columns (one entry per instance, no object per instance):
 * instance q is expert `expert[q]`'s `iteration[q]`-th instance; its kernels are the trace rows
 * `kernels[kernelFrom[q] .. kernelTo[q])`, in launch order (`instanceKernels`).
 */
export interface ExpertInstances {
  source: ExpertsReport['source'];
  rangeName: string | null;
  count: number;
  expert: Float64Array;
  iteration: Int32Array;
  /** nvtx row, -1 for launch-order instances */
  range: Int32Array;
  /** the range's integer payload (the expert's token count); NaN when none */
  tokens: Float64Array;
  /**
   * the weight matrices the instance's range text names ("weights=768x3072,3072x768:bf16"), as an
   * index into `weightList`; -1 when it names none (instanceWeights)
   */
  weight: Int32Array;
  weightList: ExpertWeights[];
  kernelFrom: Int32Array;
  kernelTo: Int32Array;
  /** trace rows the instances' kernels are slices of */
  kernels: Int32Array;
  /** 1 + the largest iteration (0 without instances) */
  iterations: number;
  /** expert number → text of its first instance */
  names: Map<number, string>;
}

/** Instance q's weights, null when its range names none. */
export function instanceWeights(found: ExpertInstances, q: number): ExpertWeights | null {
  return found.weight[q] >= 0 ? found.weightList[found.weight[q]] : null;
}

/** Instance q's token count, null when its range carries none. */
export function instanceTokens(found: ExpertInstances, q: number): number | null {
  return Number.isNaN(found.tokens[q]) ? null : found.tokens[q];
}

/** Instance q's kernels (trace rows), as a view. */
export function instanceKernels(found: ExpertInstances, q: number): Int32Array {
  return found.kernels.subarray(found.kernelFrom[q], found.kernelTo[q]);
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

/** The window's kernels of the device, as rows in row order. */
function windowKernels(trace: Trace, deviceId: number, window: { start: number; end: number }): Int32Array {
  const k = trace.kernels;
  const inW = (i: number) => k.deviceId[i] === deviceId && !(k.end[i] <= window.start || k.start[i] >= window.end);
  let n = 0;
  for (let i = 0; i < k.count; i++) if (inW(i)) n++;
  const out = new Int32Array(n);
  for (let i = 0, j = 0; j < n; i++) if (inW(i)) out[j++] = i;
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

function emptyInstances(source: ExpertsReport['source'], rangeName: string | null, n: number, kernels: Int32Array, names: Map<number, string>): ExpertInstances {
  return {
    source, rangeName, count: n, expert: new Float64Array(n), iteration: new Int32Array(n), range: new Int32Array(n).fill(-1),
    tokens: new Float64Array(n).fill(NaN), weight: new Int32Array(n).fill(-1), weightList: [],
    kernelFrom: new Int32Array(n), kernelTo: new Int32Array(n), kernels, iterations: 0, names,
  };
}

function fromNvtx(trace: Trace, kernels: Int32Array, kernelCall: CallLinks['kernelCall']): ExpertInstances | null {
  const { nvtx, strings, runtime } = trace;
  const rows = nvtxRangeRows(trace);
  // candidate families: text names an expert and carries a number (famOfRow: index in famNames, -1 none)
  const famNames: string[] = [];
  const famIds = new Map<string, number>();
  const famOfText = new Map<number, number>();
  const famOfRow = new Int32Array(rows.length).fill(-1);
  for (let r = 0; r < rows.length; r++) {
    const t = nvtx.text[rows[r]];
    if (t < 0) continue;
    let f = famOfText.get(t);
    if (f === undefined) {
      const text = strings[t];
      // "experts mb1" is micro-batch 1's expert phase, not expert 1: a micro-batch number names no expert
      const bare = text.replace(MICRO_BATCH, ' ');
      const fam = /\bexperts?\b/i.test(bare) && /\d/.test(bare) ? nvtxFamilyName(text) : null;
      if (fam === null) f = -1;
      else {
        f = famIds.get(fam);
        if (f === undefined) { f = famNames.length; famIds.set(fam, f); famNames.push(fam); }
      }
      famOfText.set(t, f);
    }
    famOfRow[r] = f;
  }
  if (famNames.length === 0) return null;
  // the launched kernels grouped by the thread of their launch call, each group by call start
  // (then row): order[from .. to) per thread, the call starts read through kernelCall
  // (`at`: where the thread's last search ended, see firstFrom)
  const threads = new Map<number, { from: number; to: number; at: number }>();
  // the thread of the kernel before: a launching thread's kernels come in runs, one Map lookup a run
  let lastThread = -1;
  let last: { from: number; to: number; at: number } | undefined;
  const threadOf = (c: number) => {
    if (runtime.thread[c] !== lastThread) { lastThread = runtime.thread[c]; last = threads.get(lastThread); }
    return last;
  };
  let launched = 0;
  for (let j = 0; j < kernels.length; j++) {
    const c = kernelCall[kernels[j]];
    if (c < 0) continue;
    launched++;
    const g = threadOf(c);
    if (g) g.to++; else { threads.set(runtime.thread[c], (last = { from: 0, to: 1, at: 0 })); }
  }
  let at = 0;
  for (const g of threads.values()) { g.from = at; at += g.to; g.to = g.from; }
  // one launching thread that launched every kernel (the usual capture): the grouped order is the
  // kernels' own, not a copy made in a second pass over their launch calls
  let grouped = kernels;
  if (threads.size === 1 && launched === kernels.length) {
    for (const g of threads.values()) g.to = launched;
  } else {
    grouped = new Int32Array(launched);
    lastThread = -1;
    for (let j = 0; j < kernels.length; j++) {
      const c = kernelCall[kernels[j]];
      if (c >= 0) grouped[threadOf(c)!.to++] = kernels[j];
    }
  }
  const callStart = (i: number) => runtime.start[kernelCall[i]];
  for (const g of threads.values()) {
    let sorted = true;
    for (let m = g.from + 1; m < g.to && sorted; m++) if (callStart(grouped[m]) < callStart(grouped[m - 1])) sorted = false;
    if (sorted) continue;
    // (the window's kernels stay in row order for fromLaunchOrder)
    if (grouped === kernels) grouped = kernels.slice();
    grouped.subarray(g.from, g.to).sort((a, b) => callStart(a) - callStart(b) || a - b);
  }
  const order = grouped;
  const firstAtOrAfter = (lo: number, hi: number, x: number): number => {
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (callStart(order[mid]) < x) lo = mid + 1; else hi = mid;
    }
    return lo;
  };
  // firstAtOrAfter(lo, hi, x) searched from `from` forward, by doubling steps: a family's ranges
  // come in start order, so each search starts where the thread's last one ended and reads a few
  // call starts there, instead of ~20 scattered over a million kernels (the same answer from anywhere)
  const firstFrom = (lo: number, hi: number, from: number, x: number): number => {
    if (from > lo && callStart(order[from - 1]) >= x) return firstAtOrAfter(lo, from, x);
    let a = from;
    let b = from;
    for (let step = 1; b < hi && callStart(order[b]) < x; step *= 2) { a = b + 1; b = a + step; }
    return firstAtOrAfter(a, Math.min(b, hi), x);
  };
  // each family's rows (rows[famRows[famAt[f] .. famAt[f + 1])]), in row order: a scan visits its family's only
  const famAt = new Int32Array(famNames.length + 1);
  for (let r = 0; r < rows.length; r++) if (famOfRow[r] >= 0) famAt[famOfRow[r] + 1]++;
  for (let f = 0; f < famNames.length; f++) famAt[f + 1] += famAt[f];
  const famRows = new Int32Array(famAt[famNames.length]);
  {
    const next = famAt.slice(0, famNames.length);
    for (let r = 0; r < rows.length; r++) if (famOfRow[r] >= 0) famRows[next[famOfRow[r]]++] = r;
  }
  const weightOfText = new Map<number, number>();
  const expertOfText = new Map<number, number>();
  /** The family's instances: each range's kernels order[lo .. hi), or only their count when `out` is null. */
  const scan = (f: number, out: ExpertInstances | null): { covered: number; n: number; names: Map<number, string> } => {
    const names = new Map<number, string>();
    let covered = 0;
    let n = 0;
    for (const g of threads.values()) g.at = g.from;
    for (let m = famAt[f]; m < famAt[f + 1]; m++) {
      const row = rows[famRows[m]];
      const g = threads.get(nvtx.thread[row]);
      if (!g) continue;
      const lo = firstFrom(g.from, g.to, g.at, nvtx.start[row]);
      const hi = firstFrom(lo, g.to, lo, nvtx.end[row]);
      g.at = lo;
      if (hi <= lo) continue;
      const text = strings[nvtx.text[row]];
      // one parse per distinct text
      let expert = expertOfText.get(nvtx.text[row]);
      if (expert === undefined) expertOfText.set(nvtx.text[row], (expert = expertNumber(text)));
      if (!Number.isFinite(expert)) continue;
      if (!names.has(expert)) names.set(expert, expertDisplayName(text));
      if (out) {
        const payload = nvtx.payload[row];
        out.expert[n] = expert; out.range[n] = row; out.tokens[n] = Number.isFinite(payload) ? payload : NaN;
        out.kernelFrom[n] = lo; out.kernelTo[n] = hi;
        // one parse per distinct text
        let w = weightOfText.get(nvtx.text[row]);
        if (w === undefined) {
          const parsed = parseExpertWeights(text);
          w = parsed ? out.weightList.push(parsed) - 1 : -1;
          weightOfText.set(nvtx.text[row], w);
        }
        out.weight[n] = w;
      }
      n++;
      covered += hi - lo;
    }
    return { covered, n, names };
  };
  let best = -1;
  let bestKernels = 0;
  let bestCount = 0;
  let raw: ExpertInstances | null = null;
  // one candidate family (the usual case): scanned once, straight into instances as many as its
  // rows, kept when every row made one; else counted first and scanned again, as with several
  if (famNames.length === 1) {
    const size = famAt[1] - famAt[0];
    const all = emptyInstances('nvtx', famNames[0], size, order, new Map());
    const { covered, n, names } = scan(0, all);
    if (names.size < 2 || covered <= 0) return null;
    if (n === size) { all.names = names; raw = all; best = 0; bestCount = n; }
    // the weights parsed into `all`'s list are parsed again into the instances' own
    else weightOfText.clear();
  }
  if (!raw) {
    for (let f = 0; f < famNames.length; f++) {
      const { covered, n, names } = scan(f, null);
      if (names.size < 2 || covered <= bestKernels) continue;
      bestKernels = covered;
      best = f;
      bestCount = n;
    }
    if (best < 0) return null;
    raw = emptyInstances('nvtx', famNames[best], bestCount, order, new Map());
    raw.names = scan(best, raw).names;
  }
  // by range start (stable), then iteration = the instance's ordinal among its expert's instances
  let sorted = true;
  for (let q = 1; q < bestCount && sorted; q++) if (nvtx.start[raw.range[q]] < nvtx.start[raw.range[q - 1]]) sorted = false;
  const out = sorted ? raw : emptyInstances('nvtx', raw.rangeName, bestCount, order, raw.names);
  if (!sorted) {
    // (the order made only when needed: the instances nearly always come by start)
    const byStart = new Int32Array(bestCount);
    for (let q = 0; q < bestCount; q++) byStart[q] = q;
    byStart.sort((a, b) => nvtx.start[raw.range[a]] - nvtx.start[raw.range[b]] || a - b);
    out.weightList = raw.weightList;
    for (let q = 0; q < bestCount; q++) {
      const p = byStart[q];
      out.expert[q] = raw.expert[p]; out.range[q] = raw.range[p]; out.tokens[q] = raw.tokens[p]; out.weight[q] = raw.weight[p];
      out.kernelFrom[q] = raw.kernelFrom[p]; out.kernelTo[q] = raw.kernelTo[p];
    }
  }
  // each expert's instances so far
  const seen = new ExpertTable();
  for (let q = 0; q < bestCount; q++) {
    const n = Math.max(seen.get(out.expert[q]), 0);
    out.iteration[q] = n;
    if (n + 1 > out.iterations) out.iterations = n + 1;
    seen.set(out.expert[q], n + 1);
  }
  return out;
}

/**
 * Experts from the kernel-name sequence in launch order: the block length p (1..MAX_BLOCK) whose
 * runs of four or more back-to-back repeats cover the most kernels (the smallest p on a tie).
 */
function fromLaunchOrder(trace: Trace, kernels: Int32Array, kernelCall: CallLinks['kernelCall']): ExpertInstances | null {
  const { runtime } = trace;
  const key = (i: number) => (kernelCall[i] >= 0 ? runtime.start[kernelCall[i]] : trace.kernels.start[i]);
  // launch order (then row); the kernels' row order nearly always is
  let inOrder = true;
  for (let j = 1; j < kernels.length && inOrder; j++) if (key(kernels[j]) < key(kernels[j - 1])) inOrder = false;
  const ordered = inOrder ? kernels : kernels.slice().sort((a, b) => key(a) - key(b) || a - b);
  const names = new Int32Array(ordered.length);
  for (let j = 0; j < ordered.length; j++) names[j] = trace.kernels.shortName[ordered[j]];
  const n = names.length;
  const gemmName = new Map<number, boolean>();
  const hasGemm = (ns: Int32Array, at: number, p: number): boolean => {
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
  const expertNames = new Map<number, string>();
  const out = emptyInstances('launch-order', null, bestRuns.length * commonR, ordered, expertNames);
  let q = 0;
  bestRuns.forEach(([at, r], iteration) => {
    for (let e = 0; e < r; e++) {
      expertNames.set(e, `expert ${e}`);
      out.expert[q] = e; out.iteration[q] = iteration;
      out.kernelFrom[q] = at + e * bestP; out.kernelTo[q] = at + (e + 1) * bestP;
      q++;
    }
  });
  out.iterations = bestRuns.length;
  return out;
}

function sameBlock(names: Int32Array, a: number, b: number, p: number): boolean {
  for (let k = 0; k < p; k++) if (names[a + k] !== names[b + k]) return false;
  return true;
}

/** Expert numbers below this are looked up in a table, the rest in a Map. */
const SMALL_NUMBER = 4096;

/**
 * A map from expert numbers (doubles, nearly always small integers) to non-negative integers:
 * a table for integers in [0, SMALL_NUMBER), a Map for any other number. A Map lookup of a double
 * read from a Float64Array boxes it (a heap number an instance, hundreds of thousands of them).
 */
class ExpertTable {
  private readonly table = new Int32Array(SMALL_NUMBER).fill(-1);
  private readonly map = new Map<number, number>();

  /** e's value, -1 when none was set */
  get(e: number): number {
    if (e >= 0 && e < SMALL_NUMBER && Math.floor(e) === e) return this.table[e];
    return this.map.get(e) ?? -1;
  }

  set(e: number, value: number): void {
    if (e >= 0 && e < SMALL_NUMBER && Math.floor(e) === e) this.table[e] = value; else this.map.set(e, value);
  }
}

/** The median of v's values (reorders v); NaN when empty. NaN-free input. */
function medianOf(v: Float64Array): number {
  if (v.length === 0) return NaN;
  const m = v.length >> 1;
  // the middle ranks by selection, not a sort: an expert has an instance per iteration (thousands)
  selectRank(v, 0, v.length - 1, m);
  if (v.length % 2) return v[m];
  // the rank below m: the largest of v[0 .. m), all <= v[m]
  let below = v[0];
  for (let j = 1; j < m; j++) if (v[j] > below) below = v[j];
  return (below + v[m]) / 2;
}

/** Indices 0..n-1 grouped by key[q] (dense ids 0..groups-1), stable: members of g are idx[at[g] .. at[g+1]). */
function groupBy(key: Int32Array, n: number, groups: number): { at: Int32Array; idx: Int32Array } {
  const at = new Int32Array(groups + 1);
  for (let q = 0; q < n; q++) if (key[q] >= 0) at[key[q] + 1]++;
  for (let g = 0; g < groups; g++) at[g + 1] += at[g];
  const next = at.slice(0, groups);
  const idx = new Int32Array(at[groups]);
  for (let q = 0; q < n; q++) if (key[q] >= 0) idx[next[key[q]]++] = q;
  return { at, idx };
}

export function analyzeExperts(
  trace: Trace, deviceId: number, window: { start: number; end: number }, instances?: ExpertInstances | null,
): ExpertsReport | null {
  const found = instances === undefined ? expertInstances(trace, deviceId, window) : instances;
  if (!found) return null;
  const k = trace.kernels;
  const n = found.count;
  // per instance: GPU time (union of its kernels clipped to the window), span, last end; -1 in
  // `expertOf` when it has neither time nor span (left out)
  const gpuTime = new Float64Array(n);
  const span = new Float64Array(n);
  const last = new Float64Array(n);
  const expertOf = new Int32Array(n).fill(-1);
  const expertIds = new ExpertTable();
  const experts: number[] = [];
  const streamsOf: Set<number>[] = [];
  // the stream each expert's last add was of
  const lastStreamOf: number[] = [];
  let scratchS = new Float64Array(64);
  let scratchE = new Float64Array(64);
  // the streams of the kernels in scratchS/E, read in the same pass (not a second walk over the kernel columns)
  let scratchStream = new Int32Array(64);
  const acc = new Float64Array(6);
  for (let q = 0; q < n; q++) {
    const from: number = found.kernelFrom[q];
    const to = found.kernelTo[q];
    if (scratchS.length < to - from) {
      scratchS = new Float64Array(2 * (to - from)); scratchE = new Float64Array(2 * (to - from)); scratchStream = new Int32Array(2 * (to - from));
    }
    // the union's length in one pass while the kernels come in start order (they nearly always do)
    // acc: first, last, prev start, busy, current start, current end
    acc[0] = Infinity; acc[1] = -Infinity; acc[2] = -Infinity; acc[3] = 0; acc[4] = 0; acc[5] = -Infinity;
    let m = 0;
    let sorted = true;
    for (let c = from; c < to; c++) {
      const i = found.kernels[c];
      const a = Math.max(k.start[i], window.start);
      const b = Math.min(k.end[i], window.end);
      if (b < a) continue;
      scratchS[m] = a; scratchE[m] = b; scratchStream[m] = k.streamId[i]; m++;
      if (a < acc[0]) acc[0] = a;
      if (b > acc[1]) acc[1] = b;
      if (a < acc[2]) sorted = false;
      acc[2] = a;
      if (a <= acc[5]) { if (b > acc[5]) acc[5] = b; } else { if (acc[5] > acc[4]) acc[3] += acc[5] - acc[4]; acc[4] = a; acc[5] = b; }
    }
    if (acc[5] > acc[4]) acc[3] += acc[5] - acc[4];
    const g = m === 0 ? 0 : sorted ? acc[3] : totalLength(union(scratchS.subarray(0, m), scratchE.subarray(0, m), m));
    const s = m ? acc[1] - acc[0] : 0;
    if (g <= 0 && s <= 0) continue;
    gpuTime[q] = g; span[q] = s; last[q] = acc[1];
    const e = found.expert[q];
    let id = expertIds.get(e);
    if (id < 0) { id = experts.length; expertIds.set(e, id); experts.push(e); streamsOf.push(new Set()); lastStreamOf.push(NaN); }
    expertOf[q] = id;
    // the streams of its kernels in the window (one add a run of kernels on one stream, not one a
    // kernel; none for a run on the stream the expert's last add was: an instance like the last)
    const streams = streamsOf[id];
    let stream: number = lastStreamOf[id];
    for (let j = 0; j < m; j++) {
      if (scratchStream[j] === stream) continue;
      stream = scratchStream[j];
      streams.add(stream);
    }
    lastStreamOf[id] = stream;
  }
  if (experts.length < 2) return null;
  const byExpert = groupBy(expertOf, n, experts.length);
  const stats: ExpertStats[] = [];
  for (const id of experts.map((_, j) => j).sort((a, b) => experts[a] - experts[b])) {
    const members = byExpert.idx.subarray(byExpert.at[id], byExpert.at[id + 1]);
    const c = members.length;
    const tokens = new Float64Array(c);
    const kernelCounts = new Float64Array(c);
    const spans = new Float64Array(c);
    let nTokens = 0;
    let sum = 0;
    for (let j = 0; j < c; j++) {
      const q = members[j];
      if (!Number.isNaN(found.tokens[q])) tokens[nTokens++] = found.tokens[q];
      kernelCounts[j] = found.kernelTo[q] - found.kernelFrom[q];
      spans[j] = span[q];
      sum += gpuTime[q];
    }
    const expert = experts[id];
    stats.push({
      expert,
      name: found.names.get(expert) ?? `expert ${expert}`,
      instances: c,
      tokens: nTokens ? medianOf(tokens.subarray(0, nTokens)) : null,
      kernels: medianOf(kernelCounts),
      gpuTime: Math.round(sum / c),
      span: Math.round(medianOf(spans)),
      streams: [...streamsOf[id]].sort((a, b) => a - b),
    });
  }
  const ratio = (v: number[]): number | null => {
    if (v.length < 2) return null;
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    return mean > 0 ? Math.max(...v) / mean : null;
  };
  const imbalance = ratio(stats.map((e) => e.gpuTime));
  const tokens = stats.map((e) => e.tokens);
  const tokenImbalance = tokens.every((t) => t !== null) ? ratio(tokens as number[]) : null;
  const stragglers: ExpertStraggler[] = [];
  let imbalanceCostNs = 0;
  // per iteration (ascending), its kept instances in instance order
  // (expertOf, grouped already, becomes each kept instance's iteration: no second column)
  const iterationOf = expertOf;
  for (let q = 0; q < n; q++) if (expertOf[q] >= 0) iterationOf[q] = found.iteration[q];
  const byIteration = groupBy(iterationOf, n, found.iterations);
  const { at, idx } = byIteration;
  // the largest iteration's instances: the medians' scratch, not a column as long as every instance
  let widest = 0;
  for (let it = 0; it < found.iterations; it++) widest = Math.max(widest, at[it + 1] - at[it]);
  const times = new Float64Array(widest);
  for (let it = 0; it < found.iterations; it++) {
    // index loops over idx[from .. to) (no subarray nor iterator an iteration: thousands of them)
    const from = at[it];
    const to = at[it + 1];
    if (to - from < 2) continue;
    let top = idx[from];
    let othersLast = -Infinity;
    let sum = 0;
    for (let j = from; j < to; j++) {
      const q = idx[j];
      if (gpuTime[q] > gpuTime[top] || (gpuTime[q] === gpuTime[top] && found.expert[q] < found.expert[top])) top = q;
      sum += gpuTime[q];
    }
    for (let j = from; j < to; j++) if (idx[j] !== top && last[idx[j]] > othersLast) othersLast = last[idx[j]];
    const mean = sum / (to - from);
    for (let j = from; j < to; j++) {
      const q = idx[j];
      if (gpuTime[q] > mean) imbalanceCostNs += gpuTime[q] - mean;
      times[j - from] = gpuTime[q];
    }
    stragglers.push({
      iteration: it, expert: found.expert[top], gpuTime: gpuTime[top], medianGpuTime: Math.round(medianOf(times.subarray(0, to - from))), lateBy: last[top] - othersLast,
    });
  }
  const tally = new Map<number, number>();
  for (const s of stragglers) tally.set(s.expert, (tally.get(s.expert) ?? 0) + 1);
  let straggler: number | null = null;
  let most = 0;
  for (const [e, c] of tally) if (c > most || (c === most && straggler !== null && e < straggler)) { most = c; straggler = e; }
  return {
    source: found.source, rangeName: found.rangeName, count: stats.length, experts: stats, imbalance, tokenImbalance, stragglers, straggler,
    imbalanceCostNs: Math.round(imbalanceCostNs),
  };
}
