#!/usr/bin/env node
/**
 * `npm run bench`: on generated million-kernel exports of every trace shape we claim, times in
 * one run on the same file
 *   (a) the floor: Debian's sqlite3 shell reading the columns the analysis needs to /dev/null,
 *   (b) a naive better-sqlite3 loop reading the same rows into JavaScript and doing nothing else,
 *   (c) the full `moe-trace analyze --json`, with its peak RSS,
 * prints c/a, c/b, rows per second and bytes per kernel, and writes bench/RESULTS.md.
 * Generates the exports (bench/data/, git-ignored) when missing and builds dist/ when missing.
 *
 * Shapes (default: all three, side by side): the bundled workload's sequential capture (few
 * syncs), and the case this tool exists for, PyTorch's stream per expert with a host sync and a
 * 4-byte copy per expert, both as captured with a capture range and as a whole-process capture
 * (model load, warm-up, iterations) as users take them.
 *
 *   node bench/run.js [--sizes 1m,5m] [--source A.sqlite,B.sqlite] [--runs N] [--no-html] [--no-naive] [--no-steps] [--out FILE.md]
 */
import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { basename, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate } from './generate.js';
import { analysisQueries, rowCounts } from './queries.js';
import { binCommand, binNode } from './launch.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DATA = join(ROOT, 'bench', 'data');
const DEFAULT_SOURCES = [
  // a real H200 capture of the bundled MoE workload: 747 kernels, 1,739 CUDA API calls, 199 NVTX ranges
  join(ROOT, 'fixtures', 'nsys-2025.3', 'sequential.sqlite'),
  // PyTorch, a stream per expert, a host sync and a 4-byte copy per expert (capture range)
  join(ROOT, 'fixtures', 'nsys-2025.3', 'torch-streams-sync.sqlite'),
  // the same loop as users capture it: the whole process (model load, warm-up, iterations)
  join(ROOT, 'fixtures', 'nsys-2025.3-whole', 'torch-streams-sync.sqlite'),
];
/** analyze ≤ 1.0x the shell's scan on ≥ 8 cores (the big tables decode in worker threads), ≤ 1.5x below */
const MANY_CORES = 8;
const vsShellTarget = () => (cpus().length >= MANY_CORES ? 1.0 : 1.5);
const TARGETS = { bytesPerKernel: 150, htmlBytes: 10e6 };

function parseArgs(argv) {
  const a = { sizes: ['1m'], runs: 1, html: true, naive: true, steps: true, sources: undefined, out: join(ROOT, 'bench', 'RESULTS.md') };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (k === '--sizes') a.sizes = argv[++i].split(',');
    else if (k === '--source') a.sources = argv[++i].split(',');
    else if (k === '--runs') a.runs = Number(argv[++i]);
    else if (k === '--no-html') a.html = false;
    else if (k === '--no-naive') a.naive = false;
    else if (k === '--no-steps') a.steps = false;
    else if (k === '--out') a.out = argv[++i];
    else throw new Error(`unknown argument ${k}; usage: node bench/run.js [--sizes 1m,5m] [--source A.sqlite,B.sqlite] [--runs N] [--no-html] [--no-naive] [--no-steps] [--out FILE.md]`);
  }
  return a;
}

function kernelsOf(size) {
  const m = /^(\d+(?:\.\d+)?)([km]?)$/i.exec(size);
  if (!m) throw new Error(`size "${size}": use e.g. 100k, 1m, 5m`);
  return Math.round(Number(m[1]) * (m[2].toLowerCase() === 'm' ? 1e6 : m[2].toLowerCase() === 'k' ? 1e3 : 1));
}

function median(xs) {
  const s = [...xs].sort((x, y) => x - y);
  return s[(s.length - 1) >> 1];
}

/** The sqlite3 shell: SQLITE3 names one carried to a machine without it (bench/device-bench.sh). */
const SHELL = process.env.SQLITE3 || 'sqlite3';

function ensureSqliteShell() {
  if (spawnSync(SHELL, ['-version']).status === 0) return;
  process.stderr.write('sqlite3 shell missing: installing the Debian package (apt-get install -y sqlite3)\n');
  spawnSync('apt-get', ['install', '-y', 'sqlite3'], { stdio: 'inherit' });
  if (spawnSync('sqlite3', ['-version']).status !== 0) throw new Error('benchmark (a) needs the sqlite3 shell: apt-get install sqlite3');
}

