/**
 * What would a fix gain? (issue 15, DESIGN.md "What-if replay"). A discrete-event replay of the
 * window from the trace itself, then the same replay with the input edited per scenario:
 *
 * - host threads walk their recorded API calls in order, each taking its recorded time, with the
 *   recorded host time between calls kept;
 * - a GPU operation is ready at max(its launch call's end + launch latency, end of the previous
 *   operation on its stream + the stream's back-to-back latency, end of the operations recorded
 *   before the events its stream waits on via cudaStreamWaitEvent); a kernel takes
 *   min(1, blocks / (SMs × resident blocks per SM)) of the GPU and runs when the running kernels
 *   leave it that much (or nothing runs); copies and sets use the copy engines;
 * - a blocking call returns when the operation it waited for (in the recording: the latest-ending
 *   operation issued before it that ended before it returned) has finished, plus the time the call
 *   took after that wait in the recording.
 *
 * The unchanged replay must reproduce the measurement (`replayError`). Every scenario is also
 * replayed with the host's own time (calls that do not block, host time between calls) multiplied
 * by each factor of HOST_TIME_FACTORS (`hostSpeed`): another process's host runs at its own speed,
 * and `compare` reads the projection at the other capture's. Scenarios:
 * - no-host-syncs: blocking calls take no time and wait for nothing; the small device-to-host
 *   copies (≤ 1 KiB) whose values they waited for are gone; launches move earlier; stream order
 *   and event dependencies stay;
 * - free-launches: launch-type calls (kernel launches, async copies and sets, event records and
 *   stream waits) cost nothing and the host time between them is gone, as in a CUDA graph replay;
 *   each operation still pays the GPU-side per-op cost measured in the trace (back-to-back latency);
 * - perfect-overlap: free launches, no host syncs, and each expert instance a dependency chain of
 *   its own (experts depend only on the work before the expert block; the work after it waits for
 *   all of them); kernels run their alone durations (contention) within the GPU's capacity;
 * - grouped: each iteration's expert kernels become one batched kernel per position in the expert's
 *   kernel sequence (up GEMM, activation, down GEMM), launched once, with no syncs or host work
 *   between experts. Its duration: the experts' SM-time (Σ duration × SM share) at full occupancy,
 *   bounded below by the longest expert kernel's time at the rate of the expert kernel that used
 *   the most SMs, and by the kernel-time floor of the biggest expert's share. Expert GEMMs of
 *   known weights that are memory-bound cost their bytes at the GPU's bandwidth; when the cost of
 *   those whose weights are unknown (between nothing and their SM-time) moves the projection by
 *   more than GROUPED_MAX_SPREAD, grouped is not projected (`notProjected`). See docs/metrics.md.
 */
import type { IntColumn, Trace } from '../model/trace.js';
import { HOST_TIME_FACTORS, type WhatIfReport, type WhatIfScenario, type WhatIfScenarioName } from '../report/expert-types.js';
import { callLinks, type CallLinks } from './correlation.js';
import { blockingIndex, type BlockingIndex } from './blocking-calls.js';
import { kernelFill, smLimits } from './sm-fill.js';
import { expertInstances, GEMM_NAME, instanceTokens, instanceWeights, type ExpertInstances } from './experts.js';
import { contentionKey, configText, kernelContention, type ContentionResult } from './contention.js';
import { analyzeNvtxRanges } from './nvtx-ranges.js';
import { MemcpyKind } from '../model/trace.js';
import { union, upperBound } from '../model/intervals.js';
import { isAnalysedApiCall } from './api-calls.js';

const KIND_KERNEL = 0;
const KIND_MEMCPY = 1;
const KIND_MEMSET = 2;
/** Windows with more GPU operations are not replayed (the replay is quadratic in places); narrow W with --range. */
export const REPLAY_MAX_OPS = 20000;
/** Scenarios are projected only when the unchanged replay reproduces the measurement this well. */
export const REPLAY_MAX_ERROR = 0.1;
/** A blocking call waited for one of the last this-many operations issued before it. */
const TARGET_SCAN = 4096;
/**
 * The grouped scenario is projected only when what the trace cannot tell, the cost of expert GEMMs
 * whose weights or token counts are unknown (between nothing and their SM-time), moves it by at
 * most this much: the projection's own target (docs/metrics.md).
 */
export const GROUPED_MAX_SPREAD = 0.25;
/** A device-to-host copy at most this big, right before a blocking call, is a read-back. */
export const READBACK_MAX_BYTES = 1024;

/** The replay's input: host calls per thread and GPU operations, with their recorded times. */
export interface ReplayInput {
  /** host calls, outermost only, grouped by thread and in start order within each */
  calls: {
    count: number;
    thread: Int32Array;
    start: Float64Array;
    end: Float64Array;
    /** 0 other, 1 blocking, 2 launch-type (launches ops, records an event, waits on one) */
    kind: Uint8Array;
    /** runtime row */
    row: Int32Array;
    /** op index it waited for (blocking calls), -1 none */
    waitsFor: Int32Array;
    /** recorded time the call took after what it waited for finished */
    residual: Float64Array;
  };
  /** first call index of each thread's calls (threadStart[t] .. threadStart[t + 1]) */
  threadStart: number[];
  ops: {
    count: number;
    kind: Uint8Array;
    /** trace row (in its table) */
    row: Int32Array;
    stream: Int32Array;
    start: Float64Array;
    end: Float64Array;
    /** index into calls, -1 when the op had no launch call in the replay */
    call: Int32Array;
    /** fraction of the GPU's SMs it holds while running */
    share: Float64Array;
    /** ops it waits for beyond its stream predecessor (event waits) */
    deps: number[][];
    /** the previous op on its stream in issue order, -1 none */
    prev: Int32Array;
    /** DtoH copy of at most READBACK_MAX_BYTES */
    readback: Uint8Array;
    /**
     * how long before its stream predecessor's end the kernel started in the recording (a
     * programmatic dependent launch, or cuBLAS' split-K reduce): it may start that much before the
     * predecessor ends, beside it; 0 otherwise
     */
    lead: Float64Array;
  };
  eventWaits: number;
  launchLatency: number;
  backToBack: number;
  /** the shortest kernel of the window: what any kernel costs however little it does (grouped) */
  fixedCost: number;
  /** replayed span start: the first op's recorded start */
  t0: number;
  /** measured span: last op end − first op start */
  measuredSpan: number;
}

