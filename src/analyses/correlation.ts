/**
 * Links GPU operations to the API call that issued them. CUPTI correlation ids are unique only
 * within a process, so the key is (process, correlationId). Computed once per trace by indexTrace
 * (trace-index.ts) and handed to every analysis that needs "the launch call of this kernel".
 */
import { processOfThread, type IdColumn, type IntColumn, type Trace } from '../model/trace.js';
import { lowerBound, lowerBoundNear, sortedOrder } from '../model/intervals.js';

export interface CallLinks {
  /** runtime row of each kernel's launch call, -1 when not found */
  kernelCall: Int32Array;
  memcpyCall: Int32Array;
  memsetCall: Int32Array;
  /**
   * The runtime rows that issued a memcpy, ascending, with the memcpy row each issued (the first,
   * if several): copies are few next to the calls, so no column over every call.
   */
  memcpyCalls: { count: number; call: Int32Array; memcpy: Int32Array };
  /** memcpy row issued by runtime row r (the first, if several), -1 when none */
  memcpyOf(r: number): number;
}

/**
 * Computes the links (a pass over every table, and a search per operation): a report computes them
 * once, in indexTrace, and hands them on; a caller without a TraceIndex computes them afresh.
 */
export function callLinks(trace: Trace): CallLinks {
  return computeLinks(trace);
}

/**
 * Runtime row per (process, correlationId): the first row by start, so the outermost call when a
 * driver call nests in a runtime call.
 *
 * Rows come in start order and CUPTI numbers calls in the order they are made, so in a
 * one-process trace the correlationId column is nearly always sorted already: then a binary
 * search finds each call and nothing is built. Otherwise a dense table when keys are small
 * (correlation ids count up from 1 per process, so they nearly always are), a Map beyond that:
 * a Map of millions of calls costs seconds.
 */
function callIndex(trace: Trace, key: (corr: number, process: number) => number): (corr: number, process: number) => number {
  const { runtime } = trace;
  const n = runtime.count;
  const corrs = runtime.correlationId;
  const processOf = processOfThread(trace);
  const process = (i: number): number => processOf[runtime.thread[i] + 1];
  const p0 = n > 0 ? process(0) : -1;
  let sorted = n > 0;
  for (let i = 0; i < n && sorted; i++) {
    if (!(corrs[i] >= 0) || process(i) !== p0 || (i > 0 && corrs[i] < corrs[i - 1])) sorted = false;
  }
  if (sorted) {
    // lookups come mostly in increasing order too (kernels by start): search forward from the last hit
    let hint = 0;
    return (corr, process) => {
      if (process !== p0) return -1;
      const i = lowerBoundNear(corrs, n, corr, hint);
      hint = i;
      return i < n && corrs[i] === corr ? i : -1;
    };
  }
  let maxKey = -1;
  for (let i = 0; i < n; i++) {
    const corr = corrs[i];
    if (corr >= 0) maxKey = Math.max(maxKey, key(corr, process(i)));
  }
  // up to ~8 slots per call: still far smaller and faster than a Map entry per call
  if (maxKey < 8 * n + 65536) {
    const table = new Int32Array(maxKey + 1).fill(-1);
    for (let i = 0; i < n; i++) {
      const corr = corrs[i];
      if (!(corr >= 0)) continue;
      const k = key(corr, process(i));
      if (table[k] < 0) table[k] = i;
    }
    return (corr, process) => {
      const k = key(corr, process);
      return k >= 0 && k < table.length ? table[k] : -1;
    };
  }
  const byKey = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const corr = corrs[i];
    if (!(corr >= 0)) continue;
    const k = key(corr, process(i));
    if (!byKey.has(k)) byKey.set(k, i);
  }
  return (corr, process) => byKey.get(key(corr, process)) ?? -1;
}

function computeLinks(trace: Trace): CallLinks {
  const { runtime, kernels, memcpy, memset } = trace;
  // Slot 0 is "process unknown"; correlation ids stay far below 2^53 / slots in practice.
  // Keys count from the first id: a capture started mid-run has large ids but a narrow range.
  const slots = trace.processes.length + 1;
  let minCorr = Infinity;
  for (let i = 0; i < runtime.count; i++) if (runtime.correlationId[i] >= 0 && runtime.correlationId[i] < minCorr) minCorr = runtime.correlationId[i];
  if (minCorr === Infinity) minCorr = 0;
  const key = (corr: number, process: number) => (corr - minCorr) * slots + (process + 1);
  const callOf = callIndex(trace, key);
  const link = (corrs: IdColumn, procs: IntColumn, n: number): Int32Array => {
    const out = new Int32Array(n).fill(-1);
    for (let i = 0; i < n; i++) {
      const corr = corrs[i];
      if (!(corr >= 0)) continue;
      out[i] = callOf(corr, procs[i]);
    }
    return out;
  };
  const memcpyCall = link(memcpy.correlationId, memcpy.process, memcpy.count);
  const memcpyCalls = callsWithMemcpy(memcpyCall);
  return linksWithLookup({
    kernelCall: link(kernels.correlationId, kernels.process, kernels.count),
    memcpyCall,
    memcpyCalls,
    memsetCall: link(memset.correlationId, memset.process, memset.count),
  });
}

/** The links' columns, without their lookup: what crosses to a worker thread (a function does not). */
export type CallLinkColumns = Omit<CallLinks, 'memcpyOf'>;

/** CallLinks from their columns (computeLinks's, or a worker's copy of them). */
export function linksWithLookup(cols: CallLinkColumns): CallLinks {
  const { memcpyCalls } = cols;
  return {
    kernelCall: cols.kernelCall,
    memcpyCall: cols.memcpyCall,
    memcpyCalls,
    memcpyOf: (r) => {
      const i = lowerBound(memcpyCalls.call, memcpyCalls.count, r);
      return i < memcpyCalls.count && memcpyCalls.call[i] === r ? memcpyCalls.memcpy[i] : -1;
    },
    memsetCall: cols.memsetCall,
  };
}

/** (call, first memcpy) pairs ordered by call, from each memcpy's call. */
function callsWithMemcpy(memcpyCall: Int32Array): CallLinks['memcpyCalls'] {
  const n = memcpyCall.length;
  let inOrder = true;
  for (let m = 1; m < n && inOrder; m++) if (memcpyCall[m] < memcpyCall[m - 1]) inOrder = false;
  // stable: of the copies of one call, the first row comes first; copies mostly come in call order already
  const order = inOrder ? null : sortedOrder(memcpyCall, n);
  const call = new Int32Array(n);
  const memcpy = new Int32Array(n);
  let count = 0;
  for (let k = 0; k < n; k++) {
    const m = order ? order[k] : k;
    const r = memcpyCall[m];
    if (r < 0 || (count > 0 && call[count - 1] === r)) continue;
    call[count] = r;
    memcpy[count] = m;
    count++;
  }
  return { count, call: call.subarray(0, count), memcpy: memcpy.subarray(0, count) };
}
