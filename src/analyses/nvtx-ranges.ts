/**
 * The NVTX ranges of one device as a table: each range name (and each family of names that
 * differ only in their numbers, "expert 0" .. "expert 63" → "expert #") with its instances, GPU
 * time, kernels, host syncs and how much its kernels overlapped anybody else's; and the
 * iterations, found from repeated ranges, for per-iteration figures ("64 syncs per iteration").
 *
 * A kernel belongs to a range instance when its launch call started inside the range on the
 * range's thread (DESIGN.md "NVTX projection").
 */
import { gatherF64, gatherI32 } from '../model/gather.js';
import type { Trace } from '../model/trace.js';
import { nvtxFamilyName } from '../model/nvtx-names.js';
import type { Distribution, IterationInstance, IterationSummary, NvtxRangeGroup, NvtxRangesReport } from '../report/types.js';
import { distributionInPlace, lowerBoundNear, sortedOrder, upperBound } from '../model/intervals.js';
import { windowIntervals } from '../model/window-pieces.js';
import { grown } from '../model/columns.js';
import { endOfPhase } from '../model/memory.js';
import { forEachInWindow, piece } from './select.js';
import { nvtxRangeRows, projectNvtxRanges, type NvtxProjections } from './nvtx-projection.js';
import type { TraceIndex } from './trace-index.js';
import { callLinks, type CallLinks } from './correlation.js';
import { blockingIndex, type BlockingIndex } from './blocking-calls.js';

/** Names that say "one pass of the loop"; the first repeated one found, outermost, is the iteration. */
export const ITERATION_WORDS = /\b(iter(ation)?s?|step|forward|fwd|batch|micro-?batch|train_step|inference)\b|^(iter|step)[ _-]?\d|^ProfilerStep#(\d+|#|N)$/i;
/**
 * torch.optim's record_function ranges ("Optimizer.step#SGD.step", "Optimizer.zero_grad#SGD.zero_grad")
 * say "step" but cover one part of a training step: taken as the iteration, they made the window
 * the optimizer's 1 ms of each 330 ms ResNet step.
 */
export const PART_OF_A_PASS = /^Optimizer\./;
/** Keeps the JSON small on traces that give every instance its own text. */
const MAX_NAMES = 200;

/**
 * The ranges kept for the table, as columns (a trace has hundreds of thousands of them):
 * instance j is projection row q[j]; the other columns are indexed by that row (nvtxStart and
 * nvtxEnd by the nvtx row, range[q]).
 */
interface Instances {
  count: number;
  /** projection row of each instance, in projection (start) order */
  q: Int32Array;
  range: Int32Array;
  depth: Int32Array;
  gpuStart: Float64Array;
  gpuEnd: Float64Array;
  gpuTime: Float64Array;
  kernels: Int32Array;
  /** the trace's nvtx columns: CPU-side duration is end - start */
  nvtxStart: Float64Array;
  nvtxEnd: Float64Array;
  syncs: Int32Array;
  /** blocking calls by API name: projection row q's are syncNames.entries syncFrom[q] .. syncTo[q] */
  syncFrom: Int32Array;
  syncTo: Int32Array;
  syncNames: SyncNames;
  /** |own kernels' busy time ∩ other kernels' busy time| */
  overlapOthers: Float64Array;
}

/** Instances of one name or family: members[offset[g] .. offset[g + 1]) are instance numbers, in order. */
interface Grouping {
  names: string[];
  offset: Int32Array;
  members: Int32Array;
}

// a range's family name ("expert 17" → "expert #"): model/nvtx-names.ts, so renderers name rows the same way
export { nvtxFamilyName } from '../model/nvtx-names.js';

/**
 * `index`: the trace's call links and blocking calls (trace-index.ts); computed when not given.
 * `window.iterations`: the steady-state iterations W is made of; when they are an NVTX family, it is the iteration here too.
 */