export function buildReplayInput(
  trace: Trace, deviceId: number, window: { start: number; end: number },
  index: { links?: CallLinks; blocking?: BlockingIndex } = {},
): ReplayInput | null {
  const { kernels, memcpy, memset, runtime, strings } = trace;
  const links = index.links ?? callLinks(trace);
  // ops starting in W
  type Op = { kind: number; row: number; start: number; end: number; stream: number; callRow: number };
  // count first: a million-kernel window is not replayed, and costs no object per kernel
  let inWindow = 0;
  for (const cols of [kernels, memcpy, memset]) {
    const { count, deviceId: dev, start } = cols;
    const { start: w0, end: w1 } = window;
    for (let i = 0; i < count; i++) if (dev[i] === deviceId && start[i] >= w0 && start[i] <= w1) inWindow++;
  }
  if (inWindow > REPLAY_MAX_OPS) return null;
  const list: Op[] = [];
  const add = (kind: number, cols: { count: number; deviceId: IntColumn; start: Float64Array; end: Float64Array; streamId: IntColumn }, call: Int32Array) => {
    const { count, deviceId: dev, start } = cols;
    const { start: w0, end: w1 } = window;
    for (let i = 0; i < count; i++) {
      if (dev[i] !== deviceId || start[i] < w0 || start[i] > w1) continue;
      // a CUDA graph's nodes all link to one cudaGraphLaunch and follow the graph's edges, which
      // the trace does not record: they replay at their recorded times
      const graphNode = kind === KIND_KERNEL && kernels.graphNodeId[i] >= 0;
      list.push({ kind, row: i, start: cols.start[i], end: cols.end[i], stream: cols.streamId[i], callRow: graphNode ? -1 : call[i] });
    }
  };
  add(KIND_KERNEL, kernels, links.kernelCall);
  add(KIND_MEMCPY, memcpy, links.memcpyCall);
  add(KIND_MEMSET, memset, links.memsetCall);
  if (list.filter((o) => o.kind === KIND_KERNEL).length === 0 || list.length > REPLAY_MAX_OPS) return null;
  // issue order: by launch call start (ops without a call: by their own start)
  const issueKey = (o: Op) => (o.callRow >= 0 ? runtime.start[o.callRow] : o.start);
  list.sort((a, b) => issueKey(a) - issueKey(b) || a.start - b.start);
  let t0Host = Infinity;
  const threads = new Set<number>();
  for (const o of list) if (o.callRow >= 0) { threads.add(runtime.thread[o.callRow]); t0Host = Math.min(t0Host, runtime.start[o.callRow]); }
  const lastOpEnd = Math.max(...list.map((o) => o.end));
  // host calls of those threads in [t0Host, last op end], outermost only
  // only the calls analyze keeps (api-calls.ts): the replay must not depend on what the reader kept
  const analysed = new Map<number, boolean>();
  const kept = (r: number): boolean => {
    let k = analysed.get(runtime.name[r]);
    if (k === undefined) analysed.set(runtime.name[r], (k = isAnalysedApiCall(strings[runtime.name[r]] ?? '')));
    return k;
  };
  const byThread = new Map<number, number[]>();
  for (let r = 0; r < runtime.count; r++) {
    if (runtime.start[r] < t0Host || runtime.start[r] > lastOpEnd) continue;
    const t = runtime.thread[r];
    if (!threads.has(t) || !kept(r)) continue;
    const l = byThread.get(t);
    if (l) l.push(r); else byThread.set(t, [r]);
  }
  const rows: number[] = [];
  const threadOf: number[] = [];
  const threadStart: number[] = [];
  const outerOf = new Map<number, number>();
  let ti = 0;
  for (const [, rs] of byThread) {
    rs.sort((a, b) => runtime.start[a] - runtime.start[b] || runtime.end[b] - runtime.end[a]);
    threadStart.push(rows.length);
    let outerEnd = -Infinity;
    let outer = -1;
    for (const r of rs) {
      if (runtime.end[r] <= outerEnd && outer >= 0) { outerOf.set(r, outer); continue; }
      outer = rows.length;
      outerEnd = runtime.end[r];
      outerOf.set(r, outer);
      rows.push(r);
      threadOf.push(ti);
    }
    ti++;
  }
  threadStart.push(rows.length);
  const nc = rows.length;
  const blocking = index.blocking ?? blockingIndex(trace, links);
  const calls: ReplayInput['calls'] = {
    count: nc, thread: new Int32Array(nc), start: new Float64Array(nc),
    end: new Float64Array(nc), kind: new Uint8Array(nc), row: new Int32Array(nc),
    waitsFor: new Int32Array(nc).fill(-1), residual: new Float64Array(nc),
  };
  // (typed arrays filled by loops: TypedArray.from walks an array through its iterator)
  for (let c = 0; c < nc; c++) {
    const r = rows[c];
    calls.thread[c] = threadOf[c];
    calls.start[c] = runtime.start[r];
    calls.end[c] = runtime.end[r];
    calls.row[c] = r;
  }
  const nameOf = (r: number) => strings[runtime.name[r]] ?? '';
  for (let c = 0; c < nc; c++) {
    const r = rows[c];
    // a nested blocking call (cuStreamSynchronize inside cudaStreamSynchronize) makes its outer call blocking
    if (blocking.reason[r] >= 0) calls.kind[c] = 1;
    else if (/EventRecord|StreamWaitEvent/.test(nameOf(r))) calls.kind[c] = 2;
  }
  for (const [r, c] of outerOf) if (blocking.reason[r] >= 0) calls.kind[c] = 1;
  // ops
  const n = list.length;
  const limits = smLimits(trace.gpus.find((g) => g.deviceId === deviceId));
  const ops: ReplayInput['ops'] = {
    count: n, kind: new Uint8Array(n), row: new Int32Array(n), stream: new Int32Array(n),
    start: new Float64Array(n), end: new Float64Array(n),
    call: new Int32Array(n),
    share: new Float64Array(n), deps: list.map(() => []), prev: new Int32Array(n).fill(-1), readback: new Uint8Array(n), lead: new Float64Array(n),
  };
  for (let j = 0; j < n; j++) {
    const o = list[j];
    ops.kind[j] = o.kind;
    ops.row[j] = o.row;
    ops.stream[j] = o.stream;
    ops.start[j] = o.start;
    ops.end[j] = o.end;
    ops.call[j] = o.callRow >= 0 ? (outerOf.get(o.callRow) ?? -1) : -1;
  }
  const shareOfConfig = new Map<number, number>();
  for (let j = 0; j < n; j++) {
    const o = list[j];
    if (o.kind === KIND_KERNEL && limits) {
      const cfg = kernels.launchConfig[o.row];
      let sh = shareOfConfig.get(cfg);
      if (sh === undefined) {
        const f = kernelFill(trace.launchConfigs[cfg], limits);
        shareOfConfig.set(cfg, (sh = f.waves === null ? 1 : Math.min(1, f.waves)));
      }
      ops.share[j] = sh;
    } else if (o.kind === KIND_KERNEL) ops.share[j] = 1;
    if (o.kind === KIND_MEMCPY && memcpy.copyKind[o.row] === MemcpyKind.DtoH && memcpy.bytes[o.row] <= READBACK_MAX_BYTES) ops.readback[j] = 1;
    if (ops.call[j] >= 0 && calls.kind[ops.call[j]] === 0) calls.kind[ops.call[j]] = 2;
  }
  // issue time of each op (ascending: ops are in issue order) and each stream's ops
  const issue = new Float64Array(n);
  for (let j = 0; j < n; j++) issue[j] = ops.call[j] >= 0 ? calls.start[ops.call[j]] : ops.start[j];
  for (let j = 1; j < n; j++) if (issue[j] < issue[j - 1]) issue[j] = issue[j - 1];
  const onStream = new Map<number, number[]>();
  for (let j = 0; j < n; j++) {
    const l = onStream.get(ops.stream[j]);
    if (l) l.push(j); else onStream.set(ops.stream[j], [j]);
  }
  /** ops issued at or before t: issue[0 .. issuedBy(t)) */
  const issuedBy = (t: number): number => upperBound(issue, n, t);
  // stream order in issue order
  const lastOn = new Map<number, number>();
  for (let j = 0; j < n; j++) {
    const p = lastOn.get(ops.stream[j]);
    if (p !== undefined) ops.prev[j] = p;
    if (p !== undefined && ops.kind[j] === KIND_KERNEL && ops.kind[p] === KIND_KERNEL && ops.start[j] < ops.end[p] && ops.start[j] >= ops.start[p]) {
      ops.lead[j] = ops.end[p] - ops.start[j];
    }
    lastOn.set(ops.stream[j], j);
  }
  // event waits: the op recorded before the event on its stream → the next op on the waiting stream
  let eventWaits = 0;
  const ev = trace.cudaEvents;
  if (ev && ev.waits.count > 0 && ev.records.count > 0) {
    // correlation ids are unique per process: key (process, correlationId) as one number
    const P = trace.processes.length + 2;
    const callByCorr = new Map<number, number>();
    for (const [r, c] of outerOf) {
      const t = runtime.thread[r];
      const p = t >= 0 ? trace.threads[t].process : -1;
      callByCorr.set(runtime.correlationId[r] * P + (p + 1), c);
    }
    const callOf = (process: number, corr: number): number => callByCorr.get(corr * P + (process + 1)) ?? -1;
    const recordCall = new Map<string, { call: number; stream: number }>();
    for (let i = 0; i < ev.records.count; i++) {
      if (ev.records.deviceId[i] !== deviceId) continue;
      const c = callOf(ev.records.process[i], ev.records.correlationId[i]);
      if (c >= 0) recordCall.set(`${ev.records.eventId[i]}:${ev.records.eventSyncId[i]}`, { call: c, stream: ev.records.streamId[i] });
    }
    // the last op issued on a stream at or before a call
    const opsIssuedBefore = (stream: number, c: number): number => {
      const l = onStream.get(stream);
      if (!l) return -1;
      const t = calls.start[c];
      let lo = 0;
      let hi = l.length;
      while (lo < hi) { const m = (lo + hi) >> 1; if (issue[l[m]] <= t) lo = m + 1; else hi = m; }
      return lo > 0 ? l[lo - 1] : -1;
    };
    const pendingWaits: { stream: number; time: number; dep: number }[] = [];
    for (let i = 0; i < ev.waits.count; i++) {
      if (ev.waits.deviceId[i] !== deviceId) continue;
      const rec = recordCall.get(`${ev.waits.eventId[i]}:${ev.waits.eventSyncId[i]}`);
      const wc = callOf(ev.waits.process[i], ev.waits.correlationId[i]);
      if (rec === undefined || wc < 0) continue;
      const dep = opsIssuedBefore(rec.stream, rec.call);
      if (dep < 0) continue;
      pendingWaits.push({ stream: ev.waits.streamId[i], time: calls.start[wc], dep });
    }
    pendingWaits.sort((a, b) => a.time - b.time);
    // each wait binds the first op issued on its stream after it
    for (const w of pendingWaits) {
      const l = onStream.get(w.stream);
      if (!l) continue;
      let lo = 0;
      let hi = l.length;
      while (lo < hi) { const m = (lo + hi) >> 1; if (issue[l[m]] < w.time) lo = m + 1; else hi = m; }
      if (lo < l.length && l[lo] !== w.dep) { ops.deps[l[lo]].push(w.dep); eventWaits++; }
    }
  }
  // blocking calls: what each waited for
  const byCall = new Map<number, number[]>();
  for (let j = 0; j < n; j++) if (ops.call[j] >= 0) { const l = byCall.get(ops.call[j]); if (l) l.push(j); else byCall.set(ops.call[j], [j]); }
  const opsOfCallIn = (c: number): number[] => byCall.get(c) ?? [];
  // the latest end of each block of BLOCK ops (issue order): a scan for the latest-ending op skips
  // the blocks that hold nothing later than what it found
  const BLOCK = 64;
  const blockEnd = new Float64Array(Math.ceil(n / BLOCK)).fill(-Infinity);
  for (let j = 0; j < n; j++) if (ops.end[j] > blockEnd[j / BLOCK | 0]) blockEnd[j / BLOCK | 0] = ops.end[j];
  for (let c = 0; c < nc; c++) {
    if (calls.kind[c] !== 1) { calls.residual[c] = calls.end[c] - calls.start[c]; continue; }
    const s = calls.start[c];
    const e = calls.end[c];
    let target = -1;
    // its own ops (a synchronous copy) and those issued before it; the recent ones suffice
    let k = issuedBy(s);
    for (const j of opsOfCallIn(c)) if (j + 1 > k) k = j + 1;
    for (let j = k - 1; j >= 0 && j >= k - TARGET_SCAN; j--) {
      // nothing in j's block ends later than the target: none of it can take its place
      if (target >= 0 && blockEnd[j / BLOCK | 0] <= ops.end[target]) { j = (j / BLOCK | 0) * BLOCK; continue; }
      if (ops.end[j] <= e + 1000 && (target < 0 || ops.end[j] > ops.end[target])) target = j;
    }
    if (target >= 0 && ops.end[target] > s) {
      calls.waitsFor[c] = target;
      calls.residual[c] = Math.max(0, e - ops.end[target]);
    } else calls.residual[c] = e - s;
  }
  // latencies measured in the recording. A back-to-back sample is the gap between a kernel and
  // the end of what it waited for only when no other operation ran in that gap: a kernel queued
  // behind other streams' kernels for SMs (saturated streams) waited for capacity, not latency.
  const busy = union(ops.start, ops.end, n);
  const idleBetween = (a: number, b: number): boolean => {
    // the first busy interval ending after a starts at or after b
    let lo = 0;
    let hi = busy.count;
    while (lo < hi) { const m = (lo + hi) >> 1; if (busy.end[m] <= a) lo = m + 1; else hi = m; }
    return lo >= busy.count || busy.start[lo] >= b;
  };
  const hostSlack: number[] = [];
  const b2b: number[] = [];
  for (let j = 0; j < n; j++) {
    let depEnd = ops.prev[j] >= 0 ? ops.end[ops.prev[j]] : -Infinity;
    for (const d of ops.deps[j]) depEnd = Math.max(depEnd, ops.end[d]);
    const c = ops.call[j];
    const callEnd = c >= 0 ? calls.end[c] : -Infinity;
    if (callEnd >= depEnd && c >= 0) hostSlack.push(ops.start[j] - callEnd);
    else if (depEnd > -Infinity && ops.kind[j] === KIND_KERNEL && ops.lead[j] === 0 && idleBetween(depEnd, ops.start[j])) b2b.push(ops.start[j] - depEnd);
  }
  const med = (v: number[], d: number) => {
    if (v.length === 0) return d;
    const a = [...v].sort((x, y) => x - y);
    return a[a.length >> 1];
  };
  const first = Math.min(...Array.from(ops.start));
  let fixedCost = Infinity;
  for (let j = 0; j < n; j++) if (ops.kind[j] === KIND_KERNEL && ops.end[j] - ops.start[j] > 0) fixedCost = Math.min(fixedCost, ops.end[j] - ops.start[j]);
  return {
    fixedCost: Number.isFinite(fixedCost) ? fixedCost : 0,
    calls, threadStart, ops, eventWaits, launchLatency: med(hostSlack, 0), backToBack: Math.max(0, med(b2b, 0)),
    t0: first, measuredSpan: lastOpEnd - first,
  };
}

