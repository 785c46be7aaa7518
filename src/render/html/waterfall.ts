/**
 * The per-iteration waterfall: one iteration (the median one by GPU span) drawn on its own time
 * axis, the host's launch and sync calls above the stream rows, and each idle gap of the GPU as a
 * band across the streams: red where the host was blocked in a sync (sync-stall), orange where it
 * had not launched the next kernel yet (host-wait). What a sync costs is the red band after it.
 */
import type { Trace } from '../../model/trace.js';
import type { DeviceReport, GapClass, IterationInstance } from '../../report/types.js';
import { formatNs } from '../format.js';
import { GAP_CLASSES } from './series.js';
import { GAP_COLOURS, WIDTH, type VlSpec } from './specs.js';
import { LAUNCH_RE, shortText } from './timeline.js';

/** more kernels than this in one iteration: no waterfall (the timeline shows it) */
const MAX_KERNELS = 5_000;
const ROW_PX = 16;

export interface WaterfallMark {
  row: string;
  kind: 'launch' | 'sync' | 'kernel' | 'gap';
  start: number;
  end: number;
  name: string;
  durationText: string;
  startText: string;
  class?: GapClass;
}

/** The iteration with the median GPU span (the lower one of an even count), or null without iterations. */
export function medianIteration(d: DeviceReport): { index: number; it: IterationInstance } | null {
  const list = (d.nvtxRanges?.iterations?.instances ?? []).map((it, index) => ({ it, index })).filter((x) => x.it.gpuStart !== null && x.it.gpuEnd !== null);
  if (list.length === 0) return null;
  const sorted = [...list].sort((a, b) => (a.it.gpuEnd! - a.it.gpuStart!) - (b.it.gpuEnd! - b.it.gpuStart!) || a.index - b.index);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

export function waterfallSpec(d: DeviceReport, trace: Trace): VlSpec | null {
  const pick = medianIteration(d);
  if (!pick) return null;
  const { it, index } = pick;
  const t0 = Math.min(it.cpuStart, it.gpuStart!);
  const t1 = Math.max(it.cpuEnd, it.gpuEnd!);
  const us = (ns: number): number => Math.round(Math.max(t0, Math.min(t1, ns)) - t0) / 1e3;
  const marks: WaterfallMark[] = [];
  const mark = (row: string, kind: WaterfallMark['kind'], s: number, e: number, name: string, cls?: GapClass): void => {
    if (e < t0 || s > t1) return;
    marks.push({ row, kind, start: us(s), end: us(e), name, durationText: formatNs(e - s), startText: formatNs(Math.max(s, t0) - t0), ...(cls ? { class: cls } : {}) });
  };
  const k = trace.kernels;
  let kernels = 0;
  const streams = new Set<number>();
  for (let i = 0; i < k.count; i++) {
    if (k.deviceId[i] !== d.deviceId || k.end[i] < it.gpuStart! || k.start[i] > it.gpuEnd!) continue;
    if (++kernels > MAX_KERNELS) return null;
    streams.add(k.streamId[i]);
    mark(`stream ${k.streamId[i]}`, 'kernel', k.start[i], k.end[i], shortText(trace.strings[k.shortName[i]] ?? 'kernel'));
  }
  if (kernels === 0) return null;
  const rt = trace.runtime;
  const launch = new Map<number, boolean>();
  for (let i = 0; i < rt.count; i++) {
    if (rt.end[i] < t0 || rt.start[i] > t1) continue;
    let l = launch.get(rt.name[i]);
    if (l === undefined) launch.set(rt.name[i], (l = LAUNCH_RE.test(trace.strings[rt.name[i]] ?? '')));
    if (l) mark('host: launches', 'launch', rt.start[i], rt.end[i], shortText(trace.strings[rt.name[i]] ?? 'launch'));
  }
  for (const c of d.hostSyncs.calls) mark('host: syncs', 'sync', c.start, c.end, c.name);
  let syncIdle = 0;
  for (const g of d.gaps.gaps) {
    if (g.end <= it.gpuStart! || g.start >= it.gpuEnd!) continue;
    mark('idle', 'gap', g.start, g.end, g.syncCall ? `idle while the host waits in ${g.syncCall}` : `idle (${g.class})`, g.class);
    if (g.class === 'sync-stall') syncIdle += Math.min(g.end, it.gpuEnd!) - Math.max(g.start, it.gpuStart!);
  }
  const rows = ['host: launches', 'host: syncs', ...[...streams].sort((a, b) => a - b).map((s) => `stream ${s}`)];
  const y = { field: 'row', type: 'nominal', sort: rows, title: null, scale: { domain: rows }, axis: { labelLimit: 200 } };
  const x = { field: 'start', type: 'quantitative', title: 'time since the iteration began (µs)', scale: { domain: [0, us(t1)], nice: false, zero: false } };
  const tip = [{ field: 'name', title: 'what' }, { field: 'startText', title: 'start' }, { field: 'durationText', title: 'duration' }];
  const listed = d.gaps.omitted ? ` (bands: the ${d.gaps.gaps.length.toLocaleString('en-US')} longest gaps of the window)` : '';
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: `GPU ${d.deviceId}: one iteration as a waterfall — ${d.nvtxRanges!.iterations!.name} (${index + 1} of ${d.nvtxRanges!.iterations!.instances!.length}, the median by GPU span: ${formatNs(it.gpuEnd! - it.gpuStart!)})`,
      subtitle: [
        'Host launch and sync calls above the streams. Bands: the GPU idle, red while the host is blocked in a sync,',
        'orange while it has not launched the next kernel yet. Scroll to zoom, drag to pan.',
        `${it.kernels} kernels, ${it.syncs} host syncs; GPU idle in syncs in this iteration: ${formatNs(syncIdle)}${listed}.`,
      ],
    },
    width: WIDTH, height: rows.length * ROW_PX,
    data: { values: marks },
    layer: [
      {
        transform: [{ filter: "datum.kind === 'gap'" }],
        mark: { type: 'rect' },
        encoding: {
          x, x2: { field: 'end' },
          opacity: { condition: { test: "datum.class === 'sync-stall'", value: 0.55 }, value: 0.18 },
          color: { field: 'class', type: 'nominal', title: 'GPU idle', scale: { domain: GAP_CLASSES, range: GAP_COLOURS }, legend: { orient: 'bottom' } },
          tooltip: tip,
        },
      },
      {
        transform: [{ filter: "datum.kind !== 'gap'" }],
        // a 1 px outline keeps microsecond kernels visible on a millisecond axis
        mark: { type: 'rect', strokeWidth: 1 },
        params: [{ name: 'zoom', select: { type: 'interval', encodings: ['x'] }, bind: 'scales' }],
        encoding: {
          x, x2: { field: 'end' }, y,
          color: { field: 'kind', type: 'nominal', scale: { domain: ['launch', 'sync', 'kernel'], range: ['#9e9e9e', '#111111', '#4e79a7'] }, legend: null },
          stroke: { field: 'kind', type: 'nominal', scale: { domain: ['launch', 'sync', 'kernel'], range: ['#9e9e9e', '#111111', '#4e79a7'] }, legend: null },
          tooltip: tip,
        },
      },
    ],
    resolve: { scale: { color: 'independent' } },
  };
}
