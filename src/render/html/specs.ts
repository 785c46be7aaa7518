/**
 * Vega-Lite specs for one report's charts. Specs carry their data inline (plain JSON, no
 * functions), so the same spec renders in the page and in the headless SVG export.
 */
import { COMM_ROW_COLOURS } from './communication.js';
import type { DeviceReport } from '../../report/types.js';
import { formatCount, formatNs, formatPct } from '../format.js';
import { GAP_CLASSES, type ConcurrencySeries, type GapBin, type LevelRow } from './series.js';
import type { TimeAxis, TimelineData } from './timeline.js';

export type VlSpec = Record<string, unknown>;
type Layer = Record<string, unknown> & { encoding: Record<string, unknown> };

export interface Chart {
  /** stable id, used by the page and by tests (e.g. "t0-timeline", "t0-gpu0-levels") */
  id: string;
  kind: 'timeline' | 'concurrency' | 'levels' | 'occupancy' | 'pairs' | 'gaps' | 'waterfall' | 'compare-metrics' | 'compare-timelines' | 'compare-iterations' | 'communication'
    | 'experts' | 'what-if' | 'compare-what-if';
  /** null when there is nothing to draw: `message` says why, in the chart's place */
  spec: VlSpec | null;
  message?: string;
}

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
export const WIDTH = 900;
const ROW_PX = 16;
/** Tableau 10 plus two, none grey (grey means "other" and aggregated bins) */
const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#1f77b4', '#17becf', '#bcbd22'];
export const GAP_COLOURS = ['#d62728', '#ff7f0e', '#1f77b4', '#7f7f7f', '#9467bd'];

const tip = (field: string, title: string, type = 'nominal') => ({ field, title, type });

export function timelineSpec(data: TimelineData, title: string, interactive = true): VlSpec {
  const { axis } = data;
  const y = { field: 'row', type: 'nominal', sort: data.rows, title: null, axis: { labelLimit: 240 } };
  const x = (brush: boolean) => ({
    field: 'start', type: 'quantitative', title: `time since ${axis.from ?? 'window start'} (${axis.unit})`,
    scale: brush ? { domain: { param: 'brush' }, nice: false, zero: false } : { domain: [0, axis.span], nice: false, zero: false },
  });
  const kindLayer = (kind: string, colour: unknown, tooltip: unknown[], brush: boolean) => ({
    transform: [{ filter: `datum.kind === '${kind}'` }],
    mark: { type: 'rect', clip: true, strokeWidth: 0.5, ...(typeof colour === 'string' ? { color: colour } : {}) },
    encoding: {
      x: x(brush), x2: { field: 'end' }, y,
      ...(typeof colour === 'string' ? {} : { color: colour, stroke: colour }),
      ...(brush ? { tooltip } : {}),
    },
  });
  const colour = {
    field: 'colour', type: 'nominal',
    // fixed order and palette: the busiest keys get the first colours, everything else is grey
    scale: { domain: [...data.colourKeys, 'other'], range: [...PALETTE.slice(0, data.colourKeys.length), '#c7c7c7'] },
    legend: {
      title: data.colourSource === 'nvtx' ? 'kernels by the NVTX range around their launch (range:), else by name (kernel:)' : 'kernels by name',
      labelLimit: 300, titleLimit: 800, orient: 'bottom', columns: 3,
    },
  };
  const common = [tip('startText', 'start'), tip('durationText', 'duration')];
  const layers = (brush: boolean): Layer[] => [
    ...(data.bins.length > 0 ? [{
      data: { name: 'bins' },
      transform: [{ calculate: `datum.bin * ${data.binWidth}`, as: 'start' }, { calculate: `(datum.bin + 1) * ${data.binWidth}`, as: 'end' }],
      mark: { type: 'rect', clip: true, color: '#555' },
      encoding: {
        x: x(brush), x2: { field: 'end' }, y,
        opacity: { field: 'busyShare', type: 'quantitative', scale: { domain: [0, 1], range: [0.08, 0.85] }, legend: null },
        ...(brush ? { tooltip: [tip('row', 'row'), tip('count', 'intervals starting here', 'quantitative'), tip('busyText', 'busy in bin')] } : {}),
      },
    }] : []),
    kindLayer('kernel', colour, [tip('name', 'kernel'), tip('stream', 'stream'), ...common, tip('grid', 'grid'), tip('block', 'block'), tip('expert', 'NVTX range')], brush),
    kindLayer('launch', '#b0b0b0', [tip('name', 'launch call'), tip('row', 'thread'), ...common], brush),
    kindLayer('sync', '#111111', [tip('name', 'sync call'), tip('row', 'thread'), ...common], brush),
    kindLayer('nvtx', '#c5b0d5', [tip('name', 'NVTX range'), tip('row', 'lane'), ...common], brush),
    // issue 17: communication and compute rows (src/render/html/communication.ts)
    ...(['communication', 'compute', 'exposed'] as const).map((k) => kindLayer(k, COMM_ROW_COLOURS[k], [tip('name', 'row'), ...common], brush)),
  ];
  const detailHeight = Math.max(60, data.rows.length * ROW_PX);
  const brush = { name: 'brush', select: { type: 'interval', encodings: ['x'] }, ...(data.focus ? { value: { x: [data.focus.start, data.focus.end] } } : {}) };
  const overview = layers(false).map((l, i) => ({
    ...l, encoding: { ...l.encoding, y: { ...y, axis: null } }, ...(i === 0 ? { params: [brush] } : {}),
  }));
  return {
    $schema: SCHEMA,
    title: {
      text: title,
      subtitle: [
        ...(data.focus ? [`Opens on the ${data.focus.text}; the overview (bottom) shows the whole ${axis.from ? 'capture' : 'window'}.`] : []),
        ...(interactive ? ['Drag across the overview to zoom; drag the selection to pan; double-click it to show everything.'] : []),
      ],
    },
    datasets: { marks: data.marks, bins: data.bins },
    vconcat: [
      { width: WIDTH, height: detailHeight, data: { name: 'marks' }, layer: layers(true) },
      { width: WIDTH, height: Math.min(80, Math.max(30, data.rows.length * 4)), data: { name: 'marks' }, layer: overview },
    ],
  };
}

