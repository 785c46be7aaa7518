#!/usr/bin/env node
/**
 * The what-if replay against reality (issue 15): for each pair of real H200 captures of the same
 * layer, the scenario projected from the first vs the per-iteration time measured in the second
 * (both as the replay measures them: span of the window's GPU work / iterations).
 *
 *   npm run build && node bench/what-if-errors.js            # markdown table, as in docs/metrics.md
 *   node bench/what-if-errors.js --json
 */
import { existsSync } from 'node:fs';
import { readNsysSqlite } from '../dist/readers/nsys-sqlite.js';
import { buildReport } from '../dist/report/build.js';

const PAIRS = [
  // [from, scenario, measured counterpart]
  ['streams-sync', 'no-host-syncs', 'streams'],
  ['streams', 'free-launches', 'graph'],
  ['sequential', 'grouped', 'grouped'],
  ['torch-streams-sync', 'no-host-syncs', 'torch-streams'],
  ['torch-sequential', 'grouped', 'torch-grouped'],
];
const DIRS = ['fixtures/nsys-2025.3', 'fixtures/nsys-2025.3-profile', 'fixtures/nsys-2025.3-whole', 'fixtures/nsys-2025.3/tokens-64k', 'fixtures/nsys-2025.3/zipf'];

const cache = new Map();
function whatIf(file) {
  if (!cache.has(file)) cache.set(file, buildReport(readNsysSqlite(file)).devices[0]?.whatIf ?? null);
  return cache.get(file);
}

const rows = [];
for (const dir of DIRS) {
  for (const [from, scenario, to] of PAIRS) {
    const a = `${dir}/${from}.sqlite`;
    const b = `${dir}/${to}.sqlite`;
    if (!existsSync(a) || !existsSync(b)) continue;
    const wa = whatIf(a);
    const wb = whatIf(b);
    const s = wa?.scenarios.find((x) => x.scenario === scenario);
    if (!s || !wb) { rows.push({ dir, from, scenario, to, projected: null, measured: wb?.measuredIterationNs ?? null, error: null }); continue; }
    rows.push({
      dir, from, scenario, to, projected: s.projectedIterationNs, measured: wb.measuredIterationNs,
      error: (s.projectedIterationNs - wb.measuredIterationNs) / wb.measuredIterationNs,
      replayError: wa.replayError, fromMeasured: wa.measuredIterationNs,
    });
  }
}
if (process.argv.includes('--json')) {
  console.log(JSON.stringify(rows, null, 2));
} else {
  const us = (ns) => (ns === null ? '–' : (ns / 1000).toFixed(1));
  console.log('| captures | from (measured µs) | scenario | projected µs | measured counterpart µs | error | within 25% |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    const err = r.error === null ? '–' : `${r.error >= 0 ? '+' : ''}${(100 * r.error).toFixed(1)}%`;
    const ok = r.error === null ? '–' : Math.abs(r.error) <= 0.25 ? '✓' : '✗';
    console.log(`| ${r.dir.replace('fixtures/', '')} | ${r.from} (${us(r.fromMeasured ?? null)}) | ${r.scenario} | ${us(r.projected)} | ${r.to}: ${us(r.measured)} | ${err} | ${ok} |`);
  }
}
