#!/usr/bin/env node
/**
 * The what-if replay against reality (issue 15): for each pair of real H200 captures of the same
 * layer, the scenario projected from the first vs the per-iteration time measured in the second
 * (both as the replay measures them: span of the window's GPU work / iterations).
 *
 *   npm run build && node bench/what-if-errors.js            # markdown table, as in docs/metrics.md
 *   node bench/what-if-errors.js --json
 *   WHATIF_DIRS=dirA,dirB node bench/what-if-errors.js   # other capture folders (e.g. a new campaign's)
 *   WHATIF_INPROC=dir WHATIF_REPEATS=dir node bench/what-if-errors.js   # the host-speed campaign's folders
 *
 * The host column: the median cuKernelGetAttribute of each process (hostNs), how fast its host ran.
 * Three tables: the pairs of separate processes (above); the pairs inside ONE process
 * (native-workload/capture-whatif-host.sh, `moe-workload --alternate`: the modes take turns in
 * "block B MODE" ranges, each block its own window, --range), where both sides ran at the same host
 * speed; and the repeats, separate processes pinned to one core, where the projection from each
 * `streams-sync` process meets each `streams` process, beside how far the measured repeats spread.
 */
import { existsSync, readdirSync } from 'node:fs';
import { readNsysSqlite } from '../dist/readers/nsys-sqlite.js';
import { buildReport } from '../dist/report/build.js';
import { hostTimeRatio } from '../dist/commands/compare-experts.js';
import { projectionAtHostTime } from '../dist/report/expert-types.js';

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

const traces = new Map();
const traceOf = (file) => { if (!traces.has(file)) traces.set(file, readNsysSqlite(file)); return traces.get(file); };
const cache = new Map();
function whatIf(file, options = {}) {
  const key = `${file} ${JSON.stringify(options)}`;
  if (!cache.has(key)) cache.set(key, buildReport(traceOf(file), options).devices[0]?.whatIf ?? null);
  return cache.get(key);
}
/**
 * The host's speed in a trace: the median duration of cuKernelGetAttribute, a driver call that does
 * no GPU work and that every cuBLAS launch makes (ns; null when the trace has none). Between two
 * processes of the same program its ratio says how much faster one host ran.
 */
function hostNs(file) {
  const t = traceOf(file);
  const d = [];
  for (let r = 0; r < t.runtime.count; r++) if (t.strings[t.runtime.name[r]] === 'cuKernelGetAttribute') d.push(t.runtime.end[r] - t.runtime.start[r]);
  if (d.length === 0) return null;
  d.sort((a, b) => a - b);
  return d[d.length >> 1];
}
const projectionOf = (w, scenario) => w?.scenarios.find((x) => x.scenario === scenario)?.projectedIterationNs ?? null;
/**
 * The projection at the counterpart's host speed, as `compare A B` reads it: A's replay at the
 * host-time factor B's launch calls took against A's (hostTimeRatio), between the grid points.
 */
function atHostSpeed(wa, wb, scenario) {
  const h = hostTimeRatio(wa ?? undefined, wb ?? undefined);
  const s = wa?.scenarios.find((x) => x.scenario === scenario);
  if (!h || !s || !wb) return { factor: h?.ratio ?? null, projected: null, error: null };
  const p = projectionAtHostTime(s.hostSpeed, h.ratio);
  return { factor: h.ratio, projected: p, error: p === null ? null : (p - wb.measuredIterationNs) / wb.measuredIterationNs };
}
const notProjectedOf = (w, scenario) => w?.notProjected?.find((x) => x.scenario === scenario) ?? null;

const rows = [];
function pair(dir, from, scenario, to, options = {}) {
  const a = `${dir}/${from}.sqlite`;
  const b = `${dir}/${to}.sqlite`;
  const wa = whatIf(a, options);
  const wb = whatIf(b);
  const s = wa?.scenarios.find((x) => x.scenario === scenario);
  const label = options.expertWeights ? `${scenario} (--expert-weights ${options.expertWeights})` : scenario;
  const host = [hostNs(a), hostNs(b)];
  if (!s || !wb) {
    rows.push({ dir, from, scenario: label, to, projected: null, notProjected: notProjectedOf(wa, scenario), measured: wb?.measuredIterationNs ?? null, error: null, fromMeasured: wa?.measuredIterationNs, host });
    return wa;
  }
  rows.push({
    dir, from, scenario: label, to, projected: s.projectedIterationNs, measured: wb.measuredIterationNs,
    error: (s.projectedIterationNs - wb.measuredIterationNs) / wb.measuredIterationNs,
    replayError: wa.replayError, fromMeasured: wa.measuredIterationNs, host, atHost: atHostSpeed(wa, wb, scenario),
  });
  return wa;
}
for (const dir of DIRS) {
  for (const [from, scenario, to] of PAIRS) {
    if (!existsSync(`${dir}/${from}.sqlite`) || !existsSync(`${dir}/${to}.sqlite`)) continue;
    const wa = pair(dir, from, scenario, to);
    // a native capture whose expert ranges name no weights: also as a user would run it with them given
    if (scenario === 'grouped' && !from.startsWith('torch') && wa?.inputs.grouped?.unknownGemms > 0) {
      pair(dir, from, scenario, to, { expertWeights: NATIVE_WEIGHTS });
    }
  }
}