export function concurrencySpec(d: DeviceReport, series: ConcurrencySeries, axis: TimeAxis): VlSpec {
  const o = d.overlap;
  return {
    $schema: SCHEMA,
    title: {
      text: `GPU ${d.deviceId}: active kernels over time — utilization ${formatPct(o.utilization)}, overlap share ${formatPct(o.overlapShare)}`,
      subtitle: series.aggregated
        ? `${series.changes.toLocaleString('en-US')} changes: grey = most kernels at once in each of ${series.bins} bins, blue line = time-weighted mean`
        : `concurrency ${o.concurrency === null ? 'n/a' : o.concurrency.toFixed(2)} (kernel time / busy time)`,
    },
    width: WIDTH, height: 160,
    data: { values: series.points },
    encoding: {
      x: { field: 't', type: 'quantitative', title: `time since ${axis.from ?? 'window start'} (${axis.unit})`, scale: { nice: false, zero: false } },
      y: { field: 'active', type: 'quantitative', title: 'active kernels', axis: { tickMinStep: 1 } },
    },
    layer: series.aggregated
      ? [
        { transform: [{ filter: "datum.series === 'max in bin'" }], mark: { type: 'area', interpolate: 'step-after', color: '#c7c7c7', opacity: 0.7 } },
        { transform: [{ filter: "datum.series === 'mean in bin'" }], mark: { type: 'line', interpolate: 'step-after', color: '#4e79a7' } },
      ]
      : [{ mark: { type: 'line', interpolate: 'step-after', color: '#4e79a7' } }],
  };
}

export function levelsSpec(d: DeviceReport, rows: LevelRow[], axis: TimeAxis): VlSpec {
  return {
    $schema: SCHEMA,
    title: { text: `GPU ${d.deviceId}: time at each concurrency level`, subtitle: `window ${formatNs(d.window.duration)}` },
    width: Math.min(WIDTH, 80 + rows.length * 60), height: 160,
    data: { values: rows },
    mark: { type: 'bar' },
    encoding: {
      x: { field: 'level', type: 'ordinal', title: 'kernels running at once', axis: { labelAngle: 0 } },
      y: { field: 'time', type: 'quantitative', title: `time (${axis.unit})` },
      tooltip: [tip('level', 'kernels running'), tip('timeText', 'time'), tip('shareText', 'share of window')],
    },
  };
}

export function occupancySpec(d: DeviceReport): VlSpec {
  const values = d.streams.map((s) => ({
    stream: `stream ${s.streamId}`, occupancy: s.occupancy ?? 0, kernels: s.kernelCount,
    busyText: formatNs(s.busy), occupancyText: formatPct(s.occupancy), shareText: formatPct(s.shareOfDeviceBusy),
  }));
  return {
    $schema: SCHEMA,
    title: { text: `GPU ${d.deviceId}: stream occupancy (busy time / window)` },
    width: WIDTH / 2 - 40, height: Math.max(40, values.length * ROW_PX),
    data: { values },
    mark: { type: 'bar' },
    encoding: {
      y: { field: 'stream', type: 'nominal', sort: values.map((v) => v.stream), title: null },
      x: { field: 'occupancy', type: 'quantitative', title: 'occupancy (busy / window)', axis: { format: percentFormat(Math.max(0, ...values.map((v) => v.occupancy))), tickCount: 5 } },
      tooltip: [tip('stream', 'stream'), tip('kernels', 'kernels', 'quantitative'), tip('busyText', 'busy'), tip('occupancyText', 'occupancy'), tip('shareText', 'share of GPU busy')],
    },
  };
}

const MAX_PAIR_STREAMS = 32;

/**
 * Stream-pair overlap as a heat map over the streams that overlapped another one (the 32 with the
 * most overlap when more did); null when no two streams overlapped (the page says so in words).
 */