/** The edits a scenario makes to the replay input. */
export interface ReplayEdits {
  /** per call: duration to use (default: recorded) */
  callDuration?: (c: number) => number;
  /** per call: host time before it (default: recorded gap) */
  callGap?: (c: number) => number;
  /** blocking calls wait for nothing */
  noWaits?: boolean;
  /** ops removed */
  removed?: Uint8Array;
  /** per removed op: the kept op that does its work (what depended on it waits for that), -1 none */
  replacedBy?: Int32Array;
  /** per op: duration to use */
  opDuration?: (j: number) => number;
  /** per op: dependencies replacing stream order and event waits (op indices) */
  depsOf?: (j: number) => number[];
  /** per op: ready time offset after its launch call (default: the measured launch latency) */
  hostLatency?: number;
  /**
   * the host's speed: every host time that is the CPU's own work, the duration of each call that
   * is not blocking (after the edits above) and the host time before each call, multiplied by
   * this (default 1: as recorded). A blocking call's wait and the time it took after the wait
   * (the wake-up) are not scaled, nor the launch latency (the driver and the GPU's).
   */
  hostTimeFactor?: number;
}

/** Replays the input under the edits; returns the span from the first op start to the last op end. */
export function replay(input: ReplayInput, edits: ReplayEdits = {}): number {
  return runReplay(input, planReplay(input, edits), edits.hostTimeFactor ?? 1, replayState(input.ops.count));
}

/**
 * The same edits replayed at each host-time factor (ReplayEdits.hostTimeFactor; the edits' own
 * factor is ignored): the dependency graph and the per-op and per-call times are built once, and
 * the replays reuse one state.
 */
export function replayAtHostTimes(input: ReplayInput, edits: ReplayEdits, factors: readonly number[]): number[] {
  const plan = planReplay(input, edits);
  const state = replayState(input.ops.count);
  return factors.map((f) => runReplay(input, plan, f, state));
}

/** What the edits make of the input, before any host speed: the replay's graph and times. */
interface ReplayPlan {
  removed: Uint8Array;
  /** per op: its duration */
  dur: Float64Array;
  /** kept ops' successors (CSR: succ[succStart[j] .. succStart[j + 1])) and how many dependencies each waits for */
  succStart: Int32Array;
  succ: Int32Array;
  waiting: Int32Array;
  /** kept ops of each call (CSR over calls) */
  callOpStart: Int32Array;
  callOps: Int32Array;
  /** per call: 0 waits for its op then takes `callTime` more, 1 takes `callTime` (host speed aside), 2 takes `callTime` × the host-time factor */
  callMode: Uint8Array;
  callTime: Float64Array;
  /** per call: recorded (or edited) host time before it; 0 for a thread's first call */
  callGap: Float64Array;
  hostLatency: number;
}

function planReplay(input: ReplayInput, edits: ReplayEdits): ReplayPlan {
  const { calls, ops } = input;
  const n = ops.count;
  const nc = calls.count;
  const removed = edits.removed ?? new Uint8Array(n);
  const dur = new Float64Array(n);
  for (let j = 0; j < n; j++) dur[j] = edits.opDuration ? edits.opDuration(j) : ops.end[j] - ops.start[j];
  const depsOf = (j: number): number[] => {
    if (edits.depsOf) return edits.depsOf(j);
    const d = [...ops.deps[j]];
    if (ops.prev[j] >= 0) d.push(ops.prev[j]);
    return d;
  };
  // dependency graph over kept ops; a removed op passes its own dependencies on. Per kept op
  // (its stamp): the ops seen, and those in `out` (in the order first added)
  const seenAt = new Int32Array(n);
  const outAt = new Int32Array(n);
  let stamp = 0;
  const add = (out: number[], d: number) => { if (outAt[d] !== stamp) { outAt[d] = stamp; out.push(d); } };
  const resolve = (j: number, out: number[]) => {
    for (const d of depsOf(j)) {
      if (seenAt[d] === stamp) continue;
      seenAt[d] = stamp;
      const r = edits.replacedBy ? edits.replacedBy[d] : -1;
      if (removed[d] && r >= 0 && r !== j) add(out, r);
      else if (removed[d]) resolve(d, out);
      else add(out, d);
    }
  };
  let anyRemoved = false;
  for (let j = 0; j < n && !anyRemoved; j++) if (removed[j]) anyRemoved = true;
  const deps: number[][] = new Array(n);
  let edges = 0;
  for (let j = 0; j < n; j++) {
    if (removed[j]) continue;
    if (!anyRemoved) deps[j] = depsOf(j);
    else {
      stamp++;
      const out: number[] = [];
      resolve(j, out);
      deps[j] = out;
    }
    edges += deps[j].length;
  }
  const waiting = new Int32Array(n);
  const succStart = new Int32Array(n + 1);
  for (let j = 0; j < n; j++) {
    if (removed[j]) continue;
    waiting[j] = deps[j].length;
    for (const d of deps[j]) succStart[d + 1]++;
  }
  for (let j = 0; j < n; j++) succStart[j + 1] += succStart[j];
  const succ = new Int32Array(edges);
  const fill = succStart.slice(0, n);
  for (let j = 0; j < n; j++) {
    if (removed[j]) continue;
    for (const d of deps[j]) succ[fill[d]++] = j;
  }
  const callOpStart = new Int32Array(nc + 1);
  for (let j = 0; j < n; j++) if (!removed[j] && ops.call[j] >= 0) callOpStart[ops.call[j] + 1]++;
  for (let c = 0; c < nc; c++) callOpStart[c + 1] += callOpStart[c];
  const callOps = new Int32Array(callOpStart[nc]);
  const at = callOpStart.slice(0, nc);
  for (let j = 0; j < n; j++) if (!removed[j] && ops.call[j] >= 0) callOps[at[ops.call[j]]++] = j;
  const callMode = new Uint8Array(nc);
  const callTime = new Float64Array(nc);
  const callGap = new Float64Array(nc);
  for (let c = 0; c < nc; c++) {
    const blocking = calls.kind[c] === 1;
    if (blocking && !edits.noWaits && calls.waitsFor[c] >= 0 && !removed[calls.waitsFor[c]]) {
      callMode[c] = 0;
      callTime[c] = calls.residual[c];
    } else if (blocking && edits.noWaits) {
      callMode[c] = 1;
      callTime[c] = edits.callDuration ? edits.callDuration(c) : 0;
    } else {
      // a blocking call's time is its wait, not host work: only the others take the host's speed
      callMode[c] = blocking ? 1 : 2;
      callTime[c] = edits.callDuration ? edits.callDuration(c) : calls.residual[c];
    }
  }
  for (let t = 0; t + 1 < input.threadStart.length; t++) {
    for (let c = input.threadStart[t] + 1; c < input.threadStart[t + 1]; c++) callGap[c] = edits.callGap ? edits.callGap(c) : calls.start[c] - calls.end[c - 1];
  }
  return { removed, dur, succStart, succ, waiting, callOpStart, callOps, callMode, callTime, callGap, hostLatency: edits.hostLatency ?? input.launchLatency };
}

