/**
 * Overlap of communication with compute on one device (issue 17; docs/metrics.md
 * "Communication"). Within the window W:
 *
 *   C = ∪ communication and sync kernels,  K = ∪ compute and expert-GEMM kernels
 *   busy = |C|,  exposed = |C \ K|,  hiddenShare = 1 − exposed / busy
 *
 * Communication is exposed while it runs and no compute kernel does: the time a dispatch or
 * combine adds to the step unless something else fills it. Sync kernels count in C (waiting for
 * peers is part of the collective) and never in K; memory operations (copies, fills) are in
 * neither. Per phase (NVTX / record_function ranges around the kernels' launch calls) the same
 * over that phase's communication kernels. Pure: no I/O.
 */
import type { Trace } from '../model/trace.js';
import type { Window } from '../report/types.js';
import type {
  ClassifiedKernel, ClassSummary, CollectiveSequence, CommunicationKernel, CommunicationReport, KernelClassName, PhaseCommunication,
} from '../report/communication.js';
import {
  difference, EMPTY_SET, lowerBound, OverlapWalker, totalLength, union, type IntervalSet,
} from '../model/intervals.js';
import { windowIntervals } from '../model/window-pieces.js';
import { gatherI32 } from '../model/gather.js';
import { ClassCode, KERNEL_CLASSES, isCommunicationClass, isComputeClass, type KernelClassification } from './kernel-classes.js';
import { communicationRangeOfCalls, hasCommunicationRanges, opPhases, PHASES } from './phases.js';
import { callLinks, type CallLinks } from './correlation.js';
import { kernelContention } from './contention.js';
import { SegmentCursor } from './window.js';

/** Names listed per class in ClassSummary.top. */
export const CLASS_NAME_LIMIT = 20;
/** Collective kernels listed in CommunicationReport.collectives (enough for a profiled window of steps). */
export const COLLECTIVE_LIMIT = 20_000;

/** A growable list of [start, end) pieces. */
class Pieces {
  start: number[] = [];
  end: number[] = [];
  push(s: number, e: number): void { this.start.push(s); this.end.push(e); }
  set(): IntervalSet { return union(this.start, this.end, this.start.length); }
}

export interface CommunicationOptions {
  /** the trace's call links (TraceIndex.links, computed once by buildReport); computed when not given */
  links?: CallLinks;
  classesFile?: string;
  classPatterns?: CommunicationReport['classPatterns'];
}

/** A communication or sync operation of the window: a kernel, or a copy a communication library issued. */
interface CommOp {
  start: number;
  end: number;
  /** launch call (runtime row), -1 unknown */
  call: number;
  name: string;
  class: 'communication' | 'sync';
  family: string;
  source: string;
  /** clipped to W */
  time: number;
  pieces: Pieces;
  /** bytes moved when known (a copy's size, a collective's input elements × element size), NaN otherwise */
  bytes: number;
  /** the collective's process group, null unknown */
  group: string | null;
}

/** Element sizes of the dtypes PyTorch writes in Kineto's NCCL args. */
const DTYPE_BYTES: Record<string, number> = {
  Float: 4, Double: 8, Half: 2, BFloat16: 2, Int: 4, Long: 8, Short: 2, Char: 1, Byte: 1, Bool: 1,
  Float8_e4m3fn: 1, Float8_e5m2: 1, Float8_e4m3fnuz: 1, Float8_e5m2fnuz: 1, ComplexFloat: 8, ComplexDouble: 16,
};

/**
 * The union of pieces added in order of start, built as they come: only the merged pieces are
 * stored (none when `keep` is false: then only the length), so a million compute kernels cost
 * their union, not a copy of every kernel. A piece that starts before the current merged one
 * (possible only with a window of several segments) switches to collecting and sorting.
 */
export class StreamingUnion {
  private s = new Float64Array(16);
  private e = new Float64Array(16);
  private n = 0;
  /** current merged piece, and the total length flushed: running doubles in a typed array */
  private readonly st = Float64Array.of(NaN, NaN, 0);
  private raw: number[] | null = null;
  constructor(private readonly keep: boolean) {}

