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
  difference, distribution, overlapWith, totalLength, union, type IntervalSet,
} from '../model/intervals.js';
import { ClassCode, KERNEL_CLASSES, isCommunicationClass, isComputeClass, type KernelClassification } from './kernel-classes.js';
import { kernelPhases, PHASES } from './phases.js';

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
}

export function analyzeCommunication(
  trace: Trace, deviceId: number, window: Window, classes: KernelClassification, options: CommunicationOptions = {},
): CommunicationReport {
  const k = trace.kernels;
  const w = windowSet(window);
  const lo = w.count > 0 ? w.start[0] : 0;
  const hi = w.count > 0 ? w.end[w.count - 1] : 0;
  const comm = new Pieces();
  const commOnly = new Pieces();
  const compute = new Pieces();
  const byClass = KERNEL_CLASSES.map(() => ({ count: 0, time: 0, pieces: new Pieces() }));
  const byName = new Map<number, { count: number; time: number; pieces: Pieces; rows: number[] }>();
  const commRows: number[] = [];
  // each kernel's pieces inside W (one per segment it meets)
  const clip = (s: number, e: number, each: (a: number, b: number) => void): void => {
    for (let g = 0; g < w.count; g++) {
      const a = Math.max(s, w.start[g]);
      const b = Math.min(e, w.end[g]);
      if (b > a) each(a, b);
    }
  };
  for (let i = 0; i < k.count; i++) {
    if (k.deviceId[i] !== deviceId || k.end[i] < lo || k.start[i] > hi) continue;
    let time = 0;
    const code = classes.classOf[i];
    const cls = byClass[code];
    const entry = classes.nameOf[i];
    let named = byName.get(entry);
    if (!named) byName.set(entry, (named = { count: 0, time: 0, pieces: new Pieces(), rows: [] }));
    let met = false;
    clip(k.start[i], k.end[i], (a, b) => {
      met = true;
      time += b - a;
      cls.pieces.push(a, b);
      named!.pieces.push(a, b);
      if (isCommunicationClass(code)) comm.push(a, b);
      if (code === ClassCode.communication) commOnly.push(a, b);
      if (isComputeClass(code)) compute.push(a, b);
    });
    // a zero-length kernel inside a segment counts as a kernel, adding no time (as selectOps)
    if (!met && !(k.end[i] > k.start[i]) && insideSome(w, k.start[i])) met = true;
    if (!met) continue;
    cls.count++; cls.time += time;
    named.count++; named.time += time; named.rows.push(i);
    if (isCommunicationClass(code)) commRows.push(i);
  }
  // memcpy/memset are memory operations
  const memory = byClass[ClassCode.memory];
  const transferNames: ClassifiedKernel[] = [];
  for (const [label, cols] of [['memcpy', trace.memcpy], ['memset', trace.memset]] as const) {
    let count = 0;
    let time = 0;
    for (let i = 0; i < cols.count; i++) {
      if (cols.deviceId[i] !== deviceId || cols.end[i] < lo || cols.start[i] > hi) continue;
      let met = false;
      clip(cols.start[i], cols.end[i], (a, b) => { met = true; time += b - a; memory.pieces.push(a, b); });
      if (!met && (cols.end[i] > cols.start[i] || !insideSome(w, cols.start[i]))) continue;
      count++;
    }
    memory.count += count; memory.time += time;
    if (count > 0) transferNames.push({ name: `[CUDA ${label}]`, class: 'memory', family: `CUDA ${label}`, source: 'table', count, time });
  }

  const commSet = comm.set();
  const computeSet = compute.set();
  const exposedSet = difference(commSet, computeSet);
  const busy = totalLength(commSet);
  const exposed = totalLength(exposedSet);
  const syncOnly = busy - totalLength(commOnly.set());
  const wLength = totalLength(w);

  const str = (n: number): string => trace.strings[n] ?? '?';
  const classified = (entry: number, n: { count: number; time: number }): ClassifiedKernel => {
    const c = classes.names[entry];
    return { name: str(c.name), class: c.class, family: c.family, source: c.source, count: n.count, time: n.time };
  };
  // communication names: entries of one short name, class and family together
  const commGroups = new Map<string, { first: number; count: number; time: number; pieces: Pieces; rows: number[] }>();
  for (const [entry, n] of byName) {
    const c = classes.names[entry];
    if (!isCommunicationClass(ClassCode[c.class]) || n.count === 0) continue;
    const key = `${c.name}\u0000${c.class}\u0000${c.family}\u0000${c.source}`;
    const g = commGroups.get(key);
    if (!g) { commGroups.set(key, { first: entry, count: n.count, time: n.time, pieces: n.pieces, rows: n.rows }); continue; }
    g.count += n.count; g.time += n.time; g.rows.push(...n.rows);
    for (let p = 0; p < n.pieces.start.length; p++) g.pieces.push(n.pieces.start[p], n.pieces.end[p]);
  }
  const kernels: CommunicationKernel[] = [];
  for (const g of commGroups.values()) {
    const overlapped: number[] = [];
    const alone: number[] = [];
    for (const i of g.rows) (overlapWith(computeSet, k.start[i], k.end[i]) > 0 ? overlapped : alone).push(k.end[i] - k.start[i]);
    kernels.push({
      ...classified(g.first, g),
      exposed: totalLength(difference(g.pieces.set(), computeSet)),
      medianOverlapped: overlapped.length > 0 ? distribution(overlapped).median : null,
      medianAlone: alone.length > 0 ? distribution(alone).median : null,
    });
  }
  kernels.sort(byTime);

  const classSummaries: ClassSummary[] = [];
  KERNEL_CLASSES.forEach((cls, code) => {
    const c = byClass[code];
    if (c.count === 0) return;
    const named = mergeSameName([...byName].filter(([entry, n]) => ClassCode[classes.names[entry].class] === code && n.count > 0)
      .map(([entry, n]) => classified(entry, n)));
    if (cls === 'memory') named.push(...transferNames);
    named.sort(byTime);
    classSummaries.push({
      class: cls as KernelClassName, count: c.count, time: c.time, busy: totalLength(c.pieces.set()),
      names: named.length, top: named.slice(0, CLASS_NAME_LIMIT),
    });
  });

  const report: CommunicationReport = {
    kernels,
    kernelCount: commRows.length,
    busy, exposed, hidden: busy - exposed,
    hiddenShare: busy > 0 ? 1 - exposed / busy : null,
    exposedShare: wLength > 0 ? exposed / wLength : null,
    syncOnly,
    computeBusy: totalLength(computeSet),
    byPhase: phaseBreakdown(trace, deviceId, commRows, w, computeSet),
    classes: classSummaries,
    collectives: collectiveSequence(trace, classes, commRows, w, computeSet),
  };
  if (options.classesFile !== undefined) report.classesFile = options.classesFile;
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

/** Pieces of [s, e) inside W, as a set. */
function clipped(w: IntervalSet, s: number, e: number): IntervalSet {
  const p = new Pieces();
  for (let g = 0; g < w.count; g++) {
    const a = Math.max(s, w.start[g]);
    const b = Math.min(e, w.end[g]);
    if (b > a) p.push(a, b);
  }
  return p.set();
}

function phaseBreakdown(trace: Trace, deviceId: number, rows: number[], w: IntervalSet, computeSet: IntervalSet): PhaseCommunication[] {
  if (rows.length === 0) return [];
  const phases = kernelPhases(trace, deviceId, rows);
  if (phases.seen.length === 0 && !rows.some((i) => phases.microBatch[i] >= 0)) return [];
  const k = trace.kernels;
  const groups = new Map<string, { phase: string; microBatch: number | null; kernels: number; pieces: Pieces; order: number }>();
  for (const i of rows) {
    const ph = phases.phase[i] >= 0 ? PHASES[phases.phase[i]] : 'none';
    const mb = phases.microBatch[i] >= 0 ? phases.microBatch[i] : null;
    const key = `${ph}\u0000${mb ?? ''}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { phase: ph, microBatch: mb, kernels: 0, pieces: new Pieces(), order: ph === 'none' ? PHASES.length : PHASES.indexOf(ph as (typeof PHASES)[number]) }));
    g.kernels++;
    const c = clipped(w, k.start[i], k.end[i]);
    for (let p = 0; p < c.count; p++) g.pieces.push(c.start[p], c.end[p]);
  }
  return [...groups.values()]
    .sort((a, b) => a.order - b.order || (a.microBatch ?? -1) - (b.microBatch ?? -1))
    .map((g) => {
      const set = g.pieces.set();
      const busy = totalLength(set);
      const exposed = totalLength(difference(set, computeSet));
      return { phase: g.phase, microBatch: g.microBatch, kernels: g.kernels, busy, exposed, hiddenShare: busy > 0 ? 1 - exposed / busy : null };
    });
}

function collectiveSequence(trace: Trace, classes: KernelClassification, rows: number[], w: IntervalSet, computeSet: IntervalSet): CollectiveSequence {
  const k = trace.kernels;
  const out: CollectiveSequence = { names: [], name: [], start: [], duration: [], exposed: [], omitted: 0 };
  const index = new Map<string, number>();
  // rows are in kernel-table order, which readers keep sorted by start
  for (const i of rows) {
    if (classes.classOf[i] !== ClassCode.communication) continue;
    if (out.start.length >= COLLECTIVE_LIMIT) { out.omitted++; continue; }
    const c = classes.names[classes.nameOf[i]];
    const label = c.source === 'collective args' ? c.family : trace.strings[c.name] ?? '?';
    let n = index.get(label);
    if (n === undefined) { n = out.names.length; out.names.push(label); index.set(label, n); }
    const set = clipped(w, k.start[i], k.end[i]);
    out.name.push(n);
    out.start.push(k.start[i]);
    out.duration.push(k.end[i] - k.start[i]);
    out.exposed.push(totalLength(difference(set, computeSet)));
  }
  return out;
}
