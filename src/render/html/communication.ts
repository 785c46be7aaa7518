/**
 * Communication (issue 17) on the HTML page: three timeline rows per GPU (communication, compute,
 * and the exposed communication between them), the exposed time per phase as a chart, and the
 * communication tables. The rows' intervals are computed by the command
 * (src/analyses/communication-rows.ts) and handed in HtmlInput.communication.
 */
import type { DeviceReport, Report } from '../../report/types.js';
import type { CommunicationIntervals } from '../../report/communication.js';
import type { IntervalSet } from '../../model/intervals.js';
import { formatNs, formatPct } from '../format.js';
import { communicationTables } from '../communication-text.js';
import { HTML_TABLES } from '../tables.js';

export type CommRowKind = 'communication' | 'compute' | 'exposed';

export const COMM_ROW_COLOURS: Record<CommRowKind, string> = { communication: '#e15759', compute: '#4e79a7', exposed: '#d62728' };

/** The row labels of a device's communication rows. */
export function communicationRowLabels(deviceId: number): Record<CommRowKind, string> {
  return {
    communication: `GPU ${deviceId} · communication`,
    compute: `GPU ${deviceId} · compute`,
    exposed: `GPU ${deviceId} · exposed communication`,
  };
}

/**
 * The handed communication, compute and exposed intervals of every device with communication
 * (src/analyses/communication-rows.ts), pushed row by row. Devices without communication get no rows.
 */
export function communicationIntervals(
  handed: readonly CommunicationIntervals[], rowOf: (label: string) => number,
  push: (row: number, start: number, end: number, kind: CommRowKind) => void,
): void {
  for (const d of handed) {
    const labels = communicationRowLabels(d.deviceId);
    const rows = { communication: rowOf(labels.communication), compute: rowOf(labels.compute), exposed: rowOf(labels.exposed) };
    const emit = (set: IntervalSet, kind: CommRowKind): void => {
      for (let j = 0; j < set.count; j++) push(rows[kind], set.start[j], set.end[j], kind);
    };
    emit(d.communication, 'communication');
    emit(d.compute, 'compute');
    emit(d.exposed, 'exposed');
  }
}

/** Exposed and hidden communication per phase and micro-batch, as a stacked bar chart; null without phases. */
export function exposedByPhaseSpec(d: DeviceReport): Record<string, unknown> | null {
  const c = d.communication;
  if (!c || c.byPhase.length === 0) return null;
  const label = (p: (typeof c.byPhase)[number]): string =>
    `${p.phase === 'none' ? '(no phase range)' : p.phase}${p.microBatch !== null ? ` mb${p.microBatch}` : ''}`;
  const values = c.byPhase.flatMap((p) => [
    { phase: label(p), part: 'exposed', us: p.exposed / 1e3, text: formatNs(p.exposed), hiddenShare: formatPct(p.hiddenShare) },
    { phase: label(p), part: 'hidden behind compute', us: (p.busy - p.exposed) / 1e3, text: formatNs(p.busy - p.exposed), hiddenShare: formatPct(p.hiddenShare) },
  ]);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: `GPU ${d.deviceId}: communication exposed per phase — ${formatNs(c.exposed)} of ${formatNs(c.busy)} exposed (hidden share ${formatPct(c.hiddenShare)})`,
      subtitle: 'exposed = communication while no compute kernel runs; phases from the NVTX / record_function ranges around the launches',
    },
    width: 900, height: Math.max(60, 22 * c.byPhase.length),
    data: { values },
    mark: { type: 'bar' },
    encoding: {
      y: { field: 'phase', type: 'nominal', sort: c.byPhase.map(label), title: null },
      x: { field: 'us', type: 'quantitative', stack: 'zero', title: 'communication time (µs)' },
      color: { field: 'part', type: 'nominal', scale: { domain: ['exposed', 'hidden behind compute'], range: [COMM_ROW_COLOURS.exposed, '#9ecae9'] }, legend: { title: null, orient: 'bottom' } },
      tooltip: [{ field: 'phase', title: 'phase' }, { field: 'part', title: '' }, { field: 'text', title: 'time' }, { field: 'hiddenShare', title: 'hidden share of the phase' }],
    },
  };
}

/** The communication tables (summary, operations, phases, contention, kernel classes) for the page. */
export function communicationHtmlTables(report: Report): { caption: string; header: string[]; rows: string[][] }[] {
  return report.devices.flatMap((d) => communicationTables(d, HTML_TABLES)).map((t) => ({
    caption: t.caption + (t.more ? ` (${t.more} more not shown)` : ''), header: t.header, rows: t.rows,
  }));
}
