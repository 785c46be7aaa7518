/**
 * Communication (issue 17) on the HTML page: three timeline rows per GPU (communication, compute,
 * and the exposed communication between them), the exposed time per phase as a chart, and the
 * communication tables. The kernel classes are those of the report: the built-in patterns plus
 * the report's own --classes patterns (communication.classPatterns), applied to the trace again.
 */
import type { Trace } from '../../model/trace.js';
import type { DeviceReport, Report } from '../../report/types.js';
import { difference, union, upperBound, type IntervalSet } from '../../model/intervals.js';
import { classifyKernels, isCommunicationClass, isComputeClass } from '../../analyses/kernel-classes.js';
import { compileClassPatterns } from '../../analyses/classes-file.js';
import { StreamingUnion, windowSet } from '../../analyses/communication.js';
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
 * For every device with communication: its communication, compute and exposed intervals (unions,
 * clipped to the window), pushed row by row. Devices without communication get no rows.
 */
export function communicationIntervals(
  report: Report, trace: Trace, rowOf: (label: string) => number,
  push: (row: number, start: number, end: number, kind: CommRowKind) => void,
): void {
  const devices = report.devices.filter((d) => (d.communication?.kernelCount ?? 0) > 0);
  if (devices.length === 0) return;
  const classes = classifyKernels(trace, compileClassPatterns(devices[0].communication?.classPatterns ?? []));
  const k = trace.kernels;
  for (const d of devices) {
    const w = windowSet(d.window);
    const cs: number[] = []; const ce: number[] = [];
    // compute kernels come in start order: their union is streamed, not a copy of every kernel
    const computeUnion = new StreamingUnion(true);
    // only the segments an interval can meet (a steady-state window has thousands)
    const clip = (s: number, e: number, each: (a: number, b: number) => void): void => {
      for (let g = upperBound(w.end, w.count, s); g < w.count && w.start[g] < e; g++) {
        const a = Math.max(s, w.start[g]); const b = Math.min(e, w.end[g]);
        if (b > a) each(a, b);
      }
    };
    const toComm = (a: number, b: number): void => { cs.push(a); ce.push(b); };
    const toCompute = (a: number, b: number): void => computeUnion.add(a, b);
    for (let i = 0; i < k.count; i++) {
      if (k.deviceId[i] !== d.deviceId) continue;
      const code = classes.classOf[i];
      if (isCommunicationClass(code)) clip(k.start[i], k.end[i], toComm);
      else if (isComputeClass(code)) clip(k.start[i], k.end[i], toCompute);
    }
    // the copies a communication library issued are in the report's collective sequence
    const seq = d.communication!.collectives;
    for (let j = 0; j < seq.start.length; j++) clip(seq.start[j], seq.start[j] + seq.duration[j], toComm);
    const comm = union(cs, ce, cs.length);
    const compute = computeUnion.finish().set;
    const labels = communicationRowLabels(d.deviceId);
    const rows = { communication: rowOf(labels.communication), compute: rowOf(labels.compute), exposed: rowOf(labels.exposed) };
    const emit = (set: IntervalSet, kind: CommRowKind): void => {
      for (let j = 0; j < set.count; j++) push(rows[kind], set.start[j], set.end[j], kind);
    };
    emit(comm, 'communication');
    emit(compute, 'compute');
    emit(difference(comm, compute), 'exposed');
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
