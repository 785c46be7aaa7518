/** `moe-trace analyze FILE...`: read each export, build its Report, render it. */
import type { Command } from 'commander';
import type { CliIo } from '../cli.js';
import { GateFailedError, InputError } from '../errors.js';
import { innermostRangeTexts } from '../analyses/kernel-ranges.js';
import { communicationIntervals } from '../analyses/communication-rows.js';
import { formatNs } from '../render/format.js';
import { buildReport, type ReportOptions } from '../report/build.js';
import type { Report } from '../report/types.js';
import { renderAlternatives, renderTerminal, terminalWidth } from '../render/terminal.js';
import { compareReports, traceLabels } from './compare.js';
import { NOTHING_TO_REPORT } from '../findings/index.js';
import { openInBrowser, writeHtmlReport, writeStaticCharts, type HtmlInput } from '../render/html/index.js';
import { enforceGates } from '../gates.js';
import { basename, extname, join, resolve } from 'node:path';
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import type { Trace } from '../model/trace.js';
import { readAnyForAnalysis } from '../parallel/analyze-file.js';
import { analyzeFilesSettled, parseJobs } from '../parallel/analyze-files.js';
import { renderCombinedTerminal, reportsWithCombined } from '../parallel/render-combined.js';
import { jsonText } from '../render/json.js';
import { buildCombined, type CombinedSummary } from '../report/combined.js';
import { createProgress } from '../progress.js';
import { detectFormat, type InputFormat } from '../readers/read-trace.js';
import { readClassesFile } from '../analyses/classes-file.js';
import { parseExpertWeights } from '../analyses/experts.js';

export interface AnalyzeFlags {
  json?: boolean;
  device?: string;
  range?: string;
  window?: string;
  includeTransfers?: boolean;
  wholeTrace?: boolean;
  requireKernels?: boolean;
  html?: string | boolean;
  open?: boolean;
  svg?: string;
  png?: string;
  failIf?: string[];
  jobs?: string;
  full?: boolean;
  ranks?: boolean;
  /** --classes FILE: kernel class patterns (docs/kernel-classes.md) */
  classes?: string;
  /** --expert-weights RxC,...:DTYPE */
  expertWeights?: string;
}

