import { describe, expect, it } from 'vitest';
import { buildTrace, type KernelRow } from '../../src/model/build.js';
import { InputError } from '../../src/errors.js';
import { analyzeDevice, analyzeTrace } from '../../src/analyses/device.js';

// Device 0: stream 1 [0,10) [20,30); stream 2 [5,25); stream 3 [40,50) and a zero-length kernel at 45.
// Device 1: one kernel [100,130).
const kernels: KernelRow[] = [
  { start: 0, end: 10, streamId: 1 },
  { start: 20, end: 30, streamId: 1 },
  { start: 5, end: 25, streamId: 2 },
  { start: 40, end: 50, streamId: 3 },
  { start: 45, end: 45, streamId: 3 },
  { start: 100, end: 130, streamId: 1, deviceId: 1 },
];

describe('overlap metrics', () => {
  const t = buildTrace({ kernels });
  it('measures busy, kernel time, concurrency, overlap share, level times and utilization', () => {
    const d = analyzeDevice(t, 0);
    expect(d.window).toMatchObject({ start: 0, end: 50, duration: 50, coveredDuration: 50 });
    expect(d.overlap).toEqual({
      kernelCount: 5,
      busy: 40, // [0,30) ∪ [40,50)
      kernelTime: 50,
      concurrency: 50 / 40,
      overlapShare: 10 / 40, // [5,10) and [20,25)
      overlapTime: 10,
      utilization: 40 / 50,
      levelTime: [10, 30, 10],
      maxConcurrency: 2,
    });
    expect(d.kernelDuration).toEqual({ count: 5, total: 50, min: 0, median: 10, p95: 18, max: 20 });
  });

  it('analyzes every device on its own', () => {
    const all = analyzeTrace(t);
    expect(all.map((d) => d.deviceId)).toEqual([0, 1]);
    expect(all[1].overlap).toMatchObject({ kernelCount: 1, busy: 30, utilization: 1, levelTime: [0, 30], overlapShare: 0 });
    expect(analyzeTrace(t, { device: 1 }).map((d) => d.deviceId)).toEqual([1]);
    expect(() => analyzeTrace(t, { device: 4 })).toThrow(InputError);
  });

  it('clips kernels to an explicit window', () => {
    const d = analyzeDevice(t, 0, { window: '8:42' });
    // pieces: [8,10) [20,30) on stream 1, [8,25) on stream 2, [40,42) on stream 3
    expect(d.overlap).toEqual({
      kernelCount: 4, busy: 24, kernelTime: 31, concurrency: 31 / 24, overlapShare: 7 / 24, overlapTime: 7,
      utilization: 24 / 34, levelTime: [10, 17, 7], maxConcurrency: 2,
    });
  });

  it('treats identical kernels as fully overlapped and touching ones as not overlapped', () => {
    const same = analyzeDevice(buildTrace({ kernels: [{ start: 0, end: 10, streamId: 1 }, { start: 0, end: 10, streamId: 2 }] }), 0);
    expect(same.overlap).toMatchObject({ busy: 10, kernelTime: 20, concurrency: 2, overlapShare: 1, levelTime: [0, 0, 10] });
    expect(same.streamPairs).toEqual([{ a: 1, b: 2, overlap: 10 }]);
    const touching = analyzeDevice(buildTrace({ kernels: [{ start: 0, end: 10, streamId: 1 }, { start: 10, end: 20, streamId: 2 }] }), 0);
    expect(touching.overlap).toMatchObject({ busy: 20, concurrency: 1, overlapShare: 0, levelTime: [0, 20], maxConcurrency: 1 });
    expect(touching.streamPairs).toEqual([]);
    expect(touching.gaps.all.count).toBe(0);
  });

  it('gives null ratios for a window of one zero-length kernel', () => {
    const d = analyzeDevice(buildTrace({ kernels: [{ start: 5, end: 5 }] }), 0);
    expect(d.overlap).toEqual({
      kernelCount: 1, busy: 0, kernelTime: 0, concurrency: null, overlapShare: null, overlapTime: 0,
      utilization: null, levelTime: [0], maxConcurrency: 0,
    });
  });

  it('can count copies as activity', () => {
    const t2 = buildTrace({
      kernels: [{ start: 0, end: 10 }, { start: 30, end: 40 }],
      memcpy: [{ start: 8, end: 20, bytes: 4, copyKind: 2, streamId: 9 }],
      memset: [{ start: 35, end: 36, bytes: 4 }],
    });
    expect(analyzeDevice(t2, 0).overlap).toMatchObject({ kernelCount: 2, busy: 20, overlapTime: 0 });
    expect(analyzeDevice(t2, 0).transfers).toEqual({ memcpyCount: 1, memcpyBusy: 12, memsetCount: 1, memsetBusy: 1 });
    expect(analyzeDevice(t2, 0, { includeTransfers: true }).overlap).toMatchObject({
      kernelCount: 4, busy: 30, kernelTime: 33, overlapTime: 3, levelTime: [10, 27, 3],
    });
  });
});

