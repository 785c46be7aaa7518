/**
 * The expert-level side of `compare` (issue 15): each capture's measured time per iteration next
 * to what its what-if replay projected for each fix, how close the first capture's projections
 * came to what the others measured, and contention measured against the first capture's kernels
 * run alone (a CUDA graph overlaps every expert GEMM, so it has no alone durations of its own).
 * Reads only Reports.
 */
import type { DeviceReport } from '../report/types.js';
import { projectionAtHostTime, WHAT_IF_SCENARIOS, type WhatIfReport, type WhatIfScenarioName } from '../report/expert-types.js';
import { formatNs, textTable } from '../render/format.js';
import { scenarioName } from '../render/experts-text.js';

export interface ExpertComparison {
  /** per trace (input order): the replay's measured time per iteration and each scenario's projection; null without a replay */
  whatIf: ({ measured: number; replayError: number; projected: Partial<Record<WhatIfScenarioName, number>> } | null)[];
  /**
   * the first trace's projection nearest to each later trace's measurement; with that trace's host
   * speed known (hostSpeed), the same projection at it (atHostSpeed's figures for this scenario)
   */
  projections: {
    from: string; to: string; scenario: WhatIfScenarioName; projected: number; measured: number; error: number;
    hostTimeFactor?: number; projectedAtHostSpeed?: number | null; errorAtHostSpeed?: number | null;
  }[];
  /**
   * per later trace whose host speed is known (hostSpeed) and per scenario the first trace
   * projected: what the fix gives at that trace's host speed, the first's replay at
   * hostTimeFactor = hostSpeed.ratio (WhatIfScenario.hostSpeed read between its grid points;
   * null outside the grid), and its error against that trace's measurement
   */
  atHostSpeed: {
    from: string; to: string; hostTimeFactor: number; scenario: WhatIfScenarioName;
    projected: number; projectedAtHostSpeed: number | null; measured: number; error: number | null;
  }[];
  /** per later trace: its overlapped kernels against the first trace's alone medians (same name and launch configuration) */
  contention: { label: string; name: string; config: string; aloneInFirst: number; overlappedHere: number; overlappedCount: number; slowdown: number; addedNs: number }[];
  /** per trace: max/mean expert GPU time and the straggler; null without experts */
  experts: ({ count: number; imbalance: number | null; straggler: number | null } | null)[];
  /**
   * per later trace: how long its host took per launch-type call against the first trace's, the
   * median over the API names both replays walked (whatIf.inputs.hostCallSpeed); a projection from
   * the first keeps the first's host speed unless read at this ratio (atHostSpeed). Absent when
   * they share no such name.
   */
  hostSpeed: { label: string; ratio: number; names: { name: string; first: number; here: number }[] }[];
}

const pct = (e: number | null): string => (e === null ? '–' : `${e >= 0 ? '+' : ''}${(100 * e).toFixed(1)}%`);

/** Host-speed ratio below/above which compare says the hosts differ. */
const HOST_SPEED_SAME = 0.1;


/**
 * How long the second host took per launch-type call against the first's: the median over the API
 * names both replays walked of here ÷ first median duration (WhatIfReport.inputs.hostCallSpeed);
 * null when they share no such name.
 */
export function hostTimeRatio(first: WhatIfReport | undefined, here: WhatIfReport | undefined): { ratio: number; names: { name: string; first: number; here: number }[] } | null {
  const firstCalls = new Map((first?.inputs.hostCallSpeed ?? []).map((h) => [h.name, h.medianNs]));
  const names = (here?.inputs.hostCallSpeed ?? []).flatMap((h) => {
    const f = firstCalls.get(h.name);
    return f !== undefined && f > 0 ? [{ name: h.name, first: f, here: h.medianNs }] : [];
  });
  if (names.length === 0) return null;
  const r = names.map((x) => x.here / x.first).sort((a, b) => a - b);
  const m = r.length >> 1;
  return { ratio: r.length % 2 ? r[m] : (r[m - 1] + r[m]) / 2, names };
}

