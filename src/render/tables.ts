/**
 * The tables behind a report, built once from the Report and drawn by both renderers: the
 * terminal prints them with `--full`, the HTML page shows every one of them. Cells are formatted
 * text; a renderer only lays them out.
 */
import { GAP_CLASSES, type DeviceReport, type Report } from '../report/types.js';
import { nvtxFamilyName } from '../model/nvtx-names.js';
import { formatCount, formatNs, formatPct } from './format.js';
import { communicationTables } from './communication-text.js';
import { expertTables } from './experts-text.js';
import { perIteration } from '../findings/context.js';

export interface Table {
  /** stable key per kind of table (tests and the page find tables by it), e.g. "metrics", "sm-fill" */
  key: string;
  caption: string;
  header: string[];
  rows: string[][];
  /** rows left out past the row limit (0 when all are shown) */
  more?: number;
  /** one sentence shown instead of the table when it has no rows, or under it */
  note?: string;
}

export interface TableOptions {
  /** rows per table before "... and N more" */
  maxRows: number;
  /** longest kernel / range name in a first column (names are shortened so they stay distinct) */
  maxName: number;
}

export const TERMINAL_TABLES: TableOptions = { maxRows: 12, maxName: 60 };
export const HTML_TABLES: TableOptions = { maxRows: 40, maxName: 160 };

const cap = <T>(rows: T[], max: number): { rows: T[]; more: number } => ({ rows: rows.slice(0, max), more: Math.max(0, rows.length - max) });

/** Every table of one device, in the order the terminal prints them. */
export function deviceTables(d: DeviceReport, options: TableOptions = TERMINAL_TABLES): Table[] {
  const p = d.deviceId;
  const o = d.overlap;
  const w = d.window;
  const covered = w.coveredDuration ?? w.duration;
  const out: Table[] = [];
  out.push({
    key: 'metrics', caption: `GPU ${p}: metrics over the window`, header: ['metric', 'value'], rows: [
      ['window', `${formatNs(w.start)} .. ${formatNs(w.end)} (${formatNs(covered)}${covered !== w.duration ? ` in ${w.segments?.length ?? 1} pieces` : ''}, ${w.source}${w.range ? ` "${w.range}", ${w.rangeInstances ?? 0} ranges` : ''})`],
      ['kernels', formatCount(o.kernelCount)],
      ['GPU busy', formatNs(o.busy)],
      ['kernel time', formatNs(o.kernelTime)],
      ['utilization (busy / window)', formatPct(o.utilization)],
      ['concurrency (kernel time / busy)', o.concurrency === null ? 'n/a' : `${o.concurrency.toFixed(3)}x`],
      ['overlap share (>= 2 kernels / busy)', formatPct(o.overlapShare)],
      ['max kernels at once', String(o.maxConcurrency)],
      ['memcpy / memset in window', `${formatCount(d.transfers.memcpyCount)} / ${formatCount(d.transfers.memsetCount)}`],
    ],
  });
  out.push({
    key: 'levels', caption: `GPU ${p}: time at each concurrency level`, header: ['kernels running', 'time', 'share of window'],
    rows: o.levelTime.map((t, k) => [String(k), formatNs(t), formatPct(covered > 0 ? t / covered : null)]),
  });
  const streams = [...d.streams].sort((a, b) => b.busy - a.busy || a.streamId - b.streamId);
  const s = cap(streams, options.maxRows);
  out.push({
    key: 'streams', caption: `GPU ${p}: streams (${streams.length}), busiest first`,
    header: ['stream', 'kernels', 'busy', 'occupancy', 'share of busy', 'median', 'p95', 'median gap'],
    rows: s.rows.map((x) => [String(x.streamId), formatCount(x.kernelCount), formatNs(x.busy), formatPct(x.occupancy),
      formatPct(x.shareOfDeviceBusy), formatNs(x.duration.median), formatNs(x.duration.p95), x.gaps.count > 0 ? formatNs(x.gaps.median) : '–']),
    more: s.more,
  });
  const pairs = overlappingPairs(d);
  const pr = cap(pairs, options.maxRows);
  out.push({
    key: 'stream-pairs', caption: `GPU ${p}: stream-pair overlap, largest first`, header: ['streams', 'overlap', 'share of busy'],
    rows: pr.rows.map((x) => [`${x.a} & ${x.b}`, formatNs(x.overlap), formatPct(o.busy > 0 ? x.overlap / o.busy : null)]),
    more: pr.more,
    note: pairs.length === 0 ? NO_PAIRS : undefined,
  });
  const g = d.gaps;
  out.push({
    key: 'gaps', caption: `GPU ${p}: idle gaps: ${formatCount(g.all.count)} totalling ${formatNs(g.all.total)}` +
      (g.all.count > 0 ? ` (median ${formatNs(g.all.median)}, p95 ${formatNs(g.all.p95)}, max ${formatNs(g.all.max)})` : ''),
    header: ['cause', 'gaps', 'idle time', 'share of idle'],
    // a report made before a class existed (event-wait: issue 15) lacks it
    rows: g.all.count === 0 ? [] : GAP_CLASSES.filter((c) => g.byClass[c]).map((c) => [c, formatCount(g.byClass[c].count),
      formatNs(g.byClass[c].total), formatPct(g.all.total > 0 ? g.byClass[c].total / g.all.total : null)]),
    note: g.all.count === 0 ? 'The GPU was never idle between kernels in the window.' : undefined,
  });
  out.push(launchTable(d));
  out.push(syncTable(d, options));
  const nvtx = nvtxTable(d, options);
  if (nvtx) out.push(nvtx);
  const iterations = iterationTable(d, options);
  if (iterations) out.push(iterations);
  const fill = smFillTable(d, options);
  if (fill) out.push(fill);
  if (d.processes && d.processes.length > 1) {
    out.push({
      key: 'processes', caption: `GPU ${p}: processes sharing this GPU`, header: ['process', 'kernels', 'streams', 'busy', 'overlap share'],
      rows: d.processes.map((x) => [String(x.process), formatCount(x.overlap.kernelCount), String(x.streamCount), formatNs(x.overlap.busy), formatPct(x.overlap.overlapShare)]),
    });
  }
  return out;
}

