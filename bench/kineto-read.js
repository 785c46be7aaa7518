#!/usr/bin/env node
/**
 * The reader alone: readTrace(FILE) as analyze calls it (API calls it keeps, no sync records), no
 * analysis; `BENCH {"ms", "cpuMs", "maxRssKb", "kernels"}` on stderr. Tells the reader's share of
 * `analyze` in bench/kineto.js.
 *   node bench/kineto-read.js FILE
 */
const t0 = performance.now();
const c0 = process.cpuUsage();
const { readTrace } = await import('../dist/readers/read-trace.js');
const { isAnalysedApiCall } = await import('../dist/analyses/api-calls.js');
const t = await readTrace(process.argv[2], { keepApiCall: isAnalysedApiCall, syncRecords: false });
const ms = performance.now() - t0;
const c = process.cpuUsage(c0);
process.stderr.write(`BENCH ${JSON.stringify({ ms, cpuMs: (c.user + c.system) / 1000, maxRssKb: process.resourceUsage().maxRSS, kernels: t.kernels.count, exitCode: 0 })}\n`);
