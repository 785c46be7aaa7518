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
  groupPairOverlaps, totalLength, type IntervalSet,
} from '../model/intervals.js';
import { distributionAndRanksUncounted, distributionOf, type ValueSink } from '../model/distribution.js';
import { runningDoubles } from '../model/columns.js';
import { opDuration, pieceOp, type OpSelection } from './select.js';

export interface StreamOccupancy {
  streams: StreamStats[];
  pairs: StreamPairOverlap[];
  /** with a `listLimit`, a selection of one stream: what device.ts needs to know whether its gaps are the device's */
  oneStream?: OneStreamGaps;
}

/**
 * A one-stream selection's gaps: their count, the stream's first piece's start and last end (its
 * gaps lie between), and the length of the listLimit-th longest (null when there are no more).
 */
export interface OneStreamGaps { count: number; first: number; last: number; threshold: number | null }

/**
 * `listLimit`: for a selection of one stream, its gap statistics' passes also find the length of
 * its listLimit-th longest gap (StreamOccupancy.oneStream): when the device's gaps are the stream's,
 * the gap classes take both from here instead of passes of their own (device.ts).
 */
export function streamOccupancy(sel: OpSelection, window: IntervalSet, deviceBusy: number, listLimit = -1): StreamOccupancy {
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
  const { ops } = sel;
  let oneStream = true;
  for (let o = 1; o < ops.count && oneStream; o++) {
    if (ops.process[o] !== ops.process[0] || ops.streamId[o] !== ops.streamId[0]) oneStream = false;
  }
  // One stream (a sequential program): the selection is already grouped, no slot per op.
  let opSlot: Int32Array | null = null;
  if (oneStream) {
    if (ops.count > 0) slot(ops.process[0], ops.streamId[0]);
  } else {
    opSlot = new Int32Array(ops.count);
    // consecutive ops are mostly on one stream: look the slot up only when the stream changes
    let lastProcess = NaN;
    let lastStream = NaN;
    let lastSlot = -1;
    for (let o = 0; o < ops.count; o++) {
      const p = ops.process[o];
      const sid = ops.streamId[o];
      if (p !== lastProcess || sid !== lastStream) { lastSlot = slot(p, sid); lastProcess = p; lastStream = sid; }
      opSlot[o] = lastSlot;
    }
  }
  const nSlots = slotStream.length;
  const g = opSlot ? groupByStream(sel, opSlot, nSlots) : null;
  const offset = g ? g.offset : Int32Array.of(0, sel.count);
  const opOffset = g ? g.opOffset : Int32Array.of(0, ops.count);

  const streams: StreamStats[] = [];
  let single: OneStreamGaps | undefined;
  for (let s = 0; s < nSlots; s++) {
    const a = offset[s];
    const b = offset[s + 1];
    const piece = g ? g.pieces.subarray(a, b) : null;
    // the stream's gaps as the walk finds them, counted by the statistics' first pass (no walk of
    // its own to count them), which gives the busy time too; at most one a piece and one a segment
    let walk: StreamWalk = { busy: 0, first: 0, last: 0 };
    const { distribution: gapStats, atRanks } = distributionAndRanksUncounted(
      (out) => { walk = busyAndGapsInSegments(sel.start, sel.end, piece, a, b, window, out); }, b - a + window.count,
      (n) => (!g && listLimit >= 0 && n > listLimit ? [n - listLimit] : []),
    );
    const busy = walk.busy;
    if (!g && listLimit >= 0) single = { count: gapStats.count, first: walk.first, last: walk.last, threshold: atRanks.length > 0 ? atRanks[0] : null };
    const ops = opOffset[s + 1] - opOffset[s];
    const duration = distributionOf(ops, (out) => {
      for (let j = opOffset[s]; j < opOffset[s + 1]; j++) out.put(opDuration(sel, g ? g.ops[j] : j));
    });
    streams.push({
      streamId: slotStream[s],
      process: processOrNull(slotProcess[s]),
      kernelCount: ops,
      busy,
      occupancy: windowLength > 0 ? busy / windowLength : null,
      shareOfDeviceBusy: deviceBusy > 0 ? busy / deviceBusy : null,
      duration,
      gaps: gapStats,
    });
  }
  const multiProcess = new Set(slotProcess).size > 1;
  const pairs: StreamPairOverlap[] = [];
  const overlaps = g ? groupPairOverlaps(sel.start, sel.end, g.pieceSlot, sel.count, nSlots) : new Map<number, number>();
  for (const [key, overlap] of overlaps) {
    let x = Math.floor(key / nSlots);
    let y = key % nSlots;
    if (slotProcess[x] > slotProcess[y] || (slotProcess[x] === slotProcess[y] && slotStream[x] > slotStream[y])) [x, y] = [y, x];
    const pair: StreamPairOverlap = { a: slotStream[x], b: slotStream[y], overlap };
    if (multiProcess) { pair.processA = processOrNull(slotProcess[x]); pair.processB = processOrNull(slotProcess[y]); }
    pairs.push(pair);
  }
  pairs.sort((p, q) => q.overlap - p.overlap || (p.processA ?? -1) - (q.processA ?? -1) || p.a - q.a || (p.processB ?? -1) - (q.processB ?? -1) || p.b - q.b);
  streams.sort((p, q) => (p.process ?? -1) - (q.process ?? -1) || p.streamId - q.streamId);
  return single ? { streams, pairs, oneStream: single } : { streams, pairs };
}