export const NO_PAIRS = 'No two streams overlapped: no pair of streams ever ran kernels at the same time.';

/** Stream pairs that ran kernels at the same time, largest overlap first. */
export function overlappingPairs(d: DeviceReport): DeviceReport['streamPairs'] {
  return d.streamPairs.filter((x) => x.overlap > 0).sort((a, b) => b.overlap - a.overlap || a.a - b.a || a.b - b.b);
}

/** The tables of a report with no devices: the API calls the host made. */
export function apiTable(report: Report, options: TableOptions = TERMINAL_TABLES): Table | null {
  if (report.apiSummary.length === 0) return null;
  const top = [...report.apiSummary].sort((a, b) => b.total - a.total || (a.name < b.name ? -1 : 1));
  const c = cap(top, options.maxRows);
  return {
    key: 'api-calls', caption: 'CUDA API calls by total time', header: ['API', 'calls', 'total time', 'mean'],
    rows: c.rows.map((a) => [a.name, formatCount(a.count), formatNs(a.total), formatNs(Math.round(a.total / Math.max(1, a.count)))]),
    more: c.more,
  };
}

/** Every table of a report. */
export function reportTables(report: Report, options: TableOptions = TERMINAL_TABLES): Table[] {
  // communication tables (issue 17) are drawn from src/render/communication-text.ts
  // and the expert tables (issue 15) from src/render/experts-text.ts
  const out = report.devices.flatMap((d) => [...deviceTables(d, options), ...communicationTables(d, options), ...expertTables(d, options)]);
  const api = report.devices.length === 0 ? apiTable(report, options) : null;
  if (api) out.push(api);
  return out;
}

