import { describe, expect, it } from 'vitest';
import { buildTrace, type RuntimeRow } from '../../src/model/build.js';
import { MemcpyKind, MemoryKind } from '../../src/model/trace.js';
import { analyzeDevice } from '../../src/analyses/device.js';
import { classifyGaps, classifyGapsDetailed, gapDetail, GAP_CLASSES, nextKernelCursor } from '../../src/analyses/launch-gaps.js';
import { intervalSet } from '../../src/model/intervals.js';
import { blockingReasonOfName, canonicalApiName, isLaunchCall } from '../../src/analyses/blocking-calls.js';

const threads = [
  { globalTid: '1', tid: 1, name: 'main', process: 0 },
  { globalTid: '2', tid: 2, name: 'other', process: 0 },
];
const launch = (start: number, end: number, correlationId: number, thread = 0): RuntimeRow =>
  ({ start, end, name: 'cudaLaunchKernel', correlationId, thread });

describe('device gap classification', () => {
  // One gap of each kind, in time order.
  const t = buildTrace({
    threads,
    runtime: [
      launch(0, 5, 1),
      launch(30, 35, 2), // gap [20,40): launch began after the gap began → host-wait
      launch(36, 38, 3), // gap [50,70): launch returned before the gap → gpu-side
      { start: 60, end: 105, name: 'cudaStreamSynchronize_v3020', thread: 0, correlationId: 100 },
      launch(110, 112, 4), // gap [80,120): the sync [60,105) on the launching thread overlaps it → sync-stall
      // gap [130,150): kernel 99 has no runtime record → unexplained
      { start: 161, end: 169, name: 'cudaDeviceSynchronize', thread: 0, correlationId: 101 },
      launch(165, 166, 6, 1), // gap [160,170): a sync on another thread does not count → host-wait
      launch(175, 190, 7), // gap [180,200): launch still running when the gap began → host-wait
      { start: 191, end: 199, name: 'cudaEventSynchronize', thread: 0, correlationId: 102 }, // after the launch began: ignored
    ],
    kernels: [
      { start: 10, end: 20, correlationId: 1 },
      { start: 40, end: 50, correlationId: 2 },
      { start: 70, end: 80, correlationId: 3 },
      { start: 120, end: 130, correlationId: 4 },
      { start: 150, end: 160, correlationId: 99 },
      { start: 170, end: 180, correlationId: 6 },
      { start: 200, end: 210, correlationId: 7 },
    ],
  });

  it('classifies each gap by the launch of the kernel after it', () => {
    const g = analyzeDevice(t, 0).gaps;
    expect(g.gaps.map((x) => [x.start, x.end, x.class, x.nextKernel, x.syncCall])).toEqual([
      [20, 40, 'host-wait', 1, undefined],
      [50, 70, 'gpu-side', 2, undefined],
      [80, 120, 'sync-stall', 3, 'cudaStreamSynchronize_v3020'],
      [130, 150, 'unexplained', 4, undefined],
      [160, 170, 'host-wait', 5, undefined],
      [180, 200, 'host-wait', 6, undefined],
    ]);
    // the sync-stall gap [80,120) is blamed on the sync only where it blocks, [80,105): 25; the
    // launch after it returned, [105,120), is host-wait time
    expect(g.gaps[2]).toMatchObject({ blocked: 25, rest: 'host-wait' });
    expect(g.byClass).toEqual({
      'sync-stall': { count: 1, total: 25 },
      'host-wait': { count: 3, total: 50 + 15 },
      'gpu-side': { count: 1, total: 20 },
      unexplained: { count: 1, total: 20 },
      'event-wait': { count: 0, total: 0 },
    });
    expect(g.all).toEqual({ count: 6, total: 130, min: 10, median: 20, p95: 35, max: 40 });
  });

  it('lists only the longest gaps (ties: the earlier), in time order, and still counts every gap', () => {
    const idle = intervalSet([[20, 40], [50, 70], [80, 120], [130, 150], [160, 170], [180, 200]]);
    const full = classifyGaps(t, 0, idle);
    const { summary: capped, detail } = classifyGapsDetailed(t, 0, idle, 2);
    expect(capped.gaps.map((g) => [g.start, g.end, g.class])).toEqual([[20, 40, 'host-wait'], [80, 120, 'sync-stall']]);
    expect([full.omitted, capped.omitted]).toEqual([0, 4]);
    // lengths 20, 20, 40, 20, 10, 20: the 40 and then the earliest 20s, in time order
    expect(classifyGaps(t, 0, idle, 3).gaps.map((g) => g.start)).toEqual([20, 50, 80]);
    expect(classifyGaps(t, 0, idle, 5).gaps.map((g) => g.start)).toEqual([20, 50, 80, 130, 180]);
    expect(classifyGaps(t, 0, idle, 1).gaps.map((g) => g.start)).toEqual([80]);
    expect(capped.all).toEqual(full.all);
    expect(capped.byClass).toEqual(full.byClass);
    // 10 ns is bin 4 ([10, 17.8)); 20 ns bin 5 ([17.8, 31.6)); 40 ns bin 6 ([31.6, 56.2))
    expect(capped.histogram).toEqual([
      { bin: 4, class: 'host-wait', count: 1, total: 10 },
      { bin: 5, class: 'host-wait', count: 2, total: 40 },
      { bin: 5, class: 'gpu-side', count: 1, total: 20 },
      { bin: 5, class: 'unexplained', count: 1, total: 20 },
      { bin: 6, class: 'sync-stall', count: 1, total: 40 },
    ]);
    // the findings read every gap, whatever the list keeps; a capped list cannot say them
    expect(() => gapDetail(capped)).toThrow(/capped/);
    expect(detail.idle.count).toBe(6);
    expect(Array.from(detail.cls, (c) => GAP_CLASSES[c])).toEqual(full.gaps.map((g) => g.class));
    const next = nextKernelCursor(t, 0);
    expect(Array.from(detail.idle.end, (e) => next(e))).toEqual(full.gaps.map((g) => g.nextKernel));
    const named = full.gaps.flatMap((g, i) => (g.syncCall === undefined ? [] : [[i, g.syncCall]]));
    expect(Array.from(detail.stalls.gap, (g, s) => [g, detail.names[detail.stalls.call[s]]])).toEqual(named);
    expect(named.length).toBeGreaterThan(0);
  });

  it('reads the detail of a hand-made summary from its list, which must then be complete', () => {
    const { gaps: list, ...rest } = classifyGaps(t, 0, intervalSet([[20, 40], [80, 120]]));
    const handMade = { ...rest, gaps: list.map((g) => ({ ...g })) };
    const detail = gapDetail(handMade);
    expect([detail.idle.count, ...Array.from(detail.cls)]).toEqual([2, GAP_CLASSES.indexOf('host-wait'), GAP_CLASSES.indexOf('sync-stall')]);
    expect([detail.stalls.count, detail.stalls.gap[0], detail.names[detail.stalls.call[0]]]).toEqual([1, 1, 'cudaStreamSynchronize_v3020']);
    expect(() => gapDetail({ ...handMade, omitted: 1 })).toThrow(/capped/);
  });

  it('counts leading and trailing idle of an explicit window, explained by the next kernel if any', () => {
    const d = analyzeDevice(t, 0, { window: '0:100' });
    expect(d.gaps.gaps.map((x) => [x.start, x.end, x.class, x.nextKernel])).toEqual([
      [0, 10, 'host-wait', 0], [20, 40, 'host-wait', 1], [50, 70, 'gpu-side', 2], [80, 100, 'sync-stall', 3],
    ]);
    expect(d.gaps.all.total).toBe(d.overlap.levelTime[0]);
    const after = analyzeDevice(t, 0, { window: '205:300' });
    expect(after.gaps.gaps).toEqual([{ start: 210, end: 300, duration: 90, class: 'unexplained', nextKernel: null }]);
  });

  it('has no gap between segments of a --range window', () => {
    const r = buildTrace({
      nvtx: [{ start: 0, end: 10, text: 'step' }, { start: 100, end: 110, text: 'step' }],
      runtime: [launch(1, 2, 1), launch(3, 4, 2), launch(101, 102, 3)],
      kernels: [{ start: 5, end: 20, correlationId: 1 }, { start: 30, end: 40, correlationId: 2 }, { start: 105, end: 120, correlationId: 3 }],
    });
    const d = analyzeDevice(r, 0, { range: 'step' });
    expect(d.window.coveredDuration).toBe(35 + 15);
    expect(d.gaps.gaps.map((x) => [x.start, x.end, x.class])).toEqual([[20, 30, 'gpu-side']]);
    expect(d.overlap.utilization).toBe(40 / 50);
  });

  it('prefers a real kernel over a zero-length one starting when the gap ends', () => {
    const z = buildTrace({
      runtime: [launch(0, 1, 1), launch(2, 3, 2), launch(30, 31, 3)],
      kernels: [{ start: 5, end: 10, correlationId: 1 }, { start: 40, end: 40, correlationId: 2 }, { start: 40, end: 50, correlationId: 3 }],
    });
    const gap = analyzeDevice(z, 0).gaps.gaps;
    expect(gap.map((x) => [x.start, x.end, x.class, x.nextKernel])).toEqual([[10, 40, 'host-wait', 2]]);
  });
});

