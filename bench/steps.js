#!/usr/bin/env node
/**
 * Where analyze's time and memory go, step by step: reads FILE, then runs the steps of
 * buildReport (src/report/build.ts) one at a time on the first device, and prints one line
 * `STEPS [{"step", "ms", "peakMb"}...]` (peakMb: this process's VmHWM after the step) and one
 * line `TOP [{"fn", "file", "ms"}...]` (self time of the hottest functions, V8's profiler).
 * A step whose function has moved or changed its signature reads as an error, not a wrong number.
 *   node bench/steps.js FILE.sqlite
 */
import { readFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';

const D = new URL('../dist/', import.meta.url).href;
const file = process.argv[2];

function peakMb() {
  const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : process.resourceUsage().maxRSS / 1024;
}

const session = new Session();
session.connect();
await session.post('Profiler.enable');
await session.post('Profiler.start');

const steps = [];
async function step(name, fn) {
  const t0 = performance.now();
  try {
    const r = await fn();
    steps.push({ step: name, ms: Math.round(performance.now() - t0), peakMb: Math.round(peakMb()) });
    return r;
  } catch (e) {
    steps.push({ step: name, error: String(e?.message ?? e).slice(0, 120) });
    return undefined;
  }
}

const mod = async (p) => import(`${D}${p}`);
steps.push({ step: 'start', ms: 0, peakMb: Math.round(peakMb()) });
const { readForAnalysis } = await mod('parallel/analyze-file.js');
const trace = await step('read', () => readForAnalysis(file, false));
const { classifyKernels } = await mod('analyses/kernel-classes.js');
const { compileClassPatterns } = await mod('analyses/classes-file.js');
const classes = await step('classify kernels', () => classifyKernels(trace, compileClassPatterns([])));
const { indexTrace } = await mod('analyses/trace-index.js');
const index = await step('index (links, blocking calls)', () => indexTrace(trace));
const { deviceWindows, analyzeDeviceWindow } = await mod('analyses/device.js');
const [dw] = (await step('window', () => deviceWindows(index, {}))) ?? [];
if (dw) {
  const { deviceId, window } = dw;
  const { analyzeNvtxRanges } = await mod('analyses/nvtx-ranges.js');
  await step('nvtx ranges', () => analyzeNvtxRanges(trace, deviceId, window, index));
  const { analyzeSmFill } = await mod('analyses/sm-fill.js');
  await step('sm fill', () => analyzeSmFill(trace, deviceId, window));
  const { analyzeCommunication } = await mod('analyses/communication.js');
  await step('communication', () => analyzeCommunication(trace, deviceId, window, classes, { links: index.links }));
  // expertAnalyses (analyses/expert-analyses.ts) in its parts; what-if is given the window's
  // iteration count as expertAnalyses gives it, or none
  const { expertInstances, analyzeExperts } = await mod('analyses/experts.js');
  const instances = await step('expert instances and load', () => {
    const inst = expertInstances(trace, deviceId, window, index.links);
    analyzeExperts(trace, deviceId, window, inst);
    return inst;
  });
  const { kernelContention } = await mod('analyses/contention.js');
  const contention = await step('contention', () => kernelContention(trace, deviceId, window));
  const { analyzeWhatIf } = await mod('analyses/what-if.js');
  const it = window.iterations && window.iterations.count > 0 ? { count: window.iterations.count, source: 'window' } : undefined;
  await step('what-if replay', () => analyzeWhatIf(trace, deviceId, window, { experts: instances, contention, iterations: it, links: index.links, blocking: index.blocking }));
  const { findCulprits } = await mod('analyses/culprits.js');
  await step('culprits', () => findCulprits(trace, deviceId, window, it?.count ?? null));
  const done = await step('device (overlap, streams, gaps, launch, host syncs)', () => analyzeDeviceWindow(index, dw, {}));
  if (done) {
    const { reportFindings } = await mod('findings/index.js');
    await step('findings', () => reportFindings(trace, [done.report], new Map([[deviceId, { context: done.context }]])));
  }
}

const { profile } = await session.post('Profiler.stop');
const self = new Map();
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
for (let i = 0; i < profile.samples.length; i++) {
  const n = byId.get(profile.samples[i]);
  const f = n.callFrame;
  const key = `${f.functionName || '(anonymous)'}\u0000${f.url.replace(/^.*\/dist\//, '')}:${f.lineNumber + 1}`;
  self.set(key, (self.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0));
}
const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, 8)
  .map(([k, us]) => { const [fn, where] = k.split('\u0000'); return { fn, file: where, ms: Math.round(us / 1000) }; });
process.stdout.write(`STEPS ${JSON.stringify(steps)}\nTOP ${JSON.stringify(top)}\n`);
