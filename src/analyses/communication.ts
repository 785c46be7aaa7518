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
  difference, totalLength, union, type IntervalSet,
} from '../model/intervals.js';
import { ClassCode, KERNEL_CLASSES, isCommunicationClass, isComputeClass, type KernelClassification } from './kernel-classes.js';
import { communicationRangeOfCalls, opPhases, PHASES } from './phases.js';
import { callLinks } from './correlation.js';
import { kernelContention } from './contention.js';

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

export function windowSet(window: Window): IntervalSet {
  const segs = window.segments ?? [{ start: window.start, end: window.end }];
  return union(segs.map((s) => s.start), segs.map((s) => s.end), segs.length);
}

export interface CommunicationOptions {
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
}

export function analyzeCommunication(
  trace: Trace, deviceId: number, window: Window, classes: KernelClassification, options: CommunicationOptions = {},
): CommunicationReport {
  const k = trace.kernels;
  const w = windowSet(window);
  const lo = w.count > 0 ? w.start[0] : 0;
  const hi = w.count > 0 ? w.end[w.count - 1] : 0;
  const compute = new Pieces();
  const byClass = KERNEL_CLASSES.map(() => ({ count: 0, time: 0, pieces: new Pieces() }));
  // kernels by classification entry (short + full name): counted without an object per kernel
  const byName = new Map<number, { count: number; time: number }>();
  const ops: CommOp[] = [];
  const commKernelRows: number[] = [];
  // an operation's pieces inside W (one per segment it meets); false when it is not in W
  const clip = (s: number, e: number, each: (a: number, b: number) => void): boolean => {
    let met = false;
    for (let g = 0; g < w.count; g++) {
      const a = Math.max(s, w.start[g]);
      const b = Math.min(e, w.end[g]);
      if (b > a) { met = true; each(a, b); }
    }
    // a zero-length operation inside a segment counts, adding no time (as selectOps)
    return met || (!(e > s) && insideSome(w, s));
  };
  let links: ReturnType<typeof callLinks> | null = null;
  for (let i = 0; i < k.count; i++) {
    if (k.deviceId[i] !== deviceId || k.end[i] < lo || k.start[i] > hi) continue;
    const code = classes.classOf[i];
    const cls = byClass[code];
    const commClass = isCommunicationClass(code);
    const pieces = commClass ? new Pieces() : null;
    let time = 0;
    const met = clip(k.start[i], k.end[i], (a, b) => {
      time += b - a;
      cls.pieces.push(a, b);
      if (pieces) pieces.push(a, b);
      else if (isComputeClass(code)) compute.push(a, b);
    });
    if (!met) continue;
    cls.count++; cls.time += time;
    const entry = classes.nameOf[i];
    const named = byName.get(entry);
    if (named) { named.count++; named.time += time; } else byName.set(entry, { count: 1, time });
    if (pieces) {
      const c = classes.names[entry];
      links ??= callLinks(trace);
      ops.push({
        start: k.start[i], end: k.end[i], call: links.kernelCall[i], name: trace.strings[c.name] ?? '?',
        class: c.class as CommOp['class'], family: c.family, source: c.source, time, pieces,
      });
      commKernelRows.push(i);
    }
  }
  // memcpy/memset: memory operations, unless a communication library issued them (inside its NVTX range)
  const memory = byClass[ClassCode.memory];
  const communication = byClass[ClassCode.communication];
  const transferNames: ClassifiedKernel[] = [];
  const commTransfers = new Map<string, ClassifiedKernel>();
  for (const [label, cols] of [['memcpy', trace.memcpy], ['memset', trace.memset]] as const) {
    const rows: number[] = [];
    for (let i = 0; i < cols.count; i++) {
      if (cols.deviceId[i] !== deviceId || cols.end[i] < lo || cols.start[i] > hi) continue;
      if (clip(cols.start[i], cols.end[i], () => {})) rows.push(i);
    }
    if (rows.length === 0) continue;
    links ??= callLinks(trace);
    const callOf = label === 'memcpy' ? links.memcpyCall : links.memsetCall;
    const ranges = communicationRangeOfCalls(trace, rows.map((i) => callOf[i]));
    let count = 0;
    let time = 0;
    rows.forEach((i, j) => {
      const range = ranges[j];
      const pieces = new Pieces();
      let t = 0;
      clip(cols.start[i], cols.end[i], (a, b) => { t += b - a; (range ? pieces : memory.pieces).push(a, b); if (range) communication.pieces.push(a, b); });
      if (range === null) { count++; time += t; return; }
      const name = `[CUDA ${label}]`;
      const family = /^rccl/i.test(range) ? `RCCL: ${range.replace(/^rccl:/i, "")}` : `NCCL: ${range.replace(/^nccl:/i, "")}`;
      ops.push({ start: cols.start[i], end: cols.end[i], call: callOf[i], name, class: 'communication', family, source: 'NVTX range', time: t, pieces });
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
  const computeSet = compute.set();
  const busy = totalLength(commSet);
  const exposed = totalLength(difference(commSet, computeSet));
  const syncOnly = busy - totalLength(commOnly.set());
  const wLength = totalLength(w);

  // communication names: operations of one name, class and family together
  const groups = new Map<string, { first: CommOp; count: number; time: number; pieces: Pieces }>();
  for (const o of ops) {
    const key = `${o.name}\u0000${o.class}\u0000${o.family}\u0000${o.source}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { first: o, count: 0, time: 0, pieces: new Pieces() }));
    g.count++; g.time += o.time;
    for (let p = 0; p < o.pieces.start.length; p++) g.pieces.push(o.pieces.start[p], o.pieces.end[p]);
  }
  const kernels: CommunicationKernel[] = [...groups.values()].map((g) => ({
    name: g.first.name, class: g.first.class, family: g.first.family, source: g.first.source, count: g.count, time: g.time,
    exposed: totalLength(difference(g.pieces.set(), computeSet)),
  }));
  kernels.sort(byTime);

  const classified = (entry: number, n: { count: number; time: number }): ClassifiedKernel => {
    const c = classes.names[entry];
    return { name: trace.strings[c.name] ?? '?', class: c.class, family: c.family, source: c.source, count: n.count, time: n.time };
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
      class: cls as KernelClassName, count: c.count, time: c.time, busy: totalLength(c.pieces.set()),
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
    computeBusy: totalLength(computeSet),
    byPhase: phaseBreakdown(trace, deviceId, ops, computeSet),
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

function insideSome(w: IntervalSet, t: number): boolean {
  for (let g = 0; g < w.count; g++) if (t >= w.start[g] && t <= w.end[g]) return true;
  return false;
}

function phaseBreakdown(trace: Trace, deviceId: number, ops: CommOp[], computeSet: IntervalSet): PhaseCommunication[] {
  if (ops.length === 0) return [];
  const phases = opPhases(trace, deviceId, ops.map((o) => ({ call: o.call, gpuStart: o.start })));
  if (phases.seen.length === 0 && !phases.microBatch.some((m) => m >= 0)) return [];
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
  return [...groups.values()]
    .sort((a, b) => a.order - b.order || (a.microBatch ?? -1) - (b.microBatch ?? -1))
    .map((g) => {
      const set = g.pieces.set();
      const busy = totalLength(set);
      const exposed = totalLength(difference(set, computeSet));
      return { phase: g.phase, microBatch: g.microBatch, kernels: g.kernels, busy, exposed, hiddenShare: busy > 0 ? 1 - exposed / busy : null };
    });
}

function collectiveSequence(ops: CommOp[], computeSet: IntervalSet): CollectiveSequence {
  const out: CollectiveSequence = { names: [], name: [], start: [], duration: [], exposed: [], omitted: 0 };
  const index = new Map<string, number>();
  for (const o of ops) {
    if (o.class !== 'communication') continue;
    if (out.start.length >= COLLECTIVE_LIMIT) { out.omitted++; continue; }
    const label = o.source === 'collective args' || o.source === 'NVTX range' ? o.family : o.name;
    let n = index.get(label);
    if (n === undefined) { n = out.names.length; out.names.push(label); index.set(label, n); }
    out.name.push(n);
    out.start.push(o.start);
    out.duration.push(o.end - o.start);
    out.exposed.push(totalLength(difference(o.pieces.set(), computeSet)));
  }
  return out;
}
