/**
 * Everything one trace contributes to the page: its texts (headline, findings, warnings, notes,
 * top kernels) and its charts. Trace strings stay plain data here; the page's script puts them
 * in the document with textContent.
 */
import { basename } from 'node:path';
import type { Trace } from '../../model/trace.js';
import type { Finding, Report } from '../../report/types.js';
import type { CommunicationIntervals } from '../../report/communication.js';
import { formatBytes, formatCount, formatNs, formatPct } from '../format.js';
import { apiTable, HTML_TABLES, reportTables, type Table } from '../tables.js';
import { concurrencySeries, gapHistogram, levelRows } from './series.js';
import { concurrencySpec, gapsSpec, levelsSpec, occupancySpec, pairsSpec, timelineSpec, type Chart } from './specs.js';
import { exposedByPhaseSpec } from './communication.js';
import { expertCharts } from './experts-section.js';
import { waterfallSpec } from './waterfall.js';
import { iterationLine } from '../terminal.js';
import { windowChoice } from '../../report/build.js';
import { buildTimeline, DEFAULT_LIMITS, type ExpertOf, type TimelineLimits } from './timeline.js';

export interface HtmlInput {
  report: Report;
  trace: Trace;
  /**
   * per-kernel NVTX range (string index, -1 none) that colours the timeline: the commands give the
   * innermost range around each launch (analyses/kernel-ranges.ts); without it, kernels are coloured by name
   */
  expertOf?: ExpertOf;
  /**
   * each GPU's communication, compute and exposed intervals for the timeline's communication rows:
   * the commands compute them (analyses/communication-rows.ts); without it, no communication rows
   */
  communication?: readonly CommunicationIntervals[];
}

export type { Table } from '../tables.js';

export interface TraceSection {
  id: string;
  title: string;
  meta: string[];
  headline: string[];
  /** per device: what the window is, and the time per iteration (as the terminal's short report says them) */
  summary?: string[];
  /** with the GPU time each explains, as the terminal writes it */
  findings: (Finding & { costText?: string })[];
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

export function traceSection(input: HtmlInput, index: number, limits: TimelineLimits = DEFAULT_LIMITS, interactive = true): SectionResult {
  const { report, trace } = input;
  const id = `t${index}`;
  const timeline = buildTimeline(report, trace, limits, input.expertOf, undefined, input.communication);
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
    const waterfall = waterfallSpec(d, trace);
    if (waterfall) charts.push({ id: `${p}-waterfall`, kind: 'waterfall', spec: waterfall });
    charts.push({ id: `${p}-concurrency`, kind: 'concurrency', spec: concurrencySpec(d, series, timeline.axis) });
    charts.push({ id: `${p}-levels`, kind: 'levels', spec: levelsSpec(d, levelRows(d, timeline.axis), timeline.axis) });
    charts.push({ id: `${p}-occupancy`, kind: 'occupancy', spec: occupancySpec(d) });
    if (d.streams.length >= 2) {
      const pairs = pairsSpec(d);
      charts.push(pairs ? { id: `${p}-pairs`, kind: 'pairs', spec: pairs }
        : { id: `${p}-pairs`, kind: 'pairs', spec: null, message: d.streams.length === 2
          ? `GPU ${d.deviceId}: no two streams overlapped — its 2 streams never ran kernels at the same time.`
          : `GPU ${d.deviceId}: no two streams overlapped — none of the ${formatCount(d.streams.length * (d.streams.length - 1) / 2)} pairs of its ${formatCount(d.streams.length)} streams ever ran kernels at the same time.` });
    }
    charts.push({ id: `${p}-gaps`, kind: 'gaps', spec: gapsSpec(d, gapHistogram(d)) });
    // per-expert load and the what-if bars (issue 15): src/render/html/experts-section.ts
    charts.push(...expertCharts(d, p));
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
      id, title: basename(r.file), meta, headline: report.headline,
      findings: report.findings.map((f) => ({ ...f, costText: f.costNs > 0 ? `[${formatNs(f.costNs)}${f.costShare !== null ? `, ${formatPct(f.costShare)} of the window` : ''}]` : '' })),
      summary: report.devices.flatMap((d) => [windowChoice(d), iterationLine(d)]),
      warnings: report.warnings, notes, charts,
      // every table of the terminal's --full, from the Report; the API calls also beside kernels
      tables: [...reportTables(report, HTML_TABLES), ...(report.devices.length > 0 ? [apiTable(report, HTML_TABLES)].filter((t): t is Table => t !== null) : [])],
    },
    aggregated,
  };
}