export function registerAnalyze(program: Command, io: CliIo, setExit: (code: number) => void): void {
  program.command('analyze')
    .description('measure kernel overlap, stream occupancy, launch gaps and host syncs in Nsight Systems exports or reports and PyTorch profiler traces')
    .argument('<files...>', 'nsys SQLite exports (.sqlite), Nsight Systems reports (.nsys-rep/.qdrep, exported with the nsys found) or PyTorch profiler traces (.json/.json.gz)')
    .option('--json', 'print the report as JSON (schema: docs/report-schema.md)')
    .option('--device <id>', 'only this GPU (deviceId)')
    .option('--range <text>', 'window = GPU projection of the NVTX ranges with this text (exact, or /regex/)')
    .option('--window <start:end>', 'window in trace time, ns or with units, e.g. 12.5ms:20ms')
    .option('--whole-trace', 'measure the whole capture (default: the steady-state iterations when found)')
    .option('--include-transfers', 'count memcpy/memset as GPU activity in the overlap metrics')
    .option('--classes <file>', 'kernel class patterns (JSON) tried before the built-in ones: communication, sync, expert-gemm, compute, memory (docs/kernel-classes.md)')
    .option('--expert-weights <shapes>', EXPERT_WEIGHTS_HELP)
    .option('--require-kernels', 'exit 2 when a trace has no CUDA kernel records')
    .option('--html [path]', 'also write a self-contained HTML report (default reports/<name>.html)')
    .option('--open', 'open the HTML report in the browser (implies --html)')
    .option('--svg <dir>', 'also write the charts as static SVG files into DIR')
    .option('--fail-if <expr>', 'exit 3 when EXPR holds on any device, e.g. "overlapShare < 0.2" (repeatable)', collect, [])
    .option('--full', 'print every table behind the findings and their evidence (default: the short report)')
    .option('--ranks', 'several files are ranks of one job: print the spread across them and the slowest rank')
    .option('--jobs <n>', 'analyse several files in N worker threads (default: one per core)')
    .action(async (files: string[], flags: AnalyzeFlags) => {
      const options = reportOptions(flags);
      const jobs = parseJobs(flags.jobs);
      const reports: Report[] = [];
      // several files with a bad one: the others are still reported, the bad one named, exit 2
      const bad: InputError[] = [];
      const good: string[] = [];
      // traces are kept only when charts need them: a million-kernel trace is large
      const inputs: HtmlInput[] = [];
      const wantTraces = flags.html !== undefined || flags.open === true || flags.svg !== undefined;
      if (files.length > 1 && !wantTraces) {
        // charts need the traces in this thread; summaries alone can come from worker threads
        const progress = createProgress({ label: `analyzing ${files.length} files` });
        const settled = await analyzeFilesSettled(files.map((file) => ({ file, options, requireKernels: flags.requireKernels })), {
          jobs, onProgress: (p) => progress.update(p.rows, p.totalRows, `${p.filesDone}/${p.files} files done`),
        }).finally(() => progress.finish());
        settled.forEach((r, i) => { if (r instanceof InputError) bad.push(namingFile(r, files[i])); else { reports.push(r); good.push(files[i]); } });
      } else {
        for (const file of files) {
          try {
            const progress = createProgress({ label: `reading ${basename(file)}`, unit: formatOf(file) === 'kineto' ? 'bytes' : 'rows' });
            let trace: Trace;
            try {
              trace = await readAnyForAnalysis(file, flags.requireKernels, {
                onProgress: (rows, total) => progress.update(rows, total),
                onBytes: (bytes, total) => progress.update(bytes, total),
                nsysRep: { onStatus: (line) => io.stderr(`${line}\n`) },
              });
            } finally {
              progress.finish();
            }
            const report = buildReport(trace, options);
            if (flags.window !== undefined) checkWindowHoldsKernels(report, flags.window, trace);
            reports.push(report);
            good.push(file);
            if (wantTraces) inputs.push(htmlInput(report, trace));
          } catch (e) {
            if (files.length === 1 || !(e instanceof InputError)) throw e;
            bad.push(namingFile(e, file));
          }
        }
      }
      if (reports.length === 0) throw bad[0];
      files = good;
      if (flags.window !== undefined) for (const r of reports) checkWindowHoldsKernels(r, flags.window);
      // the combined summary: only the --json document and the --ranks text read it
      const combined = files.length > 1 && (flags.json || flags.ranks) ? buildCombined(reports) : null;
      if (flags.json) {
        // in pieces: a 5M-kernel report's JSON is longer than a JS string can be
        for (const piece of jsonText(combined ? reportsWithCombined(reports, combined) : reports[0])) io.stdout(piece);
      } else {
        io.stdout(terminalText(files, reports, flags, options.device, combined ?? undefined));
      }
      await writeOutputs(files, inputs, flags, io);
      for (const e of bad) io.stderr(`moe-trace: ${e.message}\n`);
      if (flags.failIf && flags.failIf.length > 0) runGates(flags.failIf, reports, io);
      setExit(bad.length > 0 ? 2 : 0);
    });
}

/** The terminal text: one file's report; several files side by side (or as ranks with --ranks, from `combined` when the caller built it); all tables with --full. */
export function terminalText(files: string[], reports: Report[], flags: AnalyzeFlags, device?: number, combined?: CombinedSummary): string {
  const width = terminalWidth();
  // each report says what W is below its file name (windowChoice, in render/terminal.ts)
  if (reports.length === 1) return renderTerminal(reports[0], { full: flags.full, width });
  const parts: string[] = [];
  if (flags.full) parts.push(...reports.map((r) => renderTerminal(r, { full: true, width })));
  if (flags.ranks) {
    parts.push(renderCombinedTerminal(combined ?? buildCombined(reports)));
  } else {
    const c = compareReports(reports, traceLabels(files), device);
    parts.push(renderAlternatives(c.traces.map((t, i) => ({
      ...t, topFinding: reports[i].findings.find((f) => f.id !== NOTHING_TO_REPORT && (t.deviceId === null || f.deviceId === t.deviceId)) ?? null,
    })), width));
  }
  return parts.join('\n');
}

