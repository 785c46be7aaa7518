#!/usr/bin/env node
/**
 * bench/measure.js with CPU time: runs the moe-trace CLI in this process and prints
 * `BENCH {"ms", "cpuMs", "maxRssKb", "exitCode"}` on stderr. cpuMs (user + system, all threads)
 * is what the run costs whatever else the machine is doing; on a busy shared machine wall time
 * also holds the time spent waiting for a core.
 *   node bench/kineto-measure.js analyze --json FILE > /dev/null
 */
const t0 = performance.now();
const c0 = process.cpuUsage();
const { main } = await import('../dist/cli.js');
const exitCode = await main(process.argv.slice(2));
const ms = performance.now() - t0;
const c = process.cpuUsage(c0);
process.stderr.write(`BENCH ${JSON.stringify({ ms, cpuMs: (c.user + c.system) / 1000, maxRssKb: process.resourceUsage().maxRSS, exitCode })}\n`);
process.exitCode = exitCode;