  add(a: number, b: number): void {
    if (!(b > a)) return;
    const st = this.st;
    if (Number.isNaN(st[0])) { st[0] = a; st[1] = b; return; }
    if (a < st[0]) {
      if (!this.keep) throw new Error('StreamingUnion: pieces out of order in a length-only union');
      (this.raw ??= []).push(a, b);
      return;
    }
    if (a <= st[1]) { if (b > st[1]) st[1] = b; return; }
    this.flush();
    st[0] = a; st[1] = b;
  }

  private flush(): void {
    const st = this.st;
    if (Number.isNaN(st[0])) return;
    st[2] += st[1] - st[0];
    if (this.keep) {
      if (this.n === this.s.length) {
        const s2 = new Float64Array(this.n * 2); s2.set(this.s); this.s = s2;
        const e2 = new Float64Array(this.n * 2); e2.set(this.e); this.e = e2;
      }
      this.s[this.n] = st[0]; this.e[this.n] = st[1]; this.n++;
    }
    st[0] = NaN;
  }

  /** The union (empty when not kept) and its length; call once, after the last add. */
  finish(): { set: IntervalSet; length: number } {
    this.flush();
    if (this.raw) {
      const m = this.raw.length / 2;
      const s = new Float64Array(this.n + m);
      const e = new Float64Array(this.n + m);
      s.set(this.s.subarray(0, this.n)); e.set(this.e.subarray(0, this.n));
      for (let j = 0; j < m; j++) { s[this.n + j] = this.raw[2 * j]; e[this.n + j] = this.raw[2 * j + 1]; }
      const set = union(s, e, this.n + m);
      return { set, length: totalLength(set) };
    }
    const set = { count: this.n, start: this.s.subarray(0, this.n), end: this.e.subarray(0, this.n) };
    return { set, length: this.st[2] };
  }
}

/**
 * |(∪ intervals) ∩ W| for whole intervals added in start order: each merged piece is clipped to
 * W's segments when it completes, so nothing is stored (a StreamingUnion of pieces clipped to a
 * window of several segments must keep them, as they come out of order).
 */
class LengthInWindow {
  /** current merged piece, the total, and the first segment that may still overlap it */
  private readonly st = Float64Array.of(NaN, NaN, 0);
  private g = 0;
  constructor(private readonly w: IntervalSet) {}

  add(a: number, b: number): void {
    if (!(b > a)) return;
    const st = this.st;
    if (Number.isNaN(st[0])) { st[0] = a; st[1] = b; return; }
    if (a < st[0]) throw new Error('LengthInWindow: intervals out of order');
    if (a <= st[1]) { if (b > st[1]) st[1] = b; return; }
    this.flush();
    st[0] = a; st[1] = b;
  }

  private flush(): void {
    const { st, w } = this;
    if (Number.isNaN(st[0])) return;
    while (this.g < w.count && w.end[this.g] <= st[0]) this.g++;
    for (let h = this.g; h < w.count && w.start[h] < st[1]; h++) {
      const a = Math.max(st[0], w.start[h]);
      const b = Math.min(st[1], w.end[h]);
      if (b > a) st[2] += b - a;
    }
    st[0] = NaN;
  }

  finish(): { set: IntervalSet; length: number } {
    this.flush();
    return { set: EMPTY_SET, length: this.st[2] };
  }
}

/** What the kernel loop adds a kernel's clipped pieces to, or (whole) the kernel itself. */
type Sink = { kind: 'pieces'; union: StreamingUnion } | { kind: 'whole'; union: LengthInWindow };

