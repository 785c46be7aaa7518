/**
 * The terminal report. By default the short one a user reads first (at most 30 lines, wrapped to
 * the terminal's width): headline, time per iteration, the findings with their fixes. With
 * `--full`: the findings' evidence and every table behind them (src/render/tables.ts, the same
 * tables the HTML page shows).
 */
import type { DeviceReport, Finding, IterationSummary, Report } from '../report/types.js';
import { communicationLine } from './communication-text.js';
import { expertsLine, serializationLine, whatIfLine, whatIfShortLine } from './experts-text.js';
import { formatCount, formatNs, formatPct, formatRatio, textTable } from './format.js';
import { reportTables, TERMINAL_TABLES, type Table } from './tables.js';
import { windowChoice } from '../report/build.js';
import { perIteration } from '../findings/context.js';

export interface TerminalOptions {
  /** every table and each finding's evidence (default: the short report) */
  full?: boolean;
  /** columns to wrap prose at (tables are not wrapped); default 100 */
  width?: number;
  /** most lines of the short report; default 30 */
  maxLines?: number;
}

export const SHORT_LINES = 30;
export const DEFAULT_WIDTH = 100;

/** The width to wrap at: the terminal's, or 100 when stdout is not a terminal. */
export function terminalWidth(stream: { isTTY?: boolean; columns?: number } = process.stdout): number {
  return stream.isTTY && stream.columns && stream.columns >= 40 ? stream.columns : DEFAULT_WIDTH;
}

/** Word-wraps one paragraph to `width` columns; continuation lines start with `indent`. */
export function wrap(text: string, width: number, indent = ''): string[] {
  const limit = Math.max(20, width);
  const out: string[] = [];
  const lead = /^ */.exec(text)![0];
  let line = lead;
  let empty = true;
  const room = (): number => limit - (out.length === 0 ? 0 : indent.length);
  for (let word of text.slice(lead.length).split(/ +/)) {
    if (!empty && line.length + 1 + word.length <= room()) { line += ` ${word}`; continue; }
    if (!empty) { out.push(line); line = ''; }
    // a word longer than a line is cut
    while (line.length + word.length > room()) {
      const n = Math.max(1, room() - line.length);
      out.push(line + word.slice(0, n));
      line = ''; word = word.slice(n);
    }
    line += word;
    empty = false;
  }
  out.push(line);
  return out.map((l, i) => (i === 0 ? l : `${indent}${l}`));
}

function header(report: Report): string {
  const r = report.input;
  const from = [r.nsysVersion ? `nsys ${r.nsysVersion}` : null, r.source?.producer ?? null].filter((x) => x);
  return `${r.file}${from.length > 0 ? ` (${[...new Set(from)].join(', ')})` : ''}`;
}

/**
 * ", 63 in 622.7 ms: one every 9.884 ms, the time between them included" when the iterations follow
 * each other at a period that differs from their mean span by 1% or more: the period is what the
 * what-if replay's "now" is (the window ÷ its iterations), so the reader sees why the two differ.
 */
export function periodText(d: DeviceReport): string {
  const t = d.window.iterations;
  if (!t || t.count < 2 || d.window.source !== 'iterations') return '';
  const period = d.window.duration / t.count;
  if (Math.abs(period - t.meanSpan) < 0.01 * t.meanSpan) return '';
  return ` (${formatCount(t.count)} in ${formatNs(d.window.duration)}: one every ${formatNs(Math.round(period))}, the time between them included)`;
}

/** A count per iteration: whole, or a mean to one decimal ("8.0", not "8.016"). */
const perIterationCount = (v: number): string => (Number.isInteger(v) ? formatCount(v) : v.toFixed(1));