describe('sync-stall through copies', () => {
  // Thread 0 launches k1, copies its result to host, then launches k2 at 100.
  const scenario = (name: string, dstKind: number) => buildTrace({
    runtime: [
      launch(0, 5, 1),
      { start: 10, end: 60, name, correlationId: 2 },
      launch(100, 105, 3),
    ],
    kernels: [{ start: 6, end: 20, correlationId: 1 }, { start: 110, end: 120, correlationId: 3 }],
    memcpy: [{ start: 20, end: 25, correlationId: 2, bytes: 4, copyKind: MemcpyKind.DtoH, srcKind: MemoryKind.Device, dstKind }],
  });
  it('a cudaMemcpyAsync into pageable memory blocks the host', () => {
    const g = analyzeDevice(scenario('cudaMemcpyAsync', MemoryKind.Pageable), 0).gaps.gaps;
    expect(g.map((x) => [x.class, x.syncCall])).toEqual([['sync-stall', 'cudaMemcpyAsync']]);
  });
  it('a cudaMemcpyAsync into pinned memory does not', () => {
    const g = analyzeDevice(scenario('cudaMemcpyAsync', MemoryKind.Pinned), 0).gaps.gaps;
    expect(g.map((x) => x.class)).toEqual(['host-wait']);
  });
  it('a synchronous driver copy does, whatever the memory', () => {
    const g = analyzeDevice(scenario('cuMemcpyDtoH_v2', MemoryKind.Pinned), 0).gaps.gaps;
    expect(g.map((x) => [x.class, x.syncCall])).toEqual([['sync-stall', 'cuMemcpyDtoH_v2']]);
  });
});