export function analyzeCommunication(
  trace: Trace, deviceId: number, window: Window, classes: KernelClassification, options: CommunicationOptions = {},
): CommunicationReport {
  const k = trace.kernels;
  const w = windowIntervals(window);
  const lo = w.count > 0 ? w.start[0] : 0;
  const hi = w.count > 0 ? w.end[w.count - 1] : 0;
  // several segments may feed the unions out of order: then they keep their pieces
  const split = w.count > 1;
  // Compute classes need only their length; so does the compute union, unless something can be
  // exposed against it (communication or sync kernels, or copies a communication library issued).
  // Over several segments such lengths come from the whole kernels (in start order), clipped as
  // their union completes: the clipped pieces would come out of order and have to be kept.
  // copies a communication library issued are found inside its NVTX ranges: none without such ranges
  const commRanges = (trace.memcpy.count > 0 || trace.memset.count > 0) && hasCommunicationRanges(trace);
  // (whether they come in start order and whether any is a communication kernel: one pass for both)
  const seen = split || !commRanges ? windowKernels(trace, deviceId, lo, hi, classes) : null;
  const wholeKernels = split && seen!.inStartOrder;
  const lengthOnly = (): Sink => (wholeKernels ? { kind: 'whole', union: new LengthInWindow(w) } : { kind: 'pieces', union: new StreamingUnion(split) });
  const compute: Sink = commRanges || seen!.communication ? { kind: 'pieces', union: new StreamingUnion(true) } : lengthOnly();
  const byClass = KERNEL_CLASSES.map((_, code) => ({
    count: 0, time: 0,
    // communication and sync come from `ops`; memory from three sorted sources
    union: isComputeClass(code) ? lengthOnly() : { kind: 'pieces', union: new StreamingUnion(true) } as Sink,
  }));
  const memcpyUnion = new StreamingUnion(true);
  const memsetUnion = new StreamingUnion(true);
  const ops: CommOp[] = [];
  const commKernelRows: number[] = [];
  let links: CallLinks | null = options.links ?? null;
  let collectiveRow: Map<number, number> | null = null;
  const { classCount, classTime, entryCount, entryTime } = measureKernels(trace, deviceId, w, classes, byClass.map((c) => c.union), compute, (i, pieces, time) => {
    const c = classes.names[classes.nameOf[i]];
    links ??= callLinks(trace);
    collectiveRow ??= collectiveRows(trace);
    const j = collectiveRow.get(i);
    const co = trace.collectives;
    const elementBytes = j !== undefined && co!.dtype[j] >= 0 ? DTYPE_BYTES[trace.strings[co!.dtype[j]] ?? ''] : undefined;
    ops.push({
      start: k.start[i], end: k.end[i], call: links.kernelCall[i], name: trace.strings[c.name] ?? '?',
      class: c.class as CommOp['class'], family: c.family, source: c.source, time, pieces,
      bytes: j !== undefined && elementBytes !== undefined ? co!.inNelems[j] * elementBytes : NaN,
      group: j !== undefined && co!.processGroup[j] >= 0 ? trace.strings[co!.processGroup[j]] ?? null : null,
    });
    commKernelRows.push(i);
  });
  byClass.forEach((c, code) => { c.count = classCount[code]; c.time = classTime[code]; });
  const byName = new Map<number, { count: number; time: number }>();
  for (let entry = 0; entry < entryCount.length; entry++) if (entryCount[entry] > 0) byName.set(entry, { count: entryCount[entry], time: entryTime[entry] });
  // memcpy/memset: memory operations, unless a communication library issued them (inside its NVTX range)
  const memory = byClass[ClassCode.memory];
  const communication = byClass[ClassCode.communication];
  const transferNames: ClassifiedKernel[] = [];
  const commTransfers = new Map<string, ClassifiedKernel>();
  for (const [label, cols, into] of [['memcpy', trace.memcpy, memcpyUnion], ['memset', trace.memset, memsetUnion]] as const) {
    // W's segments met by a cursor in each pass: copies come in start order (overlapWith's sum,
    // without a binary search over a per-iteration window's thousands of segments a copy)
    const inW = (walk: OverlapWalker, i: number): boolean => cols.deviceId[i] === deviceId && !(cols.end[i] < lo || cols.start[i] > hi) &&
      (walk.overlap(cols.start[i], cols.end[i]) > 0 || (!(cols.end[i] > cols.start[i]) && insideSome(w, cols.start[i])));
    let n = 0;
    let walk = new OverlapWalker(w);
    for (let i = 0; i < cols.count; i++) if (inW(walk, i)) n++;
    if (n === 0) continue;
    const rows = new Int32Array(n);
    n = 0;
    walk = new OverlapWalker(w);
    for (let i = 0; i < cols.count; i++) if (inW(walk, i)) rows[n++] = i;
    const clips = new OverlapWalker(w);
    const segments = new SegmentCursor(w);
    links ??= callLinks(trace);
    const callOf = label === 'memcpy' ? links.memcpyCall : links.memsetCall;
    const ranges = commRanges ? communicationRangeOfCalls(trace, Array.from(gatherI32(callOf, rows))) : null;
    let count = 0;
    let time = 0;
    rows.forEach((i, j) => {
      const range = ranges ? ranges[j] : null;
      const t = clips.overlap(cols.start[i], cols.end[i]);
      if (range === null) {
        count++; time += t;
        for (let g = segments.firstEndingAfter(cols.start[i]); g < w.count && w.start[g] < cols.end[i]; g++) into.add(Math.max(cols.start[i], w.start[g]), Math.min(cols.end[i], w.end[g]));
        return;
      }
      const pieces = new Pieces();
      for (let g = segments.firstEndingAfter(cols.start[i]); g < w.count && w.start[g] < cols.end[i]; g++) {
        const a = Math.max(cols.start[i], w.start[g]); const b = Math.min(cols.end[i], w.end[g]);
        if (b > a) pieces.push(a, b);
      }
      const name = `[CUDA ${label}]`;
      const family = /^rccl/i.test(range) ? `RCCL: ${range.replace(/^rccl:/i, '')}` : `NCCL: ${range.replace(/^nccl:/i, '')}`;
      ops.push({ start: cols.start[i], end: cols.end[i], call: callOf[i], name, class: 'communication', family, source: 'NVTX range', time: t, pieces, bytes: cols.bytes[i], group: null });
      communication.count++; communication.time += t;
      const key = `${name}\u0000${family}`;
      const seen = commTransfers.get(key);
      if (seen) { seen.count++; seen.time += t; } else commTransfers.set(key, { name, class: 'communication', family, source: 'NVTX range', count: 1, time: t });
    });
    memory.count += count; memory.time += time;
    if (count > 0) transferNames.push({ name: `[CUDA ${label}]`, class: 'memory', family: `CUDA ${label}`, source: 'table', count, time });
  }
  ops.sort((a, b) => a.start - b.start || a.end - b.end);

  const comm = new Pieces();
  const commOnly = new Pieces();
  for (const o of ops) {
    for (let p = 0; p < o.pieces.start.length; p++) {
      comm.push(o.pieces.start[p], o.pieces.end[p]);
      if (o.class === 'communication') commOnly.push(o.pieces.start[p], o.pieces.end[p]);
    }
  }
  const commSet = comm.set();
  const { set: computeSet, length: computeBusy } = compute.union.finish();
  const busy = totalLength(commSet);
  const exposed = totalLength(difference(commSet, computeSet));
  const syncOnly = busy - totalLength(commOnly.set());
  const wLength = totalLength(w);

  // communication names: operations of one name, class and family together
  const groups = new Map<string, { first: CommOp; count: number; time: number; pieces: Pieces; bytes: number; wholeTime: number; groups: Set<string> }>();
  for (const o of ops) {
    const key = `${o.name}\u0000${o.class}\u0000${o.family}\u0000${o.source}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { first: o, count: 0, time: 0, pieces: new Pieces(), bytes: 0, wholeTime: 0, groups: new Set() }));
    g.count++; g.time += o.time; g.bytes += o.bytes; g.wholeTime += o.end - o.start;
    if (o.group !== null) g.groups.add(o.group);
    for (let p = 0; p < o.pieces.start.length; p++) g.pieces.push(o.pieces.start[p], o.pieces.end[p]);
  }
  const kernels: CommunicationKernel[] = [...groups.values()].map((g) => ({
    name: g.first.name, class: g.first.class, family: g.first.family, source: g.first.source, count: g.count, time: g.time,
    exposed: totalLength(difference(g.pieces.set(), computeSet)),
    // NaN when any operation's size is unknown: then no bandwidth either
    ...(Number.isFinite(g.bytes) ? { messageBytes: g.bytes, algorithmBandwidth: g.wholeTime > 0 ? (g.bytes / g.wholeTime) * 1e9 : null } : {}),
    ...(g.groups.size > 0 ? { processGroups: [...g.groups].sort() } : {}),
  }));
  kernels.sort(byTime);

  const classified = (entry: number, n: { count: number; time: number }): ClassifiedKernel => {
    const c = classes.names[entry];
    return { name: trace.strings[c.name] ?? '?', class: c.class, family: c.family, source: c.source, count: n.count, time: n.time };
  };
  // a class's busy time: compute classes from their streamed unions; communication and sync
  // from their operations; memory from its kernels, copies and memsets together
  const opsOf = (cls: string): IntervalSet => {
    const p = new Pieces();
    for (const o of ops) if (o.class === cls) for (let q = 0; q < o.pieces.start.length; q++) p.push(o.pieces.start[q], o.pieces.end[q]);
    return p.set();
  };
  const classBusy = (code: number): number => {
    if (code === ClassCode.communication) return totalLength(opsOf('communication'));
    if (code === ClassCode.sync) return totalLength(opsOf('sync'));
    if (code === ClassCode.memory) {
      const parts = [byClass[code].union.union.finish().set, memcpyUnion.finish().set, memsetUnion.finish().set];
      const n = parts.reduce((t, x) => t + x.count, 0);
      const st = new Float64Array(n); const en = new Float64Array(n);
      let at = 0;
      for (const x of parts) { st.set(x.start, at); en.set(x.end, at); at += x.count; }
      return totalLength(union(st, en, n));
    }
    return byClass[code].union.union.finish().length;
  };
  const classSummaries: ClassSummary[] = [];
  KERNEL_CLASSES.forEach((cls, code) => {
    const c = byClass[code];
    if (c.count === 0) return;
    const named = mergeSameName([...byName].filter(([entry]) => ClassCode[classes.names[entry].class] === code)
      .map(([entry, n]) => classified(entry, n)));
    if (cls === 'memory') named.push(...transferNames);
    if (cls === 'communication') named.push(...commTransfers.values());
    named.sort(byTime);
    classSummaries.push({
      class: cls as KernelClassName, count: c.count, time: c.time, busy: classBusy(code),
      names: named.length, top: named.slice(0, CLASS_NAME_LIMIT),
    });
  });

  const report: CommunicationReport = {
    kernels,
    kernelCount: ops.length,
    busy, exposed, hidden: busy - exposed,
    hiddenShare: busy > 0 ? 1 - exposed / busy : null,
    exposedShare: wLength > 0 ? exposed / wLength : null,
    syncOnly,
    computeBusy,
    ...phaseBreakdown(trace, deviceId, ops, computeSet, links),
    classes: classSummaries,
    collectives: collectiveSequence(ops, computeSet),
    contention: commKernelRows.length === 0 ? [] : kernelContention(trace, deviceId, { start: lo, end: hi }, {
      include: (row) => isCommunicationClass(classes.classOf[row]),
    }).entries,
  };
  if (options.classesFile !== undefined) report.classesFile = options.classesFile;
  if (options.classPatterns && options.classPatterns.length > 0) report.classPatterns = options.classPatterns;
  return report;
}

/** measureKernels's answer: kernels and their clipped time by class code and by classification entry (short + full name). */
interface KernelTotals {
  classCount: Float64Array;
  classTime: Float64Array;
  entryCount: Float64Array;
  entryTime: Float64Array;
}

/**
 * The device's kernels in W: each one's clipped pieces into its class's union (`unions`, by class
 * code) and, for compute classes, the compute union; counted and timed by class and entry; each
 * communication or sync kernel's pieces and clipped time to `commOp` instead of the unions.
 * A function of its own: V8 optimizes this one loop over a million kernels (and again once the
 * times pass 2^31 ns) in a few ms, instead of the whole analysis's ~15 in which it sat.
 */
function measureKernels(
  trace: Trace, deviceId: number, w: IntervalSet, classes: KernelClassification, unions: Sink[], compute: Sink,
  commOp: (row: number, pieces: Pieces, time: number) => void,
): KernelTotals {
  const k = trace.kernels;
  const lo = w.count > 0 ? w.start[0] : 0;
  const hi = w.count > 0 ? w.end[w.count - 1] : 0;
  const out: KernelTotals = {
    classCount: new Float64Array(KERNEL_CLASSES.length), classTime: new Float64Array(KERNEL_CLASSES.length),
    entryCount: new Float64Array(classes.names.length), entryTime: new Float64Array(classes.names.length),
  };
  const { classCount, classTime, entryCount, entryTime } = out;
  const segments = new SegmentCursor(w);
  // the current kernel's clipped time: a running double in a typed array (see model/intervals.ts)
  const acc = new Float64Array(1);
  for (let i = 0; i < k.count; i++) {
    if (k.deviceId[i] !== deviceId || k.end[i] < lo || k.start[i] > hi) continue;
    const code = classes.classOf[i];
    const union = unions[code];
    const computeClass = isComputeClass(code);
    const pieces = isCommunicationClass(code) ? new Pieces() : null;
    acc[0] = 0;
    let met = false;
    if (!pieces) {
      if (union.kind === 'whole') union.union.add(k.start[i], k.end[i]);
      if (computeClass && compute.kind === 'whole') compute.union.add(k.start[i], k.end[i]);
    }
    // only the segments that can overlap the kernel: the window may have one per iteration
    for (let g = segments.firstEndingAfter(k.start[i]); g < w.count && w.start[g] < k.end[i]; g++) {
      const a = Math.max(k.start[i], w.start[g]);
      const b = Math.min(k.end[i], w.end[g]);
      if (!(b > a)) continue;
      met = true;
      acc[0] += b - a;
      if (pieces) pieces.push(a, b);
      else {
        if (union.kind === 'pieces') union.union.add(a, b);
        if (computeClass && compute.kind === 'pieces') compute.union.add(a, b);
      }
    }
    // a zero-length operation inside a segment counts, adding no time (as selectOps)
    if (!met && !(!(k.end[i] > k.start[i]) && insideSome(w, k.start[i]))) continue;
    classCount[code]++; classTime[code] += acc[0];
    const entry = classes.nameOf[i];
    entryCount[entry]++; entryTime[entry] += acc[0];
    if (pieces) commOp(i, pieces, acc[0]);
  }
  return out;
}

/**
 * Whether the device's kernels between lo and hi come in start order (row order), and whether one
 * of them is a communication or sync kernel: one pass for both, which ends once both are known.
 */
function windowKernels(trace: Trace, deviceId: number, lo: number, hi: number, classes: KernelClassification): { inStartOrder: boolean; communication: boolean } {
  const k = trace.kernels;
  let inStartOrder = true;
  let communication = false;
  let prev = -1;
  for (let i = 0; i < k.count && (inStartOrder || !communication); i++) {
    if (k.deviceId[i] !== deviceId || k.end[i] < lo || k.start[i] > hi) continue;
    if (isCommunicationClass(classes.classOf[i])) communication = true;
    if (prev >= 0 && k.start[i] < k.start[prev]) inStartOrder = false;
    prev = i;
  }
  return { inStartOrder, communication };
}

/** Entries of one short name, class and family as one row (template instances of one kernel). */
function mergeSameName(list: ClassifiedKernel[]): ClassifiedKernel[] {
  const out = new Map<string, ClassifiedKernel>();
  for (const c of list) {
    const key = `${c.name}\u0000${c.class}\u0000${c.family}\u0000${c.source}`;
    const seen = out.get(key);
    if (seen) { seen.count += c.count; seen.time += c.time; } else out.set(key, { ...c });
  }
  return [...out.values()];
}

function byTime(a: { time: number; name: string }, b: { time: number; name: string }): number {
  return b.time - a.time || a.name.localeCompare(b.name);
}

/** Kernel row → row of Trace.collectives. */
function collectiveRows(trace: Trace): Map<number, number> {
  const out = new Map<number, number>();
  const c = trace.collectives;
  if (c) for (let j = 0; j < c.count; j++) out.set(c.kernel[j], j);
  return out;
}

function insideSome(w: IntervalSet, t: number): boolean {
  // segments are sorted and disjoint: only the first that ends at or after t can hold it
  const g = lowerBound(w.end, w.count, t);
  return g < w.count && t >= w.start[g];
}

function phaseBreakdown(
  trace: Trace, deviceId: number, ops: CommOp[], computeSet: IntervalSet, links: CallLinks | null,
): { byPhase: PhaseCommunication[]; phasesSeen: string[] } {
  // no communication, nothing to place (and the phase ranges of a big trace are not worth reading)
  if (ops.length === 0) return { byPhase: [], phasesSeen: [] };
  const phases = opPhases(trace, deviceId, ops.map((o) => ({ call: o.call, gpuStart: o.start })), links ?? undefined);
  const phasesSeen = [...phases.seen];
  if (ops.length === 0 || (phases.seen.length === 0 && !phases.microBatch.some((m) => m >= 0))) return { byPhase: [], phasesSeen };
  const groups = new Map<string, { phase: string; microBatch: number | null; kernels: number; pieces: Pieces; order: number }>();
  ops.forEach((o, j) => {
    const ph = phases.phase[j] >= 0 ? PHASES[phases.phase[j]] : 'none';
    const mb = phases.microBatch[j] >= 0 ? phases.microBatch[j] : null;
    const key = `${ph}\u0000${mb ?? ''}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { phase: ph, microBatch: mb, kernels: 0, pieces: new Pieces(), order: ph === 'none' ? PHASES.length : PHASES.indexOf(ph as (typeof PHASES)[number]) }));
    g.kernels++;
    for (let p = 0; p < o.pieces.start.length; p++) g.pieces.push(o.pieces.start[p], o.pieces.end[p]);
  });
  const byPhase = [...groups.values()]
    .sort((a, b) => a.order - b.order || (a.microBatch ?? -1) - (b.microBatch ?? -1))
    .map((g) => {
      const set = g.pieces.set();
      const busy = totalLength(set);
      const exposed = totalLength(difference(set, computeSet));
      return { phase: g.phase, microBatch: g.microBatch, kernels: g.kernels, busy, exposed, hiddenShare: busy > 0 ? 1 - exposed / busy : null };
    });
  return { byPhase, phasesSeen };
}

function collectiveSequence(ops: CommOp[], computeSet: IntervalSet): CollectiveSequence {
  const out: CollectiveSequence = { names: [], waitsForPeers: [], name: [], start: [], duration: [], exposed: [], omitted: 0 };
  const index = new Map<string, number>();
  for (const o of ops) {
    if (o.class !== 'communication') continue;
    if (out.start.length >= COLLECTIVE_LIMIT) { out.omitted++; continue; }
    const label = o.source === 'collective args' || o.source === 'NVTX range' ? o.family : o.name;
    let n = index.get(label);
    if (n === undefined) { n = out.names.length; out.names.push(label); out.waitsForPeers.push(o.source !== 'NVTX range'); index.set(label, n); }
    out.name.push(n);
    out.start.push(o.start);
    out.duration.push(o.end - o.start);
    out.exposed.push(totalLength(difference(o.pieces.set(), computeSet)));
  }
  return out;
}