export function analyzeNvtxRanges(
  trace: Trace, deviceId: number,
  window?: { start: number; end: number; segments?: { start: number; end: number }[]; iterations?: { method: string; name: string } },
  index: Pick<TraceIndex, 'links' | 'blocking'> | null = null,
): NvtxRangesReport {
  const rows = nvtxRangeRows(trace);
  if (rows.length === 0) return { byName: [], families: [], iterations: null };
  const links = index?.links ?? callLinks(trace);
  const proj = projectNvtxRanges(trace, { deviceId, ranges: rows, includeTransfers: false, links });
  // the projection's scratch (its ops in call order, twice at most: 8 bytes a kernel) gone before
  // the overlap and the grouping make theirs
  endOfPhase(trace.kernels.count + trace.runtime.count, 'nvtx-projection');
  const depth = nestingDepth(trace, rows);
  // A range belongs to the window when its GPU work meets it (launches may run far ahead of the
  // GPU), or, without GPU work, when the range itself does.
  const { kept, count, syncs, syncFrom, syncTo, overlapOthers, syncNames } = keptInstances(trace, deviceId, window, index, links, proj);
  if (count === 0) return { byName: [], families: [], iterations: null };
  const inst: Instances = {
    count, q: kept.subarray(0, count), range: proj.range, depth, gpuStart: proj.gpuStart, gpuEnd: proj.gpuEnd, gpuTime: proj.gpuTime,
    kernels: proj.kernelCount, nvtxStart: trace.nvtx.start, nvtxEnd: trace.nvtx.end, syncs, syncFrom, syncTo, syncNames, overlapOthers,
  };
  const { byText, byFamily, distinct } = groupInstances(trace, inst);
  // every group's distributions in turn in one buffer: no group has more members than instances
  const buffer = new Float64Array(inst.count);
  const byName = byText.names.map((name, g) => summarize(name, inst, byText, g, 1, buffer));
  const families: NvtxRangeGroup[] = [];
  byFamily.names.forEach((name, g) => {
    if (distinct[g] >= 2) families.push(summarize(name, inst, byFamily, g, distinct[g], buffer));
  });
  const byGpuTime = (a: NvtxRangeGroup, b: NvtxRangeGroup): number => b.gpuTime.total - a.gpuTime.total || a.name.localeCompare(b.name);
  byName.sort(byGpuTime);
  families.sort(byGpuTime);
  return {
    byName: byName.slice(0, MAX_NAMES),
    families,
    iterations: findIterations([...families, ...byName], inst, byFamily, byText, buffer,
      window?.iterations?.method === 'nvtx' ? window.iterations.name : undefined),
  };
}

/**
 * The projection rows kept for the table (those that meet the window) with their host syncs and
 * overlap with other kernels. A function of its own so that the overlap's scratch (the window's
 * kernels and their reach, ~12 bytes a kernel) is garbage before the grouping makes its own.
 */
function keptInstances(
  trace: Trace, deviceId: number,
  window: { start: number; end: number; segments?: { start: number; end: number }[] } | undefined,
  index: Pick<TraceIndex, 'links' | 'blocking'> | null, links: CallLinks, proj: NvtxProjections,
): { kept: Int32Array; count: number; syncs: Int32Array; syncFrom: Int32Array; syncTo: Int32Array; overlapOthers: Float64Array; syncNames: SyncNames } {
  const meets = (s: number, e: number): boolean => !window || (e >= window.start && s <= window.end);
  const overlap = overlapWithOthers(trace, kernelsOf(trace, deviceId, window), links);
  const syncNames = syncCounter(trace, index?.blocking ?? blockingIndex(trace, links));
  const kept = new Int32Array(proj.count);
  let count = 0;
  const syncs = new Int32Array(proj.count);
  const syncFrom = new Int32Array(proj.count);
  const syncTo = new Int32Array(proj.count);
  const overlapOthers = new Float64Array(proj.count);
  for (let q = 0; q < proj.count; q++) {
    const row = proj.range[q];
    const inWindow = proj.kernelCount[q] > 0 ? meets(proj.gpuStart[q], proj.gpuEnd[q]) : meets(trace.nvtx.start[row], trace.nvtx.end[row]);
    if (!inWindow) continue;
    kept[count++] = q;
    syncFrom[q] = syncNames.count;
    syncs[q] = syncNames.add(row);
    syncTo[q] = syncNames.count;
    if (proj.kernelCount[q] > 0) overlapOthers[q] = overlap.ofInstance(row, proj.gpuStart[q], proj.gpuEnd[q]);
  }
  return { kept, count, syncs, syncFrom, syncTo, overlapOthers, syncNames };
}

