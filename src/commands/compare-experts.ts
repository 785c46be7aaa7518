/**
 * The expert-level side of `compare` (issue 15): each capture's measured time per iteration next
 * to what its what-if replay projected for each fix, how close the first capture's projections
 * came to what the others measured, and contention measured against the first capture's kernels
 * run alone (a CUDA graph overlaps every expert GEMM, so it has no alone durations of its own).
 * Reads only Reports.
 */
import type { DeviceReport } from '../report/types.js';
import { WHAT_IF_SCENARIOS, type WhatIfScenarioName } from '../report/expert-types.js';
import { formatNs, textTable } from '../render/format.js';
import { scenarioName } from '../render/experts-text.js';

export interface ExpertComparison {
  /** per trace (input order): the replay's measured time per iteration and each scenario's projection; null without a replay */
  whatIf: ({ measured: number; replayError: number; projected: Partial<Record<WhatIfScenarioName, number>> } | null)[];
  /** the first trace's projection nearest to each later trace's measurement */
  projections: { from: string; to: string; scenario: WhatIfScenarioName; projected: number; measured: number; error: number }[];
  /** per later trace: its overlapped kernels against the first trace's alone medians (same name and launch configuration) */
  contention: { label: string; name: string; config: string; aloneInFirst: number; overlappedHere: number; overlappedCount: number; slowdown: number; addedNs: number }[];
  /** per trace: max/mean expert GPU time and the straggler; null without experts */
  experts: ({ count: number; imbalance: number | null; straggler: number | null } | null)[];
}


export function expertComparison(devices: (DeviceReport | null)[], labels: string[]): ExpertComparison {
  const whatIf = devices.map((d) => {
    const w = d?.whatIf;
    if (!w) return null;
    const projected: Partial<Record<WhatIfScenarioName, number>> = {};
    for (const s of w.scenarios) projected[s.scenario] = s.projectedIterationNs;
    return { measured: w.measuredIterationNs, replayError: w.replayError, projected };
  });
  const projections: ExpertComparison['projections'] = [];
  const first = whatIf[0];
  if (first) {
    for (let j = 1; j < whatIf.length; j++) {
      const b = whatIf[j];
      if (!b) continue;
      let best: ExpertComparison['projections'][number] | null = null;
      for (const s of WHAT_IF_SCENARIOS) {
        const p = first.projected[s];
        if (p === undefined) continue;
        const error = (p - b.measured) / b.measured;
        if (!best || Math.abs(error) < Math.abs(best.error)) best = { from: labels[0], to: labels[j], scenario: s, projected: p, measured: b.measured, error };
      }
      if (best) projections.push(best);
    }
  }
  const contention: ExpertComparison['contention'] = [];
  const alone = new Map<string, number>();
  for (const e of devices[0]?.contention ?? []) if (e.alone.median !== null && e.alone.from === 'here') alone.set(`${e.name}\u0000${e.config}`, e.alone.median);
  for (let j = 1; j < devices.length; j++) {
    const rows = (devices[j]?.contention ?? []).flatMap((e) => {
      const a = alone.get(`${e.name}\u0000${e.config}`);
      if (a === undefined || e.overlapped.median === null || e.overlapped.count === 0) return [];
      return [{
        label: labels[j], name: e.name, config: e.config, aloneInFirst: a, overlappedHere: e.overlapped.median, overlappedCount: e.overlapped.count,
        slowdown: e.overlapped.median / a, addedNs: Math.round(e.overlapped.count * (e.overlapped.median - a)),
      }];
    });
    contention.push(...rows.sort((x, y) => y.addedNs - x.addedNs).slice(0, 8));
  }
  const experts = devices.map((d) => (d?.experts ? { count: d.experts.count, imbalance: d.experts.imbalance, straggler: d.experts.straggler } : null));
  return { whatIf, projections, contention, experts };
}

export function renderExpertComparison(c: ExpertComparison, labels: string[]): string[] {
  const out: string[] = [];
  if (c.whatIf.some((w) => w !== null)) {
    const used = WHAT_IF_SCENARIOS.filter((s) => c.whatIf.some((w) => w?.projected[s] !== undefined));
    const cell = (v: number | undefined) => (v === undefined ? '–' : formatNs(v));
    out.push('', 'Measured vs projected per iteration (what-if replay of each capture):');
    out.push(textTable(['', ...labels], [
      ['measured (window ÷ iterations)', ...c.whatIf.map((w) => (w ? formatNs(w.measured) : 'n/a'))],
      ...used.map((s) => [`projected: ${scenarioName(s)}`, ...c.whatIf.map((w) => cell(w?.projected[s]))]),
    ]));
    for (const p of c.projections) {
      out.push(`${p.to} measured ${formatNs(p.measured)}; ${p.from}'s closest projection: "${scenarioName(p.scenario)}" ${formatNs(p.projected)} (${p.error >= 0 ? '+' : ''}${(100 * p.error).toFixed(1)}%).`);
    }
  }
  if (c.contention.length > 0) {
    out.push('', `Contention against ${labels[0]}'s kernels run alone (same name and launch configuration):`);
    out.push(textTable(['capture', 'kernel', 'grid / block', `alone in ${labels[0]}`, 'overlapped here', 'slowdown', 'time added (≈)'],
      c.contention.map((r) => [r.label, r.name.slice(0, 48), r.config, formatNs(r.aloneInFirst), `${formatNs(r.overlappedHere)} (${r.overlappedCount})`, `${r.slowdown.toFixed(2)}x`, formatNs(r.addedNs)])));
  }
  return out;
}
