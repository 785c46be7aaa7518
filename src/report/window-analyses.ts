/**
 * The analyses of a device that need only its window W (and the trace's index and kernel
 * classes): NVTX ranges, SM fill, communication, the expert analyses (instances, contention,
 * what-if, culprits). Pure: buildReport runs them on the main thread, or beside the device's
 * other analyses in a worker thread (report/aside.ts); both give the same fields.
 */
import type { Trace } from '../model/trace.js';
import type { DeviceReport, Window } from './types.js';
import type { TraceIndex } from '../analyses/trace-index.js';
import type { KernelClassification } from '../analyses/kernel-classes.js';
import type { ClassPatternSpec } from '../analyses/classes-file.js';
import { analyzeSmFill } from '../analyses/sm-fill.js';
import { analyzeNvtxRanges } from '../analyses/nvtx-ranges.js';
import { expertAnalyses } from '../analyses/expert-analyses.js';
import { analyzeCommunication } from '../analyses/communication.js';
import { endOfPhase } from '../model/memory.js';

export interface WindowAnalysesOptions {
  classes?: { file: string; patterns: ClassPatternSpec[] };
  expertWeights?: string;
}

/** The window-only fields of the device's report, in the report's order: smFill, nvtxRanges, communication, then the expert analyses'. */
export function windowAnalyses(
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
  const out: Partial<DeviceReport> = {
    smFill,
    nvtxRanges,
    communication,
    ...expertAnalyses(trace, deviceId, window, nvtxRanges, index, options.expertWeights),
  };
  endOfPhase(rows, 'experts');
  return out;
}

