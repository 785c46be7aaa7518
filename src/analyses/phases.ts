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
import { nvtxRangeRows, projectNvtxRanges } from './nvtx-projection.js';

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

/** Phases of GPU operations of one device, by their launch calls (or GPU start when the call is unknown). */
export function opPhases(trace: Trace, deviceId: number, queries: readonly PhaseQuery[], links?: CallLinks): OpPhases {
  const phase = new Int8Array(queries.length).fill(-1);
  const microBatch = new Int32Array(queries.length).fill(-1);
  const ranges = phaseRanges(trace);
  const seen = [...new Set(ranges.filter((r) => r.phase >= 0).map((r) => r.phase))].sort((a, b) => a - b).map((i) => PHASES[i]);
  if (ranges.length === 0 || queries.length === 0) return { phase, microBatch, seen };
  // by thread, by start: each launch call looks for the ranges around it on its thread
  const byThread = new Map<number, PhaseRange[]>();
  for (const r of ranges) {
    const t = trace.nvtx.thread[r.row];
    let list = byThread.get(t);
    if (!list) byThread.set(t, (list = []));
    list.push(r);
  }
  const rt = trace.runtime;
  let gpuSpans: { start: number; end: number; phase: number; microBatch: number }[] | null = null;
  queries.forEach((q, j) => {
    let around: { phase: number; microBatch: number }[] = [];
    if (q.call >= 0) {
      const list = byThread.get(rt.thread[q.call]) ?? [];
      const t = rt.start[q.call];
      // innermost last: ranges sorted by start, the longer first on ties
      around = list.filter((r) => r.start <= t && t < r.end);
    }
    // none on the call's thread (DDP launches backward's kernels and all-reduces from autograd's
    // thread while "## backward ##" is open on the main one): a range open at the call on another
    // thread of the same process
    if (around.length === 0 && q.call >= 0) {
      const process = trace.threads[rt.thread[q.call]]?.process ?? -1;
      const t = rt.start[q.call];
      around = ranges.filter((r) => r.start <= t && t < r.end && process >= 0 && trace.threads[trace.nvtx.thread[r.row]]?.process === process);
    }
    // no launch call: the phase range whose GPU projection holds the start
    if (around.length === 0 && q.call < 0) {
      gpuSpans ??= projectedSpans(trace, deviceId, ranges, links);
      const t = q.gpuStart;
      around = gpuSpans.filter((r) => r.start <= t && t < r.end).sort((a, b) => a.start - b.start || b.end - a.end);
    }
    for (let a = around.length - 1; a >= 0; a--) {
      if (phase[j] < 0 && around[a].phase >= 0) phase[j] = around[a].phase;
      if (microBatch[j] < 0 && around[a].microBatch >= 0) microBatch[j] = around[a].microBatch;
    }
  });
  return { phase, microBatch, seen };
}

/** Phases of kernel rows of one device: opPhases with each kernel's launch call. */
export function kernelPhases(trace: Trace, deviceId: number, rows: ArrayLike<number>, links: CallLinks = callLinks(trace)): OpPhases {
  return opPhases(trace, deviceId, Array.from(rows, (i) => ({ call: links.kernelCall[i], gpuStart: trace.kernels.start[i] })), links);
}

/** NVTX ranges a communication library opens around its calls: NCCL's own ("ncclAllReduce", "ncclAlltoAll"), PyTorch's "nccl:all_to_all". */
export const COMMUNICATION_RANGE = /^(?:nccl[A-Z]\w*|nccl:\w+|rccl[A-Z]\w*|rccl:\w+)$/;

/**
 * For launch calls (runtime rows, -1 unknown): the text of the innermost communication-library
 * range around each (same thread), or null. Copies NCCL issues for a collective (at world size 1
 * an all-to-all is one cudaMemcpyAsync) are communication by this.
 */
export function communicationRangeOfCalls(trace: Trace, calls: readonly number[]): (string | null)[] {
  const { nvtx, strings, runtime: rt } = trace;
  const byThread = new Map<number, { start: number; end: number; text: string }[]>();
  for (const row of nvtxRangeRows(trace)) {
    const t = nvtx.text[row];
    if (t < 0) continue;
    const text = strings[t] ?? '';
    if (!COMMUNICATION_RANGE.test(text)) continue;
    let list = byThread.get(nvtx.thread[row]);
    if (!list) byThread.set(nvtx.thread[row], (list = []));
    list.push({ start: nvtx.start[row], end: nvtx.end[row], text });
  }
  if (byThread.size === 0) return calls.map(() => null);
  for (const list of byThread.values()) list.sort((a, b) => a.start - b.start || b.end - a.end);
  return calls.map((call) => {
    if (call < 0) return null;
    const list = byThread.get(rt.thread[call]);
    if (!list) return null;
    const t = rt.start[call];
    let found: string | null = null;
    for (const r of list) {
      if (r.start > t) break;
      if (t < r.end) found = r.text;
    }
    return found;
  });
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