/**
 * `--window` that holds none of a trace's kernels is a mistake (wrong unit, a time from another
 * capture): say where the kernels are instead of reporting an empty window.
 */
export function checkWindowHoldsKernels(report: Report, window: string, trace?: Trace): void {
  if (report.devices.length === 0 || report.devices.some((d) => d.overlap.kernelCount > 0)) return;
  let where = '`moe-trace info` shows its time span';
  if (trace && trace.kernels.count > 0) {
    let lo = Infinity; let hi = -Infinity;
    const k = trace.kernels;
    for (let i = 0; i < k.count; i++) { lo = Math.min(lo, k.start[i]); hi = Math.max(hi, k.end[i]); }
    where = `its kernels run from ${formatNs(lo)} to ${formatNs(hi)} (trace time)`;
  }
  throw new InputError(`${report.input.file}: --window ${window} holds no kernel; ${where}. Choose START:END inside that span.`);
}

/** --fail-if on every report: passes go to stderr, failures of all files together end in exit 3, each naming its file. */
function runGates(exprs: string[], reports: Report[], io: CliIo): void {
  const failed: string[] = [];
  for (const r of reports) {
    try {
      const outcomes = enforceGates(exprs, r);
      io.stderr(`gates passed on ${r.input.file}: ${outcomes.map((o) => `${o.expr} (device ${o.deviceId})`).join('; ')}\n`);
    } catch (e) {
      if (e instanceof GateFailedError) failed.push(...e.message.split('\n').map((l) => `${r.input.file}: ${l}`));
      else if (e instanceof InputError) throw new InputError(`${r.input.file}: ${e.message}`);
      else throw e;
    }
  }
  if (failed.length > 0) throw new GateFailedError(failed.join('\n'));
}

/** The input's format for the progress line's unit; null when it cannot be told (the reader will say why). */
function formatOf(file: string): InputFormat | null {
  try {
    // only a regular file: opening a named pipe blocks until a writer comes (bad-input's FIFO test hung the suite)
    if (!statSync(file).isFile()) return null;
    return detectFormat(file);
  } catch {
    return null;
  }
}

/** The error as it names its file: prefixed with the path when its message does not say it. */
export function namingFile(e: InputError, file: string): InputError {
  return e.message.includes(file) ? e : new InputError(`${file}: ${e.message}`);
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** A path named like a trace (an nsys export or report, a PyTorch profiler trace). */
export const TRACE_NAME = /\.(sqlite|nsys-rep|qdrep|json|json\.gz)$/i;

/** Whether an existing file is an HTML page (one we wrote before, say): its first bytes. */
function looksLikeHtml(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(64);
    const n = readSync(fd, head, 0, head.length, 0);
    return n === 0 || /^\s*<(!doctype html|html)/i.test(head.toString('utf8', 0, n));
  } finally {
    closeSync(fd);
  }
}

/** The default report path: reports/<input name>.html, or reports/<first>-vs-<n-1>-more.html for several. */
export function defaultHtmlPath(files: string[]): string {
  const stem = (f: string): string => basename(f, extname(f));
  const name = files.length === 1 ? stem(files[0]) : `${stem(files[0])}-vs-${files.length - 1}-more`;
  return join('reports', `${name}.html`);
}

/**
 * What the HTML renderer draws from: the Report, the trace's kernels, the NVTX range each kernel
 * was launched in, and each GPU's communication, compute and exposed intervals.
 */
export function htmlInput(report: Report, trace: Trace): HtmlInput {
  const ranges = innermostRangeTexts(trace, Int32Array.from({ length: trace.kernels.count }, (_, i) => i));
  return { report, trace, expertOf: ranges.some((t) => t >= 0) ? (i: number) => ranges[i] : undefined, communication: communicationIntervals(report, trace) };
}

