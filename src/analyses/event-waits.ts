/**
 * Which kernels waited on another stream (issue 15): the first kernel issued on a stream after a
 * cudaStreamWaitEvent on it, and the stream whose event it waited for. A gap ended by such a
 * kernel, whose launch call had returned, is `event-wait`: the GPU held it for another stream.
 */
import { processOfThread, type EventLinkColumns, type Trace } from '../model/trace.js';
import { lowerBound } from '../model/intervals.js';
import { callLinks, type CallLinks } from './correlation.js';

export interface EventWaitLinks {
  /** per kernel row: the stream it waited for (+1; 0 = it waited on no event) */
  waitedOn: Int32Array;
  /**
   * per wait in W-independent form, as columns: waiting stream, recorded stream, the wait call's
   * runtime row, and the kernel that waited (-1 none)
   */
  waits: { count: number; waiting: Int32Array; recorded: Int32Array; call: Int32Array; kernel: Int32Array };
}

/**
 * The runtime rows of the API calls with the given (process, correlationId) keys (the first row
 * with each key). In a one-process trace whose correlation ids ascend (the usual case, as
 * correlation.ts finds) a binary search per key; otherwise one pass over the calls that looks up
 * only the keys wanted: a lookup of every call would cost a map entry per API call (millions).
 */
function callIndex(trace: Trace, wanted: () => { process: number; corr: number }[]): (process: number, corr: number) => number {
  const { runtime } = trace;
  const processOf = processOfThread(trace);
  const corrs = runtime.correlationId;
  const n = runtime.count;
  const p0 = n > 0 ? processOf[runtime.thread[0] + 1] : -1;
  let sorted = true;
  for (let r = 1; r < n && sorted; r++) if (!(corrs[r] >= corrs[r - 1]) || processOf[runtime.thread[r] + 1] !== p0) sorted = false;
  if (sorted) {
    return (process, corr) => {
      if (process !== p0) return -1;
      const r = lowerBound(corrs, n, corr);
      return r < n && corrs[r] === corr ? r : -1;
    };
  }
  const P = trace.processes.length + 2;
  const byKey = new Map<number, number>();
  for (const w of wanted()) byKey.set(w.corr * P + (w.process + 1), -1);
  let left = byKey.size;
  for (let r = 0; r < n && left > 0; r++) {
    const key = corrs[r] * P + (processOf[runtime.thread[r] + 1] + 1);
    if (byKey.get(key) === -1) { byKey.set(key, r); left--; }
  }
  return (process, corr) => byKey.get(corr * P + (process + 1)) ?? -1;
}

/** A stream's kernels: rows[from .. to), ordered by launch-call start. */
interface StreamGroup { from: number; to: number }

/**
 * Computed once per device by analyzeDeviceWindow, which hands it to the gap classes and, through
 * DeviceContext, to the serialization reasons; `links` from the trace's index.
 */
export function eventWaitLinks(trace: Trace, deviceId: number, links: CallLinks = callLinks(trace)): EventWaitLinks {
  const k = trace.kernels;
  const waitedOn = new Int32Array(k.count);
  const none = new Int32Array(0);
  const out: EventWaitLinks = { waitedOn, waits: { count: 0, waiting: none, recorded: none, call: none, kernel: none } };
  const ev = trace.cudaEvents;
  if (!ev || ev.waits.count === 0) return out;
  let onDevice = 0;
  for (let w = 0; w < ev.waits.count; w++) if (ev.waits.deviceId[w] === deviceId) onDevice++;
  // the waits' (process, correlationId) keys, only when the calls must be looked up by key
  const wanted = () => {
    const out: { process: number; corr: number }[] = [];
    for (let w = 0; w < ev.waits.count; w++) if (ev.waits.deviceId[w] === deviceId) out.push({ process: ev.waits.process[w], corr: ev.waits.correlationId[w] });
    return out;
  };
  const callOf = callIndex(trace, wanted);
  const waits = { count: 0, waiting: new Int32Array(onDevice), recorded: new Int32Array(onDevice), call: new Int32Array(onDevice), kernel: new Int32Array(onDevice) };
  const { kernelCall } = links;
  const { runtime } = trace;
  // the stream of each event record the waits name (event id → sync id → stream; the last record wins)
  const recordStream = new Map<number, Map<number, number>>();
  for (let w = 0; w < ev.waits.count; w++) if (ev.waits.deviceId[w] === deviceId && !recordStream.has(ev.waits.eventId[w])) recordStream.set(ev.waits.eventId[w], new Map());
  for (let i = 0; i < ev.records.count; i++) recordStream.get(ev.records.eventId[i])?.set(ev.records.eventSyncId[i], ev.records.streamId[i]);
  // each stream's kernels on this device by launch-call start (then row): rows[from .. to) per stream
  const { rows, byStream } = kernelsByStream(trace, deviceId, kernelCall);
  const callStart = (i: number) => runtime.start[kernelCall[i]];
  for (const g of byStream.values()) {
    let sorted = true;
    // calls come in start order, so a later call starts no earlier: the starts are read (far
    // apart in millions of calls) only where the call rows go back
    for (let m = g.from + 1; m < g.to && sorted; m++) {
      if (kernelCall[rows[m]] < kernelCall[rows[m - 1]] && callStart(rows[m]) < callStart(rows[m - 1])) sorted = false;
    }
    if (!sorted) rows.subarray(g.from, g.to).sort((a, b) => callStart(a) - callStart(b) || a - b);
  }
  linkWaits(ev.waits, deviceId, recordStream, callOf, byStream, rows, kernelCall, runtime.start, waitedOn, waits);
  const fit = (a: Int32Array) => a.subarray(0, waits.count);
  out.waits = { count: waits.count, waiting: fit(waits.waiting), recorded: fit(waits.recorded), call: fit(waits.call), kernel: fit(waits.kernel) };
  return out;
}

