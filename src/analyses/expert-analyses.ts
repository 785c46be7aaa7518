/**
 * The expert-level analyses of issue 15 for one device's window, as DeviceReport fields: the one
 * place buildReport calls them (keeps the shared files' edits to a line).
 */
import type { Trace } from '../model/trace.js';
import type { DeviceReport, NvtxRangesReport, Window } from '../report/types.js';
import { analyzeExperts, expertInstances, parseExpertWeights } from './experts.js';
import { kernelContention } from './contention.js';
import { analyzeWhatIf } from './what-if.js';
import { findCulprits } from './culprits.js';
import { serializationReasons } from './serialization.js';
import type { EventWaitLinks } from './event-waits.js';
import type { TraceIndex } from './trace-index.js';
import { endOfPhase } from '../model/memory.js';

/**
 * `nvtxRanges`: the device's NVTX report when already made (its iterations divide the what-if spans);
 * `index`: the trace's call links and blocking calls (TraceIndex), computed when not given.
 */
export function expertAnalyses(
  trace: Trace, deviceId: number, window: Window, nvtxRanges?: NvtxRangesReport, index?: Pick<TraceIndex, 'links' | 'blocking'>,
  expertWeights?: string,
): Partial<DeviceReport> {
  const out: Partial<DeviceReport> = {};
  const instances = expertInstances(trace, deviceId, window, index?.links);
  // --expert-weights: the experts' weights where their ranges do not name them
  const given = expertWeights === undefined ? null : parseExpertWeights(`weights=${expertWeights}`);
  if (instances && given) {
    const g = instances.weightList.push(given) - 1;
    for (let q = 0; q < instances.count; q++) if (instances.weight[q] < 0) instances.weight[q] = g;
  }
  const experts = analyzeExperts(trace, deviceId, window, instances);
  if (experts) out.experts = experts;
  // the instances' scratch gone before the contention makes its own (~26 bytes a kernel)
  endOfPhase(trace.kernels.count + trace.runtime.count, 'expert-instances');
  const contention = kernelContention(trace, deviceId, window);
  out.contention = contention.entries;
  out.contentionSummary = contention.summary;
  const it = nvtxRanges?.iterations;
  // the iterations W is made of (the steady state, issue 13), else the NVTX iterations in W
  const timing = window.iterations && window.iterations.count > 0 ? window.iterations : null;
  const iterations = timing ? { count: timing.count, source: `${timing.method === 'nvtx' ? `NVTX ranges "${timing.name}"` : timing.name} (the steady-state window)` }
    : nvtxRanges === undefined ? undefined
    : it && it.count >= 1 ? { count: it.count, source: `NVTX ranges "${it.name}"` }
      : instances && instances.count > 0
        ? { count: instances.iterations, source: 'expert instances' }
        : { count: 1, source: 'the whole window' };
  const whatIf = analyzeWhatIf(trace, deviceId, window, { experts: instances, contention, iterations, links: index?.links, blocking: index?.blocking });
  if (whatIf) out.whatIf = whatIf;
  out.culprits = findCulprits(trace, deviceId, window, whatIf?.iterations ?? iterations?.count ?? it?.count ?? null);
  return out;
}

/** The parts that need the finished device report (gaps, launches, syncs): call after analyzeDevice. */
export function expertReasons(trace: Trace, report: DeviceReport, eventWaits?: EventWaitLinks): Partial<DeviceReport> {
  return { serialization: serializationReasons(trace, report, eventWaits) };
}