/** A replay's per-op state, made once for the replays of one input (runReplay resets it). */
interface ReplayState {
  waitingDeps: Int32Array;
  hostReady: Float64Array;
  depReady: Float64Array;
  startT: Float64Array;
  endT: Float64Array;
  readyT: Float64Array;
  held: Float64Array;
  early: Uint8Array;
  /** the queue: ops whose ready time is final and that were not looked at yet, by (ready time, op) */
  queue: Int32Array;
  /** ops ready and looked at that did not fit beside the running ones, by (ready time, op); two buffers, a scan writes the other */
  blocked: Int32Array;
  blockedAlt: Int32Array;
  running: Int32Array;
  released: number[];
}

function replayState(n: number): ReplayState {
  return {
    waitingDeps: new Int32Array(n), hostReady: new Float64Array(n), depReady: new Float64Array(n), startT: new Float64Array(n), endT: new Float64Array(n),
    readyT: new Float64Array(n), held: new Float64Array(n), early: new Uint8Array(n), queue: new Int32Array(n),
    blocked: new Int32Array(n), blockedAlt: new Int32Array(n), running: new Int32Array(n), released: [],
  };
}

/** One replay of a plan with the host's time multiplied by f; the span from the first op start to the last op end. */
function runReplay(input: ReplayInput, plan: ReplayPlan, f: number, state: ReplayState): number {
  const { calls, ops } = input;
  const n = ops.count;
  const { removed, dur, succStart, succ, callOpStart, callOps, callMode, callTime, callGap, hostLatency } = plan;
  const { waitingDeps, hostReady, depReady, startT, endT, readyT, held, early, queue, running, released } = state;
  waitingDeps.set(plan.waiting);
  // GPU state
  hostReady.fill(NaN);
  depReady.fill(-Infinity);
  startT.fill(NaN);
  endT.fill(NaN);
  early.fill(0);
  released.length = 0;
  const opKind = ops.kind;
  const opCall = ops.call;
  const opShare = ops.share;
  const opLead = ops.lead;
  const opPrev = ops.prev;
  // The ops waiting to start, in (ready time, op) order, are in two lists: `queue` (queue[qHead ..
  // qTail)), those not looked at since they were enqueued, and `blocked` (blocked[bHead .. bTail)),
  // ready ops that did not fit beside the running ones. An op's ready time is final once enqueued
  // (both parts are set before and not after), and so is its share (early is set before).
  let qHead = 0;
  let qTail = 0;
  let blocked = state.blocked;
  let blockedAlt = state.blockedAlt;
  let bHead = 0;
  let bTail = 0;
  /** at most the least share of the blocked ops (Infinity: none) */
  let bMin = Infinity;
  let nRunning = 0;
  let used = 0;
  let now = -Infinity;
  // false while a tryStart would start nothing: nothing enqueued, no clock move and nothing ended since the last
  let dirty = true;
  const b2b = input.backToBack;
  /** (ready time, op) order */
  const before = (a: number, b: number): boolean => readyT[a] < readyT[b] || (readyT[a] === readyT[b] && a < b);
  const enqueueIfReady = (j: number) => {
    if (waitingDeps[j] !== 0 || Number.isNaN(hostReady[j])) return;
    // both parts of its ready time are final now: keep the queue sorted by it
    const r = Math.max(hostReady[j], depReady[j]);
    readyT[j] = r;
    let lo = qHead;
    let hi = qTail;
    while (lo < hi) { const m = (lo + hi) >> 1; const q = queue[m]; const rq = readyT[q]; if (rq < r || (rq === r && q < j)) lo = m + 1; else hi = m; }
    if (lo < qTail) queue.copyWithin(lo + 1, lo, qTail);
    queue[lo] = j;
    qTail++;
    dirty = true;
  };
  const block = (j: number, share: number) => {
    let lo = bHead;
    let hi = bTail;
    while (lo < hi) { const m = (lo + hi) >> 1; if (before(blocked[m], j)) lo = m + 1; else hi = m; }
    if (bTail < n) {
      if (lo < bTail) blocked.copyWithin(lo + 1, lo, bTail);
      blocked[lo] = j;
      bTail++;
    } else {
      // the buffer's end reached: there is room before bHead (fewer than n ops wait)
      blocked.copyWithin(bHead - 1, bHead, lo);
      bHead--;
      blocked[lo - 1] = j;
    }
    if (share < bMin) bMin = share;
  };
  // ops without a launch call in the replay are ready at their recorded start
  for (let j = 0; j < n; j++) if (!removed[j] && opCall[j] < 0) { hostReady[j] = ops.start[j]; }
  for (let j = 0; j < n; j++) if (!removed[j] && opCall[j] < 0) enqueueIfReady(j);
  // ops pinned at their recorded start (graph nodes, no launch call) ran as recorded: no capacity check
  const shareOf = (j: number): number => (opKind[j] === KIND_KERNEL && opCall[j] >= 0 && !early[j] ? opShare[j] : 0);
  const start = (j: number, share: number) => {
    startT[j] = now;
    endT[j] = now + dur[j];
    used += share;
    held[j] = share;
    running[nRunning++] = j;
    for (let k = succStart[j]; k < succStart[j + 1]; k++) { const s = succ[k]; if (opLead[s] > 0 && opPrev[s] === j && !early[s]) released.push(s); }
  };
  // A pass looks at the ready ops in (ready time, op) order and starts each that fits beside the
  // running ones (or when nothing runs). The running ones only grow during a pass: a blocked op
  // stays blocked, and when even the least blocked share does not fit, only the queue's ready
  // ops are looked at.
  // a kernel that started before its stream predecessor ended (ops.lead): released when the
  // predecessor starts, ready `lead` before its end, and run beside it without a capacity check
  const tryStart = () => {
    if (!dirty) return;
    dirty = false;
    for (;;) {
      if (nRunning === 0) {
        // nothing runs: the first ready op starts, whatever its share
        const qReady = qHead < qTail && readyT[queue[qHead]] <= now;
        let j = -1;
        if (bHead < bTail && (!qReady || before(blocked[bHead], queue[qHead]))) j = blocked[bHead++];
        else if (qReady) j = queue[qHead++];
        if (j >= 0) start(j, shareOf(j));
        if (bHead === bTail) bMin = Infinity;
      }
      if (nRunning > 0 && used + bMin > 1 + 1e-9) {
        while (qHead < qTail) {
          const j = queue[qHead];
          if (readyT[j] > now) break;
          qHead++;
          const share = shareOf(j);
          if (share > 0 && used + share > 1 + 1e-9) block(j, share);
          else start(j, share);
        }
      } else {
        // the blocked ops and the queue's ready ones merged, in order; those that do not fit make the new blocked list
        let out = 0;
        let least = Infinity;
        let i = bHead;
        for (;;) {
          const qReady = qHead < qTail && readyT[queue[qHead]] <= now;
          let j: number;
          if (i < bTail && (!qReady || before(blocked[i], queue[qHead]))) j = blocked[i++];
          else if (qReady) j = queue[qHead++];
          else break;
          const share = shareOf(j);
          if (nRunning > 0 && share > 0 && used + share > 1 + 1e-9) { blockedAlt[out++] = j; if (share < least) least = share; }
          else start(j, share);
        }
        const b = blocked;
        blocked = blockedAlt;
        blockedAlt = b;
        bHead = 0;
        bTail = out;
        bMin = least;
      }
      if (released.length === 0) return;
      let again = false;
      for (const s of released) {
        const j = opPrev[s];
        early[s] = 1;
        depReady[s] = Math.max(depReady[s], startT[j], endT[j] - opLead[s]);
        waitingDeps[s]--;
        enqueueIfReady(s);
        if (waitingDeps[s] === 0 && Math.max(hostReady[s], depReady[s]) <= now) again = true;
      }
      released.length = 0;
      if (!again) { dirty = false; return; }
    }
  };
  const step = (limit: number): boolean => {
    tryStart();
    // the next event: the first running op to end, or the first queued op to become ready (after
    // tryStart the queue holds no ready op: its first)
    let t = Infinity;
    for (let q = 0; q < nRunning; q++) { const e = endT[running[q]]; if (e < t) t = e; }
    for (let q = qHead; q < qTail; q++) { const r = readyT[queue[q]]; if (r > now) { if (r < t) t = r; break; } }
    if (t === Infinity || t > limit) return false;
    if (t !== now) dirty = true;
    now = t;
    let kept = 0;
    for (let q = 0; q < nRunning; q++) {
      const j = running[q];
      if (endT[j] <= now) {
        used -= held[j];
        dirty = true;
        for (let k = succStart[j]; k < succStart[j + 1]; k++) {
          const s = succ[k];
          if (early[s] && opPrev[s] === j) continue;
          depReady[s] = Math.max(depReady[s], endT[j] + (opKind[s] === KIND_KERNEL && opKind[j] === KIND_KERNEL ? b2b : 0));
          waitingDeps[s]--;
          enqueueIfReady(s);
        }
      } else running[kept++] = j;
    }
    nRunning = kept;
    if (kept === 0) used = 0;
    return true;
  };
  const advanceTo = (t: number) => {
    if (t > now) {
      while (step(t)) { /* events up to t */ }
      if (t > now) { now = t; dirty = true; }
    }
    tryStart();
  };
  const finish = (j: number): number => {
    while (Number.isNaN(endT[j]) || endT[j] > now) if (!step(Infinity)) break;
    return Number.isNaN(endT[j]) ? now : endT[j];
  };
  // host threads, interleaved by replayed time
  const nThreads = input.threadStart.length - 1;
  const next = input.threadStart.slice(0, nThreads);
  const clock = new Float64Array(nThreads);
  for (let t = 0; t < nThreads; t++) clock[t] = calls.start[input.threadStart[t]];
  for (;;) {
    let t = -1;
    let bestStart = Infinity;
    for (let u = 0; u < nThreads; u++) {
      if (next[u] >= input.threadStart[u + 1]) continue;
      const s = clock[u] + Math.max(0, f * callGap[next[u]]);
      if (s < bestStart) { bestStart = s; t = u; }
    }
    if (t < 0) break;
    const c = next[t]++;
    const s = bestStart;
    advanceTo(s);
    const mode = callMode[c];
    const e = mode === 0 ? Math.max(s, finish(calls.waitsFor[c])) + callTime[c] : s + (mode === 2 ? f * callTime[c] : callTime[c]);
    clock[t] = e;
    for (let k = callOpStart[c]; k < callOpStart[c + 1]; k++) {
      const j = callOps[k];
      hostReady[j] = e + hostLatency;
      enqueueIfReady(j);
    }
  }
  advanceTo(Infinity);
  while (step(Infinity)) { /* drain */ }
  let first = Infinity;
  let last = -Infinity;
  for (let j = 0; j < n; j++) {
    if (removed[j] || Number.isNaN(startT[j])) continue;
    if (startT[j] < first) first = startT[j];
    if (endT[j] > last) last = endT[j];
  }
  return last - first;
}

