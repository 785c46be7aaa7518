/**
 * "Did anything run at the same time?" — the overlap metrics of DESIGN.md over W: busy, kernel
 * time, concurrency, overlap share, time at each concurrency level, utilization.
 */
import type { OverlapMetrics } from '../report/types.js';
import { concurrencyLevels } from '../model/intervals.js';
import type { OpSelection } from './select.js';

/**
 * Pieces must be clipped to W and sorted by start. `opCount` is the number of operations they
 * come from; `windowLength` is |W| (level 0 time is |W| - busy).
 */
export function overlapMetrics(
  start: ArrayLike<number>, end: ArrayLike<number>, count: number, opCount: number, windowLength: number,
): OverlapMetrics {
  return metricsAndHoles(start, end, count, opCount, windowLength).overlap;
}

/** overlapMetrics, and the holes of the pieces' union (ConcurrencyLevels.holes) from the same sweep. */
function metricsAndHoles(
  start: ArrayLike<number>, end: ArrayLike<number>, count: number, opCount: number, windowLength: number,
): { overlap: OverlapMetrics; holes: number } {
  const lv = concurrencyLevels(start, end, count);
  let kernelTime = 0;
  for (let i = 0; i < count; i++) kernelTime += end[i] - start[i];
  const levelTime = lv.levelTime;
  levelTime[0] = windowLength - lv.busy;
  const overlap: OverlapMetrics = {
    kernelCount: opCount,
    busy: lv.busy,
    kernelTime,
    concurrency: lv.busy > 0 ? kernelTime / lv.busy : null,
    overlapShare: lv.busy > 0 ? lv.overlapTime / lv.busy : null,
    overlapTime: lv.overlapTime,
    utilization: windowLength > 0 ? lv.busy / windowLength : null,
    levelTime,
    maxConcurrency: lv.maxConcurrency,
  };
  return { overlap, holes: lv.holes };
}

/** Overlap metrics of the pieces whose `keep` flag is set (e.g. one process's kernels). */
export function overlapOfSubset(
  start: ArrayLike<number>, end: ArrayLike<number>, count: number, keep: (i: number) => boolean,
  opCount: number, windowLength: number,
): OverlapMetrics {
  const s: number[] = [];
  const e: number[] = [];
  for (let i = 0; i < count; i++) if (keep(i)) { s.push(start[i]); e.push(end[i]); }
  return overlapMetrics(s, e, s.length, opCount, windowLength);
}

/** Overlap metrics of a device selection (see select.ts) over a window of length |W|. */
export function overlapOfSelection(sel: OpSelection, windowLength: number): OverlapMetrics {
  return overlapMetrics(sel.start, sel.end, sel.count, sel.ops.count, windowLength);
}

/**
 * overlapOfSelection, and the holes of the selection's union: the device's idle gaps in W are at
 * most these and one more than W's segments (device.ts: the gap columns' size, no walk to count them).
 */
export function overlapAndHoles(sel: OpSelection, windowLength: number): { overlap: OverlapMetrics; holes: number } {
  return metricsAndHoles(sel.start, sel.end, sel.count, sel.ops.count, windowLength);
}
