/**
 * The expert-level answers (issue 15) as text: the short report's lines per device and the tables
 * behind them (terminal --full and the HTML page draw them, src/render/tables.ts). Reads only the
 * DeviceReport's experts, contention, whatIf, serialization and culprits.
 */
import type { DeviceReport } from '../report/types.js';
import type { WhatIfReport, WhatIfScenario } from '../report/expert-types.js';
import { formatCount, formatNs, formatPct } from './format.js';
import type { Table, TableOptions } from './tables.js';

const SCENARIO_NAMES: Record<WhatIfScenario['scenario'], string> = {
  measured: 'as measured (replayed)',
  'no-host-syncs': 'no host syncs',
  'free-launches': 'free launches (CUDA graph)',
  'perfect-overlap': 'perfect overlap',
  grouped: 'grouped GEMM',
};

export function scenarioName(s: WhatIfScenario['scenario']): string {
  return SCENARIO_NAMES[s] ?? s;
}

const ratio = (x: number | null): string => (x === null ? 'n/a' : `${x.toFixed(2)}x`);

/**
 * "GPU 0: 64 experts (NVTX "expert #"): GPU time max/mean 1.45x, tokens 8.05x; straggler expert 0
 * (512 tokens): 19.2 µs vs median 12.9 µs in 3 of 3 iterations"; null without experts.
 */
export function expertsLine(d: DeviceReport): string | null {
  const x = d.experts;
  if (!x) return null;
  const from = x.source === 'nvtx' ? `NVTX "${x.rangeName}"` : 'launch order';
  let line = `GPU ${d.deviceId}: ${formatCount(x.count)} experts (${from}): GPU time max/mean ${ratio(x.imbalance)}`;
  if (x.tokenImbalance !== null) line += `, tokens ${ratio(x.tokenImbalance)}`;
  const s = x.straggler !== null ? x.experts.find((e) => e.expert === x.straggler) : undefined;
  if (s) {
    const times = x.stragglers.filter((t) => t.expert === s.expert).length;
    const median = x.stragglers.length ? x.stragglers[Math.floor(x.stragglers.length / 2)].medianGpuTime : 0;
    // one pass over the experts per iteration, or several (micro-batches, layers): "5 of 10 iterations" beside 5 iterations read wrong
    const n = x.stragglers.length;
    const iterations = d.window.iterations?.count ?? d.nvtxRanges?.iterations?.count ?? null;
    const passes = iterations === null || n === iterations ? `${n} iterations`
      : n % iterations === 0 ? `${n} passes over the experts (${n / iterations} per iteration)` : `${n} passes over the experts`;
    line += `; straggler expert ${s.expert}${s.tokens !== null ? ` (${formatCount(s.tokens)} tokens)` : ''}: ${formatNs(s.gpuTime)} vs median ${formatNs(median)}, ` +
      `${times} of ${passes}`;
  }
  return line;
}

const SHORT_SCENARIO: Record<WhatIfScenario['scenario'], string> = {
  measured: 'replayed', 'no-host-syncs': 'no syncs', 'free-launches': 'graph', 'perfect-overlap': 'overlap', grouped: 'grouped',
};

/**
 * "9.884 ms = 622.7 ms ÷ 63 iterations": the replay's "now" is the replayed window divided by its
 * iterations (the time between iterations included), not the iterations' median span the
 * iteration line leads with; saying the division shows why the two differ.
 */
export function measuredText(w: WhatIfReport): string {
  if (w.iterations <= 1) return `${formatNs(w.measuredIterationNs)}, the whole window`;
  return `${formatNs(w.measuredIterationNs)} = ${formatNs(w.measuredIterationNs * w.iterations)} ÷ ${formatCount(w.iterations)} iterations`;
}