// ONE process, the modes taking turns: each block's window (--range "block B MODE") against the same block index of the counterpart
const INPROC = process.env.WHATIF_INPROC ?? 'fixtures/nsys-2025.3-inproc';
const inproc = [];
if (existsSync(INPROC)) {
  for (const f of readdirSync(INPROC).filter((x) => x.endsWith('.sqlite')).sort()) {
    const file = `${INPROC}/${f}`;
    const t = traceOf(file);
    const blocks = new Map(); // mode -> block numbers
    for (let i = 0; i < t.nvtx.count; i++) {
      const m = /^block (\d+) (.+)$/.exec(t.strings[t.nvtx.text[i]] ?? '');
      if (!m) continue;
      if (!blocks.has(m[2])) blocks.set(m[2], new Set());
      blocks.get(m[2]).add(Number(m[1]));
    }
    for (const [from, scenario, to] of PAIRS) {
      if (!blocks.has(from) || !blocks.has(to)) continue;
      const per = [...blocks.get(from)].filter((b) => blocks.get(to).has(b)).sort((a, b) => a - b).map((b) => {
        const wa = whatIf(file, { range: `block ${b} ${from}` });
        const wb = whatIf(file, { range: `block ${b} ${to}` });
        const projected = projectionOf(wa, scenario);
        return {
          block: b, fromMeasured: wa?.measuredIterationNs ?? null, projected, notProjected: notProjectedOf(wa, scenario), measured: wb?.measuredIterationNs ?? null,
          error: projected === null || !wb ? null : (projected - wb.measuredIterationNs) / wb.measuredIterationNs,
        };
      });
      inproc.push({ file, from, scenario, to, blocks: per });
    }
  }
}

// separate processes pinned to one core, interleaved: each streams-sync process's projection against each streams process
const REPEATS = process.env.WHATIF_REPEATS ?? 'fixtures/nsys-2025.3-repeats';
let repeats = null;
if (existsSync(REPEATS)) {
  const runs = (mode) => readdirSync(REPEATS).filter((x) => new RegExp(`^${mode}-\\d+\\.sqlite$`).test(x)).sort().map((x) => `${REPEATS}/${x}`);
  const from = runs('streams-sync');
  const to = runs('streams');
  if (from.length && to.length) {
    const projected = from.map((f) => projectionOf(whatIf(f), 'no-host-syncs'));
    const fromMeasured = from.map((f) => whatIf(f)?.measuredIterationNs ?? null);
    const measured = to.map((f) => whatIf(f)?.measuredIterationNs ?? null);
    const cross = projected.flatMap((p) => measured.map((m) => (p === null || m === null ? null : (p - m) / m)));
    const same = projected.map((p, i) => (p === null || measured[i] == null ? null : (p - measured[i]) / measured[i]));
    // at the counterpart's host speed: each streams-sync process's replay read at each streams process's host-time ratio
    const at = from.map((f) => to.map((g) => atHostSpeed(whatIf(f), whatIf(g), 'no-host-syncs')));
    const sameAt = at.map((r, i) => r[i] ?? null);
    repeats = {
      dir: REPEATS, from, to, fromMeasured, projected, measured, sameIndex: same, cross, host: [from.map(hostNs), to.map(hostNs)],
      atHostSameIndex: sameAt, atHostCross: at.flat(),
    };
  }
}

