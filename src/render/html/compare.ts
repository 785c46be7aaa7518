/**
 * The comparison block of a page with several traces: the headline metrics side by side and
 * small-multiple timelines on one shared time scale (each trace's window starts at 0).
 */
import { basename } from 'node:path';
import { WHAT_IF_SCENARIOS, type WhatIfScenarioName } from '../../report/expert-types.js';
import type { DeviceReport } from '../../report/types.js';
import { formatCount, formatNs, formatPct, formatRatio } from '../format.js';
import { scenarioName } from '../experts-text.js';
import { compareWhatIfSpec } from './experts-section.js';
import type { HtmlInput, Table } from './sections.js';
import { WIDTH, type Chart, type VlSpec } from './specs.js';
import { buildTimeline, timeAxis, type TimelineLimits } from './timeline.js';

export interface Comparison {
  table: Table;
  charts: Chart[];
  aggregated: boolean;
}

/** Lighter than a trace's own timeline: these are overviews stacked on top of each other. */
const SMALL_LIMITS: TimelineLimits = { maxMarks: 5_000, keepLongest: 1_000, bins: 600 };

const ROWS: [string, (d: DeviceReport) => string][] = [
  ['window', (d) => formatNs(d.window.duration)],
  ['kernels', (d) => formatCount(d.overlap.kernelCount)],
  ['streams', (d) => formatCount(d.streams.length)],
  ['GPU busy', (d) => formatNs(d.overlap.busy)],
  ['utilization', (d) => formatPct(d.overlap.utilization)],
  ['overlap share', (d) => formatPct(d.overlap.overlapShare)],
  ['concurrency', (d) => (d.overlap.concurrency === null ? 'n/a' : d.overlap.concurrency.toFixed(2))],
  ['max kernels at once', (d) => String(d.overlap.maxConcurrency)],
  ['idle gaps', (d) => `${formatCount(d.gaps.all.count)} (${formatNs(d.gaps.all.total)})`],
  ['sync-stall idle', (d) => formatNs(d.gaps.byClass['sync-stall'].total)],
  ['host-wait idle', (d) => formatNs(d.gaps.byClass['host-wait'].total)],
  ['host syncs', (d) => `${formatCount(d.hostSyncs.count)} (${formatNs(d.hostSyncs.totalTime)})`],
  ['median launch latency', (d) => (d.launch.latency.count > 0 ? formatNs(d.launch.latency.median) : 'n/a')],
  ['median launch interval', (d) => (d.launch.interval.count > 0 ? formatNs(d.launch.interval.median) : 'n/a')],
  ['launch-bound', (d) => (d.launch.launchBound ? 'yes' : 'no')],
  // issue 15: per-expert load and measured vs projected per iteration (what-if replay)
  ['experts: max/mean GPU time (straggler)', (d) => (d.experts ? `${d.experts.imbalance?.toFixed(2) ?? 'n/a'}x (expert ${d.experts.straggler ?? '–'})` : '–')],
  ['measured / iteration (replay span)', (d) => (d.whatIf ? formatNs(d.whatIf.measuredIterationNs) : '–')],
  ...WHAT_IF_SCENARIOS.map((s): [string, (d: DeviceReport) => string] => [
    `projected: ${scenarioName(s)}`, (d) => {
      const x = d.whatIf?.scenarios.find((y) => y.scenario === s);
      return x ? `${formatNs(x.projectedIterationNs)} (${x.ratio.toFixed(2)}x)` : '–';
    }]),
  // a projection keeps its own process's host speed: the most-made launch call's median says how fast each host ran
  ['host: median of the most-made launch call', (d) => {
    const h = d.whatIf?.inputs.hostCallSpeed[0];
    return h ? `${h.name} ${formatNs(h.medianNs)} (${formatCount(h.count)})` : '–';
  }],
];

/**
 * What `compare` measured for each input (commands/compare.ts compareReports, in input order):
 * the time per iteration and the speed-up against the first, for the device it compared.
 */
export interface ComparedSummary {
  deviceId: number | null;
  iterations: number | null;
  iterationTime: number | null;
  speedup: number | null;
  /**
   * for a later input whose host speed compare measured: the first input's projections at this
   * input's host speed (compare's experts.atHostSpeed rows for this input)
   */
  atHostSpeed?: { scenario: WhatIfScenarioName; hostTimeFactor: number; projectedAtHostSpeed: number | null; measured: number; error: number | null }[];
}