function ensureBuilt() {
  if (existsSync(join(ROOT, 'dist', 'cli.js'))) return;
  process.stderr.write('building dist/ (npx tsc)\n');
  spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: ROOT, stdio: 'inherit' });
}

/** Reads the file once so every measurement starts from the same (warm) page cache. */
function warm(file) {
  const fd = openSync(file, 'r');
  const buf = Buffer.allocUnsafe(1 << 24);
  while (readSync(fd, buf, 0, buf.length, null) > 0) { /* reading is the point */ }
  closeSync(fd);
}

function timeShell(file, sql) {
  const t0 = performance.now();
  const r = spawnSync(SHELL, ['-readonly', file], { input: `${sql.join(';\n')};\n`, stdio: ['pipe', 'ignore', 'pipe'], maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`sqlite3 failed: ${r.stderr}`);
  return performance.now() - t0;
}

function timeNaive(file) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [join(ROOT, 'bench', 'naive-loop.js'), file], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`naive loop failed: ${r.stderr}`);
  return performance.now() - t0;
}

/**
 * Runs `moe-trace ARGS` as users run it, bin/moe-trace.js through its #! line (bench/launch.js):
 * wall time from here, peak RSS from the process itself (bench/peak-hook.js).
 */
function timeCli(args) {
  const cmd = binCommand(ROOT, args, join(ROOT, 'bench', 'peak-hook.js'));
  const t0 = performance.now();
  const r = spawnSync(cmd.file, cmd.args, {
    cwd: ROOT, env: cmd.env, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', maxBuffer: 1 << 26,
  });
  const ms = performance.now() - t0;
  const line = r.stderr.split('\n').find((l) => l.startsWith('BENCH '));
  if (!line) return { ms, maxRssKb: NaN, ok: false, error: r.stderr.trim().split('\n').slice(-2).join(' ') };
  const m = JSON.parse(line.slice(6));
  const error = m.exitCode === 0 ? null : r.stderr.split('\n').filter((l) => l && !l.startsWith('BENCH ')).slice(-2).join(' ');
  return { ms, maxRssKb: m.maxRssKb, ok: m.exitCode === 0, error };
}

/** bench/steps.js on the file: each analysis step's time and the peak RSS after it, and the hottest functions. */
function steps(file) {
  // with the node options and environment the CLI runs with
  const { nodeArgs, env } = binNode(ROOT);
  const r = spawnSync(process.execPath, [...nodeArgs, join(ROOT, 'bench', 'steps.js'), file], { cwd: ROOT, env, encoding: 'utf8', maxBuffer: 1 << 24 });
  const line = (tag) => r.stdout.split('\n').find((l) => l.startsWith(`${tag} `));
  if (r.status !== 0 || !line('STEPS')) return { error: (r.stderr || '').trim().split('\n').slice(-1)[0] || `exit ${r.status}` };
  return { steps: JSON.parse(line('STEPS').slice(6)), top: JSON.parse(line('TOP').slice(4)) };
}

function benchFile(file, source, opts) {
  const db = new Database(file, { readonly: true });
  const sql = analysisQueries(db);
  const { counts, total } = rowCounts(db);
  db.close();
  const kernels = counts.CUPTI_ACTIVITY_KIND_KERNEL ?? 0;
  warm(file);
  const shell = []; const naive = []; const analyze = [];
  for (let i = 0; i < opts.runs; i++) {
    shell.push(timeShell(file, sql));
    if (opts.naive) naive.push(timeNaive(file));
    analyze.push(timeCli(['analyze', '--json', file]));
  }
  const baseline = timeCli(['analyze', '--json', source]);
  const a = median(shell); const b = opts.naive ? median(naive) : NaN;
  const okRuns = analyze.filter((r) => r.ok);
  const c = okRuns.length > 0 ? median(okRuns.map((r) => r.ms)) : NaN;
  const peakKb = okRuns.length > 0 ? Math.max(...okRuns.map((r) => r.maxRssKb)) : NaN;
  let html = null;
  if (opts.html) {
    const out = join(DATA, `${basename(file, extname(file))}.html`);
    rmSync(out, { force: true });
    const h = timeCli(['analyze', '--html', out, file]);
    html = { ms: h.ms, ok: h.ok && existsSync(out), bytes: existsSync(out) ? statSync(out).size : NaN, error: h.error };
  }
  return {
    steps: opts.steps ? steps(file) : null,
    source: source.startsWith(ROOT) ? source.slice(ROOT.length) : basename(source),
    file: basename(file), bytes: statSync(file).size, counts, rows: total, kernels,
    shellMs: a, naiveMs: b, analyzeMs: c,
    // each run's analyze over the shell's run just before it: the host's speed drifts between and
    // within calls (the shell's scan of one file moved 3.1-5.2 s across calls on the H200 host), and
    // a pair measured back to back shares the drift
    pairedRatios: analyze.map((r, i) => (r.ok ? r.ms / shell[i] : NaN)),
    analyzeError: okRuns.length === analyze.length ? null : analyze.find((r) => !r.ok)?.error,
    peakRssKb: peakKb, baselineRssKb: baseline.maxRssKb,
    bytesPerKernel: kernels > 0 ? ((peakKb - baseline.maxRssKb) * 1024) / kernels : NaN,
    html,
  };
}