function launchTable(d: DeviceReport): Table {
  const l = d.launch;
  const rows: string[][] = [['kernels matched to their launch call', formatCount(l.matchedKernels)]];
  if (l.latency.count > 0) rows.push(['launch latency (call end → kernel start)', `median ${formatNs(l.latency.median)}, p95 ${formatNs(l.latency.p95)}, max ${formatNs(l.latency.max)}`]);
  if (l.interval.count > 0) rows.push(['launch interval (same thread)', `median ${formatNs(l.interval.median)}, p95 ${formatNs(l.interval.p95)}`]);
  if (d.kernelDuration) rows.push(['kernel duration', `median ${formatNs(d.kernelDuration.median)}, p95 ${formatNs(d.kernelDuration.p95)}`]);
  rows.push(['launch-bound', l.launchBound ? 'yes: kernels end sooner than the host launches the next' : 'no']);
  return { key: 'launch', caption: `GPU ${d.deviceId}: launch statistics`, header: ['', 'value'], rows };
}

/** Blocking calls by name, with what preceded them and where they sit: the host-sync story. */
function syncTable(d: DeviceReport, options: TableOptions): Table {
  const h = d.hostSyncs;
  const caption = `GPU ${d.deviceId}: host synchronisation` + (h.count === 0 ? '' :
    `: ${formatCount(h.count)} blocking call${h.count === 1 ? '' : 's'}, ${formatNs(h.totalTime)} on the host, overlapping ${formatNs(h.gpuIdle)} of GPU idle time`);
  const c = cap(h.byName, options.maxRows);
  const rows = c.rows.map((b) => {
    // every call of that name, from the exact totals (h.calls lists only the costliest 1000)
    const copies = { length: b.afterCopy };
    const pageable = b.pageableCopies;
    const ranges = new Map<string, number>();
    for (const x of b.nvtxRanges) ranges.set(nvtxFamilyName(x.name), (ranges.get(nvtxFamilyName(x.name)) ?? 0) + x.count);
    const topRange = [...ranges.entries()].sort((x, y) => y[1] - x[1])[0];
    const idle = b.gpuIdle;
    return [b.name, formatCount(b.count), formatNs(b.total), formatNs(idle),
      copies.length === 0 ? '–' : `${formatCount(copies.length)} (${pageable === copies.length ? 'pageable' : pageable === 0 ? 'pinned' : `${formatCount(pageable)} pageable`})`,
      topRange ? `${topRange[0]} (${formatCount(topRange[1])})` : '–'];
  });
  return {
    key: 'host-syncs', caption, header: ['call', 'count', 'host time', 'GPU idle meanwhile', 'after a D2H copy', 'inside NVTX range'],
    rows, more: c.more, note: h.count === 0 ? 'No blocking host call in the window.' : undefined,
  };
}