/** Calls this close after a blocking call on their thread pay its wake-up. */
const WAKE_UP_CALLS = 3;
/**
 * The most a wake-up takes from one call's duration or the host gap before it. Past it the time
 * is the program's own host work after the read-back (a token step's Python between syncs runs
 * milliseconds), which removing the sync does not remove.
 */
const WAKE_UP_MAX_NS = 100_000;

/**
 * Durations and host gaps with the wake-up after blocking calls taken out: a call within
 * WAKE_UP_CALLS after a blocking call on its thread takes the median duration (and host gap
 * before it) of the calls of its API name that followed no blocking call, when that is less.
 */
function wakeUpCosts(trace: Trace, input: ReplayInput): { coldDuration: (c: number) => number; coldGap: (c: number) => number } {
  const { calls } = input;
  const name = (c: number) => trace.runtime.name[calls.row[c]];
  const cold = new Uint8Array(calls.count);
  const warm = new Map<number, { d: number[]; g: number[] }>();
  for (let c = 1; c < calls.count; c++) {
    if (calls.thread[c] !== calls.thread[c - 1]) continue;
    for (let k = c - 1; k >= 0 && k >= c - WAKE_UP_CALLS && calls.thread[k] === calls.thread[c]; k--) if (calls.kind[k] === 1) cold[c] = 1;
    if (cold[c] || calls.kind[c] === 1) continue;
    let w = warm.get(name(c));
    if (!w) warm.set(name(c), (w = { d: [], g: [] }));
    w.d.push(calls.residual[c]);
    w.g.push(calls.start[c] - calls.end[c - 1]);
  }
  const med = (v: number[]) => { const a = [...v].sort((x, y) => x - y); return a[a.length >> 1]; };
  const warmMedian = new Map<number, { d: number; g: number }>();
  for (const [k, w] of warm) if (w.d.length >= 3) warmMedian.set(k, { d: med(w.d), g: med(w.g) });
  return {
    coldDuration: (c) => {
      const w = cold[c] ? warmMedian.get(name(c)) : undefined;
      return w ? warmer(calls.residual[c], w.d) : calls.residual[c];
    },
    coldGap: (c) => {
      const g = calls.start[c] - calls.end[c - 1];
      const w = cold[c] ? warmMedian.get(name(c)) : undefined;
      return w ? warmer(g, w.g) : g;
    },
  };
}

/** A recorded time with its wake-up taken out: down to the warm median, by at most WAKE_UP_MAX_NS. */
const warmer = (recorded: number, warm: number): number => Math.max(Math.min(recorded, warm), recorded - WAKE_UP_MAX_NS);

function isLaunchType(input: ReplayInput, c: number): boolean {
  return input.calls.kind[c] === 2;
}

/** The what-if scenarios of one device's window; null when there is nothing to replay. */
export interface WhatIfContext {
  /** the expert instances (expertInstances), when already found */
  experts?: ExpertInstances | null;
  /** the device's contention (kernelContention), when already measured */
  contention?: ContentionResult;
  /** iterations in the window and how they were found, when already known */
  iterations?: { count: number; source: string } | null;
  /** the trace's call links and blocking calls (TraceIndex), computed when not given */
  links?: CallLinks;
  blocking?: BlockingIndex;
}