/**
 * Instances by text and by family, each group's members in instance order and groups in order of
 * first instance (as a Map of lists would give), without a list or a string lookup per instance:
 * texts are string indices, so each distinct index is named and given its groups once.
 */
function groupInstances(trace: Trace, inst: Instances): { byText: Grouping; byFamily: Grouping; distinct: number[] } {
  const textOf = trace.nvtx.text;
  // per string index + 1 (0: no text): its text group and family group, -1 until seen
  const textGroupOf = new Int32Array(trace.strings.length + 1).fill(-1);
  const familyOfTextGroup: number[] = [];
  const textIds = new Map<string, number>();
  const familyIds = new Map<string, number>();
  const textNames: string[] = [];
  const familyNames: string[] = [];
  const distinct: number[] = [];
  const textOfInstance = new Int32Array(inst.count);
  for (let j = 0; j < inst.count; j++) {
    const t = textOf[inst.range[inst.q[j]]];
    const slot = t + 1;
    let g = slot >= 0 && slot < textGroupOf.length ? textGroupOf[slot] : -1;
    if (g < 0) {
      const name = t >= 0 ? trace.strings[t] : '(unnamed)';
      let id = textIds.get(name);
      if (id === undefined) {
        id = textNames.length;
        textIds.set(name, id);
        textNames.push(name);
        const fam = nvtxFamilyName(name);
        let f = familyIds.get(fam);
        if (f === undefined) { f = familyNames.length; familyIds.set(fam, f); familyNames.push(fam); distinct.push(0); }
        familyOfTextGroup.push(f);
        distinct[f]++;
      }
      g = id;
      if (slot >= 0 && slot < textGroupOf.length) textGroupOf[slot] = g;
    }
    textOfInstance[j] = g;
  }
  const byText = grouping(textNames, textOfInstance);
  // the text groups are counted: the same column now takes each instance's family
  for (let j = 0; j < inst.count; j++) textOfInstance[j] = familyOfTextGroup[textOfInstance[j]];
  return { byText, byFamily: grouping(familyNames, textOfInstance), distinct };
}

/** Counting sort of instance numbers by group, stable. */
function grouping(names: string[], groupOf: Int32Array): Grouping {
  const offset = new Int32Array(names.length + 1);
  for (let j = 0; j < groupOf.length; j++) offset[groupOf[j] + 1]++;
  for (let g = 0; g < names.length; g++) offset[g + 1] += offset[g];
  const fill = offset.slice(0, names.length);
  const members = new Int32Array(groupOf.length);
  for (let j = 0; j < groupOf.length; j++) members[fill[groupOf[j]]++] = j;
  return { names, offset, members };
}

/**
 * Depth of each range (aligned with `rows`) on its thread: 0 for a range no other range on that
 * thread encloses. Ranges are taken by thread, then start, the longer first on equal starts
 * (stable otherwise). Rows come in start order, so that order is a counting sort by thread plus
 * a reorder of equal-start runs, instead of a comparison sort of every range.
 */
