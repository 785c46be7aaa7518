/** The findings' context: the kernels they read are the ones the analyses count, segment by segment. */
import { describe, expect, it } from 'vitest';
import { buildTrace, type RuntimeRow } from '../../src/model/build.js';
import { analyzeDeviceWindow, contextOfReport, deviceWindows } from '../../src/analyses/device.js';
import { indexTrace } from '../../src/analyses/trace-index.js';
import { buildContext, kernelRows } from '../../src/findings/context.js';

const launch = (start: number, end: number, correlationId: number): RuntimeRow => ({ start, end, name: 'cudaLaunchKernel', correlationId });

describe('kernels in the window, for the findings', () => {
  // two "step" ranges whose GPU work is [5, 40] and [105, 120]; kernel 2 ([50, 60]) runs between
  // them, launched outside both, and kernel 4 ([130, 140]) after them
  const trace = buildTrace({
    nvtx: [{ start: 0, end: 10, text: 'step' }, { start: 100, end: 110, text: 'step' }],
    runtime: [launch(1, 2, 1), launch(3, 4, 2), launch(45, 46, 3), launch(101, 102, 4), launch(125, 126, 5)],
    kernels: [
      { start: 5, end: 20, correlationId: 1 }, { start: 30, end: 40, correlationId: 2 }, { start: 50, end: 60, correlationId: 3 },
      { start: 105, end: 120, correlationId: 4 }, { start: 130, end: 140, correlationId: 5 },
    ],
  });

  it('with two disjoint --range segments, are the kernels the analyses count', () => {
    const index = indexTrace(trace);
    const [w] = deviceWindows(index, { range: 'step' });
    expect(w.window.segments).toEqual([{ start: 5, end: 40 }, { start: 105, end: 120 }]);
    const { report, context } = analyzeDeviceWindow(index, w, { range: 'step' });
    expect(report.overlap.kernelCount).toBe(3);
    const ctx = buildContext(trace, report, context);
    expect(ctx.kernels.count).toBe(report.overlap.kernelCount);
    expect(Array.from(kernelRows(ctx.kernels))).toEqual([0, 1, 3]);
    // a report without its context reads W's segments back from report.window: the same kernels
    const again = buildContext(trace, report, contextOfReport(index, report));
    expect(Array.from(kernelRows(again.kernels))).toEqual([0, 1, 3]);
  });

  it('by default ("step" ranges are the steady state), are the kernels of the steps, as with --range', () => {
    const index = indexTrace(trace);
    const [w] = deviceWindows(index);
    expect(w.window.source).toBe('iterations');
    expect(w.window.segments).toEqual([{ start: 5, end: 40 }, { start: 105, end: 120 }]);
    const { report, context } = analyzeDeviceWindow(index, w);
    expect(Array.from(kernelRows(buildContext(trace, report, context).kernels))).toEqual([0, 1, 3]);
  });

  it('with --whole-trace, are every kernel of the device, uncopied', () => {
    const index = indexTrace(trace);
    const [w] = deviceWindows(index, { wholeTrace: true });
    const { report, context } = analyzeDeviceWindow(index, w, { wholeTrace: true });
    const ctx = buildContext(trace, report, context);
    expect([ctx.kernels.count, ctx.kernels.rows]).toEqual([5, null]);
    expect(report.overlap.kernelCount).toBe(5);
  });
});

describe('the threads that launched the window\'s kernels, for the findings', () => {
  const threads = [
    { globalTid: '1', tid: 1, name: 'main', process: 0 },
    { globalTid: '2', tid: 2, name: 'worker', process: 0 },
    { globalTid: '3', tid: 3, name: 'idle', process: 0 },
  ];
  // three launching threads, the ranges on thread 0; a call launches two kernels
  const trace = buildTrace({
    threads,
    nvtx: [{ start: 0, end: 10, text: 'step', thread: 0 }, { start: 100, end: 110, text: 'step', thread: 0 }],
    runtime: [
      { ...launch(1, 2, 1), thread: 0 }, { ...launch(3, 4, 2), thread: 1 }, { ...launch(45, 46, 3), thread: 2 },
      { ...launch(101, 102, 4), thread: 1 }, { ...launch(125, 126, 5), thread: 1 },
    ],
    kernels: [
      { start: 5, end: 20, correlationId: 1 }, { start: 30, end: 40, correlationId: 2 }, { start: 50, end: 60, correlationId: 3 },
      { start: 105, end: 110, correlationId: 4 }, { start: 110, end: 120, correlationId: 4 }, { start: 130, end: 140, correlationId: 5 },
    ],
  });

  for (const options of [{}, { range: 'step' }, { wholeTrace: true }]) {
    it(`are the launch analysis's, the same as the kernels' own (${JSON.stringify(options)})`, () => {
      const index = indexTrace(trace);
      const [w] = deviceWindows(index, options);
      const { report, context } = analyzeDeviceWindow(index, w, options);
      const ctx = buildContext(trace, report, context);
      const fromKernels = new Set(Array.from(kernelRows(ctx.kernels), (i) => trace.runtime.thread[index.links.kernelCall[i]]));
      expect([...ctx.launchThreads!].sort()).toEqual([...fromKernels].sort());
      // --range takes the kernels launched inside the ranges, on their thread
      expect([...ctx.launchThreads!].sort()).toEqual('range' in options ? [0] : [0, 1, 2]);
    });
  }
});