/** The short report's what-if line: "GPU 0: fixes, per iteration 2.88 ms: no syncs 2.84 ms, graph 1.21 ms, ..." */
export function whatIfShortLine(d: DeviceReport): string | null {
  const w = d.whatIf;
  if (!w || w.scenarios.length <= 1) return null;
  // a projection at or above "now" is no gain (within the replay's error), not a slowdown the fix causes
  const parts = w.scenarios.filter((s) => s.scenario !== 'measured')
    .map((s) => `${SHORT_SCENARIO[s.scenario]} ${s.projectedIterationNs >= w.measuredIterationNs ? 'no gain' : formatNs(s.projectedIterationNs)}`);
  for (const x of w.notProjected ?? []) parts.push(`${SHORT_SCENARIO[x.scenario]} not projected`);
  return `GPU ${d.deviceId}: projected per iteration (now ${measuredText(w)}): ${parts.join(', ')} (what-if replay: --full)`;
}

/** "GPU 0: what a fix would gain, per iteration (replay of the trace, error -0.3%): measured 2.09 ms; no host syncs 2.05 ms; ..." */
export function whatIfLine(d: DeviceReport): string | null {
  const w = d.whatIf;
  if (!w) return null;
  if (w.scenarios.length <= 1) return `GPU ${d.deviceId}: what-if: ${w.note ?? 'no scenario applies'}`;
  const parts = w.scenarios.filter((s) => s.scenario !== 'measured')
    .map((s) => `${scenarioName(s.scenario)} ${formatNs(s.projectedIterationNs)} (${s.ratio <= 1 ? '−' : '+'}${formatPct(Math.abs(1 - s.ratio))})${s.scenario === 'grouped' ? groupedBasis(w) : ''}`);
  for (const x of w.notProjected ?? []) {
    parts.push(`${scenarioName(x.scenario)}: not projected, somewhere from ${formatNs(x.lowNs)} to ${formatNs(x.highNs)}: ${x.reason}`);
  }
  return `GPU ${d.deviceId}: what a fix would gain per iteration (replay, error ${(100 * w.replayError).toFixed(1)}%): measured ${measuredText(w)}; ${parts.join('; ')}`;
}

/** What the grouped projection rests on: the expert GEMMs' bytes, or their SM-time when no weights are named. */
function groupedBasis(w: NonNullable<DeviceReport['whatIf']>): string {
  const g = w.inputs.grouped;
  if (!g) return '';
  if (g.memoryBoundGemms > 0 && g.memoryBandwidth !== null) {
    return ` [${formatCount(g.memoryBoundGemms)} of ${formatCount(g.namedGemms)} expert GEMMs from their bytes at ${(g.memoryBandwidth / 1e12).toFixed(2)} TB/s, the rest from SM-time]`;
  }
  if (g.unknownGemms > 0) {
    return ` [from SM-time, ${formatCount(g.unknownGemms)} expert GEMMs of unknown weights included: at no cost they would take at most 25% off it]`;
  }
  return ' [from SM-time: no expert GEMM of named weights is memory-bound]';
}

/** The first serialization reason, as a line; null when none. */
export function serializationLine(d: DeviceReport): string | null {
  const r = d.serialization?.[0];
  return r ? `GPU ${d.deviceId}: streams serialize mostly because: ${r.text}` : null;
}