export function analyzeWhatIf(trace: Trace, deviceId: number, window: { start: number; end: number }, context: WhatIfContext = {}): WhatIfReport | null {
  const experts = context.experts;
  const input = buildReplayInput(trace, deviceId, window, context);
  if (!input) return null;
  const iters = context.iterations ?? iterationCount(trace, deviceId, window, experts ?? null);
  const measured = input.measuredSpan;
  const scenarios: WhatIfScenario[] = [];
  // each scenario's edits planned once, then replayed at host speed 1 and, when projected, at the grid's others; one state for all
  const state = replayState(input.ops.count);
  type Planned = { span: number; plan: ReplayPlan };
  const planned = (edits: ReplayEdits): Planned => {
    const plan = planReplay(input, edits);
    return { span: runReplay(input, plan, 1, state), plan };
  };
  const push = (scenario: WhatIfScenarioName, description: string, { span, plan }: Planned) => {
    const projected = Math.round(span / iters.count);
    const m = measured / iters.count;
    // the same edits at each host speed of the grid (1: the replay just made)
    const hostSpeed = HOST_TIME_FACTORS.map((hostTimeFactor) => ({
      hostTimeFactor, projectedIterationNs: hostTimeFactor === 1 ? projected : Math.round(runReplay(input, plan, hostTimeFactor, state) / iters.count),
    }));
    scenarios.push({ scenario, description, projectedIterationNs: projected, savingNs: Math.round(m - projected), ratio: projected / m, hostSpeed });
  };
  const unchanged = planned({});
  const base = unchanged.span;
  push('measured', 'the recorded trace replayed unchanged', unchanged);
  const replayError = (base - measured) / measured;
  let unlaunched = 0;
  for (let j = 0; j < input.ops.count; j++) if (input.ops.call[j] < 0) unlaunched++;
  if (unlaunched > input.ops.count / 2) {
    return {
      iterations: iters.count, iterationSource: iters.source, measuredIterationNs: Math.round(measured / iters.count), replayError, scenarios,
      inputs: inputsOf(trace, input),
      note: 'most of the work was launched as a CUDA graph (or has no launch call in the trace): there are no launches, syncs or streams to edit, so no scenario is projected',
    };
  }
  if (!(Math.abs(replayError) <= REPLAY_MAX_ERROR)) {
    return {
      iterations: iters.count, iterationSource: iters.source, measuredIterationNs: Math.round(measured / iters.count), replayError, scenarios,
      inputs: inputsOf(trace, input),
      note: `the unchanged replay missed the measurement by ${(100 * replayError).toFixed(0)}%, so no scenario is projected (the trace holds dependencies the replay does not model)`,
    };
  }
  const ex = experts === undefined ? expertInstances(trace, deviceId, window, context.links) : experts;
  const edits = scenarioEdits(trace, deviceId, window, input, ex, context.contention);
  push('no-host-syncs', 'blocking calls and the small read-backs they wait for removed; stream order and event waits kept', planned(edits.noHostSyncs));
  push('free-launches', 'launch calls free and back to back, as in a CUDA graph replay; the GPU-side cost per op kept', planned(edits.freeLaunches));
  if (edits.perfectOverlap) push('perfect-overlap', 'free launches, no host syncs, every expert independent of the others; kernels at their alone durations within the GPU\'s SMs', planned(edits.perfectOverlap));
  let notProjected: WhatIfReport['notProjected'];
  if (edits.grouped) {
    const grouped = planned(edits.grouped);
    const high = grouped.span;
    const low = edits.groupedLow ? planned(edits.groupedLow).span : high;
    if (high <= (1 + GROUPED_MAX_SPREAD) * low) push('grouped', 'each iteration\'s expert kernels as one batched kernel per step (e.g. up GEMM, activation, down GEMM), launched once', grouped);
    else {
      const u = edits.roofline?.unknown ?? 0;
      notProjected = [{
        scenario: 'grouped', lowNs: Math.round(low / iters.count), highNs: Math.round(high / iters.count),
        reason: `the weights or token counts of ${u} expert GEMM${u === 1 ? '' : 's'} are unknown, and their cost, between nothing and their SM-time, ` +
          `moves the projection by more than ${Math.round(100 * GROUPED_MAX_SPREAD)}%: name the weights in the expert ranges (weights=RxC,...:dtype) or give --expert-weights`,
      }];
    }
  }
  const inputs = inputsOf(trace, input);
  const r = edits.roofline;
  if (edits.grouped && r) {
    inputs.grouped = { memoryBandwidth: r.memoryBandwidth, peakFlops: r.peakFlops, namedGemms: r.named, memoryBoundGemms: r.memoryBound, bytesPerIteration: r.bytesPerIteration, unknownGemms: r.unknown };
  }
  return {
    iterations: iters.count,
    iterationSource: iters.source,
    measuredIterationNs: Math.round(measured / iters.count),
    replayError,
    scenarios,
    ...(notProjected ? { notProjected } : {}),
    inputs,
  };
}

function inputsOf(trace: Trace, input: ReplayInput): WhatIfReport['inputs'] {
  return {
    hostCalls: input.calls.count, gpuOps: input.ops.count, eventWaits: input.eventWaits,
    launchLatencyNs: Math.round(input.launchLatency), graphNodeNs: Math.round(input.backToBack), kernelFixedCostNs: Math.round(input.fixedCost),
    hostCallSpeed: hostCallSpeed(trace, input),
  };
}

/** Calls of a name fewer than this say nothing about the host's speed. */
const HOST_SPEED_MIN_CALLS = 10;

/** Per launch-type API name of the replayed calls (at least HOST_SPEED_MIN_CALLS of it): its median duration, most calls first. */
function hostCallSpeed(trace: Trace, input: ReplayInput): WhatIfReport['inputs']['hostCallSpeed'] {
  const byName = new Map<number, number[]>();
  for (let c = 0; c < input.calls.count; c++) {
    if (input.calls.kind[c] !== 2) continue;
    const name = trace.runtime.name[input.calls.row[c]];
    const d = input.calls.end[c] - input.calls.start[c];
    const l = byName.get(name);
    if (l) l.push(d); else byName.set(name, [d]);
  }
  const out: WhatIfReport['inputs']['hostCallSpeed'] = [];
  for (const [name, d] of byName) {
    if (d.length < HOST_SPEED_MIN_CALLS) continue;
    d.sort((a, b) => a - b);
    const m = d.length >> 1;
    out.push({ name: trace.strings[name] ?? '?', count: d.length, medianNs: Math.round(d.length % 2 ? d[m] : (d[m - 1] + d[m]) / 2) });
  }
  return out.sort((a, b) => b.count - a.count || (a.name < b.name ? -1 : 1));
}

function iterationCount(trace: Trace, deviceId: number, window: { start: number; end: number }, experts: ExpertInstances | null): { count: number; source: string } {
  const it = analyzeNvtxRanges(trace, deviceId, window).iterations;
  if (it && it.count >= 1) return { count: it.count, source: `NVTX ranges "${it.name}"` };
  if (experts && experts.count > 0) {
    return { count: experts.iterations, source: 'expert instances' };
  }
  return { count: 1, source: 'the whole window' };
}

interface ScenarioEdits {
  noHostSyncs: ReplayEdits;
  freeLaunches: ReplayEdits;
  perfectOverlap: ReplayEdits | null;
  grouped: ReplayEdits | null;
  /** grouped with the expert GEMMs of unknown bytes at no cost beyond the batched kernel's fixed cost; null when there are none */
  groupedLow?: ReplayEdits | null;
  roofline?: ExpertRoofline;
}

