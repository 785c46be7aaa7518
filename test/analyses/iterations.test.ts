/** Steady-state detection (src/analyses/iterations.ts) on tiny inline traces: exact windows. */
import { describe, expect, it } from 'vitest';
import { buildTrace, type KernelRow, type NvtxRow, type RuntimeRow } from '../../src/model/build.js';
import { detectSteadyState, saysOnePass } from '../../src/analyses/iterations.js';
import { resolveWindow } from '../../src/analyses/window.js';
import { buildReport, windowChoice } from '../../src/report/build.js';
import { iterationLine } from '../../src/render/terminal.js';
import { readTrace } from '../../src/readers/read-trace.js';
import { existsSync } from 'node:fs';

/** One kernel per launch: kernel k of `names` runs [t + 2, t + 2 + len) after a call at t. */
function loop(spec: { t: number; name: string; len?: number }[], nvtx: NvtxRow[] = [], extra: RuntimeRow[] = []) {
  const runtime: RuntimeRow[] = [...extra];
  const kernels: KernelRow[] = [];
  spec.forEach((s, i) => {
    runtime.push({ start: s.t, end: s.t + 1, name: 'cudaLaunchKernel', correlationId: i + 1 });
    kernels.push({ start: s.t + 2, end: s.t + 2 + (s.len ?? 3), name: s.name, correlationId: i + 1 });
  });
  return buildTrace({ runtime, kernels, nvtx });
}

