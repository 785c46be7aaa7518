#!/usr/bin/env node
/**
 * Peak RSS of `moe-trace analyze --json FILE` as users run it (bin/moe-trace.js through its #!
 * line, bench/launch.js; VmHWM from bench/peak-hook.js), with the read workers forced to each
 * count given (MOE_TRACE_READ_WORKERS; "-" leaves the machine's default), `runs` times each.
 * Prints one line per file and worker count: the median, the range and the wall times.
 *   node bench/peaks.js [--workers 0,3] [--runs 3] FILE.sqlite...
 */
import { spawnSync } from 'node:child_process';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { binCommand } from './launch.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const args = process.argv.slice(2);
let workers = ['0', '3'];
let runs = 3;
const files = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--workers') workers = args[++i].split(',');
  else if (args[i] === '--runs') runs = Number(args[++i]);
  else files.push(args[i]);
}

function peakMiB(file, w) {
  const cmd = binCommand(ROOT, ['analyze', '--json', file], join(ROOT, 'bench', 'peak-hook.js'));
  const env = { ...cmd.env };
  if (w === '-') delete env.MOE_TRACE_READ_WORKERS; else env.MOE_TRACE_READ_WORKERS = w;
  const t0 = performance.now();
  const r = spawnSync(cmd.file, cmd.args, { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', maxBuffer: 1 << 26 });
  const line = r.stderr.split('\n').find((l) => l.startsWith('BENCH '));
  const m = line ? JSON.parse(line.slice(6)) : null;
  if (!m || m.exitCode !== 0) throw new Error(`${file}: analyze failed: ${r.stderr.trim().split('\n').slice(-2).join(' ')}`);
  return { mib: m.maxRssKb / 1024, s: (performance.now() - t0) / 1000 };
}

for (const file of files) {
  for (const w of workers) {
    const xs = Array.from({ length: runs }, () => peakMiB(file, w));
    const mib = xs.map((x) => x.mib).sort((a, b) => a - b);
    process.stdout.write(`${basename(file)}\tworkers ${w}\tpeak ${mib[(mib.length - 1) >> 1].toFixed(1)} MiB ` +
      `(${mib[0].toFixed(1)}-${mib[mib.length - 1].toFixed(1)})\t${xs.map((x) => x.s.toFixed(2)).join(' ')} s\n`);
  }
}