function scenarioEdits(
  trace: Trace, deviceId: number, window: { start: number; end: number }, input: ReplayInput, experts: ExpertInstances | null,
  known?: ContentionResult,
): ScenarioEdits {
  const { calls, ops } = input;
  const n = ops.count;
  // read-backs: small DtoH copies whose call sits right before a blocking call on the same thread
  const readbacks = new Uint8Array(n);
  for (let j = 0; j < n; j++) {
    const c = ops.call[j];
    if (!ops.readback[j] || c < 0) continue;
    for (let d = c + 1; d < calls.count && calls.thread[d] === calls.thread[c] && d <= c + 3; d++) {
      if (calls.kind[d] === 1) { readbacks[j] = 1; break; }
    }
  }
  const readbackCall = new Uint8Array(calls.count);
  for (let j = 0; j < n; j++) if (readbacks[j] && ops.call[j] >= 0) readbackCall[ops.call[j]] = 1;
  // A call soon after a blocking call pays the thread's wake-up (its duration and the host time
  // before it run 5-10x the same call's elsewhere in the recording); without the sync it would
  // not: those calls take their name's median from the calls that followed no blocking call.
  const { coldDuration, coldGap } = wakeUpCosts(trace, input);
  const noHostSyncs: ReplayEdits & { opDuration?: (j: number) => number } = {
    noWaits: true,
    removed: readbacks,
    callDuration: (c) => (calls.kind[c] === 1 || readbackCall[c] ? 0 : coldDuration(c)),
    callGap: coldGap,
  };
  const launchOnly = (c: number) => isLaunchType(input, c);
  const freeLaunches: ReplayEdits = {
    callDuration: (c) => (launchOnly(c) ? 0 : calls.residual[c]),
    callGap: (c) => (launchOnly(c) ? 0 : calls.start[c] - calls.end[c - 1]),
    hostLatency: 0,
  };
  if (!experts || experts.count === 0) return { noHostSyncs, freeLaunches, perfectOverlap: null, grouped: null };
  // op index of each kernel row; expert instance of each op
  const opOfKernel = new Map<number, number>();
  for (let j = 0; j < n; j++) if (ops.kind[j] === KIND_KERNEL) opOfKernel.set(ops.row[j], j);
  const instOf = new Int32Array(n).fill(-1);
  const insts = experts;
  for (let k = 0; k < insts.count; k++) {
    for (let c = insts.kernelFrom[k]; c < insts.kernelTo[k]; c++) { const j = opOfKernel.get(insts.kernels[c]); if (j !== undefined) instOf[j] = k; }
  }
  // without the read-back the host cannot size each expert's work: it runs the iteration's largest
  const isGemmName = new Map<number, boolean>();
  const role = (j: number): string => {
    const name = trace.kernels.shortName[ops.row[j]];
    let g = isGemmName.get(name);
    if (g === undefined) isGemmName.set(name, (g = GEMM_NAME.test(trace.strings[name] ?? '')));
    return g ? 'gemm' : trace.strings[name] ?? '?';
  };
  const { duration: sized, extra } = readbackSizing(input, insts, instOf, readbackCall, role);
  // the kernels a size-specific launch added are gone with their launch calls (and the host time before them)
  const gone = Uint8Array.from(readbacks, (r, j) => r | extra[j]);
  const extraCall = new Uint8Array(calls.count);
  for (let j = 0; j < n; j++) if (extra[j] && ops.call[j] >= 0) extraCall[ops.call[j]] = 1;
  for (let j = 0; j < n; j++) if (!gone[j] && ops.call[j] >= 0) extraCall[ops.call[j]] = 0;
  noHostSyncs.removed = gone;
  noHostSyncs.callDuration = (c) => (calls.kind[c] === 1 || readbackCall[c] || extraCall[c] ? 0 : coldDuration(c));
  noHostSyncs.callGap = (c) => (extraCall[c] ? 0 : coldGap(c));
  noHostSyncs.opDuration = (j) => (Number.isNaN(sized[j]) ? ops.end[j] - ops.start[j] : sized[j]);
  // alone durations
  const contention = known ?? kernelContention(trace, deviceId, window);
  const alone = new Map<string, number>();
  for (const e of contention.all) if (e.alone.median !== null) alone.set(contentionKey(e.name, e.config), e.alone.median);
  // per op, its alone median looked up once (a name and configuration string per kernel otherwise)
  const aloneOf = new Float64Array(n).fill(NaN);
  const byKernelKey = new Map<number, number>();
  const C = trace.launchConfigs.length + 1;
  for (let j = 0; j < n; j++) {
    if (ops.kind[j] !== KIND_KERNEL) continue;
    const row = ops.row[j];
    const kk = trace.kernels.shortName[row] * C + trace.kernels.launchConfig[row] + 1;
    let a = byKernelKey.get(kk);
    if (a === undefined) {
      a = alone.get(contentionKey(trace.strings[trace.kernels.shortName[row]] ?? '?', configText(trace, row))) ?? NaN;
      byKernelKey.set(kk, a);
    }
    aloneOf[j] = a;
  }
  const aloneDur = (j: number): number => {
    const rec = ops.end[j] - ops.start[j];
    if (ops.kind[j] !== KIND_KERNEL) return rec;
    const a = aloneOf[j];
    return Number.isNaN(a) ? rec : Math.min(rec, a);
  };
  // perfect overlap: expert ops chain within their instance and hang off the last non-expert op
  // before them; a non-expert op waits for everything issued before it since the previous non-expert op
  const poDeps: number[][] = new Array(n);
  {
    let lastBarrier = -1;
    let sinceBarrier: number[] = [];
    const lastInInst = new Map<number, number>();
    for (let j = 0; j < n; j++) {
      if (gone[j]) { poDeps[j] = []; continue; }
      const k = instOf[j];
      if (k >= 0) {
        const p = lastInInst.get(k);
        poDeps[j] = p !== undefined ? [p] : lastBarrier >= 0 ? [lastBarrier] : [];
        lastInInst.set(k, j);
        sinceBarrier.push(j);
      } else {
        poDeps[j] = sinceBarrier.length ? [...sinceBarrier] : lastBarrier >= 0 ? [lastBarrier] : [];
        if (ops.prev[j] >= 0 && instOf[ops.prev[j]] < 0 && !poDeps[j].includes(ops.prev[j])) poDeps[j].push(ops.prev[j]);
        lastBarrier = j;
        sinceBarrier = [];
      }
    }
  }
  const perfectOverlap: ReplayEdits = {
    noWaits: true,
    removed: gone,
    callDuration: (c) => (calls.kind[c] === 1 || launchOnly(c) || readbackCall[c] ? 0 : coldDuration(c)),
    callGap: (c) => (launchOnly(c) || calls.kind[c] === 1 ? 0 : coldGap(c)),
    hostLatency: 0,
    // the read-backs are gone here too: what they sized runs at the iteration's largest (at least its alone duration)
    opDuration: (j) => (Number.isNaN(sized[j]) ? aloneDur(j) : Math.max(aloneDur(j), sized[j])),
    depsOf: (j) => poDeps[j],
  };
  const roofline = expertRoofline(trace, deviceId, input, insts, instOf);
  return {
    noHostSyncs, freeLaunches, perfectOverlap, roofline,
    grouped: groupedEdits(input, insts, instOf, readbacks, readbackCall, aloneDur, coldDuration, coldGap, roofline, 1),
    groupedLow: roofline.unknown > 0 ? groupedEdits(input, insts, instOf, readbacks, readbackCall, aloneDur, coldDuration, coldGap, roofline, 0) : null,
  };
}

/** The ops of each expert instance (instOf: the instance of each op, -1 for none), in issue order. */
function opsOfInstances(count: number, instOf: Int32Array): number[][] {
  const instOps: number[][] = Array.from({ length: count }, () => []);
  for (let j = 0; j < instOf.length; j++) if (instOf[j] >= 0) instOps[instOf[j]].push(j);
  return instOps;
}

/** The instances that `keep` keeps, by iteration, in instance order within each. */
function instancesByIteration(insts: ExpertInstances, keep: (k: number) => boolean): Map<number, number[]> {
  const byIteration = new Map<number, number[]>();
  for (let k = 0; k < insts.count; k++) {
    if (!keep(k)) continue;
    const l = byIteration.get(insts.iteration[k]);
    if (l) l.push(k); else byIteration.set(insts.iteration[k], [k]);
  }
  return byIteration;
}

/**
 * Dense matrix-multiply peak per SM and clock (FLOP), by compute capability (data-center parts,
 * minor 0) and element bytes: the vendor's dense tensor-core figures for 2-byte (fp16/bf16) and
 * 1-byte (fp8/int8) types, the CUDA cores' FMA rate for fp32 (cuBLAS' default, no TF32).
 * V100 125 TFLOP/s = 80 SMs × 1.53 GHz × 1024; A100 312 = 108 × 1.41 × 2048; H100 SXM 989 = 132 × 1.83 × 4096.
 */
const MMA_FLOPS_PER_SM_CLOCK: Record<string, Record<number, number>> = {
  '7.0': { 2: 1024, 4: 128 },
  '8.0': { 1: 4096, 2: 2048, 4: 128 },
  '9.0': { 1: 8192, 2: 4096, 4: 256 },
};

/** The grouped scenario's roofline of each expert GEMM whose weights its range names (NaN elsewhere). */
export interface ExpertRoofline {
  /** per op: bytes it must move (weights, its tokens in and out) over the GPU's memory bandwidth, ns, when memory-bound; NaN otherwise */
  memoryNs: Float64Array;
  /** the GPU's memory bandwidth (B/s) and dense peak (FLOP/s) used, null when the trace does not give them */
  memoryBandwidth: number | null;
  peakFlops: number | null;
  /** expert GEMMs taken as memory-bound (costed by their bytes) / all expert GEMMs whose weights are named */
  memoryBound: number;
  named: number;
  /** per op: 1 for an expert GEMM whose bytes are unknown (no weights named, GEMM count unlike the matrix count, tokens, bandwidth or peak unknown) */
  unknownOp: Uint8Array;
  /** how many such GEMMs */
  unknown: number;
  /** bytes those memory-bound GEMMs move per iteration */
  bytesPerIteration: number;
}

/**
 * Which expert GEMMs are memory-bound, and what their bytes cost at the GPU's bandwidth. The g-th
 * GEMM kernel of an instance (GEMM_NAME, in launch order) reads the g-th matrix its range names
 * (R × C, weights R·C·b bytes) and, with T tokens known, T·R values in and T·C out: bytes =
 * (R·C + T·(R + C))·b, FLOPs = 2·T·R·C. It is memory-bound when bytes / bandwidth ≥ FLOPs / peak
 * (the GPU's dense peak: MMA_FLOPS_PER_SM_CLOCK × SMs × clock). Instances whose GEMM count differs
 * from their matrix count, unknown tokens, or a GPU without bandwidth or a known peak: no roofline.
 */
