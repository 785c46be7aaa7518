/**
 * Which kernels waited on another stream (issue 15): the first kernel issued on a stream after a
 * cudaStreamWaitEvent on it, and the stream whose event it waited for. A gap ended by such a
 * kernel, whose launch call had returned, is `event-wait`: the GPU held it for another stream.
 */
import type { Trace } from '../model/trace.js';
import { callLinks, type CallLinks } from './correlation.js';

export interface EventWaitLinks {
  /** per kernel row: the stream it waited for (+1; 0 = it waited on no event) */
  waitedOn: Int32Array;
  /** per wait in W-independent form: waiting stream, recorded stream, wait call's runtime row */
  waits: { waiting: number; recorded: number; call: number; kernel: number }[];
}

/** The runtime row of an API call by (process, correlationId). */
function callIndex(trace: Trace): (process: number, corr: number) => number {
  const { runtime, threads } = trace;
  const P = trace.processes.length + 2;
  const byKey = new Map<number, number>();
  for (let r = 0; r < runtime.count; r++) {
    const t = runtime.thread[r];
    const p = t >= 0 ? threads[t].process : -1;
    const key = runtime.correlationId[r] * P + (p + 1);
    if (!byKey.has(key)) byKey.set(key, r);
  }
  return (process, corr) => byKey.get(corr * P + (process + 1)) ?? -1;
}

/**
 * Computed once per device by analyzeDeviceWindow, which hands it to the gap classes and, through
 * DeviceContext, to the serialization reasons; `links` from the trace's index.
 */
export function eventWaitLinks(trace: Trace, deviceId: number, links: CallLinks = callLinks(trace)): EventWaitLinks {
  const k = trace.kernels;
  const waitedOn = new Int32Array(k.count);
  const out: EventWaitLinks = { waitedOn, waits: [] };
  const ev = trace.cudaEvents;
  if (!ev || ev.waits.count === 0) return out;
  const callOf = callIndex(trace);
  const { kernelCall } = links;
  const { runtime } = trace;
  const recordStream = new Map<string, number>();
  for (let i = 0; i < ev.records.count; i++) recordStream.set(`${ev.records.eventId[i]}:${ev.records.eventSyncId[i]}`, ev.records.streamId[i]);
  // each stream's kernels on this device by launch-call start
  const byStream = new Map<number, { start: number[]; row: number[] }>();
  const rows: number[] = [];
  for (let i = 0; i < k.count; i++) if (k.deviceId[i] === deviceId && kernelCall[i] >= 0) rows.push(i);
  rows.sort((a, b) => runtime.start[kernelCall[a]] - runtime.start[kernelCall[b]] || a - b);
  for (const i of rows) {
    let s = byStream.get(k.streamId[i]);
    if (!s) byStream.set(k.streamId[i], (s = { start: [], row: [] }));
    s.start.push(runtime.start[kernelCall[i]]);
    s.row.push(i);
  }
  for (let w = 0; w < ev.waits.count; w++) {
    if (ev.waits.deviceId[w] !== deviceId) continue;
    const recorded = recordStream.get(`${ev.waits.eventId[w]}:${ev.waits.eventSyncId[w]}`);
    const call = callOf(ev.waits.process[w], ev.waits.correlationId[w]);
    if (recorded === undefined || call < 0) continue;
    const waiting = ev.waits.streamId[w];
    if (recorded === waiting) continue;
    const s = byStream.get(waiting);
    let kernel = -1;
    if (s) {
      let lo = 0;
      let hi = s.start.length;
      const t = runtime.start[call];
      while (lo < hi) { const m = (lo + hi) >> 1; if (s.start[m] < t) lo = m + 1; else hi = m; }
      if (lo < s.row.length) { kernel = s.row[lo]; waitedOn[kernel] = recorded + 1; }
    }
    out.waits.push({ waiting, recorded, call, kernel });
  }
  return out;
}