/**
 * The device's kernels with a launch call, grouped by stream in row order (a counting sort):
 * rows[from .. to) of each stream's group. (Its own function, as linkWaits: a loop run once over a
 * million rows runs in the interpreter until V8 compiles its function for it, and a small
 * function compiles in a fraction of the time a large one takes.)
 */
function kernelsByStream(trace: Trace, deviceId: number, kernelCall: Int32Array): { rows: Int32Array; byStream: Map<number, StreamGroup> } {
  const k = trace.kernels;
  const { deviceId: device, streamId } = k;
  const byStream = new Map<number, StreamGroup>();
  // each kernel's stream group, looked up once per run of kernels on one stream
  let lastStream = NaN;
  let g: StreamGroup | undefined;
  let n = 0;
  for (let i = 0; i < k.count; i++) {
    if (device[i] !== deviceId || kernelCall[i] < 0) continue;
    n++;
    if (streamId[i] !== lastStream || !g) {
      lastStream = streamId[i];
      g = byStream.get(lastStream);
      if (!g) byStream.set(lastStream, (g = { from: 0, to: 0 }));
    }
    g.to++;
  }
  let at = 0;
  for (const group of byStream.values()) { group.from = at; at += group.to; group.to = group.from; }
  const rows = new Int32Array(n);
  lastStream = NaN;
  g = undefined;
  for (let i = 0; i < k.count; i++) {
    if (device[i] !== deviceId || kernelCall[i] < 0) continue;
    if (streamId[i] !== lastStream || !g) { lastStream = streamId[i]; g = byStream.get(lastStream)!; }
    rows[g.to++] = i;
  }
  return { rows, byStream };
}

/**
 * Each wait of the device linked to its recording stream, its call and the first kernel issued on
 * the waiting stream after the call (marked in `waitedOn`), into `waits`' columns.
 */
function linkWaits(
  ev: EventLinkColumns, deviceId: number, recordStream: Map<number, Map<number, number>>, callOf: (process: number, corr: number) => number,
  byStream: Map<number, StreamGroup>, rows: Int32Array, kernelCall: Int32Array, callStart: Float64Array, waitedOn: Int32Array,
  waits: EventWaitLinks['waits'],
): void {
  for (let w = 0; w < ev.count; w++) {
    if (ev.deviceId[w] !== deviceId) continue;
    const recorded = recordStream.get(ev.eventId[w])?.get(ev.eventSyncId[w]);
    const call = callOf(ev.process[w], ev.correlationId[w]);
    if (recorded === undefined || call < 0) continue;
    const waiting = ev.streamId[w];
    if (recorded === waiting) continue;
    const s = byStream.get(waiting);
    let kernel = -1;
    if (s) {
      let lo = s.from;
      let hi = s.to;
      const t = callStart[call];
      while (lo < hi) { const m = (lo + hi) >> 1; if (callStart[kernelCall[rows[m]]] < t) lo = m + 1; else hi = m; }
      if (lo < s.to) { kernel = rows[lo]; waitedOn[kernel] = recorded + 1; }
    }
    const q = waits.count++;
    waits.waiting[q] = waiting; waits.recorded[q] = recorded; waits.call[q] = call; waits.kernel[q] = kernel;
  }
}