/** The expert tables of a device: experts, stragglers, contention, what-if, serialization, culprits. */
export function expertTables(d: DeviceReport, options: TableOptions): Table[] {
  const p = d.deviceId;
  const out: Table[] = [];
  const x = d.experts;
  if (x) {
    const rows = [...x.experts].sort((a, b) => b.gpuTime - a.gpuTime || a.expert - b.expert);
    const shown = rows.slice(0, options.maxRows);
    out.push({
      key: 'experts', caption: `GPU ${p}: experts by GPU time (max/mean ${ratio(x.imbalance)}${x.tokenImbalance !== null ? `, tokens ${ratio(x.tokenImbalance)}` : ''}; ` +
        `imbalance costs ${formatNs(x.imbalanceCostNs)} of GPU time over the window)`,
      header: ['expert', 'tokens', 'kernels', 'GPU time', 'span', 'streams', 'instances'],
      rows: shown.map((e) => [e.name, e.tokens === null ? '–' : formatCount(e.tokens), formatCount(e.kernels), formatNs(e.gpuTime), formatNs(e.span),
        e.streams.length > 3 ? `${e.streams.slice(0, 3).join(', ')} …` : e.streams.join(', '), formatCount(e.instances)]),
      more: rows.length - shown.length,
    });
    if (x.stragglers.length > 0) {
      const s = x.stragglers.slice(0, options.maxRows);
      out.push({
        key: 'stragglers', caption: `GPU ${p}: the straggler of each iteration (the expert with the most GPU time)`,
        header: ['iteration', 'expert', 'GPU time', 'median expert', 'finished after the others by'],
        rows: s.map((t) => [String(t.iteration), String(t.expert), formatNs(t.gpuTime), formatNs(t.medianGpuTime), t.lateBy > 0 ? formatNs(t.lateBy) : '– (not last)']),
        more: x.stragglers.length - s.length,
      });
    }
  }
  const c = d.contention;
  if (c && c.length > 0) {
    const measured = c.filter((e) => e.slowdown !== null);
    const rows = (measured.length > 0 ? measured : c).slice(0, options.maxRows);
    const sum = d.contentionSummary;
    out.push({
      key: 'contention', caption: `GPU ${p}: contention: each kernel's median duration alone vs beside another kernel` +
        (sum ? ` (overlap saved ${formatNs(sum.gainedNs)}, slowdown added ${formatNs(sum.addedNs)}, net ${formatNs(sum.netNs)})` : ''),
      header: ['kernel', 'grid / block', 'kernels', 'alone (n, median)', 'overlapped (n, median)', 'slowdown', 'time added'],
      rows: rows.map((e) => [e.name.slice(0, options.maxName), e.config, formatCount(e.count),
        e.alone.median === null ? `${e.alone.count}, –` : `${e.alone.count}, ${formatNs(e.alone.median)}${e.alone.from === 'reference' ? ' (ref.)' : ''}`,
        e.overlapped.median === null ? `${e.overlapped.count}, –` : `${e.overlapped.count}, ${formatNs(e.overlapped.median)}`,
        ratio(e.slowdown), e.slowdown === null ? '–' : formatNs(e.addedNs)]),
      more: (measured.length > 0 ? measured : c).length - rows.length,
      note: measured.length === 0 ? 'No kernel group ran both alone and overlapped here, so no slowdown is measured (compare with a capture where they ran alone: moe-trace compare A B).' : undefined,
    });
  }
  const w = d.whatIf;
  if (w) {
    out.push({
      key: 'what-if', caption: `GPU ${p}: what a fix would gain, per iteration (replay of ${formatCount(w.iterations)} iteration${w.iterations === 1 ? '' : 's'}, ${w.iterationSource}; measured ${measuredText(w)}; replay error ${(100 * w.replayError).toFixed(1)}%)`,
      header: ['scenario', 'projected', 'saving', 'vs measured', 'what changed'],
      rows: [
        ...w.scenarios.map((s) => [scenarioName(s.scenario), formatNs(s.projectedIterationNs), formatNs(s.savingNs), `${s.ratio.toFixed(2)}x`, s.description]),
        ...(w.notProjected ?? []).map((x) => [scenarioName(x.scenario), 'not projected', '–', '–', `somewhere from ${formatNs(x.lowNs)} to ${formatNs(x.highNs)}: ${x.reason}`]),
      ],
      note: w.note,
    });
  }
  const r = d.serialization;
  if (r && r.length > 0) {
    out.push({
      key: 'serialization', caption: `GPU ${p}: why streams serialize (most time first)`,
      header: ['cause', 'time', 'what the trace shows'], rows: r.map((s) => [s.cause, formatNs(s.costNs), s.text]),
    });
  }
  const k = d.culprits;
  if (k && k.length > 0) {
    out.push({
      key: 'culprits', caption: `GPU ${p}: the library calls behind it`,
      header: ['culprit', 'per iteration', 'evidence', 'what it means'],
      rows: k.map((q) => [q.id, q.perIteration === null ? '–' : String(+q.perIteration.toFixed(1)), q.evidence.slice(0, 3).join(', '), q.text]),
    });
  }
  return out;
}