export async function writeOutputs(files: string[], inputs: HtmlInput[], flags: AnalyzeFlags, io: CliIo): Promise<void> {
  const inputPaths = new Set(files.map((f) => resolve(f)));
  const guard = (path: string): string => {
    if (inputPaths.has(resolve(path))) throw new InputError(`Refusing to write the report over the input ${path}: choose another output path.`);
    return path;
  };
  // several inputs: the page's comparison takes compare's time per iteration and speed-up
  const device = flags.device !== undefined ? Number(flags.device) : undefined;
  const c = inputs.length > 1 ? compareReports(inputs.map((i) => i.report), traceLabels(files), device) : undefined;
  // each later input with the first's projections at its host speed (compare's experts.atHostSpeed)
  const compared = c?.traces.map((t) => ({ ...t, atHostSpeed: c.experts?.atHostSpeed.filter((x) => x.to === t.label) }));
  if (flags.html !== undefined || flags.open) {
    const path = guard(typeof flags.html === 'string' ? flags.html : defaultHtmlPath(files));
    if (TRACE_NAME.test(path)) throw new InputError(`Refusing to write the HTML report to ${path}, a name for a trace: give --html a path ending in .html, or put --html last to write reports/<name>.html.`);
    if (existsSync(path) && statSync(path).isFile() && !looksLikeHtml(path)) {
      throw new InputError(`Refusing to write the HTML report over ${path}, which is not an HTML file: choose another --html path.`);
    }
    const written = await writeHtmlReport(inputs, path, { compared });
    io.stderr(`wrote ${written.path} (${(written.bytes / 1e6).toFixed(2)} MB${written.aggregated ? ', timeline aggregated' : ''})\n`);
    if (flags.open) {
      const why = await openInBrowser(written.path);
      if (why) io.stderr(`moe-trace: ${why}\n`);
    }
  }
  if (flags.svg !== undefined) {
    const paths = await writeStaticCharts(inputs, guard(flags.svg), 'svg', { compared });
    io.stderr(`wrote ${paths.length} SVG charts to ${resolve(flags.svg)}\n`);
  }
}

/** --expert-weights' help, shared with compare */
export const EXPERT_WEIGHTS_HELP = 'each expert\'s weight matrices, ROWSxCOLS,...:DTYPE in the order its GEMMs read them (e.g. 768x3072,3072x768:bf16), for expert NVTX ranges that do not name them (weights=...): the grouped what-if then costs memory-bound expert GEMMs by their bytes (docs/metrics.md)';

export function reportOptions(flags: AnalyzeFlags): ReportOptions {
  const o: ReportOptions = { range: flags.range, window: flags.window, includeTransfers: flags.includeTransfers, wholeTrace: flags.wholeTrace };
  if (flags.classes !== undefined) o.classes = readClassesFile(flags.classes);
  if (flags.expertWeights !== undefined) {
    if (!parseExpertWeights(`weights=${flags.expertWeights}`)) {
      throw new InputError(`--expert-weights expects each expert's weight matrices as ROWSxCOLS,...:DTYPE (e.g. 768x3072,3072x768:bf16; DTYPE fp32, bf16, fp16, fp8, ...), got "${flags.expertWeights}".`);
    }
    o.expertWeights = flags.expertWeights;
  }
  if (flags.device !== undefined) {
    const d = Number(flags.device);
    if (!Number.isInteger(d) || d < 0) throw new InputError(`--device expects a GPU deviceId (0, 1, ...), got "${flags.device}".`);
    o.device = d;
  }
  if (flags.range !== undefined && flags.window !== undefined) {
    throw new InputError('--range and --window both choose the window: give one of them.');
  }
  if (flags.wholeTrace && (flags.range !== undefined || flags.window !== undefined)) {
    throw new InputError(`--whole-trace measures everything; --${flags.range !== undefined ? 'range' : 'window'} chooses part of it: give one of them.`);
  }
  return o;
}