/** "; per iteration GPU busy …, N kernels, M host syncs", said to be the window's ÷ N when the ranges' projection misses work (findings/context.ts perIteration). */
function perIterationText(d: DeviceReport, it: IterationSummary): string {
  const p = perIteration(d, it);
  const n = (v: number): string => formatCount(Math.round(v));
  if (!p.fromWindow) return `; per iteration GPU busy ${formatNs(p.busy)}, ${n(p.kernels)} kernels, ${n(p.syncs)} host syncs`;
  return `; per iteration (the window's ÷ ${formatCount(it.count)}) GPU busy ${formatNs(Math.round(p.busy))}, ${n(p.kernels)} kernels, ${n(p.syncs)} host syncs ` +
    `(${formatPct(p.outsideShare)} of the kernels were launched outside the ranges' thread, e.g. by autograd's backward thread)`;
}

/** Time per iteration of one device: the NVTX iterations when found, else the whole window. */
export function iterationLine(d: DeviceReport): string {
  const it = d.nvtxRanges?.iterations;
  const covered = d.window.coveredDuration ?? d.window.duration;
  const gpu = `GPU ${d.deviceId}`;
  // the iterations W is made of (the steady state, or --range's instances): median and mean wall span
  const t = d.window.iterations;
  if (t && t.count > 0) {
    const spread = t.count > 1 ? `, ${formatNs(t.span.min)} .. ${formatNs(t.span.max)}` : '';
    const what = t.method === 'nvtx' || t.method === 'range' ? `"${t.name}"` : t.name;
    const per = it && it.count === t.count ? perIterationText(d, it) : '';
    return `${gpu}: ${formatNs(t.span.median)} per iteration (median GPU span, first kernel to last; mean ${formatNs(t.meanSpan)}${spread}) over ${formatCount(t.count)} iterations of ${what}${periodText(d)}${per}`;
  }
  if (!it || it.count === 0) {
    return `${gpu}: window ${formatNs(covered)} (no repeated NVTX or record_function range marks iterations: the whole window counts as one), ` +
      `${formatCount(d.overlap.kernelCount)} kernel${d.overlap.kernelCount === 1 ? '' : 's'}, GPU busy ${formatNs(d.overlap.busy)}`;
  }
  const spread = it.count > 1 ? ` (${formatNs(it.duration.min)} .. ${formatNs(it.duration.max)})` : '';
  return `${gpu}: ${formatNs(it.duration.median)} per iteration${spread}, median of ${formatCount(it.count)} "${it.name}"; ` +
    `per iteration GPU busy ${formatNs(it.busyPerIteration)}, ${perIterationCount(it.kernelsPerIteration)} kernel${it.kernelsPerIteration === 1 ? '' : 's'}, ${perIterationCount(it.syncsPerIteration)} host syncs`;
}

function costText(f: Finding): string {
  return f.costNs > 0 ? ` [${formatNs(f.costNs)}${f.costShare !== null ? `, ${formatPct(f.costShare)} of the window` : ''}]` : '';
}

