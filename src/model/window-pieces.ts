/**
 * The pieces of a device's operations inside the window W (an interval set: one piece per segment
 * of a --range window): the one definition of "in W" that analyses/select.ts builds every metric
 * on, and that the HTML renderer's concurrency chart uses too.
 *
 * An operation is in W when its clipped part has positive length, or when it has zero length and
 * lies in a segment [start, end].
 */
import { union, type IntervalSet } from './intervals.js';
import type { IntColumn } from './trace.js';

/** A window as the report holds it: [start, end], or its --range segments when it has them. */
export interface WindowSpan {
  start: number;
  end: number;
  segments?: { start: number; end: number }[];
}

/** W as an interval set: the window's --range segments, or [start, end] when it has none (the one conversion). */
export function windowIntervals(window: WindowSpan): IntervalSet {
  const segs = window.segments ?? [{ start: window.start, end: window.end }];
  return union(segs.map((x) => x.start), segs.map((x) => x.end), segs.length);
}

/** The columns an operation table (kernels, memcpy, memset) has for this. */
export interface WindowColumns {
  count: number;
  start: Float64Array;
  end: Float64Array;
  deviceId: IntColumn;
}

/**
 * The piece forEachInWindow's visit is given: [piece[0], piece[1]], valid during the call. Not
 * arguments: the walk calls many different visits, none of which the compiler inlines, and a
 * double passed to a call that is not inlined is a new heap number (two a kernel a walk, ~64 MB
 * of garbage per analysis of a million kernels).
 */
export const piece = new Float64Array(2);

/** Calls visit(row, firstPieceOfRow) for each piece of the device's rows in W, the piece's bounds in `piece`. */
export function forEachInWindow(
  t: WindowColumns, deviceId: number, window: IntervalSet, visit: (row: number, first: boolean) => void,
): void {
  forEachRunInWindow(t, deviceId, window, (from, to) => {
    for (let i = from; i < to; i++) {
      piece[0] = t.start[i];
      piece[1] = t.end[i];
      visit(i, true);
    }
  }, visit);
}

/**
 * forEachInWindow's pieces, in the same (row) order, with the rows that are whole inside one
 * segment of W handed over a run at a time: whole(from, to) for each run of consecutive rows
 * from .. to - 1, each the device's and its one piece the row itself ([start, end], first); cut(row,
 * first) with the piece's bounds in `piece` for every other piece. A caller then walks the
 * common case, millions of whole kernels, in a loop of its own instead of a call per row.
 */
export function forEachRunInWindow(
  t: WindowColumns, deviceId: number, window: IntervalSet,
  whole: (from: number, to: number) => void, cut: (row: number, first: boolean) => void,
): void {
  let seg = 0;
  let runFrom = -1;
  for (let i = 0; i < t.count; i++) {
    if (t.deviceId[i] === deviceId) {
      const s = t.start[i];
      const e = t.end[i];
      // Rows come sorted by start, so segments ending before s are behind every later row too.
      while (seg < window.count && window.end[seg] < s) seg++;
      // whole inside segment seg: its only piece (segments neither overlap nor touch, so the next
      // starts after e), as the loop below would find it
      if (seg < window.count && window.start[seg] <= s && e <= window.end[seg] && e >= s) {
        if (runFrom < 0) runFrom = i;
        continue;
      }
      if (runFrom >= 0) { whole(runFrom, i); runFrom = -1; }
      let first = true;
      for (let j = seg; j < window.count && window.start[j] <= e; j++) {
        const a = Math.max(s, window.start[j]);
        const b = Math.min(e, window.end[j]);
        if (b > a || (e === s && s >= window.start[j] && s <= window.end[j])) {
          piece[0] = a;
          piece[1] = b;
          cut(i, first);
          first = false;
          if (e === s) break;
        }
      }
    } else if (runFrom >= 0) {
      whole(runFrom, i);
      runFrom = -1;
    }
  }
  if (runFrom >= 0) whole(runFrom, t.count);
}
