/**
 * Whether two reports of the same workload, read from different formats (an nsys export and a
 * PyTorch profiler trace), tell the same story: the per-iteration figures `compare` prints and the
 * findings that fire. Counts must match exactly; times within a relative tolerance, because the
 * two traces of fixtures/kineto-2.11 come from two processes (nsys and Kineto cannot both record
 * one: fixtures/MANIFEST.md), so kernel durations differ run to run.
 */
import { compareReports, type ComparedTrace } from '../../src/commands/compare.js';
import type { Report } from '../../src/report/types.js';

export interface Tolerances {
  /** relative difference allowed in GPU busy time per iteration */
  busyRel: number;
  /** absolute difference allowed in overlap share (a fraction of busy time) */
  overlapAbs: number;
}

export interface Disagreement {
  metric: string;
  a: unknown;
  b: unknown;
}

const rel = (a: number, b: number): number => Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b), 1e-12);

/** The figures of `a` and `b` that disagree beyond the tolerances; [] when they agree. */
export function disagreements(a: Report, b: Report, tol: Tolerances): { list: Disagreement[]; traces: ComparedTrace[] } {
  const c = compareReports([a, b], ['a', 'b']);
  const [x, y] = c.traces;
  const list: Disagreement[] = [];
  const exact = (metric: keyof ComparedTrace): void => {
    if (x[metric] !== y[metric]) list.push({ metric, a: x[metric], b: y[metric] });
  };
  exact('kernelsPerIteration');
  exact('streams');
  exact('syncsPerIteration');
  if (x.iterations === null || y.iterations === null) list.push({ metric: 'iterations', a: x.iterations, b: y.iterations });
  if (x.busyPerIteration === null || y.busyPerIteration === null || rel(x.busyPerIteration, y.busyPerIteration) > tol.busyRel) {
    list.push({ metric: 'busyPerIteration', a: x.busyPerIteration, b: y.busyPerIteration });
  }
  if (x.overlapShare === null || y.overlapShare === null || Math.abs(x.overlapShare - y.overlapShare) > tol.overlapAbs) {
    list.push({ metric: 'overlapShare', a: x.overlapShare, b: y.overlapShare });
  }
  if (c.differingFindings.length > 0) list.push({ metric: 'findings', a: Object.keys(x.findings), b: Object.keys(y.findings) });
  return { list, traces: c.traces };
}
