/**
 * Everything one trace contributes to the page: its texts (headline, findings, warnings, notes,
 * top kernels) and its charts. Trace strings stay plain data here; the page's script puts them
 * in the document with textContent.
 */
import { basename } from 'node:path';
import type { Trace } from '../../model/trace.js';
import type { Finding, Report } from '../../report/types.js';
import { formatBytes, formatCount, formatNs, formatPct } from '../format.js';
import { concurrencySeries, gapHistogram, levelRows } from './series.js';
import { concurrencySpec, gapsSpec, levelsSpec, occupancySpec, pairsSpec, timelineSpec, type Chart } from './specs.js';
import { kernelNvtxText } from './experts.js';
import { communicationHtmlTables, exposedByPhaseSpec } from './communication.js';
import { buildTimeline, DEFAULT_LIMITS, shortText, type ExpertOf, type TimelineLimits } from './timeline.js';

export interface HtmlInput {
  report: Report;
  trace: Trace;
  /** per-kernel expert label (string index, -1 none); default: the innermost NVTX range around the launch */
  expertOf?: ExpertOf;
}

export interface Table {
  caption: string;
  header: string[];
  rows: string[][];
}

export interface TraceSection {
  id: string;
  title: string;
  meta: string[];
  headline: string[];
  findings: Finding[];
  warnings: string[];
  /** what was aggregated or left out, one sentence each */
  notes: string[];
  tables: Table[];
  charts: Chart[];
}

export interface SectionResult {
  section: TraceSection;
  aggregated: boolean;
}

const TOP_KERNELS = 15;

export function traceSection(input: HtmlInput, index: number, limits: TimelineLimits = DEFAULT_LIMITS, interactive = true): SectionResult {
  const { report, trace } = input;
  const id = `t${index}`;
  const experts = input.expertOf ? null : kernelNvtxText(trace);
  const timeline = buildTimeline(report, trace, limits, input.expertOf ?? (experts ? (i: number) => experts[i] : undefined));
  const charts: Chart[] = [];
  const notes = [...timeline.aggregation];
  if (report.devices.length > 0) {
    charts.push({ id: `${id}-timeline`, kind: 'timeline', spec: timelineSpec(timeline, `Stream timeline (${timeline.rows.length} rows)`, interactive) });
  }
  let aggregated = timeline.aggregation.length > 0;
  for (const d of report.devices) {
    const p = `${id}-gpu${d.deviceId}`;
    const series = concurrencySeries(d, trace, timeline.axis);
    if (series.aggregated) {
      aggregated = true;
      notes.push(`GPU ${d.deviceId}: the active-kernel count changes ${formatCount(series.changes)} times; the chart shows its max and time-weighted mean per bin.`);
    }
    charts.push({ id: `${p}-concurrency`, kind: 'concurrency', spec: concurrencySpec(d, series, timeline.axis) });
    charts.push({ id: `${p}-levels`, kind: 'levels', spec: levelsSpec(d, levelRows(d, timeline.axis), timeline.axis) });
    charts.push({ id: `${p}-occupancy`, kind: 'occupancy', spec: occupancySpec(d) });
    const pairs = pairsSpec(d);
    if (pairs) charts.push({ id: `${p}-pairs`, kind: 'pairs', spec: pairs });
    charts.push({ id: `${p}-gaps`, kind: 'gaps', spec: gapsSpec(d, gapHistogram(d)) });
    const phases = exposedByPhaseSpec(d);
    if (phases) charts.push({ id: `${p}-communication`, kind: 'communication', spec: phases as Chart['spec'] });
  }
  const r = report.input;
  const meta = [
    `file ${r.file} (${formatBytes(r.fileSizeBytes)})`,
    r.source?.format === 'kineto'
      ? `${r.source.producer}${r.exportSchemaVersion ? '' : ', trace schema not recorded'}`
      : `nsys ${r.nsysVersion ?? 'version not recorded'}, export schema ${r.exportSchemaVersion ?? 'not recorded'}${r.source?.format === 'nsys-rep' ? ' (read from the .nsys-rep/.qdrep report through its SQLite export)' : ''}`,
    `${report.tool.name} ${report.tool.version}, report schema ${report.schemaVersion}`,
  ];
  return {
    section: {
      id, title: basename(r.file), meta, headline: report.headline, findings: report.findings,
      warnings: report.warnings, notes, charts,
      tables: [...report.devices.map((d) => topKernels(trace, d.deviceId, d.window.start, d.window.end)), ...communicationHtmlTables(report), ...apiTable(report)],
    },
    aggregated,
  };
}

/** CUDA API calls by total time: what the host spent its time on (the whole story when there are no kernels). */
function apiTable(report: Report): Table[] {
  if (report.apiSummary.length === 0) return [];
  const top = [...report.apiSummary].sort((a, b) => b.total - a.total || (a.name < b.name ? -1 : 1));
  return [{
    caption: `CUDA API calls by total time${top.length > TOP_KERNELS ? ` (top ${TOP_KERNELS} of ${top.length})` : ''}`,
    header: ['call', 'count', 'total', 'mean'],
    rows: top.slice(0, TOP_KERNELS).map((a) => [shortText(a.name), formatCount(a.count), formatNs(a.total), formatNs(Math.round(a.total / Math.max(1, a.count)))]),
  }];
}

/** The kernels that take the most GPU time in the window, by short name. */
function topKernels(trace: Trace, deviceId: number, w0: number, w1: number): Table {
  const k = trace.kernels;
  const acc = new Map<number, { count: number; total: number; max: number }>();
  for (let i = 0; i < k.count; i++) {
    if (k.deviceId[i] !== deviceId) continue;
    const dur = Math.min(k.end[i], w1) - Math.max(k.start[i], w0);
    if (dur < 0 || k.end[i] <= w0 || k.start[i] >= w1) continue;
    const a = acc.get(k.shortName[i]) ?? { count: 0, total: 0, max: 0 };
    a.count++; a.total += dur; a.max = Math.max(a.max, dur);
    acc.set(k.shortName[i], a);
  }
  const all = [...acc].sort((a, b) => b[1].total - a[1].total || a[0] - b[0]);
  const sum = all.reduce((s, [, a]) => s + a.total, 0);
  return {
    caption: `GPU ${deviceId}: kernels by GPU time in the window${all.length > TOP_KERNELS ? ` (top ${TOP_KERNELS} of ${all.length})` : ''}`,
    header: ['kernel', 'count', 'total', 'mean', 'max', 'share'],
    rows: all.slice(0, TOP_KERNELS).map(([name, a]) => [
      shortText(trace.strings[name] ?? 'kernel'), formatCount(a.count), formatNs(a.total), formatNs(Math.round(a.total / a.count)), formatNs(a.max),
      formatPct(sum > 0 ? a.total / sum : null),
    ]),
  };
}
