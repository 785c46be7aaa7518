/**
 * One report, one time per iteration: the iteration line leads with the iterations' median GPU span,
 * the what-if "now" is the replayed window divided by its iterations (the time between iterations
 * included). On the public llama3 export they read 8.732 ms and 9.884 ms with nothing saying why;
 * each must now say what it is, and the period must be the same number in both places.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildReport } from '../../src/report/build.js';
import { renderTerminal } from '../../src/render/terminal.js';
import { formatNs } from '../../src/render/format.js';
import { buildTrace, type KernelRow, type NvtxRow, type RuntimeRow } from '../../src/model/build.js';
import { perIteration } from '../../src/findings/context.js';
import { gateVariables } from '../../src/gates.js';
import { anyReport } from '../helpers/fixture-reports.js';

const LLAMA = '../shared/nsys-corpus/nsys2024.6.2_pytorch-llama3-inference-nvtx_sh1mwww_real_inference_simulation.sqlite';
const FILES = [LLAMA, 'fixtures/nsys-2025.3-whole/torch-grouped.sqlite', 'fixtures/kineto-2.11/grouped.sqlite'];

const built = new Map<string, Promise<ReturnType<typeof buildReport>>>();
/** One report per file for the whole file's tests (building the llama3 one takes a second). */
const reportOf = (file: string) => {
  let r = built.get(file);
  if (!r) built.set(file, (r = anyReport(file)));
  return r;
};

describe('per-iteration figures agree or say why they differ', () => {
  for (const file of FILES) {
    it.skipIf(!existsSync(file))(file, async () => {
      const report = await reportOf(file);
      const text = renderTerminal(report).replace(/\n {2}/g, ' ');
      for (const d of report.devices) {
        const t = d.window.iterations!;
        const w = d.whatIf!;
        expect(d.window.source).toBe('iterations');
        expect(w.iterations).toBe(t.count);
        // the replay divides the window the iterations span
        expect(Math.abs(w.measuredIterationNs * w.iterations - d.window.duration)).toBeLessThanOrEqual(w.iterations);
        const now = formatNs(w.measuredIterationNs);
        const whatIf = text.split('\n').find((l) => l.includes('projected per iteration'))!;
        expect(whatIf).toContain(`(now ${now} = ${formatNs(d.window.duration)} ÷ ${t.count} iterations)`);
        const line = text.split('\n').find((l) => l.includes(' per iteration (median GPU span, first kernel to last;'))!;
        expect(line).toContain(`${formatNs(t.span.median)} per iteration`);
        // the period differs from the mean span only by the time between iterations: said when it matters
        const period = `(${t.count} in ${formatNs(d.window.duration)}: one every ${now}, the time between them included)`;
        if (Math.abs(d.window.duration / t.count - t.meanSpan) >= 0.01 * t.meanSpan) expect(line).toContain(period);
        else expect(line).toContain(`mean ${now}`);
      }
    }, 30_000);
  }
  it.skipIf(!existsSync(LLAMA))('llama3: 8.732 ms median span, one token every 9.884 ms', async () => {
    const text = renderTerminal(await reportOf(LLAMA)).replace(/\n {2}/g, ' ');
    expect(text).toContain('GPU 0: 8.732 ms per iteration (median GPU span, first kernel to last; mean 8.725 ms, 8.538 ms .. 8.923 ms) over 63 iterations of "token_#_processing" (63 in 622.7 ms: one every 9.884 ms, the time between them included)');
    expect(text).toContain('projected per iteration (now 9.884 ms = 622.7 ms ÷ 63 iterations): no syncs 8.814 ms');
  }, 30_000);
});

