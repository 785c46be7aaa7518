#!/usr/bin/env node
/**
 * Runs the moe-trace CLI in this process and reports its wall time and peak RSS, as one line
 * `BENCH {"ms": T, "maxRssKb": R, "exitCode": C}` on stderr (process.resourceUsage, so no
 * /usr/bin/time is needed). The CLI's own stdout goes where this process's stdout goes.
 *   node bench/measure.js analyze --json FILE > /dev/null
 */
const t0 = performance.now();
const { main } = await import('../dist/cli.js');
const exitCode = await main(process.argv.slice(2));
const ms = performance.now() - t0;
process.stderr.write(`BENCH ${JSON.stringify({ ms, maxRssKb: process.resourceUsage().maxRSS, exitCode })}\n`);
process.exitCode = exitCode;
