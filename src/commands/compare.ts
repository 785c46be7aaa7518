/**
 * `moe-trace compare A B ...`: the headline numbers of several captures side by side, with
 * speed-ups against the first, and the findings that differ between them.
 *
 * The time per iteration is the median of the measured iterations' wall spans (Window.iterations:
 * the steady state found by default, or the instances of a --range): the same number `analyze`
 * prints, and speed-ups are ratios of it. Without iterations it falls back to |W| / the NVTX
 * iterations counted in W, or |W| (and says so).
 */
import { basename } from 'node:path';
import type { Command } from 'commander';
import type { CliIo } from '../cli.js';
import { InputError } from '../errors.js';
import { readAnyForAnalysis } from '../parallel/analyze-file.js';
import { buildReport } from '../report/build.js';
import type { DeviceReport, Report } from '../report/types.js';
import { NOTHING_TO_REPORT } from '../findings/index.js';
import { perIteration } from '../findings/context.js';
import { formatCount, formatNs, formatPct, formatRatio, textTable } from '../render/format.js';
import { checkWindowHoldsKernels, EXPERT_WEIGHTS_HELP, htmlInput, namingFile, reportOptions, writeOutputs, type AnalyzeFlags } from './analyze.js';
import type { HtmlInput } from '../render/html/index.js';
import { windowLength } from '../analyses/window.js';
import { expertComparison, renderExpertComparison, type ExpertComparison } from './compare-experts.js';

export const COMPARE_SCHEMA_VERSION = 1;

export interface ComparedTrace {
  label: string;
  file: string;
  deviceId: number | null;
  /** iterations found from NVTX; null when the trace has none (figures are then per window) */
  iterations: number | null;
  iterationName: string | null;
  /** |W| / iterations (or |W|) */
  windowPerIteration: number | null;
  /**
   * Time per iteration: median wall span of the measured iterations (what `analyze` prints); else
   * windowPerIteration. Added in compare schema 1.
   */
  iterationTime: number | null;
  /** mean wall span of the measured iterations; null without them */
  iterationTimeMean: number | null;
  /** how iterationTime was measured: 'span' (median of the iterations' wall spans), 'window' (|W| / count), 'whole-window' (no iterations) */
  iterationTimeFrom: 'span' | 'window' | 'whole-window' | null;
  /** how W was chosen (Window.source) */
  windowSource: string | null;
  busyPerIteration: number | null;
  utilization: number | null;
  overlapShare: number | null;
  syncsPerIteration: number | null;
  kernelsPerIteration: number | null;
  streams: number | null;
  /** iterationTime of the first trace / this one's; > 1 means faster */
  speedup: number | null;
  /** finding id → share of the window it explains (0 when it explains no idle time) */
  findings: Record<string, number>;
  /** communication busy and exposed time per iteration, and its hidden share (issue 17); null without communication */
  communicationPerIteration?: number | null;
  exposedCommunicationPerIteration?: number | null;
  communicationHiddenShare?: number | null;
}

export interface Comparison {
  schema: 'moe-trace/compare';
  schemaVersion: number;
  traces: ComparedTrace[];
  /** finding ids present in some traces but not all */
  differingFindings: string[];
  /** measured vs projected, contention against the first capture, per-expert load (issue 15; compare-experts.ts) */
  experts?: ExpertComparison;
}

function pickDevice(report: Report, deviceId: number | undefined): DeviceReport | null {
  if (deviceId !== undefined) return report.devices.find((d) => d.deviceId === deviceId) ?? null;
  // The device doing the most work is the one the user is asking about.
  return [...report.devices].sort((a, b) => b.overlap.kernelTime - a.overlap.kernelTime || a.deviceId - b.deviceId)[0] ?? null;
}