const firstSentence = (s: string): string => {
  const m = /^(.*?[.!?])\s+[A-Z(]/s.exec(s);
  return m ? m[1] : s;
};

export function renderTerminal(report: Report, options: TerminalOptions = {}): string {
  return options.full ? renderFull(report, options.width ?? DEFAULT_WIDTH) : renderShort(report, options);
}

function lead(report: Report, width: number): string[] {
  const out = wrap(header(report), width, '  ');
  // what W is: the steady-state iterations, the whole capture, --range or --window
  for (const d of report.devices) out.push(...wrap(windowChoice(d), width, '  '));
  if (report.devices.length === 0) {
    out.push(...wrap(report.input.hasKernelTable ? 'No kernels in this trace (or in the selected window).' : 'No kernel records: nothing to measure on the GPU.', width, '  '));
  }
  for (const h of report.headline) out.push(...wrap(h, width, '  '));
  for (const d of report.devices) out.push(...wrap(iterationLine(d), width, '  '));
  for (const d of report.devices) out.push(...wrap(communicationLine(d) ?? '', width, '  ').filter((l) => l.trim() !== ''));
  return out;
}

/** Lines a warning may take in the short report. */
const WARNING_LINES = 3;

function renderShort(report: Report, options: TerminalOptions): string {
  const width = options.width ?? DEFAULT_WIDTH;
  const maxLines = options.maxLines ?? SHORT_LINES;
  const out = lead(report, width);
  // warnings: the first two, each whole up to WARNING_LINES lines (cut mid-sentence they hid the
  // reason, e.g. why a Kineto trace taken under nsys has no GPU records), then how many more
  const warnings = report.warnings.slice(0, 2).flatMap((w) => {
    const lines = wrap(`warning: ${w}`, width, '  ');
    if (lines.length <= WARNING_LINES) return lines;
    const kept = lines.slice(0, WARNING_LINES);
    kept[WARNING_LINES - 1] = `${kept[WARNING_LINES - 1].slice(0, width - 10).replace(/\s+\S*$/, '')}… (--full)`;
    return kept;
  });
  if (report.warnings.length > 2) warnings.push(`(${report.warnings.length - 2} more warnings: --full)`);
  out.push(...warnings);
  const footer = report.findings.length > 0 || report.devices.length > 0
    ? 'Evidence and tables: --full; charts: --html.' : '';
  const budget = maxLines - out.length - (footer ? 2 : 0) - 2;
  out.push('', ...findingLines(report.findings, width, budget));
  // the expert-level answers (issue 15), after the findings when they fit: load, what a fix would gain
  const expertLines = report.devices.flatMap((d) => [expertsLine(d), whatIfShortLine(d)].flatMap((l) => (l ? wrap(l, width, '  ') : [])));
  if (expertLines.length > 0 && out.length + 1 + expertLines.length + (footer ? 2 : 0) <= maxLines) out.push('', ...expertLines);
  if (footer) out.push('', footer);
  return `${out.join('\n')}\n`;
}

/**
 * The findings in at most `budget` lines: title and fix each; when that is too long, fixes are
 * cut to their first sentence, then the last findings are named in one line.
 */
function findingLines(findings: Finding[], width: number, budget: number): string[] {
  if (findings.length === 0) return ['Findings: nothing to report.'];
  const head = 'Findings (most GPU time explained first):';
  const block = (f: Finding, i: number, shortFix: boolean): string[] => [
    ...wrap(`${i + 1}. ${f.severity.toUpperCase()} ${f.id}: ${f.title}${costText(f)}`, width, '   '),
    ...wrap(`   fix: ${shortFix ? firstSentence(f.fix) : f.fix}`, width, '        '),
  ];
  for (const shortFix of [false, true]) {
    const lines = [head, ...findings.flatMap((f, i) => block(f, i, shortFix))];
    if (lines.length <= budget) return lines;
  }
  // keep as many findings (short fixes) as fit beside the lines naming the rest
  const blocks = findings.map((f, i) => block(f, i, true));
  const restLines = (shown: number): string[] => {
    const rest = findings.slice(shown).map((f) => f.id);
    return wrap(`+ ${rest.length} more: ${rest.join(', ')} (--full)`, width, '  ');
  };
  let shown = findings.length - 1;
  const size = (n: number): number => 1 + blocks.slice(0, n).reduce((t, b) => t + b.length, 0) + restLines(n).length;
  while (shown > 1 && size(shown) > budget) shown--;
  return [head, ...blocks.slice(0, shown).flat(), ...restLines(shown)];
}

function renderFull(report: Report, width: number): string {
  const out = lead(report, width);
  for (const w of report.warnings) out.push(...wrap(`warning: ${w}`, width, '  '));
  out.push('', renderFindings(report.findings, width));
  // the expert-level answers (issue 15) after the findings: load, what a fix would gain, why streams serialize
  const expertLines = report.devices.flatMap((d) => [expertsLine(d), whatIfLine(d), serializationLine(d)].flatMap((l) => (l ? wrap(l, width, '  ') : [])));
  if (expertLines.length > 0) out.push('', ...expertLines);
  let device = -2;
  for (const t of reportTables(report, TERMINAL_TABLES)) {
    const m = /^GPU (\d+): (.*)$/s.exec(t.caption);
    if (m && Number(m[1]) !== device) {
      device = Number(m[1]);
      const d = report.devices.find((x) => x.deviceId === device);
      out.push('', `== GPU ${device}${d?.gpuName && d.gpuName !== `GPU ${device}` ? `: ${d.gpuName}` : ''} ==`);
    }
    out.push('', textOf(t, m ? m[2] : t.caption, width));
  }
  return `${out.join('\n')}\n`;
}

/** One table as text: caption, then the rows (or the note when there are none). */
export function textOf(t: Table, caption = t.caption, width = DEFAULT_WIDTH): string {
  const title = wrap(caption.charAt(0).toUpperCase() + caption.slice(1), width, '  ').join('\n');
  if (t.rows.length === 0) return `${title}\n${t.note ?? '(none)'}`;
  const body = textTable(t.header, t.rows);
  return `${title}\n${body}${t.more ? `\n... and ${formatCount(t.more)} more` : ''}${t.note ? `\n${t.note}` : ''}`;
}

export function renderFindings(findings: Finding[], width = DEFAULT_WIDTH): string {
  if (findings.length === 0) return 'Findings: nothing to report.';
  const lines = ['Findings (most GPU time explained first):'];
  findings.forEach((f, i) => {
    lines.push(...wrap(`${i + 1}. ${f.severity.toUpperCase()} ${f.id}: ${f.title}${costText(f)}`, width, '   '));
    for (const e of f.evidence) lines.push(...wrap(`     - ${e}`, width, '       '));
    lines.push(...wrap(`     fix: ${f.fix}`, width, '          '));
  });
  return lines.join('\n');
}

/** What `analyze A B C` prints by default: the files as alternatives, one row each, and each one's top finding. */
export interface AlternativeRow {
  label: string;
  iterations: number | null;
  windowPerIteration: number | null;
  /** median iteration wall span (compare's iterationTime); windowPerIteration when absent */
  iterationTime?: number | null;
  speedup: number | null;
  busyPerIteration: number | null;
  utilization: number | null;
  overlapShare: number | null;
  syncsPerIteration: number | null;
  topFinding: Finding | null;
}

export function renderAlternatives(rows: AlternativeRow[], width = DEFAULT_WIDTH): string {
  const n = (v: number | null, f: (x: number) => string): string => (v === null ? 'n/a' : f(v));
  const dec = (v: number): string => (Number.isInteger(v) ? formatCount(v) : v.toFixed(1));
  const out = wrap(`${rows.length} files side by side (speed-up against ${rows[0]?.label ?? 'the first'}; ranks of one job: --ranks; each file's report: --full)`, width, '  ');
  out.push(textTable(['file', 'iterations', 'time/it.', 'speed-up', 'GPU busy/it.', 'util.', 'overlap', 'syncs/it.'],
    rows.map((r) => [r.label, r.iterations === null ? 'none*' : formatCount(r.iterations), n(r.iterationTime ?? r.windowPerIteration, formatNs),
      n(r.speedup, formatRatio), n(r.busyPerIteration, formatNs), formatPct(r.utilization), formatPct(r.overlapShare), n(r.syncsPerIteration, dec)])));
  if (rows.some((r) => r.iterations === null)) out.push('* no repeated NVTX ranges: figures are for the whole window.');
  out.push('', 'Top finding of each file:');
  for (const r of rows) {
    const f = r.topFinding;
    const line = f ? `${r.label}: ${f.severity.toUpperCase()} ${f.id}${costText(f)}: ${f.title}` : `${r.label}: nothing to report`;
    // two lines at most, cut at a word (one line cut mid-word read "…: Kernels…")
    const lines = wrap(line, width, '  ');
    if (lines.length > 2) lines.splice(2, lines.length - 2, '');
    if (lines.length === 3) { lines.pop(); lines[1] = `${lines[1].slice(0, width - 1).replace(/\s+\S*$/, '')}…`; }
    out.push(...lines);
  }
  return `${out.join('\n')}\n`;
}
