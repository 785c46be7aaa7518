/**
 * The diagnosis: runs every rule over each device's analyses and ranks what they find, most GPU
 * time explained first. A trace where no rule fires gets an explicit "nothing-to-report" finding,
 * so a reader (or a script reading the JSON) never has to guess whether the rules ran.
 */
import type { Trace } from '../model/trace.js';
import type { DeviceReport, Finding, NvtxRangesReport, Severity, SmFillReport } from '../report/types.js';
import { formatCount, formatNs, formatPct } from '../render/format.js';
import { buildContext, measure, withMeasures, type Rule } from './context.js';
import { contextOfReport, type DeviceContext } from '../analyses/device.js';
import { indexTrace } from '../analyses/trace-index.js';
import { hostSyncStall } from './rules/host-sync-stall.js';
import { launchBound } from './rules/launch-bound.js';
import { smSaturated } from './rules/sm-saturated.js';
import { noOverlapDespiteStreams } from './rules/no-overlap-despite-streams.js';
import { manySmallKernels } from './rules/many-small-kernels.js';
import { pageableMemcpy } from './rules/pageable-memcpy.js';
import { allocationInLoop } from './rules/allocation-in-loop.js';
import { defaultStreamSerialization } from './rules/default-stream-serialization.js';
import { exposedCommunication } from './rules/exposed-communication.js';
import { windowLength } from '../analyses/window.js';
import { apiCallTotals } from '../analyses/api-calls.js';

export const RULES: Record<string, Rule> = {
  'host-sync-stall': hostSyncStall,
  'launch-bound': launchBound,
  'sm-saturated': smSaturated,
  'no-overlap-despite-streams': noOverlapDespiteStreams,
  'many-small-kernels': manySmallKernels,
  'pageable-memcpy': pageableMemcpy,
  'allocation-in-loop': allocationInLoop,
  'default-stream-serialization': defaultStreamSerialization,
  'exposed-communication': exposedCommunication,
};

export const NOTHING_TO_REPORT = 'nothing-to-report';

const SEVERITY_RANK: Record<Severity, number> = { high: 0, medium: 1, low: 2, info: 3 };

/** Most GPU time explained first, then the more severe, then by id so the order is stable. */
export function rankFindings(findings: Finding[]): Finding[] {
  return [...findings].sort((a, b) =>
    b.costNs - a.costNs || SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] || a.id.localeCompare(b.id) || (a.deviceId ?? -1) - (b.deviceId ?? -1));
}

export interface FindingExtras {
  /**
   * The analyses' context of the device (analyses/device.ts); without it, one is read back from
   * the report (contextOfReport: its gap list must then be complete).
   */
  context?: DeviceContext;
  /** default: device.smFill */
  smFill?: SmFillReport | null;
  /** default: device.nvtxRanges */
  nvtx?: NvtxRangesReport | null;
}

/** The findings of one device, ranked; empty when nothing fires. */
export function runFindings(trace: Trace, device: DeviceReport, extras: FindingExtras = {}): Finding[] {
  const ctx = buildContext(trace, device, extras.context ?? contextOfReport(indexTrace(trace), device), extras);
  const found: Finding[] = [];
  for (const rule of Object.values(RULES)) {
    const f = rule(ctx);
    if (f) found.push(f);
  }
  const symptom = found.find((f) => f.id === 'no-overlap-despite-streams');
  if (symptom) {
    const causes = found.filter((f) => f !== symptom && f.costNs > 0);
    symptom.evidence.push(causes.length > 0
      ? `Explained by: ${rankFindings(causes).map((f) => `${f.id} (${formatPct(f.costShare)} of the window)`).join(', ')}.`
      : 'No cause stands out: check for event dependencies (cudaStreamWaitEvent) between the streams.');
  }
  return rankFindings(found);
}

/** Every device's findings, ranked together, with an explicit nothing-to-report where no rule fired. */
export function reportFindings(trace: Trace, devices: DeviceReport[], extras: Map<number, FindingExtras> = new Map()): Finding[] {
  if (devices.length === 0) return [noDeviceFinding(trace)];
  const all: Finding[] = [];
  for (const d of devices) {
    const found = runFindings(trace, d, extras.get(d.deviceId));
    all.push(...(found.length > 0 ? found : [nothingToReport(d)]));
  }
  return rankFindings(all);
}

