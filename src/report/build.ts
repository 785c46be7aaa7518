/**
 * Assembles the Report for one trace: runs the per-device analyses, the findings, and the
 * summaries every renderer shows. Pure: no I/O.
 */
import type { Trace } from '../model/trace.js';
import { apiCallTotals } from '../analyses/api-calls.js';
import { analyzeDeviceWindow, deviceWindows, type DeviceAnalysis } from '../analyses/device.js';
import { indexTrace } from '../analyses/trace-index.js';
import { expertReasons } from '../analyses/expert-analyses.js';
import { reportFindings } from '../findings/index.js';
import { classifyKernels, refineExpertGemms } from '../analyses/kernel-classes.js';
import { innermostRangeTexts } from '../analyses/kernel-ranges.js';
import { compileClassPatterns, type ClassPatternSpec } from '../analyses/classes-file.js';
import { REPORT_SCHEMA_VERSION, type DeviceReport, type IterationTiming, type Report } from './types.js';
import { VERSION } from '../version.js';
import { formatNs, formatPct } from '../render/format.js';
import { endOfPhase } from '../model/memory.js';
import { windowAnalyses, windowExpertAnalyses } from './window-analyses.js';
import { rangeAnalyses } from './range-analyses.js';
import { asideFor } from './aside.js';

export interface ReportOptions {
  /** only this device */
  device?: number;
  /** NVTX range text (exact) or /regex/ */
  range?: string;
  /** START:END with optional units */
  window?: string;
  /** count memcpy/memset as activity in the overlap metrics */
  includeTransfers?: boolean;
  /** measure the whole capture: no steady-state iterations (see analyses/iterations.ts) */
  wholeTrace?: boolean;
  /** kernel class patterns tried before the built-in ones (--classes FILE), as plain data so workers can take them */
  classes?: { file: string; patterns: ClassPatternSpec[] };
  /** --expert-weights RxC,...:DTYPE: the experts' weight matrices, for expert ranges that do not name them (grouped what-if) */
  expertWeights?: string;
}

export function buildReport(trace: Trace, options: ReportOptions = {}): Report {
  // computed once, handed to every analysis and, through each device's context, to the findings
  const index = indexTrace(trace);
  const classes = classifyKernels(trace, compileClassPatterns(options.classes?.patterns ?? []));
  refineExpertGemms(trace, classes, (rows) => innermostRangeTexts(trace, rows, index.links));
  // a big trace's phases end in a full collection (model/memory.ts): each step's dead columns
  // are gone before the next makes its own
  const rows = trace.kernels.count + trace.runtime.count;
  endOfPhase(rows, 'index+classes');
  const windows = deviceWindows(index, options);
  // the windows' scratch (finding the iterations projects the NVTX ranges: ~16 MB at a million
  // kernels) gone before the analyses make theirs
  endOfPhase(rows, 'windows');
  // each device's NVTX ranges, SM fill and communication in a worker thread beside its other
  // analyses where that fits the memory target (report/aside.ts, decided on the RSS now, after the
  // collection); else all the window analyses here, first
  const aside = asideFor(trace);
  if (aside) aside.share(trace, index, classes);
  const analyses = windows.map(({ deviceId, window, segments }, d): DeviceAnalysis => {
    const windowOptions = { classes: options.classes, expertWeights: options.expertWeights };
    const posted = aside?.post(deviceId, window, windowOptions, d === windows.length - 1) ?? false;
    // On one thread, the analyses that need only W run first: their scratch memory is garbage
    // before the gap columns, which the findings keep, are made. Their fields follow the device's own.
    const windowOnly = posted ? null : windowAnalyses(trace, deviceId, window, index, classes, windowOptions);
    const { report, context } = analyzeDeviceWindow(index, { deviceId, window, segments }, options);
    if (windowOnly) Object.assign(report, windowOnly);
    else {
      // the worker's fields (or, it failed, the same made here), then the expert analyses here: after
      // the last device's job the worker has ended, its isolate and scratch gone
      const ranges = aside?.answer() ?? rangeAnalyses(trace, deviceId, window, index, classes, windowOptions);
      Object.assign(report, ranges, windowExpertAnalyses(trace, deviceId, window, ranges, index, windowOptions));
    }
    return { report: Object.assign(report, expertReasons(trace, report, context.eventWaits)), context };
  });
  aside?.close();
  endOfPhase(rows, 'devices');
  const devices = analyses.map((a) => a.report);
  const warnings = [...trace.meta.warnings];
  // in the report's order: the headlines, then the findings
  const headline = devices.map(headlineOf);
  const findings = reportFindings(trace, devices, new Map(analyses.map((a) => [a.report.deviceId, { context: a.context }])));
  // before the caller writes the report (its JSON text: a few MB more)
  endOfPhase(rows, 'findings');
  return {
    schema: 'moe-trace/report',
    schemaVersion: REPORT_SCHEMA_VERSION,
    tool: { name: 'moe-trace', version: VERSION },
    input: {
      file: trace.meta.file,
      fileSizeBytes: trace.meta.fileSizeBytes,
      nsysVersion: trace.meta.nsysVersion,
      exportSchemaVersion: trace.meta.exportSchemaVersion,
      timeOriginNs: trace.meta.timeOriginNs,
      hasKernelTable: trace.hasKernelTable,
      source: { ...trace.meta.source },
    },
    warnings,
    headline,
    findings,
    devices,
    processes: trace.processes.map((p) => ({ globalPid: p.globalPid, pid: p.pid, name: p.name })),
    apiSummary: apiSummary(trace),
  };
}