export function expertRoofline(trace: Trace, deviceId: number, input: ReplayInput, insts: ExpertInstances, instOf: Int32Array): ExpertRoofline {
  const { ops } = input;
  const n = ops.count;
  const memoryNs = new Float64Array(n).fill(NaN);
  const gpu = trace.gpus.find((g) => g.deviceId === deviceId);
  const bw = gpu?.memoryBandwidth && gpu.memoryBandwidth > 0 ? gpu.memoryBandwidth : null;
  const out: ExpertRoofline = { memoryNs, memoryBandwidth: bw, peakFlops: null, memoryBound: 0, named: 0, bytesPerIteration: 0, unknownOp: new Uint8Array(n), unknown: 0 };
  const cc = gpu?.computeCapability ? `${gpu.computeCapability.major}.${gpu.computeCapability.minor}` : '';
  const instOps = opsOfInstances(insts.count, instOf);
  const isGemm = new Map<number, boolean>();
  const gemm = (j: number): boolean => {
    if (ops.kind[j] !== KIND_KERNEL) return false;
    const name = trace.kernels.shortName[ops.row[j]];
    let g = isGemm.get(name);
    if (g === undefined) isGemm.set(name, (g = GEMM_NAME.test(trace.strings[name] ?? '')));
    return g;
  };
  const iterations = new Set<number>();
  let bytes = 0;
  const unknown = (gemms: number[]) => { for (const j of gemms) out.unknownOp[j] = 1; out.unknown += gemms.length; };
  for (let k = 0; k < insts.count; k++) {
    const w = instanceWeights(insts, k);
    const gemms = instOps[k].filter(gemm);
    if (!w || gemms.length !== w.shapes.length) { unknown(gemms); continue; }
    out.named += gemms.length;
    const perClock = MMA_FLOPS_PER_SM_CLOCK[cc]?.[w.elementBytes];
    const peak = perClock && gpu?.smCount && gpu.clockRate ? perClock * gpu.smCount * gpu.clockRate : null;
    if (peak !== null) out.peakFlops = peak;
    const t = instanceTokens(insts, k);
    if (bw === null || peak === null || t === null) { unknown(gemms); continue; }
    gemms.forEach((j, g) => {
      const [r, c] = w.shapes[g];
      const b = (r * c + t * (r + c)) * w.elementBytes;
      const memNs = (b / bw) * 1e9;
      if (memNs < ((2 * t * r * c) / peak) * 1e9) return;
      memoryNs[j] = memNs;
      out.memoryBound++;
      bytes += b;
      iterations.add(insts.iteration[k]);
    });
  }
  out.bytesPerIteration = iterations.size ? Math.round(bytes / iterations.size) : 0;
  return out;
}

/**
 * What a read-back sized: an expert instance launched after a removed read-back (a small
 * device-to-host copy the host waited for, issued in its iteration after the previous iteration's
 * experts) ran at a size the host learned from it (`x[mask]`, the count of rows). Without the
 * read-back the host cannot know that size: each such instance runs what the iteration's largest
 * such instance ran (the most tokens when the ranges carry them, else the most GPU time), as a loop
 * over fixed capacity slices does. Its kernels are matched in order to the largest's by role (a
 * GEMM to a GEMM, any other kernel to one of the same name) and take the longer of the two
 * durations (`duration`, NaN = the recorded one); a kernel with no match (cuBLAS' split-K reduce
 * after a GEMM it ran split for a few rows) is not launched (`extra`): the host does not pay for its
 * launch either. A kernel of the largest that a smaller instance lacks is not added.
 */
export function readbackSizing(
  input: ReplayInput, insts: ExpertInstances, instOf: Int32Array, readbackCall: Uint8Array,
  /** per op, what it does: 'gemm' for a GEMM, else its kernel name (how the kernels of two instances are matched) */
  role: (j: number) => string,
): { duration: Float64Array; extra: Uint8Array } {
  const { calls, ops } = input;
  const n = ops.count;
  const out = new Float64Array(n).fill(NaN);
  const extra = new Uint8Array(n);
  const instOps = opsOfInstances(insts.count, instOf);
  const firstCall = instOps.map((l) => { let c = Infinity; for (const j of l) if (ops.call[j] >= 0 && ops.call[j] < c) c = ops.call[j]; return c; });
  const lastCall = instOps.map((l) => { let c = -Infinity; for (const j of l) if (ops.call[j] > c) c = ops.call[j]; return c; });
  const rbCalls: number[] = [];
  for (let c = 0; c < calls.count; c++) if (readbackCall[c]) rbCalls.push(c);
  if (rbCalls.length === 0) return { duration: out, extra };
  const byIteration = instancesByIteration(insts, (k) => instOps[k].length > 0 && Number.isFinite(firstCall[k]));
  const iterations = [...byIteration.keys()].sort((a, b) => a - b);
  let prevEnd = -Infinity;
  const dur = (j: number) => ops.end[j] - ops.start[j];
  const gpu = (k: number) => instOps[k].reduce((a, j) => a + dur(j), 0);
  for (const it of iterations) {
    const ks = byIteration.get(it)!;
    // calls are per thread in start order: compare a read-back's call with the instance's first call on its thread
    const isSized = (k: number) => rbCalls.some((c) => c > prevEnd && c < firstCall[k] && calls.thread[c] === calls.thread[firstCall[k]]);
    const sizedKs = ks.filter(isSized);
    for (const k of ks) prevEnd = Math.max(prevEnd, lastCall[k]);
    if (sizedKs.length < 2) continue;
    let big = sizedKs[0];
    for (const k of sizedKs) {
      const tk = instanceTokens(insts, k);
      const tb = instanceTokens(insts, big);
      if (tk !== null && tb !== null ? tk > tb || (tk === tb && gpu(k) > gpu(big)) : gpu(k) > gpu(big)) big = k;
    }
    const B = instOps[big];
    for (const k of sizedKs) {
      let p = 0;
      for (const j of instOps[k]) {
        let q = p;
        while (q < B.length && (ops.kind[B[q]] !== ops.kind[j] || role(B[q]) !== role(j))) q++;
        if (q < B.length) { out[j] = Math.max(dur(j), dur(B[q])); p = q + 1; } else extra[j] = 1;
      }
    }
  }
  return { duration: out, extra };
}

/**
 * The grouped scenario: per iteration and kernel position p in the experts' sequences, one
 * batched kernel replaces the experts' p-th kernels. Its duration is their SM-time at full
 * occupancy (Σ alone duration × SM share), but never less than the largest expert's p-th kernel
 * would take with the whole GPU at the rate it showed (duration × share), nor less than the
 * longest p-th kernel among experts whose kernel already filled the GPU.
 */
function groupedEdits(
  input: ReplayInput, insts: ExpertInstances, instOf: Int32Array, readbacks: Uint8Array, readbackCall: Uint8Array,
  aloneDur: (j: number) => number, coldDuration: (c: number) => number, coldGap: (c: number) => number, roofline: ExpertRoofline,
  /** what an expert GEMM of unknown bytes costs, as a share of its SM-time: 1 the upper bound, 0 the lower */
  unknownShare: number,
): ReplayEdits | null {
  const { calls, ops } = input;
  const n = ops.count;
  const removed = Uint8Array.from(readbacks);
  const replacedBy = new Int32Array(n).fill(-1);
  const duration = new Float64Array(n).fill(NaN);
  // kernels of each instance as op indices in issue order
  const instOps = opsOfInstances(insts.count, instOf);
  const byIteration = instancesByIteration(insts, (k) => instOps[k].length > 0);
  if (byIteration.size === 0) return null;
  // calls inside an iteration's expert block: from the first expert op's call to the last's
  const freeCall = new Uint8Array(calls.count);
  const keepCall = new Uint8Array(calls.count);
  for (const ks of byIteration.values()) {
    const positions = Math.max(...ks.map((k) => instOps[k].length));
    const all = ks.flatMap((k) => instOps[k]);
    for (let p = 0; p < positions; p++) {
      const members = ks.map((k) => instOps[k][p]).filter((j) => j !== undefined);
      if (members.length === 0) continue;
      let work = 0;
      let floor = 0;
      for (const j of members) {
        const d = aloneDur(j);
        const smTime = Math.max(0, d - input.fixedCost) * Math.min(1, ops.share[j]);
        // a memory-bound expert GEMM of known weights: its bytes at the GPU's bandwidth (never more than its SM-time)
        const mem = roofline.memoryNs[j];
        work += roofline.unknownOp[j] ? unknownShare * smTime : Number.isNaN(mem) ? smTime : Math.min(smTime, mem);
        if (ops.share[j] >= 1) floor = Math.max(floor, d);
      }
      work += input.fixedCost;
      const keep = members[0];
      duration[keep] = Math.max(work, floor);
      for (const j of members) if (j !== keep) { removed[j] = 1; replacedBy[j] = keep; }
      if (ops.call[keep] >= 0) keepCall[ops.call[keep]] = 1;
    }
    const callsOf = all.map((j) => ops.call[j]).filter((c) => c >= 0);
    if (callsOf.length === 0) continue;
    const lo = Math.min(...callsOf);
    const hi = Math.max(...callsOf);
    for (let c = lo; c <= hi; c++) if (calls.thread[c] === calls.thread[lo]) freeCall[c] = 1;
  }
  // kept batched kernels chain one after another on the first expert's stream: stream order of
  // the kept ops plus the removed ops' dependencies passed on
  return {
    removed,
    replacedBy,
    noWaits: true,
    callDuration: (c) => (keepCall[c] ? coldDuration(c) : freeCall[c] || calls.kind[c] === 1 || readbackCall[c] ? 0 : coldDuration(c)),
    callGap: (c) => (freeCall[c] && !keepCall[c] ? 0 : coldGap(c)),
    opDuration: (j) => (Number.isNaN(duration[j]) ? ops.end[j] - ops.start[j] : duration[j]),
  };
}