const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');
const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');
const s = (ms) => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(2)} s` : 'failed');
const n = (x) => x.toLocaleString('en-US');
const mark = (ok) => (ok ? 'met' : 'NOT met');

function describe(r) {
  const ca = r.analyzeMs / r.shellMs; const cb = r.analyzeMs / r.naiveMs;
  return [
    `### ${n(r.kernels)} kernels: ${r.file} (${(r.bytes / 1e6).toFixed(0)} MB, from \`${r.source}\`)`,
    '',
    `Rows the analysis reads: ${n(r.rows)} (${Object.entries(r.counts).map(([t, c]) => `${t.replace('CUPTI_ACTIVITY_KIND_', '')} ${n(c)}`).join(', ')}).`,
    '',
    '| measurement | wall time | rows/s |',
    '| --- | ---: | ---: |',
    `| (a) sqlite3 shell → /dev/null | ${s(r.shellMs)} | ${n(Math.round(r.rows / (r.shellMs / 1000)))} |`,
    ...(Number.isFinite(r.naiveMs) ? [`| (b) naive better-sqlite3 loop | ${s(r.naiveMs)} | ${n(Math.round(r.rows / (r.naiveMs / 1000)))} |`] : []),
    `| (c) moe-trace analyze --json | ${s(r.analyzeMs)} | ${Number.isFinite(r.analyzeMs) ? n(Math.round(r.rows / (r.analyzeMs / 1000))) : 'n/a'} |`,
    '',
    `- c/a = ${f2(ca)} (target ≤ ${vsShellTarget().toFixed(1)} with ${cpus().length} cores: ${mark(ca <= vsShellTarget())})` +
      (r.pairedRatios.length > 1 ? `; run by run (each analyze over the shell run just before it): ${r.pairedRatios.map(f2).join(', ')}` : '') +
      (Number.isFinite(cb) ? `; c/b = ${f2(cb)} (target < 1: ${mark(cb < 1)})` : ''),
    `- peak RSS ${f1(r.peakRssKb / 1024)} MiB, baseline (same command on the source fixture) ${f1(r.baselineRssKb / 1024)} MiB: ` +
      `${f1(r.bytesPerKernel)} bytes per kernel above baseline (target ≤ ${TARGETS.bytesPerKernel}: ${mark(r.bytesPerKernel <= TARGETS.bytesPerKernel)})`,
    ...(r.analyzeError ? [`- analyze failed: ${r.analyzeError}`] : []),
    ...(r.steps ? describeSteps(r) : []),
    ...(r.html ? [r.html.ok
      ? `- HTML report: ${(r.html.bytes / 1e6).toFixed(2)} MB in ${s(r.html.ms)} (target ≤ 10 MB: ${mark(r.html.bytes <= TARGETS.htmlBytes)})`
      : `- HTML report failed: ${r.html.error}`] : []),
    '',
  ].join('\n');
}

