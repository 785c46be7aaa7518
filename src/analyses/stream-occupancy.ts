/**
 * "What did each stream do, and which streams ever ran together?" Per-stream occupancy and
 * stream-pair overlap (DESIGN.md). A stream is (process, streamId): every process has its own
 * stream 7, so equal ids in two processes are two streams.
 *
 * Stream pairs: only pairs with positive overlap are listed (a pair not listed overlapped 0 ns),
 * largest overlap first; with 64 expert streams the full matrix would be 2016 mostly-zero rows.
 */
import type { StreamPairOverlap, StreamStats } from '../report/types.js';
import {
  complement, distribution, distributionInPlace, groupPairOverlaps, intersect, totalLength, unionSorted, type IntervalSet,
} from '../model/intervals.js';
import type { OpSelection } from './select.js';

export interface StreamOccupancy {
  streams: StreamStats[];
  pairs: StreamPairOverlap[];
}

export function streamOccupancy(sel: OpSelection, window: IntervalSet, deviceBusy: number): StreamOccupancy {
  const windowLength = totalLength(window);
  const slotOf = new Map<number, number>();
  const slotStream: number[] = [];
  const slotProcess: number[] = [];
  const slot = (process: number, streamId: number): number => {
    const key = (process + 1) * 4294967296 + (streamId >>> 0);
    let s = slotOf.get(key);
    if (s === undefined) {
      s = slotStream.length;
      slotOf.set(key, s);
      slotStream.push(streamId);
      slotProcess.push(process);
    }
    return s;
  };
  const opSlot = new Int32Array(sel.ops.count);
  // consecutive ops are mostly on one stream: look the slot up only when the stream changes
  let lastProcess = NaN;
  let lastStream = NaN;
  let lastSlot = -1;
  for (let o = 0; o < sel.ops.count; o++) {
    const p = sel.ops.process[o];
    const sid = sel.ops.streamId[o];
    if (p !== lastProcess || sid !== lastStream) { lastSlot = slot(p, sid); lastProcess = p; lastStream = sid; }
    opSlot[o] = lastSlot;
  }
  const nSlots = slotStream.length;
  // One stream (a sequential program): the selection is already grouped, nothing to copy.
  const { gs, ge, offset, durations, opOffset, pieceSlot } = nSlots === 1
    ? { gs: sel.start, ge: sel.end, offset: Int32Array.of(0, sel.count), durations: sel.ops.duration, opOffset: Int32Array.of(0, sel.ops.count), pieceSlot: null }
    : groupByStream(sel, opSlot, nSlots);

  const streams: StreamStats[] = [];
  for (let s = 0; s < nSlots; s++) {
    const a = offset[s];
    const b = offset[s + 1];
    const { busy, gapDur } = window.count === 1
      ? busyAndGaps(gs.subarray(a, b), ge.subarray(a, b), b - a)
      : busyAndGapsInSegments(gs.subarray(a, b), ge.subarray(a, b), b - a, window);
    streams.push({
      streamId: slotStream[s],
      process: slotProcess[s],
      kernelCount: opOffset[s + 1] - opOffset[s],
      busy,
      occupancy: windowLength > 0 ? busy / windowLength : null,
      shareOfDeviceBusy: deviceBusy > 0 ? busy / deviceBusy : null,
      duration: distribution(durations.subarray(opOffset[s], opOffset[s + 1])),
      gaps: distributionInPlace(gapDur),
    });
  }
  const multiProcess = new Set(slotProcess).size > 1;
  const pairs: StreamPairOverlap[] = [];
  const overlaps = pieceSlot ? groupPairOverlaps(sel.start, sel.end, pieceSlot, sel.count, nSlots) : new Map<number, number>();
  for (const [key, overlap] of overlaps) {
    let x = Math.floor(key / nSlots);
    let y = key % nSlots;
    if (slotProcess[x] > slotProcess[y] || (slotProcess[x] === slotProcess[y] && slotStream[x] > slotStream[y])) [x, y] = [y, x];
    const pair: StreamPairOverlap = { a: slotStream[x], b: slotStream[y], overlap };
    if (multiProcess) { pair.processA = slotProcess[x]; pair.processB = slotProcess[y]; }
    pairs.push(pair);
  }
  pairs.sort((p, q) => q.overlap - p.overlap || (p.processA ?? 0) - (q.processA ?? 0) || p.a - q.a || (p.processB ?? 0) - (q.processB ?? 0) || p.b - q.b);
  streams.sort((p, q) => p.process - q.process || p.streamId - q.streamId);
  return { streams, pairs };
}

