/** The terminal summary: headline and findings first, then the tables behind them. */
import type { DeviceReport, Finding, Report } from '../report/types.js';
import { formatCount, formatNs, formatPct, textTable } from './format.js';
import { nvtxFamilyName } from '../analyses/nvtx-ranges.js';

export interface TerminalOptions {
  /** rows shown per table before "... and N more" */
  maxRows?: number;
}

export function renderTerminal(report: Report, options: TerminalOptions = {}): string {
  const maxRows = options.maxRows ?? 12;
  const out: string[] = [];
  const src = report.input.source;
  // the producer for traces read from other formats; nsys exports keep their short "(nsys X)"
  const producer = src && src.format !== 'nsys-sqlite' ? ` (${src.producer})` : report.input.nsysVersion ? ` (nsys ${report.input.nsysVersion})` : '';
  out.push(`${report.input.file}${producer}`);
  if (report.devices.length === 0) {
    out.push(report.input.hasKernelTable ? 'No kernels in this trace (or in the selected window).' : 'No kernel records: nothing to measure on the GPU.');
  }
  for (const h of report.headline) out.push(h);
  for (const w of report.warnings) out.push(`warning: ${w}`);
  out.push('');
  out.push(renderFindings(report.findings));
  for (const d of report.devices) out.push('', renderDevice(d, maxRows));
  if (report.devices.length === 0 && report.apiSummary.length > 0) {
    out.push('', 'CUDA API calls', more(textTable(['API', 'calls', 'total time'],
      report.apiSummary.map((a) => [a.name, formatCount(a.count), formatNs(a.total)])), report.apiSummary.length, maxRows));
  }
  return `${out.join('\n')}\n`;
}

export function renderFindings(findings: Finding[]): string {
  if (findings.length === 0) return 'Findings: nothing to report.';
  const lines = ['Findings (most GPU time explained first):'];
  findings.forEach((f, i) => {
    const cost = f.costNs > 0 ? ` [${formatNs(f.costNs)}${f.costShare !== null ? `, ${formatPct(f.costShare)} of the window` : ''}]` : '';
    lines.push(`${i + 1}. ${f.severity.toUpperCase()} ${f.id}: ${f.title}${cost}`);
    for (const e of f.evidence) lines.push(`     - ${e}`);
    lines.push(`     fix: ${f.fix}`);
  });
  return lines.join('\n');
}

function more(table: string, total: number, shown: number): string {
  return total > shown ? `${table}\n... and ${total - shown} more` : table;
}