/** "GPU 0 (NVIDIA H200): 33 streams, overlap share 0.0%, GPU utilization 18.2%, 640 host syncs" (the terminal's next line: time per iteration) */
export function headlineOf(d: DeviceReport): string {
  const n = d.streams.length;
  // a trace without device properties names the GPU "GPU 0": "GPU 0 (GPU 0)" says nothing
  const name = d.gpuName && d.gpuName !== `GPU ${d.deviceId}` ? ` (${d.gpuName})` : ' (model not recorded)';
  return `GPU ${d.deviceId}${name}: ${n} stream${n === 1 ? '' : 's'}, overlap share ${formatPct(d.overlap.overlapShare)}, ` +
    `GPU utilization ${formatPct(d.overlap.utilization)}, ${d.hostSyncs.count} host sync${d.hostSyncs.count === 1 ? '' : 's'}`;
}

/** `"forward seq #"` for NVTX and --range iterations, the description otherwise. */
export function iterationLabel(it: IterationTiming): string {
  return it.method === 'nvtx' || it.method === 'range' ? JSON.stringify(it.name) : it.name;
}

/**
 * One line saying what W is: the steady-state iterations found (and any warm-up left out), or
 * the whole capture, and how to get the other.
 */
export function windowChoice(d: DeviceReport): string {
  const w = d.window;
  const it = w.iterations;
  if (w.source === 'iterations' && it) {
    const how = it.method === 'nvtx' ? `${it.name.startsWith('ProfilerStep#') ? 'torch.profiler steps' : 'NVTX range'} ${iterationLabel(it)}` : it.method === 'profiler-range' ? 'cudaProfilerStart/Stop ranges' : `${it.name} (no NVTX)`;
    const left = it.leftOut > 0 ? `, leaving out the first ${it.leftOut} of ${it.found} (${it.leftOutReason ?? 'warm-up'})` : '';
    return `GPU ${d.deviceId}: measuring the steady state, ${it.count} iteration${it.count === 1 ? '' : 's'} of ${how}${left}; --whole-trace measures the whole capture`;
  }
  if (w.source === 'kernels') return `GPU ${d.deviceId}: measuring the whole capture (first kernel to last kernel)`;
  if (w.source === 'range') return `GPU ${d.deviceId}: measuring --range ${JSON.stringify(w.range)} (${w.rangeInstances ?? 0} ranges)`;
  return `GPU ${d.deviceId}: measuring --window ${formatNs(w.start)} .. ${formatNs(w.end)}`;
}

function apiSummary(trace: Trace): Report['apiSummary'] {
  const { strings } = trace;
  return apiCallTotals(trace)
    .map((a) => ({ name: strings[a.name] ?? '?', count: a.count, total: a.total }))
    .sort((a, b) => b.total - a.total || a.name.localeCompare(b.name));
}
