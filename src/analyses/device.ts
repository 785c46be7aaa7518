/**
 * Runs every per-device analysis of DESIGN.md and assembles the DeviceReport. Pure: no I/O.
 *
 * Scope of the host-side parts: launch calls are those of the kernels in W; host syncs are those
 * of the processes that ran kernels in W on this device (a sync in another process cannot stall it).
 */
import type { Trace } from '../model/trace.js';
import type { DeviceReport, ProcessBreakdown, Window } from '../report/types.js';
import { InputError, NoGpuWorkInWindowError } from '../errors.js';
import { idleWithin, union, type IntervalSet } from '../model/intervals.js';
import { windowIntervals } from '../model/window-pieces.js';
import { distributionOf } from '../model/distribution.js';
import { deviceIds, OpKind, opDuration, selectOps, transferActivity } from './select.js';
import { resolveWindow } from './window.js';
import { overlapAndHoles, overlapOfSubset } from './overlap.js';
import { streamOccupancy } from './stream-occupancy.js';
import { classifyGapsDetailed, gapDetail, GAP_LIST_LIMIT, type GapDetail } from './launch-gaps.js';
import { launchMeasures, withLaunchBound } from './launch.js';
import { hostSyncs } from './host-syncs.js';
import { indexTrace, type TraceIndex } from './trace-index.js';
import { eventWaitLinks, type EventWaitLinks } from './event-waits.js';
import { endOfPhase } from '../model/memory.js';

export interface AnalyzeOptions {
  /** NVTX range text, exact, or /regex/ */
  range?: string;
  /** START:END, ns or with units */
  window?: string;
  /** count memcpy/memset as activity in n(t): overlap, streams and gaps then cover all GPU operations */
  includeTransfers?: boolean;
  /** no steady-state detection: without --range/--window, W is first kernel start to last kernel end */
  wholeTrace?: boolean;
}

/** One device's analysis window W: the Report's `window`, and W as disjoint segments. */
export interface DeviceWindow {
  deviceId: number;
  window: Window;
  segments: IntervalSet;
}

/**
 * What the findings need beside the DeviceReport, as plain values the analyses made: the
 * trace's index, W's segments, and every gap with its class (the report lists only the longest).
 */
export interface DeviceContext {
  deviceId: number;
  index: TraceIndex;
  segments: IntervalSet;
  gaps: GapDetail;
  /** which kernels waited on another stream's event (cudaStreamWaitEvent) */
  eventWaits: EventWaitLinks;
  /** the threads whose calls launched the kernels in W (launch.ts), where the analyses found them */
  launchThreads?: ReadonlySet<number>;
}

export interface DeviceAnalysis {
  report: DeviceReport;
  context: DeviceContext;
}

/** W of one device (window.ts); throws NoGpuWorkInWindowError when a --range left it no GPU work. */
export function deviceWindow(index: TraceIndex, deviceId: number, options: AnalyzeOptions = {}): DeviceWindow {
  const { segments, window } = resolveWindow(index.trace, deviceId, options, index.links);
  return { deviceId, window, segments };
}

/**
 * Every device that ran kernels (or only `options.device`), with its window. With --range,
 * devices where the range launched no GPU work are left out; it is an error only when that
 * leaves none.
 */
export function deviceWindows(index: TraceIndex, options: AnalyzeOptions & { device?: number } = {}): DeviceWindow[] {
  const all = deviceIds(index.trace);
  if (options.device !== undefined && !all.includes(options.device)) {
    throw new InputError(`--device ${options.device}: no kernels ran on that device; devices with kernels: ${all.join(', ') || 'none'}`);
  }
  const ids = options.device !== undefined ? [options.device] : all;
  const windows: DeviceWindow[] = [];
  for (const id of ids) {
    try {
      windows.push(deviceWindow(index, id, options));
    } catch (e) {
      // only "this range has no GPU work on this device" skips a device; anything else is fatal
      if (!(e instanceof NoGpuWorkInWindowError) || ids.length === 1) throw e;
    }
  }
  if (windows.length === 0 && ids.length > 0) {
    throw new InputError(`--range ${JSON.stringify(options.range)} launched no GPU work on any device`);
  }
  return windows;
}