function renderDevice(d: DeviceReport, maxRows: number): string {
  const o = d.overlap;
  const w = d.window;
  const out: string[] = [];
  out.push(`== GPU ${d.deviceId}: ${d.gpuName} ==`);
  const covered = w.coveredDuration ?? w.duration;
  out.push(`window ${formatNs(w.start)} .. ${formatNs(w.end)} (${formatNs(covered)}${covered !== w.duration ? ` in ${w.segments?.length ?? 1} pieces` : ''}, ${w.source}${w.range ? ` "${w.range}", ${w.rangeInstances ?? 0} ranges` : ''})`);
  out.push(textTable(['metric', 'value'], [
    ['kernels', formatCount(o.kernelCount)],
    ['GPU busy', formatNs(o.busy)],
    ['kernel time', formatNs(o.kernelTime)],
    ['utilization (busy / window)', formatPct(o.utilization)],
    ['concurrency (kernel time / busy)', o.concurrency === null ? 'n/a' : `${o.concurrency.toFixed(3)}x`],
    ['overlap share (>= 2 kernels / busy)', formatPct(o.overlapShare)],
    ['max kernels at once', String(o.maxConcurrency)],
    ['memcpy / memset in window', `${formatCount(d.transfers.memcpyCount)} / ${formatCount(d.transfers.memsetCount)}`],
  ]));
  out.push('', 'Time at each concurrency level');
  out.push(textTable(['kernels running', 'time', 'share of window'],
    o.levelTime.map((t, k) => [String(k), formatNs(t), formatPct(covered > 0 ? t / covered : null)])));
  const streams = [...d.streams].sort((a, b) => b.busy - a.busy);
  out.push('', `Streams (${streams.length}), busiest first`);
  out.push(more(textTable(['stream', 'kernels', 'busy', 'occupancy', 'share of busy', 'median', 'p95', 'median gap'],
    streams.slice(0, maxRows).map((s) => [String(s.streamId), formatCount(s.kernelCount), formatNs(s.busy), formatPct(s.occupancy),
      formatPct(s.shareOfDeviceBusy), formatNs(s.duration.median), formatNs(s.duration.p95), s.gaps.count > 0 ? formatNs(s.gaps.median) : '–'])),
  streams.length, maxRows));
  const pairs = d.streamPairs.filter((p) => p.overlap > 0).sort((a, b) => b.overlap - a.overlap);
  out.push('', pairs.length === 0 ? 'Stream-pair overlap: no two streams ever ran kernels at the same time.' : 'Stream-pair overlap, largest first');
  if (pairs.length > 0) {
    out.push(more(textTable(['streams', 'overlap', 'share of busy'],
      pairs.slice(0, maxRows).map((p) => [`${p.a} & ${p.b}`, formatNs(p.overlap), formatPct(o.busy > 0 ? p.overlap / o.busy : null)])), pairs.length, maxRows));
  }
  const g = d.gaps;
  out.push('', `Idle gaps on the GPU: ${formatCount(g.all.count)} totalling ${formatNs(g.all.total)}` +
    (g.all.count > 0 ? ` (median ${formatNs(g.all.median)}, p95 ${formatNs(g.all.p95)}, max ${formatNs(g.all.max)})` : ''));
  if (g.all.count > 0) {
    out.push(textTable(['cause', 'gaps', 'idle time', 'share of idle'],
      (['sync-stall', 'host-wait', 'gpu-side', 'unexplained'] as const).map((c) => [c, formatCount(g.byClass[c].count),
        formatNs(g.byClass[c].total), formatPct(g.all.total > 0 ? g.byClass[c].total / g.all.total : null)])));
  }
  const l = d.launch;
  out.push('', `Launches: ${formatCount(l.matchedKernels)} kernels matched to their launch call; ` +
    (l.latency.count > 0 ? `launch latency median ${formatNs(l.latency.median)} (p95 ${formatNs(l.latency.p95)}); ` : '') +
    (l.interval.count > 0 ? `launch interval median ${formatNs(l.interval.median)}; ` : '') +
    (d.kernelDuration ? `median kernel ${formatNs(d.kernelDuration.median)}` : '') + (l.launchBound ? ' → launch-bound' : ''));
  const h = d.hostSyncs;
  out.push('', h.count === 0 ? 'Host synchronisation: none in the window.' :
    `Host synchronisation: ${formatCount(h.count)} blocking call${h.count === 1 ? '' : 's'}, ${formatNs(h.totalTime)} on the host, overlapping ${formatNs(h.gpuIdle)} of GPU idle time`);
  if (h.count > 0) out.push(syncTable(d, maxRows));
  if (d.nvtxRanges && (d.nvtxRanges.families.length > 0 || d.nvtxRanges.byName.length > 0)) out.push('', nvtxTable(d, maxRows));
  if (d.smFill && d.smFill.byName.length > 0) out.push('', smFillTable(d, maxRows));
  if (d.processes && d.processes.length > 1) {
    out.push('', 'Processes sharing this GPU');
    out.push(textTable(['process', 'kernels', 'streams', 'busy', 'overlap share'], d.processes.map((p) => [String(p.process), formatCount(p.overlap.kernelCount),
      String(p.streamCount), formatNs(p.overlap.busy), formatPct(p.overlap.overlapShare)])));
  }
  return out.join('\n');
}