describe('steady state from NVTX', () => {
  // set-up kernels, then 4 "step N" ranges of 2 kernels each; step 0 is a warm-up 5x slower
  const spec: { t: number; name: string; len?: number }[] = [{ t: 0, name: 'init' }, { t: 10, name: 'init' }];
  const nvtx: NvtxRow[] = [];
  const starts = [100, 200, 300, 400];
  starts.forEach((s, i) => {
    nvtx.push({ start: s, end: s + 50, text: `step ${i}` }, { start: s, end: s + 20, text: `layer ${i}` });
    spec.push({ t: s, name: 'a' }, { t: s + 5, name: 'b', len: i === 0 ? 40 : 3 });
  });
  const t = loop(spec, nvtx);

  it('takes the outermost family that says "one pass", leaving out a markedly slower first iteration', () => {
    const ss = detectSteadyState(t, 0)!;
    expect(ss).toMatchObject({ method: 'nvtx', name: 'step #', found: 4, leftOut: 1, leftOutReason: 'warm-up: more than twice the median time' });
    // GPU spans: kernel a at s+2, kernel b ends at s+5+2+3 = s+10
    expect(Array.from(ss.gpuStart)).toEqual([202, 302, 402]);
    expect(Array.from(ss.gpuEnd)).toEqual([210, 310, 410]);
    expect(Array.from(ss.cpu!.start)).toEqual([200, 300, 400]);
  });
  it('is the default window, with per-iteration timing; --whole-trace and --window turn it off', () => {
    const w = resolveWindow(t, 0);
    expect(w.window).toMatchObject({ source: 'iterations', start: 202, end: 410, coveredDuration: 24 });
    expect(w.window.iterations).toMatchObject({ method: 'nvtx', name: 'step #', found: 4, count: 3, leftOut: 1, meanSpan: 8 });
    expect(w.window.iterations!.span).toMatchObject({ count: 3, median: 8, total: 24 });
    expect(resolveWindow(t, 0, { wholeTrace: true }).window).toMatchObject({ source: 'kernels', start: 2, end: 410 });
    expect(resolveWindow(t, 0, { window: '0:500' }).window.source).toBe('explicit');
  });
  it('says what it chose in one line, and gives the time per iteration (median and mean)', () => {
    const d = buildReport(t).devices[0];
    expect(windowChoice(d)).toBe('GPU 0: measuring the steady state, 3 iterations of NVTX range "step #", leaving out the first 1 of 4 (warm-up: more than twice the median time); --whole-trace measures the whole capture');
    expect(iterationLine(d)).toBe('GPU 0: 8 ns per iteration (median GPU span, first kernel to last; mean 8 ns, 8 ns .. 8 ns) over 3 iterations of "step #" (3 in 208 ns: one every 69 ns, the time between them included); per iteration GPU busy 6 ns, 2 kernels, 0 host syncs');
    // the NVTX table's iterations are the same ones
    expect(d.nvtxRanges!.iterations).toMatchObject({ name: 'step #', count: 3, kernelsPerIteration: 2 });
  });
  it('measured whole, the iteration line gives a mean count to one decimal ("0.3 host syncs", not "0.333")', () => {
    // three "step" ranges, a cudaDeviceSynchronize in the first only
    const u = loop([{ t: 0, name: 'a' }, { t: 100, name: 'a' }, { t: 200, name: 'a' }],
      [0, 100, 200].map((s, i) => ({ start: s, end: s + 50, text: `step ${i}` })),
      [{ start: 10, end: 20, name: 'cudaDeviceSynchronize' }]);
    const d = buildReport(u, { wholeTrace: true }).devices[0];
    expect(d.nvtxRanges!.iterations!.syncsPerIteration).toBeCloseTo(1 / 3, 12);
    expect(iterationLine(d)).toMatch(/, 1 kernel, 0\.3 host syncs$/);
  });
  it('knows the names of one pass', () => {
    for (const n of ['forward seq #', 'iteration #', 'ProfilerStep#N', 'step #', 'token_#_processing', 'train_step #', 'decode #']) expect(saysOnePass(n), n).toBe(true);
    for (const n of ['expert #', 'layer #', 'cub::DeviceSelect::Flagged', 'stepper']) expect(saysOnePass(n), n).toBe(false);
  });
  it('torch.optim\'s "Optimizer.step#SGD.step" is one part of a training step, not the step: no window, no iteration line from it', () => {
    // forward and backward kernels, then the optimizer's 2 kernels in its range, three times
    const spec: { t: number; name: string; len?: number }[] = [];
    const ranges: NvtxRow[] = [];
    for (const s of [0, 1000, 2000]) {
      for (let k = 0; k < 8; k++) spec.push({ t: s + 10 * k, name: 'fwd_bwd', len: 50 });
      ranges.push({ start: s + 600, end: s + 700, text: 'Optimizer.step#SGD.step' }, { start: s + 700, end: s + 720, text: 'Optimizer.zero_grad#SGD.zero_grad' });
      spec.push({ t: s + 610, name: 'sgd' }, { t: s + 620, name: 'sgd' }, { t: s + 705, name: 'zero' });
    }
    const u = loop(spec, ranges);
    for (const n of ['Optimizer.step#SGD.step', 'Optimizer.zero_grad#SGD.zero_grad']) expect(saysOnePass(n), n).toBe(false);
    expect(detectSteadyState(u, 0)?.method).not.toBe('nvtx');
    const d = buildReport(u).devices[0];
    expect(d.nvtxRanges?.iterations ?? null).toBeNull();
  });
  it('does not take a family that names no pass (experts, layers): the whole trace then', () => {
    const u = loop([{ t: 0, name: 'a' }, { t: 10, name: 'a' }], [{ start: 0, end: 5, text: 'expert 0' }, { start: 10, end: 15, text: 'expert 1' }]);
    expect(detectSteadyState(u, 0)).toBeNull();
    expect(resolveWindow(u, 0).window.source).toBe('kernels');
  });
});