/** The device analyses of DESIGN.md in W, in the order they depend on each other. */
export function analyzeDeviceWindow(index: TraceIndex, w: DeviceWindow, options: AnalyzeOptions = {}): DeviceAnalysis {
  const { trace, links, blocking } = index;
  const { deviceId, segments, window } = w;
  const windowLength = window.coveredDuration ?? window.duration;
  // Everything that reads the selection, in a scope of its own: its columns (about 30 bytes an
  // operation) are garbage before the gap classes, host syncs and findings allocate theirs.
  const rows = trace.kernels.count + trace.runtime.count;
  const { overlap, idle, streams, pairs, processes, kernelDuration, launchMeasured, byProcess, oneStream } = (() => {
    const { pieces, ...statistics } = (() => {
      const sel = selectOps(trace, deviceId, segments, { includeTransfers: options.includeTransfers });
      const { overlap, holes } = overlapAndHoles(sel, windowLength);
      // (one stream: its gaps' statistics also give the gap list's threshold, for below)
      const { streams, pairs, oneStream } = streamOccupancy(sel, segments, overlap.busy, GAP_LIST_LIMIT);
      const processes = new Set<number>();
      let lastProcess = NaN;
      for (let o = 0; o < sel.ops.count; o++) {
        if (sel.ops.process[o] !== lastProcess) { lastProcess = sel.ops.process[o]; processes.add(lastProcess); }
      }
      // one stream of kernels only: the stream's durations are the kernel durations, in the same
      // order (streamOccupancy's visit is this one's), not taken again
      const kernelDuration = streams.length === 1 && sel.kernelCount === sel.ops.count ? { ...streams[0].duration } : distributionOf(sel.kernelCount, (out) => {
        for (let o = 0; o < sel.ops.count; o++) if (sel.ops.kind[o] === OpKind.Kernel) out.put(opDuration(sel, o));
      });
      const launchMeasured = launchMeasures(trace, sel, links);
      const byProcess = processes.size > 1 ? processBreakdown(sel, [...processes].sort((a, b) => a - b), windowLength, streams) : null;
      // of the selection, only its pieces are left for the idle gaps
      const pieces = { start: sel.start, end: sel.end, count: sel.count };
      return { overlap, holes, pieces, streams, pairs, processes, kernelDuration, launchMeasured, byProcess, oneStream };
    })();
    // last: the idle gaps (16 bytes a gap, about one a kernel) outlive the selection; the statistics
    // above made their scratch before them, and the selection's other columns (~7 bytes an
    // operation) and that scratch are gone before the gaps are made (model/memory.ts)
    endOfPhase(rows, 'device-selection');
    // one stream: the device's gaps are its gaps and at most the parts of W before its first and
    // after its last piece (a gap a segment each); else the complement of the union in W's hull
    // (its holes, and before its first and after its last piece) cut to W's segments: at most the
    // holes and one more than the segments. A bound that spares idleWithin its counting walk,
    // taken when it is nearly exact (the columns, kept until the findings, are its size)
    const bound = statistics.streams.length === 1 ? statistics.streams[0].gaps.count + 2 * segments.count : statistics.holes + segments.count + 1;
    return { ...statistics, idle: idleWithin(pieces.start, pieces.end, pieces.count, segments, 128 * segments.count <= bound ? bound : -1) };
  })();
  // the selection's pieces are garbage now (this scope never held them): gone before the gap
  // classes make theirs
  endOfPhase(rows, 'idle-gaps');
  const eventWaits = eventWaitLinks(trace, deviceId, links);
  // one stream whose gaps are all the device's (none before its first piece or after its last:
  // a sequential program's iterations): the same lengths in the same order, whose statistics and
  // list threshold its passes took
  const sameGaps = oneStream !== undefined && oneStream.count === idle.count &&
    (idle.count === 0 || (idle.start[0] >= oneStream.first && idle.end[idle.count - 1] <= oneStream.last));
  const lengths = sameGaps ? { all: streams[0].gaps, threshold: oneStream!.threshold } : undefined;
  const { summary: gaps, detail } = classifyGapsDetailed(trace, deviceId, idle, GAP_LIST_LIMIT, links, blocking, eventWaits, lengths);
  // and the gap classes' scratch before the host syncs make theirs
  endOfPhase(rows, 'gap-classes');
  const launch = withLaunchBound(launchMeasured, kernelDuration, gaps);
  // iterations with a host-side extent: the blocking calls made inside them (as the NVTX table counts)
  const host = window.iterations?.host;
  const hostRanges = host && host.start.length > 0 ? union(host.start, host.end, host.start.length) : null;
  const syncs = hostSyncs(trace, processes.has(-1) ? null : processes, segments, idle, links, blocking, undefined, hostRanges);

  const report: DeviceReport = {
    deviceId,
    gpuName: trace.gpus.find((g) => g.deviceId === deviceId)?.name ?? `GPU ${deviceId}`,
    window,
    overlap,
    transfers: transferActivity(trace, deviceId, segments),
    streams,
    streamPairs: pairs,
    gaps,
    launch,
    kernelDuration,
    hostSyncs: syncs,
  };
  if (byProcess) report.processes = byProcess;
  return { report, context: { deviceId, index, segments, gaps: detail, eventWaits, launchThreads: launchMeasured.threads } };
}

/** One device's report (its window and analyses), for a caller without a TraceIndex. */
export function analyzeDevice(trace: Trace, deviceId: number, options: AnalyzeOptions = {}): DeviceReport {
  const index = indexTrace(trace);
  return analyzeDeviceWindow(index, deviceWindow(index, deviceId, options), options).report;
}

/** Every device's report (deviceWindows says which devices), for a caller without a TraceIndex. */
export function analyzeTrace(trace: Trace, options: AnalyzeOptions & { device?: number } = {}): DeviceReport[] {
  const index = indexTrace(trace);
  return deviceWindows(index, options).map((w) => analyzeDeviceWindow(index, w, options).report);
}

/**
 * The context of a report that comes without one (a test's hand-made report): W from its window,
 * the gaps read back from its list (gapDetail: only a complete list will do).
 */
export function contextOfReport(index: TraceIndex, device: DeviceReport): DeviceContext {
  const w = device.window;
  return {
    deviceId: device.deviceId,
    index,
    segments: windowIntervals(w),
    gaps: gapDetail(device.gaps),
    eventWaits: eventWaitLinks(index.trace, device.deviceId, index.links),
  };
}

function processBreakdown(
  sel: ReturnType<typeof selectOps>, processes: number[], windowLength: number, streams: DeviceReport['streams'],
): ProcessBreakdown[] {
  return processes.map((p) => {
    let opCount = 0;
    for (let o = 0; o < sel.ops.count; o++) if (sel.ops.process[o] === p) opCount++;
    return {
      process: p >= 0 ? p : null,
      overlap: overlapOfSubset(sel.start, sel.end, sel.count, (i) => sel.process[i] === p, opCount, windowLength),
      streamCount: streams.filter((s) => (s.process ?? -1) === p).length,
    };
  });
}