const median = (v) => { const a = v.filter((x) => x !== null).sort((x, y) => x - y); return a.length === 0 ? null : a.length % 2 ? a[a.length >> 1] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2; };
if (process.argv.includes('--json')) {
  console.log(JSON.stringify({ pairs: rows, inproc, repeats }, null, 2));
} else {
  const us = (ns) => (ns === null ? '–' : (ns / 1000).toFixed(1));
  const pct = (e) => (e === null ? '–' : `${e >= 0 ? '+' : ''}${(100 * e).toFixed(1)}%`);
  const notProjected = (n) => `not projected (${us(n.lowNs)}–${us(n.highNs)}: weights unknown)`;
  const hostText = (h) => (h[0] === null || h[1] === null ? '–' : `${h[0]} / ${h[1]}`);
  const within = (e) => (e === null || e === undefined ? '–' : Math.abs(e) <= 0.25 ? '✓' : '✗');
  const atText = (a) => (!a || a.factor === null ? '–' : a.projected === null ? `outside the grid (${a.factor.toFixed(2)}x)` : `${us(a.projected)} (${a.factor.toFixed(2)}x): ${pct(a.error)} ${within(a.error)}`);
  console.log('| captures | from (measured µs) | scenario | projected µs | measured counterpart µs | error | within 25% | host ns, from / to | at the counterpart\'s host speed: µs (host time ×): error |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    const p = r.projected === null && r.notProjected ? notProjected(r.notProjected) : us(r.projected);
    console.log(`| ${r.dir.replace('fixtures/', '')} | ${r.from} (${us(r.fromMeasured ?? null)}) | ${r.scenario} | ${p} | ${r.to}: ${us(r.measured)} | ${pct(r.error)} | ${within(r.error)} | ${hostText(r.host)} | ${atText(r.atHost)} |`);
  }
  if (inproc.length) {
    console.log('');
    console.log('| one process (blocks) | from (measured µs per block) | scenario | projected µs per block | measured counterpart µs per block | error per block | median error | within 25% |');
    console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const r of inproc) {
      const errs = r.blocks.map((b) => b.error);
      const known = errs.filter((e) => e !== null);
      const ok = known.length === 0 ? '–' : `${known.filter((e) => Math.abs(e) <= 0.25).length} of ${known.length}`;
      const proj = r.blocks.map((b) => (b.projected === null && b.notProjected ? notProjected(b.notProjected) : us(b.projected))).join(', ');
      console.log(`| ${r.file.replace('fixtures/', '')} (${r.blocks.map((b) => b.block).join(', ')}) | ${r.from} (${r.blocks.map((b) => us(b.fromMeasured)).join(', ')}) | ${r.scenario} | ${proj} | ${r.to}: ${r.blocks.map((b) => us(b.measured)).join(', ')} | ${errs.map(pct).join(', ')} | ${pct(median(errs))} | ${ok} |`);
    }
  }
  if (repeats) {
    const R = repeats;
    const span = (v) => { const a = v.filter((x) => x !== null); return a.length ? `${us(Math.min(...a))}–${us(Math.max(...a))} (max/min ${(Math.max(...a) / Math.min(...a)).toFixed(2)}x)` : '–'; };
    const errSpan = (v) => { const a = v.filter((x) => x !== null); return a.length ? `${pct(Math.min(...a))} .. ${pct(Math.max(...a))}` : '–'; };
    console.log('');
    const atSame = R.atHostSameIndex.map((a) => (a.projected === null ? '–' : `${us(a.projected)} (${a.factor.toFixed(2)}x): ${pct(a.error)}`)).join(', ');
    const atCross = R.atHostCross.map((a) => a.error);
    console.log('| separate processes, pinned (repeats) | streams-sync measured µs | no-host-syncs projected µs | streams measured µs | error, each with the next process | error, every pairing | host ns, streams-sync / streams | at the counterpart\'s host speed, each with the next process: µs (host time ×): error | at the counterpart\'s host speed, every pairing |');
    console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    console.log(`| ${R.dir.replace('fixtures/', '')} (${R.from.length} + ${R.to.length}) | ${R.fromMeasured.map(us).join(', ')} | ${R.projected.map(us).join(', ')}; ${span(R.projected)} | ${R.measured.map(us).join(', ')}; ${span(R.measured)} | ${R.sameIndex.map(pct).join(', ')} | ${errSpan(R.cross)}, median ${pct(median(R.cross))} | ${R.host[0].join(', ')} / ${R.host[1].join(', ')} | ${atSame} | ${errSpan(atCross)}, median ${pct(median(atCross))}, ${atCross.filter((e) => e !== null && Math.abs(e) <= 0.25).length} of ${atCross.length} within 25% |`);
  }
}
