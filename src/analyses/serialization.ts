/**
 * Why streams serialize, named (issue 15): from the finished device report and the trace, the
 * reasons that apply, each with its numbers and the time it explains (an upper bound on what
 * removing it saves), most time first.
 *
 * - event-wait-chain: cudaStreamWaitEvent links between streams ("stream 13 waits for stream 7
 *   before each expert"); cost: the `event-wait` gaps;
 * - legacy-default-stream: kernels on the legacy default (NULL) stream, which waits for and holds
 *   up every blocking stream; cost: its busy time while other streams had kernels in W;
 * - blocking-call: host syncs; cost: the `sync-stall` gaps;
 * - launch-bound: kernels shorter than the time between launches; cost: the `host-wait` gaps;
 * - sm-full: kernels whose grid fills every SM (waves ≥ 1) leave another stream only their tails;
 *   cost: the time those kernels ran (what a second stream could not use);
 * - max-connections-1: CUDA_DEVICE_MAX_CONNECTIONS=1 in the recorded environment puts every stream
 *   on one hardware queue; cost: the device's busy time outside overlap.
 */
import type { Trace } from '../model/trace.js';
import type { DeviceReport } from '../report/types.js';
import type { SerializationReason } from '../report/expert-types.js';
import { eventWaitLinks, type EventWaitLinks } from './event-waits.js';
import { formatNs, formatPct } from '../render/format.js';

function perIteration(count: number, iterations: number | null): string {
  if (!iterations || iterations < 1) return `${count} in the window`;
  const per = count / iterations;
  return `${Number.isInteger(per) ? per : per.toFixed(1)} an iteration`;
}

