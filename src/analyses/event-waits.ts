/**
 * Which kernels waited on another stream (issue 15): the first kernel issued on a stream after a
 * cudaStreamWaitEvent on it, and the stream whose event it waited for. A gap ended by such a
 * kernel, whose launch call had returned, is `event-wait`: the GPU held it for another stream.
 */
import { processOfThread, type Trace } from '../model/trace.js';
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
  const callStart = (i: number) => runtime.start[kernelCall[i]];
  const byStream = new Map<number, StreamGroup>();
  // each kernel's stream group, looked up once per run of kernels on one stream
  const groupOf = (i: number, last: { stream: number; g: StreamGroup | undefined }) => {
    if (k.streamId[i] !== last.stream || !last.g) { last.stream = k.streamId[i]; last.g = byStream.get(last.stream); }
    return last.g;
  };
  let n = 0;
  const last: { stream: number; g: StreamGroup | undefined } = { stream: NaN, g: undefined };
  for (let i = 0; i < k.count; i++) {
    if (k.deviceId[i] !== deviceId || kernelCall[i] < 0) continue;
    n++;
    const g = groupOf(i, last);
    if (g) g.to++; else { last.g = { from: 0, to: 1 }; byStream.set(k.streamId[i], last.g); }
  }
  let at = 0;
  for (const g of byStream.values()) { g.from = at; at += g.to; g.to = g.from; }
  const rows = new Int32Array(n);
  last.stream = NaN;
  for (let i = 0; i < k.count; i++) if (k.deviceId[i] === deviceId && kernelCall[i] >= 0) rows[groupOf(i, last)!.to++] = i;
  for (const g of byStream.values()) {
    let sorted = true;
    // calls come in start order, so a later call starts no earlier: the starts are read (far
    // apart in millions of calls) only where the call rows go back
    for (let m = g.from + 1; m < g.to && sorted; m++) {
      if (kernelCall[rows[m]] < kernelCall[rows[m - 1]] && callStart(rows[m]) < callStart(rows[m - 1])) sorted = false;
    }
    if (!sorted) rows.subarray(g.from, g.to).sort((a, b) => callStart(a) - callStart(b) || a - b);
  }
  for (let w = 0; w < ev.waits.count; w++) {
    if (ev.waits.deviceId[w] !== deviceId) continue;
    const recorded = recordStream.get(ev.waits.eventId[w])?.get(ev.waits.eventSyncId[w]);
    const call = callOf(ev.waits.process[w], ev.waits.correlationId[w]);
    if (recorded === undefined || call < 0) continue;
    const waiting = ev.waits.streamId[w];
    if (recorded === waiting) continue;
    const s = byStream.get(waiting);
    let kernel = -1;
    if (s) {
      let lo = s.from;
      let hi = s.to;
      const t = runtime.start[call];
      while (lo < hi) { const m = (lo + hi) >> 1; if (callStart(rows[m]) < t) lo = m + 1; else hi = m; }
      if (lo < s.to) { kernel = rows[lo]; waitedOn[kernel] = recorded + 1; }
    }
    const q = waits.count++;
    waits.waiting[q] = waiting; waits.recorded[q] = recorded; waits.call[q] = call; waits.kernel[q] = kernel;
  }
  const fit = (a: Int32Array) => a.subarray(0, waits.count);
  out.waits = { count: waits.count, waiting: fit(waits.waiting), recorded: fit(waits.recorded), call: fit(waits.call), kernel: fit(waits.kernel) };
  return out;
}