export function pairsSpec(d: DeviceReport): VlSpec | null {
  const pairs = d.streamPairs.filter((p) => p.overlap > 0);
  if (pairs.length === 0) return null;
  const byStream = new Map<number, number>();
  for (const p of pairs) for (const s of [p.a, p.b]) byStream.set(s, (byStream.get(s) ?? 0) + p.overlap);
  const involved = [...byStream.keys()];
  const shown = [...byStream].sort((x, y) => y[1] - x[1] || x[0] - y[0]).slice(0, MAX_PAIR_STREAMS).map(([s]) => s).sort((x, y) => x - y);
  const overlap = new Map(pairs.map((p) => [`${Math.min(p.a, p.b)}:${Math.max(p.a, p.b)}`, p.overlap]));
  const values = shown.flatMap((a) => shown.filter((b) => b !== a).map((b) => {
    const o = overlap.get(`${Math.min(a, b)}:${Math.max(a, b)}`) ?? 0;
    return { a: `stream ${a}`, b: `stream ${b}`, overlap: o, overlapText: formatNs(o) };
  }));
  const order = shown.map((s) => `stream ${s}`);
  const max = pairs.reduce((m, p) => Math.max(m, p.overlap), 0);
  const side = Math.min(WIDTH / 2 - 40, 22 * order.length + 20);
  const subtitle = [`${formatCount(pairs.length)} of ${formatCount(d.streams.length * (d.streams.length - 1) / 2)} pairs overlapped; largest: ${formatNs(max)}`];
  if (involved.length > shown.length) subtitle.push(`the ${shown.length} streams with the most overlap of ${involved.length} that overlapped`);
  else if (involved.length < d.streams.length) subtitle.push(`${d.streams.length - involved.length} streams that never overlapped left out`);
  return {
    $schema: SCHEMA,
    title: { text: `GPU ${d.deviceId}: time each pair of streams ran kernels at once`, subtitle: subtitle.join('; ') },
    width: side, height: side,
    data: { values },
    mark: { type: 'rect' },
    encoding: {
      x: { field: 'a', type: 'nominal', sort: order, title: null, scale: { domain: order }, axis: { labelAngle: -45 } },
      y: { field: 'b', type: 'nominal', sort: order, title: null, scale: { domain: order } },
      color: { field: 'overlap', type: 'quantitative', title: 'overlap (ns)', scale: { scheme: 'blues', domain: [0, Math.max(1, max)] } },
      tooltip: [tip('a', 'stream'), tip('b', 'with'), tip('overlapText', 'overlap')],
    },
  };
}

/**
 * A d3 percent format with as many decimals as ticks about a fifth of `max` apart need to differ
 * (".1~%" on a 0-0.4% axis printed "0% 0.1% 0.1% 0.1%").
 */
export function percentFormat(max: number): string {
  const step = max / 5;
  const digits = step > 0 ? Math.min(6, Math.max(0, Math.ceil(-Math.log10(step * 100)))) : 0;
  return `.${digits}~%`;
}

/** Axis labels in ns/µs/ms/s, as the rest of the page writes times. */
const UNIT_LABEL = "datum.value >= 1e9 ? format(datum.value / 1e9, '~g') + ' s' : datum.value >= 1e6 ? format(datum.value / 1e6, '~g') + ' ms' : datum.value >= 1e3 ? format(datum.value / 1e3, '~g') + ' µs' : format(datum.value, '~g') + ' ns'";

function decades(bins: GapBin[]): number[] {
  if (bins.length === 0) return [];
  const lo = Math.floor(Math.log10(Math.min(...bins.map((b) => b.lo))));
  const hi = Math.ceil(Math.log10(Math.max(...bins.map((b) => b.hi))) - 1e-9);
  return Array.from({ length: hi - lo + 1 }, (_, i) => 10 ** (lo + i));
}

export function gapsSpec(d: DeviceReport, bins: GapBin[]): VlSpec {
  const g = d.gaps;
  const summary = GAP_CLASSES.filter((c) => (g.byClass[c]?.count ?? 0) > 0).map((c) => `${c} ${g.byClass[c].count} (${formatNs(g.byClass[c].total)})`).join(', ');
  return {
    $schema: SCHEMA,
    title: { text: `GPU ${d.deviceId}: idle gaps by length and cause`, subtitle: summary || 'no idle gaps in the window' },
    width: WIDTH, height: 180,
    data: { values: bins },
    mark: { type: 'rect', stroke: '#fff', strokeWidth: 0.5 },
    encoding: {
      x: { field: 'lo', type: 'quantitative', title: 'gap length (log scale)', scale: { type: 'log' }, axis: { values: decades(bins), labelExpr: UNIT_LABEL } },
      x2: { field: 'hi' },
      y: { field: 'y1', type: 'quantitative', title: 'gaps', axis: { tickMinStep: 1 } },
      y2: { field: 'y0' },
      color: { field: 'class', type: 'nominal', scale: { domain: GAP_CLASSES, range: GAP_COLOURS }, title: 'cause' },
      tooltip: [tip('range', 'length'), tip('class', 'cause'), tip('count', 'gaps', 'quantitative'), tip('totalText', 'total idle')],
    },
  };
}