export function nestingDepth(trace: Trace, rows: Int32Array): Int32Array {
  const { start, end, thread } = trace.nvtx;
  const n = rows.length;
  const order = new Int32Array(n);
  // one pass: whether rows come in start order, whether two share a start (then, rows being in
  // start order, two adjacent ones do), and per thread its count (one Map lookup a run of one
  // thread's ranges: a capture's ranges are mostly one thread's)
  let startOrdered = true;
  let equalStarts = false;
  const at = new Map<number, Int32Array>();
  let runThread = NaN;
  let run: Int32Array = new Int32Array(1);
  for (let q = 0; q < n; q++) {
    const r = rows[q];
    if (q > 0) {
      if (start[r] < start[rows[q - 1]]) startOrdered = false;
      else if (start[r] === start[rows[q - 1]]) equalStarts = true;
    }
    if (thread[r] !== runThread) {
      runThread = thread[r];
      run = at.get(runThread) ?? new Int32Array(1);
      at.set(runThread, run);
    }
    run[0]++;
  }
  if (startOrdered) {
    // by thread (ascending), each thread's in row order: the rows' own order when one thread has them all
    if (at.size === 1) for (let q = 0; q < n; q++) order[q] = q;
    else {
      let offset = 0;
      for (const t of [...at.keys()].sort((x, y) => x - y)) { const c = at.get(t)!; const count = c[0]; c[0] = offset; offset += count; }
      runThread = NaN;
      for (let q = 0; q < n; q++) {
        if (thread[rows[q]] !== runThread) { runThread = thread[rows[q]]; run = at.get(runThread)!; }
        order[run[0]++] = q;
      }
    }
    // equal (thread, start): longer first, stable (insertion sort: such runs are short); none to
    // reorder when no two ranges share a start
    for (let k = 1; k < n && equalStarts; k++) {
      const q = order[k];
      let j = k - 1;
      while (j >= 0 && thread[rows[order[j]]] === thread[rows[q]] && start[rows[order[j]]] === start[rows[q]] && end[rows[order[j]]] < end[rows[q]]) {
        order[j + 1] = order[j];
        j--;
      }
      order[j + 1] = q;
    }
  } else {
    for (let q = 0; q < n; q++) order[q] = q;
    order.sort((x, y) => thread[rows[x]] - thread[rows[y]] || start[rows[x]] - start[rows[y]] || end[rows[y]] - end[rows[x]] || x - y);
  }
  const depth = new Int32Array(n);
  const stack: number[] = [];
  let currentThread = NaN;
  for (let k = 0; k < n; k++) {
    const r = rows[order[k]];
    if (thread[r] !== currentThread) { stack.length = 0; currentThread = thread[r]; }
    while (stack.length > 0 && end[stack[stack.length - 1]] <= start[r]) stack.pop();
    depth[order[k]] = stack.length;
    stack.push(r);
  }
  return depth;
}

interface DeviceKernels {
  count: number;
  /** kernel row of each; null when they are all the trace's kernels, unclipped (row = index) */
  rows: Int32Array | null;
  /** each piece's start and end; null when every piece is its kernel, whole (then the kernel columns through rows) */
  start: Float64Array | null;
  end: Float64Array | null;
}

/**
 * The device's kernels in the window, by start: their pieces in W as select.ts defines them (one
 * piece per --range segment; a zero-length kernel is a piece that adds no time). Without a
 * window, every kernel of the device, whole. When no kernel is cut (W's segments hold whole
 * kernels, as steady-state iterations do), only their rows are listed.
 */
function kernelsOf(trace: Trace, deviceId: number, window?: { start: number; end: number; segments?: { start: number; end: number }[] }): DeviceKernels {
  const k = trace.kernels;
  const w = windowIntervals(window ?? { start: -Infinity, end: Infinity });
  let count = 0;
  let cut = false;
  let identity = true;
  let sorted = true;
  // the last piece's start: a double kept in a closure's variable would be a new heap number a kernel
  const lastStart = Float64Array.of(-Infinity);
  forEachInWindow(k, deviceId, w, (i, first) => {
    const a = piece[0];
    if (!first || a !== k.start[i] || piece[1] !== k.end[i]) cut = true;
    if (i !== count) identity = false;
    if (a < lastStart[0]) sorted = false;
    lastStart[0] = a;
    count++;
  });
  // one GPU, default window: the kernel columns as they are
  if (count === k.count && !cut && identity) return { count, rows: null, start: null, end: null };
  const rows = new Int32Array(count);
  if (!cut && sorted) {
    let j = 0;
    forEachInWindow(k, deviceId, w, (i) => { rows[j++] = i; });
    return { count, rows, start: null, end: null };
  }
  let start = new Float64Array(count);
  let end = new Float64Array(count);
  let j = 0;
  sorted = true;
  forEachInWindow(k, deviceId, w, (i) => {
    const a = piece[0];
    const b = piece[1];
    if (j > 0 && a < start[j - 1]) sorted = false;
    rows[j] = i; start[j] = a; end[j] = b; j++;
  });
  if (sorted) return { count, rows, start, end };
  // a kernel cut by two segments puts its second piece after later kernels' first: sort by start
  const order = sortedOrder(start, count);
  const r2 = gatherI32(rows, order);
  start = gatherF64(start, order);
  end = gatherF64(end, order);
  return { count, rows: r2, start, end };
}