describe('blocking and launch call names', () => {
  it('strips version and per-thread suffixes', () => {
    expect(canonicalApiName('cudaStreamSynchronize_v3020')).toBe('cudaStreamSynchronize');
    expect(canonicalApiName('cuMemcpyDtoH_v2_ptds')).toBe('cuMemcpyDtoH');
    expect(canonicalApiName('cudaGetDeviceProperties_v2_v12000')).toBe('cudaGetDeviceProperties');
  });
  it('knows why a call blocks', () => {
    expect(['cudaDeviceSynchronize', 'cuCtxSynchronize', 'cuStreamSynchronize', 'cudaEventSynchronize_v3020'].map(blockingReasonOfName))
      .toEqual(['explicit', 'explicit', 'explicit', 'explicit']);
    expect(['cudaMemcpy', 'cuMemcpyHtoD_v2', 'cudaMemset', 'cuMemsetD32_v2', 'cudaFree', 'cuMemFree_v2'].map(blockingReasonOfName))
      .toEqual(['sync-memcpy', 'sync-memcpy', 'sync-memset', 'sync-memset', 'free', 'free']);
    expect(['cudaMemcpyAsync', 'cuMemcpyDtoHAsync_v2', 'cudaMemsetAsync', 'cudaLaunchKernel', 'cudaStreamWaitEvent'].map(blockingReasonOfName))
      .toEqual(['async-memcpy', 'async-memcpy', null, null, null]);
  });
  it('knows launch calls', () => {
    expect(['cudaLaunchKernel_v7000', 'cudaLaunchKernelExC', 'cuLaunchKernel', 'cudaGraphLaunch_v10000', 'cudaMemcpy'].map(isLaunchCall))
      .toEqual([true, true, true, true, false]);
  });
});

describe('nextKernelCursor', () => {
  it('finds the device\'s first kernel at or after each gap end, a real kernel before a zero-length one at the same instant', () => {
    const t = buildTrace({
      kernels: [
        { start: 10, end: 20 },
        { start: 25, end: 30, deviceId: 1 },
        { start: 40, end: 40 },
        { start: 40, end: 45 },
        { start: 50, end: 50 },
        { start: 60, end: 70, deviceId: 1 },
      ],
    });
    const d0 = nextKernelCursor(t, 0);
    expect([0, 21, 40, 46, 51].map((e) => d0(e))).toEqual([0, 2, 3, 4, -1]);
    const d1 = nextKernelCursor(t, 1);
    expect([20, 30, 60, 61].map((e) => d1(e))).toEqual([1, 5, 5, -1]);
  });
});