export function compareReports(reports: Report[], labels: string[], deviceId?: number): Comparison {
  const traces: ComparedTrace[] = reports.map((r, i) => {
    const d = pickDevice(r, deviceId);
    const it = d?.nvtxRanges?.iterations ?? null;
    const timing = d?.window.iterations && d.window.iterations.count > 0 ? d.window.iterations : null;
    const n = timing?.count ?? it?.count ?? 1;
    const windowPerIteration = d ? windowLength(d.window) / n : null;
    const findings: Record<string, number> = {};
    for (const f of r.findings) {
      if (f.id === NOTHING_TO_REPORT || (d && f.deviceId !== d.deviceId)) continue;
      findings[f.id] = Math.max(findings[f.id] ?? 0, f.costShare ?? 0);
    }
    return {
      label: labels[i], file: r.input.file, deviceId: d?.deviceId ?? null,
      iterations: timing?.count ?? it?.count ?? null, iterationName: timing?.name ?? it?.name ?? null,
      windowPerIteration,
      iterationTime: timing ? timing.span.median : windowPerIteration,
      iterationTimeMean: timing ? timing.meanSpan : null,
      iterationTimeFrom: d ? (timing ? 'span' : it ? 'window' : 'whole-window') : null,
      windowSource: d?.window.source ?? null,
      // the same basis as the analyze line and the kernels/syncs columns (median inside an iteration, or the window ÷ n when the ranges miss other threads); the window ÷ n could exceed the median span
      busyPerIteration: d ? (it ? perIteration(d, it).busy : d.overlap.busy / n) : null,
      utilization: d?.overlap.utilization ?? null,
      overlapShare: d?.overlap.overlapShare ?? null,
      syncsPerIteration: d ? (it ? perIteration(d, it).syncs : d.hostSyncs.count) : null,
      kernelsPerIteration: d ? (it ? perIteration(d, it).kernels : d.overlap.kernelCount) : null,
      streams: d ? d.streams.filter((s) => s.kernelCount > 0).length : null,
      speedup: null,
      findings,
      ...communicationFields(d, n),
    };
  });
  const base = traces[0]?.iterationTime ?? null;
  for (const t of traces) {
    t.speedup = base !== null && t.iterationTime ? base / t.iterationTime : null;
  }
  const ids = new Set(traces.flatMap((t) => Object.keys(t.findings)));
  const differingFindings = [...ids].filter((id) => !traces.every((t) => id in t.findings)).sort();
  const experts = expertComparison(reports.map((r) => pickDevice(r, deviceId)), labels);
  return { schema: 'moe-trace/compare', schemaVersion: COMPARE_SCHEMA_VERSION, traces, differingFindings, experts };
}

/** Communication per iteration (issue 17): none when the device ran no communication. */
function communicationFields(d: DeviceReport | null, n: number): Pick<ComparedTrace, 'communicationPerIteration' | 'exposedCommunicationPerIteration' | 'communicationHiddenShare'> {
  const c = d?.communication;
  if (!c || c.kernelCount === 0) return { communicationPerIteration: null, exposedCommunicationPerIteration: null, communicationHiddenShare: null };
  return { communicationPerIteration: c.busy / n, exposedCommunicationPerIteration: c.exposed / n, communicationHiddenShare: c.hiddenShare };
}

const perIt = (v: number | null, fmt: (x: number) => string): string => (v === null ? 'n/a' : fmt(v));
const decimal = (v: number): string => (Number.isInteger(v) ? formatCount(v) : v.toFixed(1));

export function renderComparison(c: Comparison): string {
  const t = c.traces;
  const row = (name: string, f: (x: ComparedTrace) => string): string[] => [name, ...t.map(f)];
  const table = textTable(['', ...t.map((x) => x.label)], [
    row('iterations', (x) => (x.iterations === null ? 'none*' : formatCount(x.iterations))),
    row('time / iteration (median)', (x) => perIt(x.iterationTime, formatNs) + (x.iterationTimeFrom === 'window' ? '†' : '')),
    row('time / iteration (mean)', (x) => perIt(x.iterationTimeMean, formatNs)),
    row(`speed-up vs ${t[0].label}`, (x) => perIt(x.speedup, formatRatio)),
    row('GPU busy / iteration', (x) => perIt(x.busyPerIteration, formatNs)),
    row('utilization', (x) => formatPct(x.utilization)),
    row('overlap share', (x) => formatPct(x.overlapShare)),
    row('host syncs / iteration', (x) => perIt(x.syncsPerIteration, decimal)),
    row('kernels / iteration', (x) => perIt(x.kernelsPerIteration, decimal)),
    row('streams with kernels', (x) => perIt(x.streams, formatCount)),
    ...(t.some((x) => (x.communicationPerIteration ?? null) !== null) ? [
      row('communication / iteration', (x) => perIt(x.communicationPerIteration ?? null, formatNs)),
      row('exposed communication / iteration', (x) => perIt(x.exposedCommunicationPerIteration ?? null, formatNs)),
      row('communication hidden share', (x) => formatPct(x.communicationHiddenShare ?? null)),
    ] : []),
  ]);
  const out = [table];
  if (t.some((x) => x.iterations === null)) out.push('* no iterations found: figures are for the whole window.');
  if (t.some((x) => x.iterationTimeFrom === 'window')) out.push('† the window divided by the iterations in it (the window is not made of whole iterations).');
  for (const x of t) {
    const what = x.windowSource === 'iterations' ? `the steady state, ${x.iterations} iterations of ${JSON.stringify(x.iterationName)}`
      : x.windowSource === 'kernels' ? 'the whole capture' : x.windowSource === 'range' ? `--range ${JSON.stringify(x.iterationName)}` : '--window';
    out.push(`${x.label}: measured ${what}`);
  }
  if (c.differingFindings.length > 0) {
    out.push('', 'Findings that differ (share of the window each explains):');
    out.push(textTable(['finding', ...t.map((x) => x.label)], c.differingFindings.map((id) =>
      [id, ...t.map((x) => (id in x.findings ? (x.findings[id] > 0 ? formatPct(x.findings[id]) : 'yes') : '–'))])));
  } else {
    out.push('', 'The same findings fire on every trace.');
  }
  if (c.experts) out.push(...renderExpertComparison(c.experts, t.map((x) => x.label)));
  return `${out.join('\n')}\n`;
}