/**
 * |busy time of an instance's own kernels ∩ busy time of the other kernels| over the instance's
 * GPU span. Computed as |own| + |others| - |own ∪ others| with three running unions, so no set is
 * built per instance; every term is an integer number of ns, so this equals the intersection
 * of the two unions exactly. Own: launched inside NVTX row `row` (same thread, call start in
 * [start, end)).
 */
function overlapWithOthers(trace: Trace, dk: DeviceKernels, links: CallLinks): { ofInstance(row: number, gpuStart: number, gpuEnd: number): number } {
  const call = links.kernelCall;
  const { runtime, nvtx } = trace;
  const kernels = trace.kernels;
  const startOf = (j: number): number => (dk.start ? dk.start[j] : kernels.start[dk.rows ? dk.rows[j] : j]);
  const endOf = (j: number): number => (dk.end ? dk.end[j] : kernels.end[dk.rows ? dk.rows[j] : j]);
  // reach(j): the latest end among kernels 0..j (NaN ends, which add nothing, left out): every
  // kernel before the first j with reach(j) > t ends by t. Kept for the last kernel of each block
  // of REACH_BLOCK (8 bytes a block, not a kernel); the first such j is found in its block.
  const blocks = Math.ceil(dk.count / REACH_BLOCK);
  const reach = new Float64Array(blocks);
  for (let j = 0, r = -Infinity; j < dk.count; j++) {
    const e = endOf(j);
    if (e > r) r = e;
    if (j % REACH_BLOCK === REACH_BLOCK - 1 || j === dk.count - 1) reach[(j / REACH_BLOCK) | 0] = r;
  }
  /** the first j with reach(j) > t, or dk.count */
  const firstReaching = (t: number): number => {
    const b = upperBound(reach, blocks, t);
    if (b === blocks) return dk.count;
    let r = b > 0 ? reach[b - 1] : -Infinity;
    const to = Math.min(dk.count, (b + 1) * REACH_BLOCK);
    for (let j = b * REACH_BLOCK; j < to; j++) {
      const e = endOf(j);
      if (e > r) r = e;
      if (r > t) return j;
    }
    // only when t is NaN (no reach is greater), where the binary search over every reach gave 0
    return b * REACH_BLOCK;
  };
  const own = new RunningUnion();
  const others = new RunningUnion();
  const all = new RunningUnion();
  // the latest end among the instance's kernels so far (a double in a typed slot, not a heap number)
  const reachEnd = new Float64Array(1);
  /** kernel j's piece [s, e) into |own| (launched inside NVTX row `row`) or |others|, and into |all| */
  const add = (j: number, s: number, e: number, row: number): void => {
    const c = call[dk.rows ? dk.rows[j] : j];
    const isOwn = c >= 0 && runtime.thread[c] === nvtx.thread[row] && runtime.start[c] >= nvtx.start[row] && runtime.start[c] < nvtx.end[row];
    if (isOwn) own.add(s, e); else others.add(s, e);
    all.add(s, e);
  };
  return {
    ofInstance(row, gpuStart, gpuEnd) {
      own.reset(); others.reset(); all.reset();
      // Only kernels that can meet the instance's GPU span: from the first that ends after it starts.
      const from = firstReaching(gpuStart);
      // A kernel that meets no other added one adds its length to |own| or |others| and to |all|
      // alike (0 net, exactly: integer ns): left out, so its launch call (two far reads) is only
      // looked up when it overlaps one. `pending`: the last kernel, not added while it meets none.
      let pending = -1;
      reachEnd[0] = -Infinity;
      for (let j = from; j < dk.count && startOf(j) < gpuEnd; j++) {
        const e = endOf(j);
        if (e <= gpuStart) continue;
        const s = startOf(j);
        if (!(e > s)) continue;
        if (s >= reachEnd[0]) {
          pending = j;
        } else {
          if (pending >= 0) add(pending, startOf(pending), endOf(pending), row);
          pending = -1;
          add(j, s, e, row);
        }
        if (e > reachEnd[0]) reachEnd[0] = e;
      }
      return own.length() + others.length() - all.length();
    },
  };
}

/** Kernels a block of overlapWithOthers' reach column covers. */
const REACH_BLOCK = 64;

