/**
 * Loaded first (NODE_OPTIONS=--import) into `moe-trace` as bench/run.js runs it: at exit, writes
 * `BENCH {"maxRssKb": R, "exitCode": C}` to stderr. Peak RSS is /proc/self/status's VmHWM, this
 * process's own high-water mark; not getrusage's maxRSS, which Linux carries across fork and exec
 * (a child of a parent holding 180 MB would report 180 MB).
 */
import { readFileSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';

function peakRssKb() {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]);
  } catch { /* not Linux */ }
  return process.resourceUsage().maxRSS;
}

// worker threads load it too: only the process reports
if (isMainThread) {
  process.on('exit', (code) => {
    process.stderr.write(`BENCH ${JSON.stringify({ maxRssKb: peakRssKb(), exitCode: code })}\n`);
  });
}