/** Short, distinct column labels: file names without .sqlite, or the paths when names clash. */
export function traceLabels(files: string[]): string[] {
  const names = files.map((f) => basename(f).replace(/\.(sqlite|nsys-rep|qdrep|json\.gz|json)$/i, '').replace(/\.pt\.trace$/, ''));
  return new Set(names).size === names.length ? names : files;
}

export function registerCompare(program: Command, io: CliIo, setExit: (code: number) => void): void {
  program.command('compare')
    .description('headline metrics of several captures side by side, speed-ups against the first, and the findings that differ')
    .argument('<files...>', 'two or more traces (nsys .sqlite exports, .nsys-rep/.qdrep reports, PyTorch profiler .json/.json.gz); the first is the baseline')
    .option('--json', 'print the comparison as JSON')
    .option('--device <id>', 'compare this GPU (default: the one with the most kernel time in each trace)')
    .option('--range <text>', 'window = GPU projection of the NVTX ranges with this text (exact, or /regex/)')
    .option('--window <start:end>', 'window in trace time, ns or with units, e.g. 12.5ms:20ms')
    .option('--whole-trace', 'measure the whole captures (default: their steady-state iterations when found)')
    .option('--classes <file>', 'kernel class patterns (JSON) tried before the built-in ones (docs/kernel-classes.md)')
    .option('--expert-weights <shapes>', EXPERT_WEIGHTS_HELP)
    .option('--html [path]', 'also write one HTML page comparing the traces (default reports/<first>-vs-<n>-more.html)')
    .option('--open', 'open the HTML page in the browser (implies --html)')
    .option('--svg <dir>', 'also write the charts as static SVG files into DIR')
    .action(async (files: string[], flags: AnalyzeFlags) => {
      if (files.length < 2) throw new InputError('compare needs at least two exports: moe-trace compare BASELINE.sqlite OTHER.sqlite ...');
      const options = reportOptions(flags);
      const wantTraces = flags.html !== undefined || flags.open === true || flags.svg !== undefined;
      // keep the traces only when charts need them: they are the big part
      const inputs: HtmlInput[] = [];
      const reports: Report[] = [];
      // a bad file among good ones: compare the good ones (two or more), name the bad one, exit 2
      const bad: InputError[] = [];
      const good: string[] = [];
      for (const f of files) {
        try {
          const trace = await readAnyForAnalysis(f, false, { nsysRep: { onStatus: (line) => io.stderr(`${line}\n`) } });
          const report = buildReport(trace, options);
          if (flags.window !== undefined) checkWindowHoldsKernels(report, flags.window, trace);
          if (wantTraces) inputs.push(htmlInput(report, trace));
          reports.push(report);
          good.push(f);
        } catch (e) {
          if (!(e instanceof InputError)) throw e;
          bad.push(namingFile(e, f));
        }
      }
      if (reports.length < 2) throw bad[0];
      const c = compareReports(reports, traceLabels(good), options.device);
      io.stdout(flags.json ? `${JSON.stringify(c, null, 2)}\n` : renderComparison(c));
      if (wantTraces) await writeOutputs(good, inputs, flags, io);
      for (const e of bad) io.stderr(`moe-trace: ${e.message}\n`);
      setExit(bad.length > 0 ? 2 : 0);
    });
}