/** |union| of intervals added in start order, as unionLengthSorted computes it. */
class RunningUnion {
  private total = 0;
  private curS = 0;
  private curE = 0;
  private open = false;
  reset(): void { this.total = 0; this.open = false; }
  add(s: number, e: number): void {
    if (!(e > s)) return;
    if (this.open && s <= this.curE) {
      if (e > this.curE) this.curE = e;
    } else {
      if (this.open) this.total += this.curE - this.curS;
      this.curS = s; this.curE = e; this.open = true;
    }
  }
  length(): number { return this.open ? this.total + (this.curE - this.curS) : this.total; }
}

/**
 * Blocking host calls (DESIGN.md's list) that start inside a range, on its thread, by API name:
 * `add(row)` appends the range's (name, count) entries, names in order of first call, and
 * returns how many calls; entries are columns, not a Map per range (most ranges of a capture
 * that syncs per expert hold one).
 */
class SyncNames {
  count = 0;
  name = new Int32Array(256);
  calls = new Int32Array(256);
  readonly names: string[] = [];
  private readonly ids = new Map<string, number>();
  /** by the call's name (a string index): its id, once its text has been looked up */
  private readonly idOfName = new Map<number, number>();
  /** per thread: its blocking calls (rows, starts) and where the last range's calls began */
  private readonly perThread = new Map<number, { rows: Int32Array; start: Float64Array; at: number }>();

  constructor(private readonly trace: Trace, blocking: BlockingIndex) {
    const { runtime } = trace;
    for (const [t, rows] of blocking.byThread) {
      const start = new Float64Array(rows.length);
      for (let c = 0; c < rows.length; c++) start[c] = runtime.start[rows[c]];
      this.perThread.set(t, { rows, start, at: 0 });
    }
  }

  add(row: number): number {
    const { trace } = this;
    const calls = this.perThread.get(trace.nvtx.thread[row]);
    if (!calls) return 0;
    // ranges come in start order: each search gallops on from the thread's last one, not a binary
    // search over all of the thread's calls twice a range (the same answers from any hint)
    const lo = lowerBoundNear(calls.start, calls.rows.length, trace.nvtx.start[row], calls.at);
    const hi = lowerBoundNear(calls.start, calls.rows.length, trace.nvtx.end[row], lo);
    calls.at = lo;
    if (lo >= hi) return 0;
    const first = this.count;
    for (let c = lo; c < hi; c++) {
      const nameIndex = trace.runtime.name[calls.rows[c]];
      let id = this.idOfName.get(nameIndex);
      if (id === undefined) {
        const text = trace.strings[nameIndex] ?? '?';
        id = this.ids.get(text);
        if (id === undefined) { id = this.names.length; this.ids.set(text, id); this.names.push(text); }
        this.idOfName.set(nameIndex, id);
      }
      let e = first;
      while (e < this.count && this.name[e] !== id) e++;
      if (e === this.count) {
        if (e === this.name.length) { this.name = grown(this.name, 2 * e); this.calls = grown(this.calls, 2 * e); }
        this.name[e] = id;
        this.calls[e] = 0;
        this.count++;
      }
      this.calls[e]++;
    }
    return hi - lo;
  }
}

function syncCounter(trace: Trace, blocking: BlockingIndex): SyncNames {
  return new SyncNames(trace, blocking);
}

function addCounts(inst: Instances, members: Int32Array): Record<string, number> {
  const out: Record<string, number> = {};
  const { syncNames: sn } = inst;
  if (sn.count === 0) return out;
  for (let m = 0; m < members.length; m++) {
    const q = inst.q[members[m]];
    if (inst.syncs[q] === 0) continue;
    for (let e = inst.syncFrom[q]; e < inst.syncTo[q]; e++) {
      const n = sn.names[sn.name[e]];
      out[n] = (out[n] ?? 0) + sn.calls[e];
    }
  }
  return out;
}

/**
 * Distributions of CPU duration, GPU span and GPU time: the last two over instances with GPU
 * work. One after the other in the shared buffer (at least members.length long).
 */
