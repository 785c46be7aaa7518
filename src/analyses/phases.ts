/**
 * MoE phases from NVTX ranges and PyTorch record_function annotations (issue 17): dispatch,
 * experts, combine, attention, shared expert, router, and the training phases forward,
 * backward and optimizer, with the micro-batch when a range names one ("dispatch mb1",
 * "micro_batch 0", "ubatch1").
 *
 * A kernel's phase is that of the innermost phase-named range around its launch call (same
 * thread; the call started inside the range), and its micro-batch that of the innermost range
 * naming one, so `experts mb1` > `expert 7` gives phase experts, micro-batch 1. A call in no
 * phase range on its own thread takes the ranges open at that time on the other threads of its
 * process (DDP's autograd thread launches while "## backward ##" is open on the main thread);
 * an operation without a known launch call, the innermost phase range whose GPU projection
 * contains its start. Pure: no I/O.
 */
import type { Trace } from '../model/trace.js';
import { callLinks, type CallLinks } from './correlation.js';
import { isNvtxRange, nvtxRangeRows, projectNvtxRanges } from './nvtx-projection.js';

export const PHASES = ['dispatch', 'combine', 'shared-expert', 'experts', 'router', 'attention', 'forward', 'backward', 'optimizer'] as const;
export type Phase = (typeof PHASES)[number];

/** In order: the first that matches a range's text names its phase. */
const PHASE_PATTERNS: [Phase, RegExp][] = [
  ['shared-expert', /shared[\s_-]?experts?/i],
  ['dispatch', /dispatch|(?<!un)permute/i],
  ['combine', /combine|unpermute/i],
  ['experts', /\bexperts?\b|expert[\s_]?(?:ffn|mlp|\d)|moe[\s_]?(?:mlp|ffn)|grouped[\s_]?(?:mm|gemm)/i],
  ['router', /\brout(?:e|er|ing)\b|\bgate\b|\btop-?k\b|\bgating\b/i],
  ['attention', /attn|attention/i],
  ['backward', /backward/i],
  ['optimizer', /optimi[sz]er/i],
  ['forward', /forward/i],
];