describe('stream occupancy', () => {
  it('reports each stream and the pairs that overlapped', () => {
    const d = analyzeDevice(buildTrace({ kernels }), 0);
    expect(d.streams).toEqual([
      {
        streamId: 1, process: 0, kernelCount: 2, busy: 20, occupancy: 0.4, shareOfDeviceBusy: 0.5,
        duration: { count: 2, total: 20, min: 10, median: 10, p95: 10, max: 10 },
        gaps: { count: 1, total: 10, min: 10, median: 10, p95: 10, max: 10 },
      },
      {
        streamId: 2, process: 0, kernelCount: 1, busy: 20, occupancy: 0.4, shareOfDeviceBusy: 0.5,
        duration: { count: 1, total: 20, min: 20, median: 20, p95: 20, max: 20 },
        gaps: { count: 0, total: 0, min: 0, median: 0, p95: 0, max: 0 },
      },
      {
        streamId: 3, process: 0, kernelCount: 2, busy: 10, occupancy: 0.2, shareOfDeviceBusy: 0.25,
        duration: { count: 2, total: 10, min: 0, median: 5, p95: 10, max: 10 },
        gaps: { count: 0, total: 0, min: 0, median: 0, p95: 0, max: 0 },
      },
    ]);
    expect(d.streamPairs).toEqual([{ a: 1, b: 2, overlap: 10 }]);
  });

  it('lists pairs largest first and counts a three-way overlap in each pair', () => {
    const d = analyzeDevice(buildTrace({
      kernels: [{ start: 0, end: 100, streamId: 3 }, { start: 10, end: 20, streamId: 1 }, { start: 15, end: 60, streamId: 2 }],
    }), 0);
    expect(d.streamPairs).toEqual([{ a: 2, b: 3, overlap: 45 }, { a: 1, b: 3, overlap: 10 }, { a: 1, b: 2, overlap: 5 }]);
    expect(d.overlap.levelTime).toEqual([0, 50, 45, 5]);
  });

  it('keeps equal stream ids of different processes apart and breaks the device down per process', () => {
    const d = analyzeDevice(buildTrace({
      processes: [{ globalPid: '1', pid: 1, name: 'a' }, { globalPid: '2', pid: 2, name: 'b' }],
      kernels: [{ start: 0, end: 10, process: 0 }, { start: 5, end: 15, process: 1 }, { start: 20, end: 30, process: 1 }],
    }), 0);
    expect(d.streams.map((s) => [s.process, s.streamId, s.busy])).toEqual([[0, 7, 10], [1, 7, 20]]);
    expect(d.streamPairs).toEqual([{ a: 7, b: 7, overlap: 5, processA: 0, processB: 1 }]);
    expect(d.processes?.map((p) => [p.process, p.streamCount, p.overlap.kernelCount, p.overlap.busy, p.overlap.utilization])).toEqual([
      [0, 1, 1, 10, 10 / 30], [1, 1, 2, 20, 20 / 30],
    ]);
  });

  it('omits the per-process breakdown for a single process', () => {
    expect(analyzeDevice(buildTrace({ kernels }), 0).processes).toBeUndefined();
  });
});