export function comparison(inputs: HtmlInput[], compared?: ComparedSummary[]): Comparison {
  const columns = inputs.flatMap((input, t) => input.report.devices.map((d) => ({ t, d, label: `${basename(input.report.input.file)} · GPU ${d.deviceId}` })));
  // compare's own figures first: only in the column of the device it compared
  const fromCompare = (f: (c: ComparedSummary) => string): ((c: { t: number; d: DeviceReport }) => string) =>
    (c) => (compared?.[c.t] && compared[c.t].deviceId === c.d.deviceId ? f(compared[c.t]) : '–');
  const first = inputs[0] ? basename(inputs[0].report.input.file) : 'the first';
  const compareRows: [string, (c: { t: number; d: DeviceReport }) => string][] = compared ? [
    ['iterations', fromCompare((c) => (c.iterations === null ? 'none (whole window)' : formatCount(c.iterations)))],
    ['time / iteration', fromCompare((c) => (c.iterationTime === null ? 'n/a' : formatNs(c.iterationTime)))],
    [`speed-up vs ${first}`, fromCompare((c) => (c.speedup === null ? 'n/a' : formatRatio(c.speedup)))],
  ] : [];
  // issue 15: the first input's projections read at each later input's host speed, beside that input's own
  const atScenarios = WHAT_IF_SCENARIOS.filter((s) => compared?.some((c) => c.atHostSpeed?.some((x) => x.scenario === s)));
  const atRows: [string, (c: { t: number; d: DeviceReport }) => string][] = atScenarios.map((s) => [
    `projected from ${first} at this host speed: ${scenarioName(s)}`, fromCompare((c) => {
      const x = c.atHostSpeed?.find((y) => y.scenario === s);
      if (!x) return '–';
      const err = x.error === null ? '' : `; ${x.error >= 0 ? '+' : ''}${(100 * x.error).toFixed(1)}% vs measured`;
      return x.projectedAtHostSpeed === null ? `outside the replayed host speeds (${x.hostTimeFactor.toFixed(2)}x)` : `${formatNs(x.projectedAtHostSpeed)} (host time ${x.hostTimeFactor.toFixed(2)}x${err})`;
    })]);
  const table: Table = {
    key: 'compare', caption: 'Headline metrics side by side',
    header: ['metric', ...columns.map((c) => c.label)],
    rows: [
      ...compareRows.map(([name, f]) => [name, ...columns.map((c) => f(c))]), ...ROWS.map(([name, f]) => [name, ...columns.map((c) => f(c.d))]),
      ...atRows.map(([name, f]) => [name, ...columns.map((c) => f(c))]),
    ],
  };
  const metrics = columns.flatMap((c) => [
    { trace: c.label, metric: 'utilization', value: c.d.overlap.utilization ?? 0, text: formatPct(c.d.overlap.utilization) },
    { trace: c.label, metric: 'overlap share', value: c.d.overlap.overlapShare ?? 0, text: formatPct(c.d.overlap.overlapShare) },
  ]);
  const metricsSpec: VlSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Utilization and overlap share',
    data: { values: metrics },
    facet: { row: { field: 'metric', type: 'nominal', title: null } },
    spec: {
      width: WIDTH - 300, height: { step: 18 },
      mark: { type: 'bar' },
      encoding: {
        y: { field: 'trace', type: 'nominal', title: null, sort: columns.map((c) => c.label), axis: { labelLimit: 280 } },
        x: { field: 'value', type: 'quantitative', title: null, scale: { domain: [0, 1] }, axis: { format: '.0%' } },
        color: { field: 'trace', type: 'nominal', legend: null, sort: columns.map((c) => c.label) },
        tooltip: [{ field: 'trace', title: 'trace' }, { field: 'metric', title: 'metric' }, { field: 'text', title: 'value' }],
      },
    },
  };
  // One unit for all: the longest window decides, so equal lengths look equal.
  const longest = Math.max(0, ...inputs.map((i) => { const a = timeAxis(i.report); return a.span * a.unitNs; }));
  const unitNs = longest >= 10e6 ? 1e6 : 1e3;
  let aggregated = false;
  const multiples = inputs.map((input) => {
    const tl = buildTimeline(input.report, input.trace, SMALL_LIMITS, input.expertOf, unitNs, input.communication);
    if (tl.aggregation.length > 0) aggregated = true;
    const gpuRows = tl.rows.filter((r) => r.startsWith('GPU '));
    const y = { field: 'row', type: 'nominal', sort: gpuRows, title: null, axis: { labelLimit: 200 } };
    const x = { field: 'start', type: 'quantitative', title: `time since window start (${tl.axis.unit})`, scale: { domain: [0, longest / unitNs], nice: false, zero: false } };
    return {
      title: { text: basename(input.report.input.file), anchor: 'start' },
      width: WIDTH, height: Math.max(30, gpuRows.length * 10),
      layer: [
        ...(tl.bins.length > 0 ? [{
          data: { values: tl.bins.filter((b) => b.row.startsWith('GPU ')) },
          transform: [{ calculate: `datum.bin * ${tl.binWidth}`, as: 'start' }, { calculate: `(datum.bin + 1) * ${tl.binWidth}`, as: 'end' }],
          mark: { type: 'rect', color: '#555' },
          encoding: { x, x2: { field: 'end' }, y, opacity: { field: 'busyShare', type: 'quantitative', scale: { domain: [0, 1], range: [0.08, 0.85] }, legend: null } },
        }] : []),
        {
          data: { values: tl.marks.filter((m) => m.kind === 'kernel') },
          mark: { type: 'rect', strokeWidth: 0.5 },
          encoding: {
            x, x2: { field: 'end' }, y,
            color: { field: 'colour', type: 'nominal', legend: null }, stroke: { field: 'colour', type: 'nominal', legend: null },
            tooltip: [{ field: 'name', title: 'kernel' }, { field: 'stream', title: 'stream', type: 'nominal' }, { field: 'startText', title: 'start' }, { field: 'durationText', title: 'duration' }],
          },
        },
      ],
    };
  });
  const timelinesSpec: VlSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'Kernels per stream, same time scale', subtitle: 'each trace from the start of its window' },
    vconcat: multiples,
    resolve: { scale: { color: 'independent', stroke: 'independent' } },
  };
  const iterations = iterationsSpec(inputs);
  // issue 15: measured vs projected per iteration (src/render/html/experts-section.ts)
  const whatIf = compareWhatIfSpec(inputs);
  return {
    table,
    charts: [
      ...(iterations ? [{ id: 'compare-iterations', kind: 'compare-iterations' as const, spec: iterations }] : []),
      ...(whatIf ? [{ id: 'compare-what-if', kind: 'compare-what-if' as const, spec: whatIf }] : []),
      { id: 'compare-metrics', kind: 'compare-metrics', spec: metricsSpec },
      { id: 'compare-timelines', kind: 'compare-timelines', spec: timelinesSpec },
    ],
    aggregated,
  };
}

