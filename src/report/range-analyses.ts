/**
 * The first part of a device's window analyses (report/window-analyses.ts): NVTX ranges, SM fill
 * and communication. A module of its own so that the window analyses' worker (report/aside.ts),
 * which runs only these, loads only their modules (its isolate's code counts in the peak).
 */
import type { Trace } from '../model/trace.js';
import type { DeviceReport, Window } from './types.js';
import type { TraceIndex } from '../analyses/trace-index.js';
import type { KernelClassification } from '../analyses/kernel-classes.js';
import type { ClassPatternSpec } from '../analyses/classes-file.js';
import { analyzeSmFill } from '../analyses/sm-fill.js';
import { analyzeNvtxRanges } from '../analyses/nvtx-ranges.js';
import { analyzeCommunication } from '../analyses/communication.js';
import { endOfPhase } from '../model/memory.js';

export interface WindowAnalysesOptions {
  classes?: { file: string; patterns: ClassPatternSpec[] };
  expertWeights?: string;
}

/** The fields smFill, nvtxRanges, communication of the device's report, in the report's order. */
export function rangeAnalyses(
  trace: Trace, deviceId: number, window: Window, index: TraceIndex, classes: KernelClassification, options: WindowAnalysesOptions,
): Partial<DeviceReport> {
  const rows = trace.kernels.count + trace.runtime.count;
  const nvtxRanges = analyzeNvtxRanges(trace, deviceId, window, index);
  // the range statistics' scratch (~30 MB at a million kernels), then the communication's,
  // collected before the expert analyses make theirs: left to V8, one run in a few peaked
  // ~8 MB higher there
  endOfPhase(rows, 'nvtx');
  const smFill = analyzeSmFill(trace, deviceId, window);
  const communication = analyzeCommunication(trace, deviceId, window, classes, { links: index.links, classesFile: options.classes?.file, classPatterns: options.classes?.patterns });
  endOfPhase(rows, 'smfill+comm');
  return { smFill, nvtxRanges, communication };
}
