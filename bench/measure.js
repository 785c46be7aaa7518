#!/usr/bin/env node
/**
 * Runs the moe-trace CLI in this process and reports its wall time and peak RSS, as one line
 * `BENCH {"ms": T, "maxRssKb": R, "exitCode": C}` on stderr. The CLI's own stdout goes where
 * this process's stdout goes.
 *   node bench/measure.js analyze --json FILE > /dev/null
 * Peak RSS is /proc/self/status's VmHWM, this process's own high-water mark. Not getrusage's
 * maxRSS: Linux carries that across fork and exec, so a child spawned by a parent holding more
 * memory reports the parent's RSS as its own peak (bench/run.js, after generating an export,
 * held ~180 MB, and every small baseline read ~180 MB).
 */
import { readFileSync } from 'node:fs';

function peakRssKb() {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]);
  } catch { /* not Linux */ }
  return process.resourceUsage().maxRSS;
}

const t0 = performance.now();
const { main } = await import('../dist/cli.js');
const exitCode = await main(process.argv.slice(2));
const ms = performance.now() - t0;
process.stderr.write(`BENCH ${JSON.stringify({ ms, maxRssKb: peakRssKb(), exitCode })}\n`);
process.exitCode = exitCode;