/** A stream's walk: its busy time, its first piece's start and its last end (0 and 0 without pieces). */
interface StreamWalk { busy: number; first: number; last: number }

/**
 * Piece and op indices grouped by stream, keeping start order (counting sorts): indices rather
 * than copied start/end columns.
 */
function groupByStream(sel: OpSelection, opSlot: Int32Array, nSlots: number): {
  pieces: Int32Array; offset: Int32Array; ops: Int32Array; opOffset: Int32Array; pieceSlot: Int32Array;
} {
  // every operation one piece, piece i operation i (the usual case): the piece columns serve both
  const same = sel.op === null;
  const pieceSlot = same ? opSlot : new Int32Array(sel.count);
  if (!same) for (let i = 0; i < sel.count; i++) pieceSlot[i] = opSlot[pieceOp(sel, i)];
  const offset = new Int32Array(nSlots + 1);
  for (let i = 0; i < sel.count; i++) offset[pieceSlot[i] + 1]++;
  for (let s = 0; s < nSlots; s++) offset[s + 1] += offset[s];
  const fill = offset.slice(0, nSlots);
  const pieces = new Int32Array(sel.count);
  for (let i = 0; i < sel.count; i++) pieces[fill[pieceSlot[i]]++] = i;
  if (same) return { pieces, offset, ops: pieces, opOffset: offset, pieceSlot };
  const opOffset = new Int32Array(nSlots + 1);
  for (let o = 0; o < sel.ops.count; o++) opOffset[opSlot[o] + 1]++;
  for (let s = 0; s < nSlots; s++) opOffset[s + 1] += opOffset[s];
  const opFill = opOffset.slice(0, nSlots);
  const ops = new Int32Array(sel.ops.count);
  for (let o = 0; o < sel.ops.count; o++) ops[opFill[opSlot[o]]++] = o;
  return { pieces, offset, ops, opOffset, pieceSlot };
}

/**
 * A stream's busy time and its idle stretches between its merged pieces, cut to W's segments (those
 * between segments are outside W and drop out), as intersect(complement(union, first start, last
 * end), W) gives them, in one walk; the stream's union is never built. For a one-segment W the
 * pieces are clipped to W, so every stretch lies inside it whole. The stream's pieces: piece[0 ..
 * b - a), or a .. b when null (one stream). Each stretch's length goes to `out`.
 */
function busyAndGapsInSegments(
  start: Float64Array, end: Float64Array, piece: Int32Array | null, a: number, b: number, window: IntervalSet, out: ValueSink,
): StreamWalk {
  let open = false;
  let seg = 0;
  // W's columns in locals, and the stretch cut to them inline, not in a closure: a closure that
  // is not inlined takes its two doubles as heap numbers, a million calls a walk (measured: the
  // walk ~2x faster)
  const { start: wStart, end: wEnd, count: wCount } = window;
  // busy, the merged piece [st[1], st[2]) so far, and the first piece's start
  const st = runningDoubles(0, 0, 0, 0);
  for (let k = a; k < b; k++) {
    const i = piece ? piece[k - a] : k;
    const s = start[i];
    const e = end[i];
    if (!(e > s)) continue;
    if (open && s <= st[2]) {
      if (e > st[2]) st[2] = e;
    } else if (open) {
      // the stretch [st[2], s) between merged pieces, within each segment it meets
      const gs = st[2];
      st[0] += gs - st[1];
      while (seg < wCount && wEnd[seg] <= gs) seg++;
      for (let j = seg; j < wCount && wStart[j] < s; j++) {
        const x = Math.max(gs, wStart[j]);
        const y = Math.min(s, wEnd[j]);
        if (y > x) out.put(y - x);
      }
      st[1] = s; st[2] = e;
    } else {
      st[3] = s; st[1] = s; st[2] = e; open = true;
    }
  }
  if (open) st[0] += st[2] - st[1];
  return { busy: st[0], first: st[3], last: open ? st[2] : 0 };
}

/** A process index for the report: null, not -1, when unknown. */
function processOrNull(p: number): number | null {
  return p >= 0 ? p : null;
}