/**
 * The iterations of each input on one time axis: a bar per iteration's GPU span (the iterations
 * the Report measured), from the start of the file's first one, so the faster loop ends sooner.
 */
export function iterationsSpec(inputs: HtmlInput[]): VlSpec | null {
  const values: { file: string; iteration: number; start: number; end: number; parity: string; spanText: string }[] = [];
  const files: string[] = [];
  let longest = 0;
  for (const input of inputs) {
    const file = basename(input.report.input.file);
    const d = [...input.report.devices].sort((a, b) => b.overlap.kernelTime - a.overlap.kernelTime || a.deviceId - b.deviceId)[0];
    const list = (d?.nvtxRanges?.iterations?.instances ?? []).filter((x) => x.gpuStart !== null && x.gpuEnd !== null);
    if (list.length === 0) continue;
    const label = `${file} · GPU ${d.deviceId}`;
    files.push(label);
    const t0 = list[0].gpuStart!;
    list.forEach((x, i) => {
      values.push({ file: label, iteration: i + 1, start: (x.gpuStart! - t0) / 1e6, end: (x.gpuEnd! - t0) / 1e6, parity: i % 2 ? 'odd' : 'even', spanText: formatNs(x.gpuEnd! - x.gpuStart!) });
      longest = Math.max(longest, (x.gpuEnd! - t0) / 1e6);
    });
  }
  if (files.length === 0) return null;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'Iterations on one time axis', subtitle: "each file's iterations on the GPU, from the start of its first; shorter bars end sooner" },
    width: WIDTH, height: { step: 26 },
    data: { values },
    mark: { type: 'rect', stroke: '#fff', strokeWidth: 1 },
    encoding: {
      y: { field: 'file', type: 'nominal', sort: files, title: null, axis: { labelLimit: 300 } },
      x: { field: 'start', type: 'quantitative', title: 'time since the first iteration began (ms)', scale: { domain: [0, longest], nice: false, zero: true } },
      x2: { field: 'end' },
      color: { field: 'parity', type: 'nominal', scale: { domain: ['even', 'odd'], range: ['#4e79a7', '#a0cbe8'] }, legend: null },
      tooltip: [{ field: 'file', title: 'file' }, { field: 'iteration', title: 'iteration', type: 'quantitative' }, { field: 'spanText', title: 'GPU span' }],
    },
  };
}
