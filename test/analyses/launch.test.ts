import { describe, expect, it } from 'vitest';
import { buildTrace, type KernelRow, type RuntimeRow } from '../../src/model/build.js';
import { analyzeDevice } from '../../src/analyses/device.js';

const threads = [
  { globalTid: '1', tid: 1, name: 'main', process: 0 },
  { globalTid: '2', tid: 2, name: 'other', process: 0 },
];

describe('launch latency, interval and launch-bound', () => {
  it('is launch-bound when short kernels wait for launches 100 ns apart', () => {
    // Calls [100i, 100i+5), kernels [100i+8, 100i+18): 10 ns of work per 100 ns of launching.
    const runtime: RuntimeRow[] = [];
    const kernels: KernelRow[] = [];
    for (let i = 0; i < 5; i++) {
      runtime.push({ start: 100 * i, end: 100 * i + 5, name: 'cudaLaunchKernel', correlationId: i + 1 });
      kernels.push({ start: 100 * i + 8, end: 100 * i + 18, correlationId: i + 1, streamId: 10 + i });
    }
    const d = analyzeDevice(buildTrace({ runtime, kernels }), 0);
    expect(d.launch).toEqual({
      latency: { count: 5, total: 15, min: 3, median: 3, p95: 3, max: 3 },
      interval: { count: 4, total: 400, min: 100, median: 100, p95: 100, max: 100 },
      matchedKernels: 5,
      launchBound: true,
    });
    expect(d.gaps.byClass['host-wait']).toEqual({ count: 4, total: 360 });
    expect(d.overlap.overlapShare).toBe(0);
  });

  it('is not launch-bound when long kernels queue up ahead of the launches', () => {
    const d = analyzeDevice(buildTrace({
      runtime: [0, 10, 20].map((s, i) => ({ start: s, end: s + 2, name: 'cudaLaunchKernel', correlationId: i + 1 })),
      kernels: [{ start: 5, end: 505, correlationId: 1 }, { start: 505, end: 1005, correlationId: 2 }, { start: 1005, end: 1505, correlationId: 3 }],
    }), 0);
    expect(d.launch).toEqual({
      latency: { count: 3, total: 3 + 493 + 983, min: 3, median: 493, p95: 934, max: 983 },
      interval: { count: 2, total: 20, min: 10, median: 10, p95: 10, max: 10 },
      matchedKernels: 3,
      launchBound: false,
    });
  });

  it('is not launch-bound when short kernels are separated by syncs rather than launches', () => {
    const d = analyzeDevice(buildTrace({
      runtime: [
        { start: 0, end: 5, name: 'cudaLaunchKernel', correlationId: 1 },
        { start: 6, end: 95, name: 'cudaStreamSynchronize', correlationId: 2 },
        { start: 100, end: 105, name: 'cudaLaunchKernel', correlationId: 3 },
      ],
      kernels: [{ start: 8, end: 18, correlationId: 1 }, { start: 108, end: 118, correlationId: 3 }],
    }), 0);
    // the gap [18,108): blocked [18,95) by the sync, then 13 ns of launching
    expect(d.gaps.byClass['sync-stall']).toEqual({ count: 1, total: 77 });
    expect(d.gaps.byClass['host-wait']).toEqual({ count: 0, total: 13 });
    expect(d.launch.launchBound).toBe(false);
  });

  it('clips latency at 0, skips kernels without a launch call and measures intervals per thread', () => {
    const d = analyzeDevice(buildTrace({
      threads,
      runtime: [
        { start: 0, end: 10, name: 'cudaLaunchKernel', correlationId: 1, thread: 0 },
        { start: 50, end: 60, name: 'cudaLaunchKernel', correlationId: 2, thread: 1 },
        { start: 100, end: 110, name: 'cudaLaunchKernel', correlationId: 3, thread: 0 },
        { start: 250, end: 260, name: 'cudaLaunchKernel', correlationId: 4, thread: 1 },
      ],
      kernels: [
        { start: 8, end: 20, correlationId: 1 }, // starts before its call returned (clock skew): latency 0
        { start: 70, end: 80, correlationId: 2 },
        { start: 130, end: 140, correlationId: 3 },
        { start: 300, end: 310, correlationId: 4 },
        { start: 400, end: 410 }, // no correlation
      ],
    }), 0);
    expect(d.launch.matchedKernels).toBe(4);
    expect(d.launch.latency).toEqual({ count: 4, total: 0 + 10 + 20 + 40, min: 0, median: 15, p95: 37, max: 40 });
    // thread 0: 0 → 100; thread 1: 50 → 250
    expect(d.launch.interval).toEqual({ count: 2, total: 300, min: 100, median: 150, p95: 195, max: 200 });
  });

  it('counts a graph launch once however many kernels it starts', () => {
    const d = analyzeDevice(buildTrace({
      runtime: [
        { start: 0, end: 10, name: 'cudaGraphLaunch', correlationId: 1 },
        { start: 40, end: 45, name: 'cudaGraphLaunch', correlationId: 2 },
      ],
      kernels: [
        { start: 12, end: 20, correlationId: 1, graphNodeId: 1 },
        { start: 20, end: 30, correlationId: 1, graphNodeId: 2 },
        { start: 50, end: 60, correlationId: 2, graphNodeId: 1 },
      ],
    }), 0);
    expect(d.launch.matchedKernels).toBe(3);
    expect(d.launch.latency).toMatchObject({ count: 3, min: 2, max: 10 });
    expect(d.launch.interval).toMatchObject({ count: 1, total: 40 });
  });

  it('takes the launch calls in call order whether the kernels ran in it or not, each once', () => {
    // calls at 0, 10, 20, 30 on one thread (30 a graph launch of two kernels); kernels run on two
    // streams, in launch order or with the second launched first
    const runtime = [0, 10, 20, 30].map((s, i) => ({ start: s, end: s + 2, name: 'cudaLaunchKernel', correlationId: i + 1 }));
    const inOrder = analyzeDevice(buildTrace({
      runtime,
      kernels: [
        { start: 40, end: 50, correlationId: 1, streamId: 1 }, { start: 41, end: 51, correlationId: 2, streamId: 2 },
        { start: 60, end: 70, correlationId: 3, streamId: 1 }, { start: 70, end: 80, correlationId: 4, streamId: 1 },
        { start: 80, end: 90, correlationId: 4, streamId: 1 },
      ],
    }), 0);
    const outOfOrder = analyzeDevice(buildTrace({
      runtime,
      kernels: [
        { start: 40, end: 50, correlationId: 2, streamId: 2 }, { start: 41, end: 51, correlationId: 1, streamId: 1 },
        { start: 60, end: 70, correlationId: 4, streamId: 1 }, { start: 70, end: 80, correlationId: 3, streamId: 1 },
        { start: 80, end: 90, correlationId: 4, streamId: 1 },
      ],
    }), 0);
    const interval = { count: 3, total: 30, min: 10, median: 10, p95: 10, max: 10 };
    expect(inOrder.launch.interval).toEqual(interval);
    expect(outOfOrder.launch.interval).toEqual(interval);
    expect(inOrder.launch.matchedKernels).toBe(5);
    expect(outOfOrder.launch.matchedKernels).toBe(5);
  });
});
