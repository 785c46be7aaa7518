#!/usr/bin/env node
/**
 * The what-if replay against reality (issue 15): for each pair of real H200 captures of the same
 * layer, the scenario projected from the first vs the per-iteration time measured in the second
 * (both as the replay measures them: span of the window's GPU work / iterations).
 *
 *   npm run build && node bench/what-if-errors.js            # markdown table, as in docs/metrics.md
 *   node bench/what-if-errors.js --json
 *   WHATIF_DIRS=dirA,dirB node bench/what-if-errors.js   # other capture folders (e.g. a new campaign's)
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
const DIRS = process.env.WHATIF_DIRS ? process.env.WHATIF_DIRS.split(',') : ['fixtures/nsys-2025.3', 'fixtures/nsys-2025.3-profile', 'fixtures/nsys-2025.3-whole', 'fixtures/nsys-2025.3/tokens-64k', 'fixtures/nsys-2025.3/zipf',
  'fixtures/nsys-2025.3-weights', 'fixtures/nsys-2025.3-weights/tokens-64k', 'fixtures/nsys-2025.3-weights/zipf'];

/**
 * The native workload's expert weights (switch-base-64: d_model 768, d_ff 3072, bf16), given as a
 * user would with --expert-weights to the captures whose expert ranges predate the weights clause.
 */
const NATIVE_WEIGHTS = '768x3072,3072x768:bf16';

const cache = new Map();
function whatIf(file, options = {}) {
  const key = `${file} ${JSON.stringify(options)}`;
  if (!cache.has(key)) cache.set(key, buildReport(readNsysSqlite(file), options).devices[0]?.whatIf ?? null);
  return cache.get(key);
}

const rows = [];
function pair(dir, from, scenario, to, options = {}) {
  const a = `${dir}/${from}.sqlite`;
  const b = `${dir}/${to}.sqlite`;
  const wa = whatIf(a, options);
  const wb = whatIf(b);
  const s = wa?.scenarios.find((x) => x.scenario === scenario);
  const label = options.expertWeights ? `${scenario} (--expert-weights ${options.expertWeights})` : scenario;
  if (!s || !wb) { rows.push({ dir, from, scenario: label, to, projected: null, measured: wb?.measuredIterationNs ?? null, error: null }); return wa; }
  rows.push({
    dir, from, scenario: label, to, projected: s.projectedIterationNs, measured: wb.measuredIterationNs,
    error: (s.projectedIterationNs - wb.measuredIterationNs) / wb.measuredIterationNs,
    replayError: wa.replayError, fromMeasured: wa.measuredIterationNs,
  });
  return wa;
}
for (const dir of DIRS) {
  for (const [from, scenario, to] of PAIRS) {
    if (!existsSync(`${dir}/${from}.sqlite`) || !existsSync(`${dir}/${to}.sqlite`)) continue;
    const wa = pair(dir, from, scenario, to);
    // a native capture whose expert ranges name no weights: also as a user would run it with them given
    if (scenario === 'grouped' && !from.startsWith('torch') && wa?.inputs.grouped?.namedGemms === 0) {
      pair(dir, from, scenario, to, { expertWeights: NATIVE_WEIGHTS });
    }
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