/** Blocking calls by name, with what preceded them and where they sit: the host-sync story. */
function syncTable(d: DeviceReport, maxRows: number): string {
  const rows = d.hostSyncs.byName.slice(0, maxRows).map((b) => {
    const calls = d.hostSyncs.calls.filter((c) => c.name === b.name);
    const copies = calls.filter((c) => c.precedingCopy);
    const pageable = copies.filter((c) => c.precedingCopy!.pageable).length;
    const ranges = new Map<string, number>();
    for (const c of calls) if (c.nvtxRange) ranges.set(nvtxFamilyName(c.nvtxRange), (ranges.get(nvtxFamilyName(c.nvtxRange)) ?? 0) + 1);
    const topRange = [...ranges.entries()].sort((x, y) => y[1] - x[1])[0];
    const idle = calls.reduce((t, c) => t + c.gpuIdle, 0);
    return [b.name, formatCount(b.count), formatNs(b.total), formatNs(idle),
      copies.length === 0 ? '–' : `${formatCount(copies.length)} (${pageable === copies.length ? 'pageable' : pageable === 0 ? 'pinned' : `${formatCount(pageable)} pageable`})`,
      topRange ? `${topRange[0]} (${formatCount(topRange[1])})` : '–'];
  });
  return more(textTable(['call', 'count', 'host time', 'GPU idle meanwhile', 'after a D2H copy', 'inside NVTX range'], rows), d.hostSyncs.byName.length, maxRows);
}

function nvtxTable(d: DeviceReport, maxRows: number): string {
  const n = d.nvtxRanges!;
  const groups = [...n.families, ...n.byName.filter((g) => g.instances > 1 && !n.families.some((f) => f.name === nvtxFamilyName(g.name)))]
    .filter((g) => g.kernelCount > 0)
    .sort((a, b) => b.gpuTime.total - a.gpuTime.total);
  const it = n.iterations;
  const head = it ? `NVTX ranges (iteration = "${it.name}": ${formatCount(it.count)} iterations, ${formatNs(it.duration.median)} each on the GPU, ` +
    `${formatCount(it.kernelsPerIteration)} kernels and ${formatCount(it.syncsPerIteration)} host syncs per iteration)` : 'NVTX ranges';
  if (groups.length === 0) return `${head}: none launched GPU work.`;
  return `${head}\n${more(textTable(['range', 'instances', 'GPU time', 'median GPU time', 'median GPU span', 'kernels', 'overlap w/ others', 'syncs'],
    groups.slice(0, maxRows).map((g) => [g.name, formatCount(g.instances), formatNs(g.gpuTime.total), formatNs(g.gpuTime.median), formatNs(g.gpuSpan.median),
      formatCount(g.kernelCount), formatPct(g.overlapWithOthers), formatCount(g.syncs)])), groups.length, maxRows)}`;
}

function smFillTable(d: DeviceReport, maxRows: number): string {
  const f = d.smFill!;
  const l = f.limits;
  const head = l?.smCount ? `SM fill (${formatCount(l.smCount)} SMs, sm${l.computeCapability?.replace('.', '') ?? '?'}; limits from ${l.source}): ` +
    `${formatPct(f.fullTimeShare)} of kernel time in kernels that fill every SM (waves >= 1)` : 'SM fill: the GPU\'s SM count is unknown, waves cannot be computed';
  return `${head}\n${more(textTable(['kernel', 'launches', 'kernel time', 'blocks', 'per SM', 'limited by', 'waves', 'fills GPU'],
    f.byName.slice(0, maxRows).map((k) => [shortName(k.name), formatCount(k.count), formatNs(k.kernelTime), formatCount(k.medianBlocks),
      k.residentBlocksPerSm === null ? '–' : String(k.residentBlocksPerSm), k.limit ?? '–', k.medianWaves === null ? '–' : k.medianWaves.toFixed(2),
      formatPct(k.fullShare, 0)])), f.byName.length, maxRows)}`;
}

function shortName(name: string): string {
  const bare = name.replace(/\(.*$/, '');
  return bare.length > 48 ? `${bare.slice(0, 45)}...` : bare;
}