function nvtxTable(d: DeviceReport, options: TableOptions): Table | null {
  const n = d.nvtxRanges;
  if (!n || (n.families.length === 0 && n.byName.length === 0)) return null;
  const groups = [...n.families, ...n.byName.filter((g) => g.instances > 1 && !n.families.some((f) => f.name === nvtxFamilyName(g.name)))]
    .filter((g) => g.kernelCount > 0)
    .sort((a, b) => b.gpuTime.total - a.gpuTime.total);
  const it = n.iterations;
  // the same per-iteration counts as the iteration line (findings/context.ts perIteration); the rows below stay the ranges' projection
  const p = it ? perIteration(d, it) : null;
  const caption = `GPU ${d.deviceId}: NVTX ranges` + (it && p ? ` (iteration = "${it.name}": ${formatCount(it.count)} iterations, ${formatNs(it.duration.median)} each on the GPU, ` +
    `${formatCount(Math.round(p.kernels))} kernels and ${formatCount(Math.round(p.syncs))} host syncs per iteration` +
    `${p.fromWindow ? `, the window's ÷ ${formatCount(it.count)}; the rows count only kernels launched inside the ranges on their thread` : ''})` : '');
  const c = cap(groups, options.maxRows);
  const names = distinctNames(c.rows.map((g) => g.name), options.maxName);
  return {
    key: 'nvtx', caption, header: ['range', 'instances', 'GPU time', 'median GPU time', 'median GPU span', 'kernels', 'overlap w/ others', 'syncs'],
    rows: c.rows.map((g, i) => [names[i], formatCount(g.instances), formatNs(g.gpuTime.total), formatNs(g.gpuTime.median), formatNs(g.gpuSpan.median),
      formatCount(g.kernelCount), formatPct(g.overlapWithOthers), formatCount(g.syncs)]),
    more: c.more, note: groups.length === 0 ? 'No repeated NVTX range launched GPU work.' : undefined,
  };
}

function smFillTable(d: DeviceReport, options: TableOptions): Table | null {
  const f = d.smFill;
  if (!f || f.byName.length === 0) return null;
  const l = f.limits;
  const caption = l?.smCount ? `GPU ${d.deviceId}: SM fill (${formatCount(l.smCount)} SMs, sm${l.computeCapability?.replace('.', '') ?? '?'}; limits from ${l.source}): ` +
    `${formatPct(f.fullTimeShare)} of kernel time in kernels that fill every SM (waves >= 1)` : `GPU ${d.deviceId}: SM fill (the GPU's SM count is unknown, waves cannot be computed)`;
  const c = cap(f.byName, options.maxRows);
  const names = distinctNames(c.rows.map((k) => k.name), options.maxName);
  return {
    key: 'sm-fill', caption, header: ['kernel', 'launches', 'kernel time', 'blocks', 'per SM', 'limited by', 'waves', 'fills GPU'],
    rows: c.rows.map((k, i) => [names[i], formatCount(k.count), formatNs(k.kernelTime), formatCount(k.medianBlocks),
      k.residentBlocksPerSm === null ? '–' : String(k.residentBlocksPerSm), k.limit ?? '–', k.medianWaves === null ? '–' : k.medianWaves.toFixed(2),
      formatPct(k.fullShare, 0)]),
    more: c.more,
  };
}

/**
 * Names shortened to at most `max` characters, distinct where the names are: the argument list
 * goes first, then the middle of the name (template arguments), keeping the start and the end.
 */
export function distinctNames(names: string[], max: number): string[] {
  const cut = (s: string, keep: number): string => {
    if (s.length <= max) return s;
    const tail = Math.min(keep, max - 8);
    return `${s.slice(0, max - tail - 1)}…${s.slice(s.length - tail)}`;
  };
  // a signature's argument list goes first: "k(int, float)" is "k"; a name that only holds a "(" stays
  const bare = names.map((n) => (n.endsWith(')') && n.indexOf('(') > 0 ? n.slice(0, n.indexOf('(')) : n));
  for (const [base, keep] of [[bare, 12], [bare, Math.floor(max / 2)], [names, Math.floor(max / 2)]] as const) {
    const out = base.map((n) => cut(n, keep));
    const distinct = new Set(out).size === new Set(names).size;
    if (distinct) return out;
  }
  // still equal after shortening: number the duplicates
  const seen = new Map<string, number>();
  return bare.map((n) => {
    const s = cut(n, 12);
    const k = (seen.get(s) ?? 0) + 1;
    seen.set(s, k);
    return k === 1 ? s : `${s} [${k}]`;
  });
}

/** One row per iteration the NVTX ranges mark: its host range, its GPU span, its kernels and syncs. */
function iterationTable(d: DeviceReport, options: TableOptions): Table | null {
  const it = d.nvtxRanges?.iterations;
  const list = it?.instances ?? [];
  if (!it || list.length === 0) return null;
  const c = cap(list, options.maxRows);
  const t0 = list[0].cpuStart;
  return {
    key: 'iterations', caption: `GPU ${d.deviceId}: iterations ("${it.name}"), in time order` +
      (perIteration(d, it).fromWindow ? ' (kernels and host syncs: those launched inside the range on its thread; other threads launch more)' : ''),
    header: ['iteration', 'starts at (host)', 'host range', 'GPU span', 'kernels', 'host syncs'],
    rows: c.rows.map((x, i) => [String(i + 1), `+${formatNs(x.cpuStart - t0)}`, formatNs(x.cpuEnd - x.cpuStart),
      x.gpuStart === null || x.gpuEnd === null ? '–' : formatNs(x.gpuEnd - x.gpuStart), formatCount(x.kernels), formatCount(x.syncs)]),
    more: c.more,
  };
}