describe('steady state from an outermost family whose name does not say "one pass"', () => {
  // three calls of a micro-benchmark, record_function("MoE[experts=64, ...]"), the first 10x slower
  const bench = (text: (i: number) => string) => {
    const spec: { t: number; name: string; len?: number }[] = [];
    const nvtx: NvtxRow[] = [];
    [100, 200, 300].forEach((s, i) => {
      nvtx.push({ start: s, end: s + 50, text: text(i) });
      spec.push({ t: s, name: 'a' }, { t: s + 5, name: 'b', len: i === 0 ? 60 : 3 });
    });
    return { spec, nvtx };
  };
  it('takes them for the iterations when nothing encloses them and they hold the device\'s kernels', () => {
    const { spec, nvtx } = bench(() => 'MoE[experts=64, tokens=16]');
    const ss = detectSteadyState(loop(spec, nvtx), 0)!;
    expect(ss).toMatchObject({ method: 'nvtx', name: 'MoE[experts=#, tokens=#]', found: 3, leftOut: 1 });
    expect(Array.from(ss.gpuStart)).toEqual([202, 302]);
    expect(Array.from(ss.gpuEnd)).toEqual([210, 310]);
  });
  it('not when their name is a part of a pass, when they hold under 90% of the kernels, or repeat only twice', () => {
    const experts = bench((i) => `expert ${i}`);
    expect(detectSteadyState(loop(experts.spec, experts.nvtx), 0)).toBeNull();
    // two kernels of eight outside the ranges: 75%
    const some = bench(() => 'MoE');
    some.spec.push({ t: 400, name: 'c' }, { t: 410, name: 'c' });
    expect(detectSteadyState(loop(some.spec, some.nvtx), 0)).toBeNull();
    const twice = bench(() => 'MoE');
    expect(detectSteadyState(loop(twice.spec.slice(2), twice.nvtx.slice(1)), 0)).toBeNull();
  });
  const file = '../shared/kineto-corpus/AMD-AGI_TraceLens_moe_01_many_experts_few_tokens.json.gz';
  it.skipIf(!existsSync(file))('a real micro-benchmark (../shared/kineto-corpus, B300): the 1.058 ms first call is warm-up', async () => {
    const d = buildReport(await readTrace(file)).devices[0];
    // GPU spans of the kernels each range launched, checked in Python over the JSON: 1058.174, 177.695, 157.312 us
    expect(d.window.iterations).toMatchObject({ method: 'nvtx', name: 'MoE[experts=#, tokens=#, topk=#, hidden=#, intermediate=#]', found: 3, count: 2, leftOut: 1 });
    expect(d.window.iterations!.span.min).toBe(157_312);
    expect(d.window.iterations!.span.max).toBe(177_695);
    expect(d.nvtxRanges!.iterations).toMatchObject({ count: 2, kernelsPerIteration: 12 });
  });
});

describe('steady state from cudaProfilerStart/Stop', () => {
  it('measures the kernels launched between each start and stop', () => {
    const t = loop([{ t: 0, name: 'x' }, { t: 20, name: 'y' }, { t: 40, name: 'y' }, { t: 60, name: 'z' }], [], [
      { start: 15, end: 16, name: 'cudaProfilerStart' }, { start: 50, end: 51, name: 'cudaProfilerStop' },
    ]);
    const ss = detectSteadyState(t, 0)!;
    expect(ss).toMatchObject({ method: 'profiler-range', found: 1, leftOut: 0 });
    expect([ss.gpuStart[0], ss.gpuEnd[0]]).toEqual([22, 45]);
  });
});

describe('steady state from the repeating kernel sequence (no NVTX)', () => {
  it('finds the period after set-up kernels, each iteration from its first kernel to the next one\'s', () => {
    const spec: { t: number; name: string }[] = [{ t: 0, name: 'load' }, { t: 10, name: 'load2' }];
    // 5 iterations of gemm, relu, gemm; 100 ns apart, with a turnaround gap before each
    for (let i = 0; i < 5; i++) spec.push({ t: 100 + 100 * i, name: 'gemm' }, { t: 110 + 100 * i, name: 'relu' }, { t: 120 + 100 * i, name: 'gemm' });
    const ss = detectSteadyState(loop(spec), 0)!;
    expect(ss).toMatchObject({ method: 'kernel-period', name: 'a repeating sequence of 3 kernels', found: 4, leftOut: 0 });
    expect(Array.from(ss.gpuStart)).toEqual([102, 202, 302, 402]);
    expect(Array.from(ss.gpuEnd)).toEqual([202, 302, 402, 502]);
  });
  it('leaves a trace that repeats from its first kernel as it is', () => {
    const spec: { t: number; name: string }[] = [];
    for (let i = 0; i < 5; i++) spec.push({ t: 100 * i, name: 'gemm' }, { t: 100 * i + 10, name: 'relu' });
    expect(detectSteadyState(loop(spec), 0)).toBeNull();
  });
});