function spans(inst: Instances, members: Int32Array, buffer: Float64Array): { duration: Distribution; gpuSpan: Distribution; gpuTime: Distribution } {
  for (let m = 0; m < members.length; m++) {
    const row = inst.range[inst.q[members[m]]];
    buffer[m] = inst.nvtxEnd[row] - inst.nvtxStart[row];
  }
  const duration = distributionInPlace(buffer, members.length);
  let n = 0;
  for (let m = 0; m < members.length; m++) {
    const q = inst.q[members[m]];
    if (inst.kernels[q] > 0) buffer[n++] = inst.gpuEnd[q] - inst.gpuStart[q];
  }
  const gpuSpan = distributionInPlace(buffer, n);
  n = 0;
  for (let m = 0; m < members.length; m++) {
    const q = inst.q[members[m]];
    if (inst.kernels[q] > 0) buffer[n++] = inst.gpuTime[q];
  }
  return { duration, gpuSpan, gpuTime: distributionInPlace(buffer, n) };
}

function summarize(name: string, inst: Instances, groups: Grouping, g: number, distinctNames: number, buffer: Float64Array): NvtxRangeGroup {
  const members = groups.members.subarray(groups.offset[g], groups.offset[g + 1]);
  let gpuTime = 0;
  let overlapOthers = 0;
  let depth = Infinity;
  let kernelCount = 0;
  let syncs = 0;
  for (let m = 0; m < members.length; m++) {
    const q = inst.q[members[m]];
    depth = Math.min(depth, inst.depth[q]);
    kernelCount += inst.kernels[q];
    syncs += inst.syncs[q];
    if (inst.kernels[q] > 0) {
      gpuTime += inst.gpuTime[q];
      overlapOthers += inst.overlapOthers[q];
    }
  }
  const s = spans(inst, members, buffer);
  return {
    name, distinctNames, instances: members.length,
    depth,
    duration: s.duration,
    gpuSpan: s.gpuSpan,
    gpuTime: s.gpuTime,
    kernelCount,
    overlapWithOthers: gpuTime > 0 ? overlapOthers / gpuTime : null,
    syncs,
    syncsByName: addCounts(inst, members),
  };
}

function findIterations(
  groups: NvtxRangeGroup[], inst: Instances, byFamily: Grouping, byText: Grouping, buffer: Float64Array, chosen?: string,
): IterationSummary | null {
  let repeated = groups.filter((g) => g.instances >= 2 && g.kernelCount > 0);
  // the steady-state iterations the window is made of (analyses/iterations.ts), when they are NVTX ranges
  const same = chosen === undefined ? [] : repeated.filter((g) => g.name === chosen);
  if (same.length > 0) repeated = same;
  else repeated = repeated.filter((g) => !PART_OF_A_PASS.test(g.name));
  const named = repeated.filter((g) => ITERATION_WORDS.test(g.name));
  // Outermost first: "iteration #" encloses "layer #", which encloses "expert #".
  const pick = (named.length > 0 ? named : repeated).sort((a, b) => a.depth - b.depth || b.kernelCount - a.kernelCount)[0];
  if (!pick) return null;
  const from = pick.distinctNames > 1 ? byFamily : byText;
  const g = from.names.indexOf(pick.name);
  const members = g >= 0 ? from.members.subarray(from.offset[g], from.offset[g + 1]) : new Int32Array(0);
  const count = members.length;
  const s = spans(inst, members, buffer);
  return {
    name: pick.name,
    count,
    duration: s.gpuSpan,
    kernelsPerIteration: pick.kernelCount / count,
    syncsPerIteration: pick.syncs / count,
    syncsPerIterationByName: Object.fromEntries(Object.entries(pick.syncsByName).map(([n, c]) => [n, c / count])),
    busyPerIteration: s.gpuTime.median,
    instances: iterationInstances(inst, members),
  };
}

const MAX_ITERATION_INSTANCES = 10_000;

/** Each iteration's host range and GPU projection, in time order. */
function iterationInstances(inst: Instances, members: Int32Array): IterationInstance[] {
  const out: IterationInstance[] = [];
  for (let m = 0; m < members.length && out.length < MAX_ITERATION_INSTANCES; m++) {
    const q = inst.q[members[m]];
    const row = inst.range[q];
    const gpu = inst.kernels[q] > 0;
    out.push({
      cpuStart: inst.nvtxStart[row], cpuEnd: inst.nvtxEnd[row],
      gpuStart: gpu ? inst.gpuStart[q] : null, gpuEnd: gpu ? inst.gpuEnd[q] : null,
      kernels: inst.kernels[q], syncs: inst.syncs[q],
    });
  }
  return out.sort((a, b) => a.cpuStart - b.cpuStart);
}
