/**
 * The analyses of a device that need only its window W (and the trace's index and kernel
 * classes): NVTX ranges, SM fill, communication (report/range-analyses.ts), then the expert
 * analyses (instances, contention, what-if, culprits). Pure: buildReport runs them on the main
 * thread, or the first part in a worker thread beside the device's other analyses
 * (report/aside.ts); both give the same fields.
 */
import type { Trace } from '../model/trace.js';
import type { DeviceReport, Window } from './types.js';
import type { TraceIndex } from '../analyses/trace-index.js';
import type { KernelClassification } from '../analyses/kernel-classes.js';
import { expertAnalyses } from '../analyses/expert-analyses.js';
import { endOfPhase } from '../model/memory.js';
import { rangeAnalyses, type WindowAnalysesOptions } from './range-analyses.js';

export type { WindowAnalysesOptions } from './range-analyses.js';

/** The window-only fields of the device's report, in the report's order: smFill, nvtxRanges, communication, then the expert analyses'. */
export function windowAnalyses(
  trace: Trace, deviceId: number, window: Window, index: TraceIndex, classes: KernelClassification, options: WindowAnalysesOptions,
): Partial<DeviceReport> {
  const ranges = rangeAnalyses(trace, deviceId, window, index, classes, options);
  return { ...ranges, ...windowExpertAnalyses(trace, deviceId, window, ranges, index, options) };
}

/** The expert analyses' fields, given rangeAnalyses' (their NVTX iterations divide the what-if spans). */
export function windowExpertAnalyses(
  trace: Trace, deviceId: number, window: Window, ranges: Partial<DeviceReport>, index: TraceIndex, options: WindowAnalysesOptions,
): Partial<DeviceReport> {
  const out = expertAnalyses(trace, deviceId, window, ranges.nvtxRanges, index, options.expertWeights);
  endOfPhase(trace.kernels.count + trace.runtime.count, 'experts');
  return out;
}