export function nothingToReport(d: DeviceReport): Finding {
  const o = d.overlap;
  return withMeasures({
    id: NOTHING_TO_REPORT, severity: 'info', deviceId: d.deviceId,
    title: `Nothing to report on GPU ${d.deviceId}: busy ${formatPct(o.utilization)} of the ${formatNs(windowLength(d.window))} window, ${formatCount(o.kernelCount)} kernel${o.kernelCount === 1 ? '' : 's'}, overlap share ${formatPct(o.overlapShare)}, ${formatCount(d.hostSyncs.count)} host sync${d.hostSyncs.count === 1 ? '' : 's'}`,
    evidence: [
      `No rule fired: host syncs, launch gaps, SM saturation, stream overlap, kernel sizes, pageable copies, allocations and default-stream use are all below their thresholds.`,
      `Idle time between kernels: ${formatNs(d.gaps.all.total)} in ${formatCount(d.gaps.all.count)} gaps.`,
    ],
    costNs: 0, costShare: 0,
    fix: 'Nothing to fix at this level; to look closer, narrow the analysis to one layer or step with --range "<NVTX range text>".',
  }, [
    measure('utilization', o.utilization, 'share'),
    measure('windowLength', windowLength(d.window), 'ns'),
    measure('kernelCount', o.kernelCount, 'count'),
    measure('overlapShare', o.overlapShare, 'share'),
    measure('hostSyncs', d.hostSyncs.count, 'count'),
    measure('idleTime', d.gaps.all.total, 'ns'),
    measure('idleGaps', d.gaps.all.count, 'count'),
  ]);
}

function noDeviceFinding(trace: Trace): Finding {
  const launches = apiCallTotals(trace).reduce((n, a) => n + a.count, 0);
  if (!trace.hasKernelTable && trace.meta.source?.format === 'kineto') {
    // a PyTorch profiler trace without GPU records: nsys (or another CUPTI client) had CUPTI, or CUDA was not profiled
    return withMeasures({
      id: NOTHING_TO_REPORT, severity: 'info', deviceId: null,
      title: 'Nothing to report: the PyTorch profiler trace has no GPU records (no kernels, CUDA API calls or copies), so GPU overlap cannot be measured',
      evidence: ['The profiler recorded CPU operators only: it got no CUPTI data, because another profiler (e.g. nsys) held CUPTI or ProfilerActivity.CUDA was not requested.'],
      costNs: 0, costShare: null,
      fix: 'Analyse the nsys export of the same run instead (nsys export --type sqlite report.nsys-rep), or profile again with torch.profiler alone, activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA], not under nsys.',
    }, [measure('apiCalls', launches, 'count')]);
  }
  if (!trace.hasKernelTable) {
    return withMeasures({
      id: NOTHING_TO_REPORT, severity: 'info', deviceId: null,
      title: `Nothing to report: the export has no kernel records${launches > 0 ? ` (only ${formatCount(launches)} CUDA API call${launches === 1 ? '' : 's'})` : ''}, so GPU overlap cannot be measured`,
      evidence: ['The CUDA kernel table is absent: kernel tracing was off or unsupported when the trace was captured (e.g. under WSL).'],
      costNs: 0, costShare: null,
      fix: 'Capture again with `nsys profile --trace=cuda,nvtx` on a native Linux GPU machine, then export with `nsys export --type sqlite`.',
    }, [measure('apiCalls', launches, 'count')]);
  }
  return withMeasures({
    id: NOTHING_TO_REPORT, severity: 'info', deviceId: null,
    title: 'Nothing to report: no kernels ran in the selected window',
    evidence: [`The trace holds ${formatCount(trace.kernels.count)} kernels in total.`],
    costNs: 0, costShare: null,
    fix: 'Widen the window (--window, --range) or drop it to analyse every kernel.',
  }, [measure('traceKernels', trace.kernels.count, 'count')]);
}
