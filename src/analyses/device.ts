/**
 * Runs every per-device analysis of DESIGN.md and assembles the DeviceReport. Pure: no I/O.
 *
 * Scope of the host-side parts: launch calls are those of the kernels in W; host syncs are those
 * of the processes that ran kernels in W on this device (a sync in another process cannot stall it).
 */
import type { Trace } from '../model/trace.js';
import type { DeviceReport, ProcessBreakdown, Window } from '../report/types.js';
import { InputError } from '../errors.js';
import { idleWithin } from '../model/intervals.js';
import { distributionOf } from '../model/distribution.js';
import { deviceIds, OpKind, opDuration, selectOps, transferActivity } from './select.js';
import { resolveWindow } from './window.js';
import { overlapOfSelection, overlapOfSubset } from './overlap.js';
import { streamOccupancy } from './stream-occupancy.js';
import { classifyGaps, GAP_LIST_LIMIT } from './launch-gaps.js';
import { launchStats } from './launch.js';
import { hostSyncs } from './host-syncs.js';

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

/**
 * Analyses that need only the device's window W (SM fill, NVTX ranges), run by analyzeDevice
 * before its own: their scratch memory is freed before the gap columns, which the findings keep,
 * are made. Their fields go on the report after its own, in the order returned.
 */
export type WindowAnalyses = (deviceId: number, window: Window) => Partial<DeviceReport>;

export function analyzeDevice(trace: Trace, deviceId: number, options: AnalyzeOptions = {}, first?: WindowAnalyses): DeviceReport {
  const { segments, window } = resolveWindow(trace, deviceId, options);
  const extras = first?.(deviceId, window);
  const windowLength = window.coveredDuration ?? window.duration;
  const sel = selectOps(trace, deviceId, segments, { includeTransfers: options.includeTransfers });
  const overlap = overlapOfSelection(sel, windowLength);
  const idle = idleWithin(sel.start, sel.end, sel.count, segments);
  const { streams, pairs } = streamOccupancy(sel, segments, overlap.busy);
  const gaps = classifyGaps(trace, deviceId, idle, GAP_LIST_LIMIT);

  const processes = new Set<number>();
  let lastProcess = NaN;
  for (let o = 0; o < sel.ops.count; o++) {
    if (sel.ops.process[o] !== lastProcess) { lastProcess = sel.ops.process[o]; processes.add(lastProcess); }
  }
  const kernelDuration = distributionOf(sel.kernelCount, (out) => {
    for (let o = 0; o < sel.ops.count; o++) if (sel.ops.kind[o] === OpKind.Kernel) out.put(opDuration(sel, o));
  });
  const launch = launchStats(trace, sel, kernelDuration, gaps);
  const syncs = hostSyncs(trace, processes.has(-1) ? null : processes, segments, idle);

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
  if (processes.size > 1) report.processes = processBreakdown(sel, [...processes].sort((a, b) => a - b), windowLength, streams);
  return extras ? Object.assign(report, extras) : report;
}

function processBreakdown(
  sel: ReturnType<typeof selectOps>, processes: number[], windowLength: number, streams: DeviceReport['streams'],
): ProcessBreakdown[] {
  return processes.map((p) => {
    let opCount = 0;
    for (let o = 0; o < sel.ops.count; o++) if (sel.ops.process[o] === p) opCount++;
    return {
      process: p,
      overlap: overlapOfSubset(sel.start, sel.end, sel.count, (i) => sel.process[i] === p, opCount, windowLength),
      streamCount: streams.filter((s) => s.process === p).length,
    };
  });
}

/**
 * Every device that ran kernels (or only `device`). With --range, devices where the range
 * launched no GPU work are left out; it is an error only when that leaves none.
 */
export function analyzeTrace(trace: Trace, options: AnalyzeOptions & { device?: number } = {}, first?: WindowAnalyses): DeviceReport[] {
  const all = deviceIds(trace);
  if (options.device !== undefined && !all.includes(options.device)) {
    throw new InputError(`--device ${options.device}: no kernels ran on that device; devices with kernels: ${all.join(', ') || 'none'}`);
  }
  const ids = options.device !== undefined ? [options.device] : all;
  const reports: DeviceReport[] = [];
  let firstSkip: InputError | null = null;
  for (const id of ids) {
    try {
      reports.push(analyzeDevice(trace, id, options, first));
    } catch (e) {
      // Only "this range has no GPU work on this device" may skip a device; anything else is fatal.
      if (!(e instanceof InputError) || ids.length === 1 || !/none launched GPU work|zero duration/.test(e.message)) throw e;
      firstSkip ??= e;
    }
  }
  if (reports.length === 0 && firstSkip) {
    throw new InputError(`--range ${JSON.stringify(options.range)} launched no GPU work on any device`);
  }
  return reports;
}