const MICRO_BATCH = /\b(?:mb|micro[\s_-]?batch|ubatch|u_batch|microbatch)[\s_#:-]?(\d+)\b/i;

/** Ranges that name a collective ("nccl:all_to_all", c10d ops), not the phase that called it. */
const COLLECTIVE_RANGE = /^(?:nccl|rccl|gloo)[A-Z:]|^c10d|^record_param_comms/i;

export function phaseOfText(text: string): Phase | null {
  if (COLLECTIVE_RANGE.test(text)) return null;
  for (const [phase, re] of PHASE_PATTERNS) if (re.test(text)) return phase;
  return null;
}

export function microBatchOfText(text: string): number | null {
  const m = MICRO_BATCH.exec(text);
  return m ? Number(m[1]) : null;
}

/** One GPU operation to place: its launch call (runtime row, -1 unknown) and its GPU start. */
export interface PhaseQuery {
  call: number;
  gpuStart: number;
}

export interface OpPhases {
  /** per query: index into PHASES, -1 none */
  phase: Int8Array;
  /** per query: micro-batch, -1 none */
  microBatch: Int32Array;
  /** the phase names the ranges held, whether or not an operation fell in them */
  seen: Phase[];
}

interface PhaseRange { start: number; end: number; phase: number; microBatch: number; row: number }

type Span = { start: number; end: number; phase: number; microBatch: number };

/**
 * For queries at `times` (any order), the spans open at each (start <= t < end), innermost last,
 * in one pass with a stack: spans sorted by start (the longer first on ties) enter as the sweep
 * reaches them and leave once the top one has ended. Nested spans (push/pop ranges) give exactly
 * the ranges around each time; an ended span under a still-open later one is skipped by `visit`'s
 * end check. O((spans + queries) log) instead of a scan of every span per query.
 */
function sweepOpen(spans: Span[], queries: number[], times: (q: number) => number, visit: (q: number, t: number, open: Span[]) => void): void {
  const order = [...queries].sort((a, b) => times(a) - times(b) || a - b);
  const stack: Span[] = [];
  let next = 0;
  for (const q of order) {
    const t = times(q);
    while (next < spans.length && spans[next].start <= t) stack.push(spans[next++]);
    while (stack.length > 0 && stack[stack.length - 1].end <= t) stack.pop();
    visit(q, t, stack);
  }
}

const byStartLongerFirst = (a: Span, b: Span): number => a.start - b.start || b.end - a.end;

/** Phases of GPU operations of one device, by their launch calls (or GPU start when the call is unknown). */
export function opPhases(trace: Trace, deviceId: number, queries: readonly PhaseQuery[], links?: CallLinks): OpPhases {
  const phase = new Int8Array(queries.length).fill(-1);
  const microBatch = new Int32Array(queries.length).fill(-1);
  const ranges = phaseRanges(trace);
  const seen = [...new Set(ranges.filter((r) => r.phase >= 0).map((r) => r.phase))].sort((a, b) => a - b).map((i) => PHASES[i]);
  if (ranges.length === 0 || queries.length === 0) return { phase, microBatch, seen };
  const rt = trace.runtime;
  const found = new Uint8Array(queries.length);
  // innermost first: the first phase and the first micro-batch from the top of the stack
  const take = (j: number, t: number, open: Span[]): void => {
    for (let a = open.length - 1; a >= 0; a--) {
      const r = open[a];
      if (!(r.start <= t && t < r.end)) continue;
      found[j] = 1;
      if (phase[j] < 0 && r.phase >= 0) phase[j] = r.phase;
      if (microBatch[j] < 0 && r.microBatch >= 0) microBatch[j] = r.microBatch;
    }
  };
  const group = <K>(items: number[], key: (j: number) => K): Map<K, number[]> => {
    const m = new Map<K, number[]>();
    for (const j of items) {
      const k = key(j);
      const l = m.get(k);
      if (l) l.push(j); else m.set(k, [j]);
    }
    return m;
  };
  const callTime = (j: number): number => rt.start[queries[j].call];
  const withCall = queries.map((_, j) => j).filter((j) => queries[j].call >= 0);
  // 1. the ranges around the launch call on its own thread
  const rangesByThread = group(ranges.map((_, r) => r), (r) => trace.nvtx.thread[ranges[r].row]);
  for (const [thread, js] of group(withCall, (j) => rt.thread[queries[j].call])) {
    const list = (rangesByThread.get(thread) ?? []).map((r) => ranges[r]);
    if (list.length > 0) sweepOpen(list, js, callTime, take);
  }
  // 2. none there (DDP launches backward's kernels and all-reduces from autograd's thread while
  // "## backward ##" is open on the main one): the ranges open at the call on the process's threads
  const processOf = (thread: number): number => trace.threads[thread]?.process ?? -1;
  const rest = withCall.filter((j) => !found[j] && processOf(rt.thread[queries[j].call]) >= 0);
  if (rest.length > 0) {
    const rangesByProcess = group(ranges.map((_, r) => r), (r) => processOf(trace.nvtx.thread[ranges[r].row]));
    for (const [process, js] of group(rest, (j) => processOf(rt.thread[queries[j].call]))) {
      const list = (rangesByProcess.get(process) ?? []).map((r) => ranges[r]).sort(byStartLongerFirst);
      if (list.length > 0) sweepOpen(list, js, callTime, take);
    }
  }
  // 3. no launch call: the phase ranges whose GPU projection holds the operation's start
  const noCall = queries.map((_, j) => j).filter((j) => queries[j].call < 0);
  if (noCall.length > 0) {
    const spans = projectedSpans(trace, deviceId, ranges, links).sort(byStartLongerFirst);
    sweepOpen(spans, noCall, (j) => queries[j].gpuStart, take);
  }
  return { phase, microBatch, seen };
}

/** Phases of kernel rows of one device: opPhases with each kernel's launch call. */
export function kernelPhases(trace: Trace, deviceId: number, rows: ArrayLike<number>, links: CallLinks = callLinks(trace)): OpPhases {
  return opPhases(trace, deviceId, Array.from(rows, (i) => ({ call: links.kernelCall[i], gpuStart: trace.kernels.start[i] })), links);
}

/** NVTX ranges a communication library opens around its calls: NCCL's own ("ncclAllReduce", "ncclAlltoAll"), PyTorch's "nccl:all_to_all". */
export const COMMUNICATION_RANGE = /^(?:nccl[A-Z]\w*|nccl:\w+|rccl[A-Z]\w*|rccl:\w+)$/;

/** Whether any NVTX range's text names a communication library's call (COMMUNICATION_RANGE). */
export function hasCommunicationRanges(trace: Trace): boolean {
  const { nvtx, strings } = trace;
  // per string index: 0 not yet tested, 1 no, 2 a communication call's name. One walk of the text
  // column, each row tested for being a range only when its text names such a call: no list of
  // the range rows, no Map lookup a range (266k of them)
  const verdict = new Int8Array(strings.length);
  for (let i = 0; i < nvtx.count; i++) {
    const t = nvtx.text[i];
    if (t < 0 || t >= strings.length || verdict[t] === 1) continue;
    if (verdict[t] === 0) verdict[t] = COMMUNICATION_RANGE.test(strings[t] ?? '') ? 2 : 1;
    if (verdict[t] === 2 && isNvtxRange(trace, i)) return true;
  }
  return false;
}

/**
 * For launch calls (runtime rows, -1 unknown): the text of the innermost communication-library
 * range around each (same thread), or null. Copies NCCL issues for a collective (at world size 1
 * an all-to-all is one cudaMemcpyAsync) are communication by this.
 */
export function communicationRangeOfCalls(trace: Trace, calls: readonly number[]): (string | null)[] {
  const { nvtx, strings, runtime: rt } = trace;
  const out: (string | null)[] = calls.map(() => null);
  const isComm = new Map<number, boolean>();
  const byThread = new Map<number, (Span & { text: string })[]>();
  for (const row of nvtxRangeRows(trace)) {
    const t = nvtx.text[row];
    if (t < 0) continue;
    let comm = isComm.get(t);
    if (comm === undefined) isComm.set(t, (comm = COMMUNICATION_RANGE.test(strings[t] ?? '')));
    if (!comm) continue;
    let list = byThread.get(nvtx.thread[row]);
    if (!list) byThread.set(nvtx.thread[row], (list = []));
    list.push({ start: nvtx.start[row], end: nvtx.end[row], phase: -1, microBatch: -1, text: strings[t] ?? '' });
  }
  if (byThread.size === 0) return out;
  const perThread = new Map<number, number[]>();
  calls.forEach((call, j) => {
    if (call < 0 || !byThread.has(rt.thread[call])) return;
    const l = perThread.get(rt.thread[call]);
    if (l) l.push(j); else perThread.set(rt.thread[call], [j]);
  });
  for (const [thread, js] of perThread) {
    const list = byThread.get(thread)!.sort(byStartLongerFirst);
    sweepOpen(list, js, (j) => rt.start[calls[j]], (j, t, open) => {
      for (let a = open.length - 1; a >= 0; a--) {
        const r = open[a] as Span & { text: string };
        if (r.start <= t && t < r.end) { out[j] = r.text; return; }
      }
    });
  }
  return out;
}

/** NVTX ranges naming a phase or a micro-batch, by start, the longer first on equal starts. */
function phaseRanges(trace: Trace): PhaseRange[] {
  const out: PhaseRange[] = [];
  const { nvtx, strings } = trace;
  const memo = new Map<number, { phase: number; microBatch: number }>();
  for (const row of nvtxRangeRows(trace)) {
    const text = nvtx.text[row];
    if (text < 0) continue;
    let m = memo.get(text);
    if (!m) {
      const s = strings[text] ?? '';
      const ph = phaseOfText(s);
      m = { phase: ph === null ? -1 : PHASES.indexOf(ph), microBatch: microBatchOfText(s) ?? -1 };
      memo.set(text, m);
    }
    if (m.phase < 0 && m.microBatch < 0) continue;
    out.push({ start: nvtx.start[row], end: nvtx.end[row], phase: m.phase, microBatch: m.microBatch, row });
  }
  return out.sort((a, b) => a.start - b.start || b.end - a.end || a.row - b.row);
}

/** The phase ranges' GPU projections on the device ([first op start, last op end]). */
function projectedSpans(trace: Trace, deviceId: number, ranges: PhaseRange[], links?: CallLinks): { start: number; end: number; phase: number; microBatch: number }[] {
  const proj = projectNvtxRanges(trace, { deviceId, ranges: ranges.map((r) => r.row), includeTransfers: false, links });
  const out: { start: number; end: number; phase: number; microBatch: number }[] = [];
  for (let q = 0; q < proj.count; q++) {
    if (!Number.isFinite(proj.gpuStart[q])) continue;
    out.push({ start: proj.gpuStart[q], end: proj.gpuEnd[q], phase: ranges[q].phase, microBatch: ranges[q].microBatch });
  }
  return out;
}