export function expertComparison(devices: (DeviceReport | null)[], labels: string[]): ExpertComparison {
  const whatIf = devices.map((d) => {
    const w = d?.whatIf;
    if (!w) return null;
    const projected: Partial<Record<WhatIfScenarioName, number>> = {};
    for (const s of w.scenarios) projected[s.scenario] = s.projectedIterationNs;
    return { measured: w.measuredIterationNs, replayError: w.replayError, projected };
  });
  const hostSpeed: ExpertComparison['hostSpeed'] = [];
  const ratioOf = new Map<string, number>();
  for (let j = 1; j < devices.length; j++) {
    const h = hostTimeRatio(devices[0]?.whatIf, devices[j]?.whatIf);
    if (!h) continue;
    hostSpeed.push({ label: labels[j], ...h });
    ratioOf.set(labels[j], h.ratio);
  }
  // the first's projections at each later trace's host speed
  const atHostSpeed: ExpertComparison['atHostSpeed'] = [];
  const firstWhatIf = devices[0]?.whatIf;
  if (firstWhatIf && whatIf[0]) {
    for (let j = 1; j < whatIf.length; j++) {
      const b = whatIf[j];
      const f = ratioOf.get(labels[j]);
      if (!b || f === undefined) continue;
      for (const s of WHAT_IF_SCENARIOS) {
        const sc = firstWhatIf.scenarios.find((x) => x.scenario === s);
        if (!sc) continue;
        const at = projectionAtHostTime(sc.hostSpeed, f);
        atHostSpeed.push({
          from: labels[0], to: labels[j], hostTimeFactor: f, scenario: s, projected: sc.projectedIterationNs, projectedAtHostSpeed: at,
          measured: b.measured, error: at === null ? null : (at - b.measured) / b.measured,
        });
      }
    }
  }
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
      const at = best && atHostSpeed.find((x) => x.to === labels[j] && x.scenario === best.scenario);
      if (best && at) Object.assign(best, { hostTimeFactor: at.hostTimeFactor, projectedAtHostSpeed: at.projectedAtHostSpeed, errorAtHostSpeed: at.error });
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
  return { whatIf, projections, atHostSpeed, contention, experts, hostSpeed };
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
      const at = p.projectedAtHostSpeed !== undefined && p.hostTimeFactor !== undefined
        ? `; at ${p.to}'s host speed (${p.hostTimeFactor.toFixed(2)}x the host time): ${p.projectedAtHostSpeed === null ? 'outside the replayed host speeds' : `${formatNs(p.projectedAtHostSpeed)} (${pct(p.errorAtHostSpeed ?? null)})`}`
        : '';
      out.push(`${p.to} measured ${formatNs(p.measured)}; ${p.from}'s closest projection: "${scenarioName(p.scenario)}" ${formatNs(p.projected)} (${pct(p.error)})${at}.`);
    }
    for (const h of c.hostSpeed) {
      const shown = h.names.slice(0, 3).map((x) => `${x.name} ${formatNs(x.here)} against ${formatNs(x.first)}`).join(', ');
      const differ = Math.abs(h.ratio - 1) > HOST_SPEED_SAME;
      out.push(`${h.label}'s host took ${h.ratio.toFixed(2)}x ${labels[0]}'s time per launch call (median over the ${h.names.length} call name${h.names.length === 1 ? '' : 's'} both make: ${shown})` +
        (differ ? `: ${labels[0]}'s projections keep ${labels[0]}'s host speed, so part of the difference is the hosts', not the fix's; below, the same projections at ${h.label}'s host speed (docs/metrics.md).` : '.'));
    }
    if (c.atHostSpeed.length > 0) {
      out.push('', `${labels[0]}'s projections at each capture's host speed (its replay with the host's time × the capture's ratio, docs/metrics.md):`);
      out.push(textTable(['capture', `host time vs ${labels[0]}`, 'scenario', `projected (${labels[0]}'s host)`, "at this capture's host", 'measured here', 'error'],
        c.atHostSpeed.map((r) => [r.to, `${r.hostTimeFactor.toFixed(2)}x`, scenarioName(r.scenario), formatNs(r.projected),
          r.projectedAtHostSpeed === null ? 'outside the grid' : formatNs(r.projectedAtHostSpeed), formatNs(r.measured), pct(r.error)])));
    }
  }
  if (c.contention.length > 0) {
    out.push('', `Contention against ${labels[0]}'s kernels run alone (same name and launch configuration):`);
    out.push(textTable(['capture', 'kernel', 'grid / block', `alone in ${labels[0]}`, 'overlapped here', 'slowdown', 'time added (≈)'],
      c.contention.map((r) => [r.label, r.name.slice(0, 48), r.config, formatNs(r.aloneInFirst), `${formatNs(r.overlappedHere)} (${r.overlappedCount})`, `${r.slowdown.toFixed(2)}x`, formatNs(r.addedNs)])));
  }
  return out;
}