describe('per-iteration counts when other threads launch part of each iteration', () => {
  const HTA = '../shared/kineto-corpus/facebookresearch_HolisticTraceAnalysis_rank-0.Apr_03_18_51_38.1102.pt.trace.json.gz';
  it.skipIf(!existsSync(HTA))('HTA rank-0 (DDP, backward on autograd\'s thread): the window\'s busy ÷ 5, not the 31 ms the main thread launched', async () => {
    const report = await anyReport(HTA);
    const d = report.devices[0];
    const text = renderTerminal(report).replace(/\n {2}/g, ' ');
    // was: "per iteration GPU busy 30.98 ms, 314 kernels" beside "GPU utilization 97.5%" and 95.66 ms iterations
    expect(text).toContain('GPU utilization 97.5%');
    expect(text).toContain(`per iteration (the window's ÷ 5) GPU busy ${formatNs(Math.round(d.overlap.busy / 5))}, 870 kernels, 0 host syncs (63.9% of the kernels were launched outside the ranges' thread`);
    expect(d.overlap.kernelCount).toBe(4350);
    expect(formatNs(Math.round(d.overlap.busy / 5))).toBe('93.63 ms');
    // the NVTX table's caption gives the same counts (it said 314 kernels)
    const full = renderTerminal(report, { full: true }).replace(/\n {2}/g, ' ');
    expect(full).toContain('NVTX ranges (iteration = "ProfilerStep#N": 5 iterations, 95.66 ms each on the GPU, 870 kernels and 0 host syncs per iteration, the window\'s ÷ 5;');
    expect(full).toContain('Iterations ("ProfilerStep#N"), in time order (kernels and host syncs: those launched inside the range on its thread; other threads launch more)');
  }, 30_000);
  it('an inline trace: the range\'s thread launches forward and optimizer kernels, a second thread the 3 backward kernels between them', () => {
    const nvtx: NvtxRow[] = [];
    const runtime: RuntimeRow[] = [];
    const kernels: KernelRow[] = [];
    let c = 1;
    const launch = (t: number, thread: number, start: number, name: string) => {
      runtime.push({ start: t, end: t + 1, name: 'cudaLaunchKernel', correlationId: c, thread });
      kernels.push({ start, end: start + 10, name, correlationId: c++ });
    };
    for (let i = 0; i < 3; i++) {
      const t0 = 1000 * i;
      nvtx.push({ start: t0, end: t0 + 100, text: `step ${i}`, thread: 0 });
      launch(t0 + 1, 0, t0 + 10, 'fwd');
      for (let k = 0; k < 3; k++) launch(t0 + 20 + k, 1, t0 + 20 + 10 * k, 'bwd');
      launch(t0 + 60, 0, t0 + 60, 'sgd');
    }
    const t = buildTrace({ nvtx, runtime, kernels, threads: [{ globalTid: '1', tid: 1, name: 'main', process: 0 }, { globalTid: '2', tid: 2, name: 'autograd', process: 0 }] });
    const d = buildReport(t).devices[0];
    expect(d.window).toMatchObject({ source: 'iterations', iterations: { count: 3 } });
    const it = d.nvtxRanges!.iterations!;
    // the projection: fwd and sgd; the window: all 5 kernels of each step, 50 ns busy
    expect(it.kernelsPerIteration).toBe(2);
    expect(d.overlap.kernelCount).toBe(15);
    expect(perIteration(d, it)).toEqual({ kernels: 5, syncs: 0, busy: 50, fromWindow: true, outsideShare: 0.6 });
    expect(renderTerminal(buildReport(t)).replace(/\n {2}/g, ' ')).toContain("per iteration (the window's ÷ 3) GPU busy 50 ns, 5 kernels, 0 host syncs (60.0% of the kernels were launched outside the ranges' thread");
    // --fail-if reads the same counts
    const report = buildReport(t);
    expect(gateVariables(report, report.devices[0]).get('kernelsPerIteration')).toBe(5);
    // measured whole, the window is no longer the iterations: the projection is all there is
    const whole = buildReport(t, { wholeTrace: true }).devices[0];
    expect(perIteration(whole, whole.nvtxRanges!.iterations!)).toMatchObject({ kernels: 2, fromWindow: false });
  });
});