/** Pieces and op durations grouped by stream keeping start order (counting sorts). */
function groupByStream(sel: OpSelection, opSlot: Int32Array, nSlots: number): {
  gs: Float64Array; ge: Float64Array; offset: Int32Array; durations: Float64Array; opOffset: Int32Array; pieceSlot: Int32Array;
} {
  const pieceSlot = new Int32Array(sel.count);
  for (let i = 0; i < sel.count; i++) pieceSlot[i] = opSlot[sel.op[i]];
  const offset = new Int32Array(nSlots + 1);
  for (let i = 0; i < sel.count; i++) offset[pieceSlot[i] + 1]++;
  for (let s = 0; s < nSlots; s++) offset[s + 1] += offset[s];
  const fill = offset.slice(0, nSlots);
  const gs = new Float64Array(sel.count);
  const ge = new Float64Array(sel.count);
  for (let i = 0; i < sel.count; i++) {
    const k = fill[pieceSlot[i]]++;
    gs[k] = sel.start[i]; ge[k] = sel.end[i];
  }
  const opOffset = new Int32Array(nSlots + 1);
  for (let o = 0; o < sel.ops.count; o++) opOffset[opSlot[o] + 1]++;
  for (let s = 0; s < nSlots; s++) opOffset[s + 1] += opOffset[s];
  const opFill = opOffset.slice(0, nSlots);
  const durations = new Float64Array(sel.ops.count);
  for (let o = 0; o < sel.ops.count; o++) durations[opFill[opSlot[o]]++] = sel.ops.duration[o];
  return { gs, ge, offset, durations, opOffset, pieceSlot };
}

/**
 * A stream's busy time and its idle stretches between consecutive kernels, for a one-segment W:
 * the pieces are clipped to W, so every stretch between them lies inside W. One pass, and the
 * stream's union is never built.
 */
function busyAndGaps(start: Float64Array, end: Float64Array, count: number): { busy: number; gapDur: Float64Array } {
  const gaps = new Float64Array(count);
  let n = 0;
  let busy = 0;
  let curS = 0;
  let curE = 0;
  let open = false;
  for (let i = 0; i < count; i++) {
    const s = start[i];
    const e = end[i];
    if (!(e > s)) continue;
    if (open && s <= curE) {
      if (e > curE) curE = e;
    } else {
      if (open) { busy += curE - curS; gaps[n++] = s - curE; }
      curS = s; curE = e; open = true;
    }
  }
  if (open) busy += curE - curS;
  return { busy, gapDur: gaps.subarray(0, n) };
}

/** The same for a --range W of several segments: the stretches between segments are outside W and drop out. */
function busyAndGapsInSegments(start: Float64Array, end: Float64Array, count: number, window: IntervalSet): { busy: number; gapDur: Float64Array } {
  const u = unionSorted(start, end, count);
  const gaps = u.count > 1 ? intersect(complement(u, u.start[0], u.end[u.count - 1]), window) : null;
  const gapDur = new Float64Array(gaps ? gaps.count : 0);
  for (let i = 0; i < gapDur.length; i++) gapDur[i] = gaps!.end[i] - gaps!.start[i];
  return { busy: totalLength(u), gapDur };
}