/** `eventWaits`: the device's (DeviceContext.eventWaits); computed when not given. */
export function serializationReasons(trace: Trace, d: DeviceReport, eventWaits?: EventWaitLinks): SerializationReason[] {
  const out: SerializationReason[] = [];
  const W = d.window;
  const iterations = d.whatIf?.iterations ?? d.nvtxRanges?.iterations?.count ?? null;
  const streams = d.streams.filter((s) => s.kernelCount > 0);
  const multi = streams.length >= 2;
  const gap = (c: keyof DeviceReport['gaps']['byClass']) => d.gaps.byClass[c]?.total ?? 0;

  // event-wait chains: the most frequent (waiting, recorded) stream pairs in W
  const links = eventWaits ?? eventWaitLinks(trace, d.deviceId);
  const ws = links.waits;
  if (ws.count > 0) {
    const { runtime } = trace;
    // (waiting, recorded) pairs in order of first wait: a map per waiting stream, no string per wait
    const pairs = new Map<number, Map<number, { waiting: number; recorded: number; count: number }>>();
    const pairList: { waiting: number; recorded: number; count: number }[] = [];
    const waitingOn = new Map<number, Set<number>>();
    let inW = 0;
    for (let q = 0; q < ws.count; q++) {
      const t = runtime.start[ws.call[q]];
      if (t > W.end) continue;
      if (ws.kernel[q] >= 0 && trace.kernels.end[ws.kernel[q]] < W.start) continue;
      inW++;
      const waiting = ws.waiting[q];
      const recorded = ws.recorded[q];
      let byRecorded = pairs.get(waiting);
      if (!byRecorded) pairs.set(waiting, (byRecorded = new Map()));
      const p = byRecorded.get(recorded);
      if (p) p.count++;
      else { const np = { waiting, recorded, count: 1 }; byRecorded.set(recorded, np); pairList.push(np); }
      let s = waitingOn.get(recorded);
      if (!s) waitingOn.set(recorded, (s = new Set()));
      s.add(waiting);
    }
    if (inW > 0) {
      // fan-out (one stream every expert stream waits for) and fan-in (one stream that waits for all)
      const fanOut = [...waitingOn.entries()].sort((a, b) => b[1].size - a[1].size)[0];
      const fanIn = new Map<number, number>();
      for (const p of pairList) fanIn.set(p.waiting, (fanIn.get(p.waiting) ?? 0) + 1);
      const [inStream, inCount] = [...fanIn.entries()].sort((a, b) => b[1] - a[1])[0];
      const top = [...pairList].sort((a, b) => b.count - a.count)[0];
      const parts: string[] = [];
      const eachExpert = d.experts && d.experts.count === fanOut[1].size ? 'before each expert' : 'before their work';
      if (fanOut[1].size >= 2) parts.push(`${fanOut[1].size} streams wait for stream ${fanOut[0]} ${eachExpert}`);
      if (inCount >= 2) parts.push(`stream ${inStream} waits for ${inCount} streams`);
      if (parts.length === 0) parts.push(`stream ${top.waiting} waits for stream ${top.recorded}`);
      const eventGaps = gap('event-wait');
      out.push({
        cause: 'event-wait-chain',
        text: `Cross-stream event waits: ${parts.join('; ')} (cudaStreamWaitEvent, ${perIteration(inW, iterations)}); ` +
          (eventGaps > 0 ? `the GPU sat idle ${formatNs(eventGaps)} with the next kernel held by an event.` : 'no GPU idle time was held by an event here: the waits order the streams but something else kept them apart.'),
        costNs: eventGaps,
      });
    }
  }

  // the legacy default stream
  const nullStreams = new Set((trace.streamInfo ?? []).filter((s) => s.flag === 'null').map((s) => s.streamId));
  const onNull = streams.filter((s) => nullStreams.has(s.streamId));
  if (multi && onNull.length > 0) {
    const busy = onNull.reduce((a, s) => a + s.busy, 0);
    const kernels = onNull.reduce((a, s) => a + s.kernelCount, 0);
    out.push({
      cause: 'legacy-default-stream',
      text: `${kernels} kernels ran on the legacy default stream ${onNull.map((s) => s.streamId).join(', ')} (${formatNs(busy)}), ` +
        'which waits for every blocking stream and holds them up until it finishes; create streams with cudaStreamNonBlocking or use per-thread default streams.',
      costNs: busy,
    });
  }

  const stall = gap('sync-stall');
  if (d.hostSyncs.count > 0 && stall > 0) {
    const top = [...d.hostSyncs.byName].sort((a, b) => b.count - a.count)[0];
    out.push({
      cause: 'blocking-call',
      text: `${d.hostSyncs.count} blocking calls (${perIteration(d.hostSyncs.count, iterations)}, mostly ${top?.name ?? '?'}) held the host while the GPU idled ${formatNs(stall)}: ` +
        'no stream gets work queued while the CPU waits.',
      costNs: stall,
    });
  }

  const hostWait = gap('host-wait');
  if (d.launch.launchBound && hostWait > 0) {
    out.push({
      cause: 'launch-bound',
      text: `Launch-bound: median kernel ${formatNs(d.kernelDuration?.median ?? 0)} against a launch every ${formatNs(d.launch.interval.median)}: ` +
        `each stream drains before the CPU issues the next kernel (${formatNs(hostWait)} of host-wait gaps).`,
      costNs: hostWait,
    });
  }

  const fill = d.smFill;
  if (multi && fill && fill.fullTimeShare !== null && fill.fullTimeShare >= 0.3) {
    out.push({
      cause: 'sm-full',
      text: `${formatPct(fill.fullTimeShare)} of kernel time is in kernels whose grid fills every SM (${fill.fullKernelCount} launches): another stream only runs in their tails.`,
      costNs: Math.min(fill.fullKernelTime, d.overlap.busy - d.overlap.overlapTime),
    });
  }

  const env = trace.meta.cudaEnvironment;
  if (multi && env?.CUDA_DEVICE_MAX_CONNECTIONS === '1') {
    out.push({
      cause: 'max-connections-1',
      text: 'CUDA_DEVICE_MAX_CONNECTIONS=1 in the recorded environment: every stream shares one hardware queue, so kernels of different streams cannot run at once (Megatron sets it on purpose for comm/compute ordering).',
      costNs: d.overlap.busy - d.overlap.overlapTime,
    });
  }
  // tie each cause to the replay of its removal (issue 15: what a fix would gain)
  const scenarioOf: Partial<Record<SerializationReason['cause'], string>> = {
    'blocking-call': 'no-host-syncs', 'launch-bound': 'free-launches',
  };
  for (const r of out) {
    const s = d.whatIf?.scenarios.find((x) => x.scenario === scenarioOf[r.cause]);
    if (s) {
      r.projectedSavingNs = s.savingNs;
      r.text += ` Replayed without it: ${formatNs(s.projectedIterationNs)} an iteration instead of ${formatNs(d.whatIf!.measuredIterationNs)}.`;
    }
  }
  return out.sort((a, b) => b.costNs - a.costNs);
}