/** The steps table: time of each step and how much it raised the peak RSS, in bytes a kernel. */
function describeSteps(r) {
  if (r.steps.error) return ['', `- steps (bench/steps.js) failed: ${r.steps.error}`, ''];
  const rows = [];
  let prev = null;
  for (const x of r.steps.steps) {
    if (x.error) { rows.push(`| ${x.step} | failed: ${x.error} | | |`); continue; }
    if (prev !== null) rows.push(`| ${x.step} | ${s(x.ms)} | ${f1(x.peakMb)} | ${f1(((x.peakMb - prev) * 2 ** 20) / r.kernels)} |`);
    prev = x.peakMb;
  }
  return [
    '',
    'Where it goes (bench/steps.js: the steps of buildReport one at a time, first device):',
    '',
    '| step | time | peak RSS after (MiB) | peak raised by (B/kernel) |',
    '| --- | ---: | ---: | ---: |',
    ...rows,
    '',
    `Hottest functions (self time): ${r.steps.top.map((t) => `${t.fn} (${t.file}) ${s(t.ms)}`).join('; ')}.`,
    '',
  ];
}

function machine() {
  const c = cpus();
  const sqlite = spawnSync(SHELL, ['-version'], { encoding: 'utf8' }).stdout.trim().split(' ')[0];
  return `${c[0]?.model ?? 'unknown CPU'}, ${c.length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM; ` +
    `Node ${process.version}, sqlite3 shell ${sqlite}; load average at start ${loadavg().map((x) => x.toFixed(2)).join(' ')}`;
}

async function mainBench() {
  const opts = parseArgs(process.argv.slice(2));
  ensureSqliteShell();
  ensureBuilt();
  const sources = (opts.sources ?? DEFAULT_SOURCES).filter((f) => existsSync(f));
  if (sources.length === 0) throw new Error('no source export found: pass --source FILE.sqlite');
  mkdirSync(DATA, { recursive: true });
  const header = machine();
  const date = new Date().toISOString().replace('T', ' ').slice(0, 16);
  process.stderr.write(`${header}\nsources: ${sources.join(', ')}\n`);
  const results = [];
  for (const size of opts.sizes) {
    for (const source of sources) {
      const tag = source.includes('-whole') ? '-whole' : '';
      const file = join(DATA, `${basename(source, extname(source))}${tag}-${size}.sqlite`);
      if (!existsSync(file)) {
        process.stderr.write(`generating ${file} ...\n`);
        generate({ source, out: file, kernels: kernelsOf(size) });
      }
      const r = benchFile(file, source, { runs: opts.runs, naive: opts.naive, steps: opts.steps, html: opts.html && size === opts.sizes[0] });
      results.push(r);
      process.stdout.write(`${describe(r)}\n`);
    }
  }
  const rel = (f) => (f.startsWith(ROOT) ? f.slice(ROOT.length) : basename(f));
  const summary = [
    '| shape | kernels | (a) shell | (c) analyze | c/a | c/a run by run, worst | target | B/kernel (≤ 150) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...results.map((r) => `| ${r.source} | ${n(r.kernels)} | ${s(r.shellMs)} | ${s(r.analyzeMs)} | ${f2(r.analyzeMs / r.shellMs)} (${mark(r.analyzeMs / r.shellMs <= vsShellTarget())}) | ${f2(Math.max(...r.pairedRatios))} | ≤ ${vsShellTarget().toFixed(1)} | ${f1(r.bytesPerKernel)} (${mark(r.bytesPerKernel <= TARGETS.bytesPerKernel)}) |`),
  ];
  const md = [
    '# Benchmark results',
    '',
    `Measured by \`npm run bench\` (bench/run.js) on ${date} UTC.`,
    '',
    `Machine: ${header}.`,
    '',
    `Generated from ${sources.map((f) => `\`${rel(f)}\``).join(', ')} by bench/generate.js ` +
      '(copies of the capture shifted in time and correlationId), every shape measured in this one run. Page cache warm; median of ' +
      `${opts.runs} run${opts.runs === 1 ? '' : 's'}. (a)${opts.naive ? ' and (b)' : ''} read the same columns of the same tables (bench/queries.js). ` +
      'Bytes per kernel: peak RSS of (c) less the same command\'s on the source fixture, over the kernels.',
    '',
    ...summary,
    '',
    ...(loadavg()[0] > cpus().length
      ? [`Note: the load average (${loadavg()[0].toFixed(1)} at the end, ${cpus().length} cores) was above the core count: other jobs shared the CPUs, so (a), (b) and (c) ran slower than alone, (c) most (it runs longest). Peak RSS does not depend on load.`, '']
      : []),
    ...results.map(describe),
  ].join('\n');
  writeFileSync(opts.out, md);
  process.stderr.write(`wrote ${opts.out}\n`);
}

await mainBench();
