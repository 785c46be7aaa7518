import { describe, expect, it } from 'vitest';
import { buildTrace } from '../../src/model/build.js';
import { MemcpyKind, MemoryKind } from '../../src/model/trace.js';
import { analyzeDevice } from '../../src/analyses/device.js';
import { hostSyncs } from '../../src/analyses/host-syncs.js';
import { resolveWindow } from '../../src/analyses/window.js';
import { selectOps } from '../../src/analyses/select.js';
import { idleWithin } from '../../src/model/intervals.js';

const D2H = MemcpyKind.DtoH;

// Thread 0 (process 0) runs an expert: k1, a 4-byte D2H copy into pinned memory + stream sync,
// k2, an 8-byte copy into pageable memory (blocks by itself), k3, then a sync partly after W.
// Thread 1 belongs to process 1, which runs nothing on the device: its sync is not listed.
const trace = () => buildTrace({
  processes: [{ globalPid: '1', pid: 1, name: 'app' }, { globalPid: '2', pid: 2, name: 'other app' }],
  threads: [
    { globalTid: '1', tid: 1, name: 'main', process: 0 },
    { globalTid: '2', tid: 2, name: 'other', process: 1 },
  ],
  nvtx: [
    { start: 0, end: 1000, text: 'expert 3', thread: 0 },
    { start: 100, end: 400, text: 'mask', thread: 0 },
  ],
  runtime: [
    { start: 10, end: 15, name: 'cudaLaunchKernel', correlationId: 1 },
    { start: 130, end: 135, name: 'cudaMemcpyAsync', correlationId: 2 },
    { start: 136, end: 160, name: 'cudaStreamSynchronize', correlationId: 3 },
    { start: 137, end: 158, name: 'cuStreamSynchronize', correlationId: 4, api: 'driver' },
    { start: 200, end: 210, name: 'cudaDeviceSynchronize', correlationId: 1, thread: 1, process: 1 },
    { start: 290, end: 295, name: 'cudaLaunchKernel', correlationId: 5 },
    { start: 500, end: 520, name: 'cudaMemcpyAsync', correlationId: 6 },
    { start: 590, end: 595, name: 'cudaLaunchKernel', correlationId: 7 },
    { start: 650, end: 720, name: 'cudaStreamSynchronize', correlationId: 8 },
    { start: 710, end: 712, name: 'cudaMemcpyAsync', correlationId: 9 },
    { start: 800, end: 820, name: 'cudaDeviceSynchronize', correlationId: 10 },
  ],
  kernels: [
    { start: 20, end: 120, correlationId: 1 },
    { start: 300, end: 400, correlationId: 5 },
    { start: 600, end: 700, correlationId: 7 },
  ],
  memcpy: [
    { start: 125, end: 140, correlationId: 2, bytes: 4, copyKind: D2H, srcKind: MemoryKind.Device, dstKind: MemoryKind.Pinned },
    { start: 505, end: 515, correlationId: 6, bytes: 8, copyKind: D2H, srcKind: MemoryKind.Device, dstKind: MemoryKind.Pageable },
    { start: 712, end: 714, correlationId: 9, bytes: 2, copyKind: D2H, srcKind: MemoryKind.Device, dstKind: MemoryKind.Pinned },
  ],
});

describe('host syncs', () => {
  it('lists each blocking call in W with its reason, copy, NVTX range and the GPU idle it covers', () => {
    const h = analyzeDevice(trace(), 0).hostSyncs;
    expect(h.calls).toEqual([
      {
        name: 'cudaStreamSynchronize', start: 136, end: 160, duration: 24, thread: 0, reason: 'explicit',
        precedingCopy: { bytes: 4, copyKind: D2H, srcKind: MemoryKind.Device, dstKind: MemoryKind.Pinned, pageable: false },
        nvtxRange: 'mask', gpuIdle: 24,
      },
      {
        name: 'cudaMemcpyAsync', start: 500, end: 520, duration: 20, thread: 0, reason: 'pageable-memcpy',
        precedingCopy: { bytes: 8, copyKind: D2H, srcKind: MemoryKind.Device, dstKind: MemoryKind.Pageable, pageable: true },
        nvtxRange: 'expert 3', gpuIdle: 20,
      },
      // overlaps W = [20,700] only partly; the copy at 710 comes after it, the pageable one was already waited for
      { name: 'cudaStreamSynchronize', start: 650, end: 720, duration: 70, thread: 0, reason: 'explicit', nvtxRange: 'expert 3', gpuIdle: 0 },
    ]);
    expect(h.count).toBe(3);
    expect(h.totalTime).toBe(114);
    expect(h.gpuIdle).toBe(44);
    expect(h.byName).toEqual([
      {
        name: 'cudaStreamSynchronize', count: 2, total: 94, gpuIdle: 24, afterCopy: 1, pageableCopies: 0, copyBytesMedian: 4,
        nvtxRanges: [{ name: 'mask', count: 1 }, { name: 'expert 3', count: 1 }],
      },
      {
        name: 'cudaMemcpyAsync', count: 1, total: 20, gpuIdle: 20, afterCopy: 1, pageableCopies: 1, copyBytesMedian: 8,
        nvtxRanges: [{ name: 'expert 3', count: 1 }],
      },
    ]);
    expect(h.byReason).toEqual([
      { reason: 'explicit', count: 2, total: 94, gpuIdle: 24 },
      { reason: 'pageable-memcpy', count: 1, total: 20, gpuIdle: 20 },
    ]);
    expect(h.omitted).toBe(0);
  });

  it('past the list limit, lists the calls over the most GPU idle time, in start order, and still totals every call', () => {
    const t = trace();
    const { segments } = resolveWindow(t, 0, {});
    const sel = selectOps(t, 0, segments, {});
    const idle = idleWithin(sel.start, sel.end, sel.count, segments);
    const all = hostSyncs(t, new Set([0]), segments, idle);
    const capped = hostSyncs(t, new Set([0]), segments, idle, undefined, undefined, 2);
    // gpuIdle 24, 20 and 0: the last is left out
    expect(capped.calls.map((c) => [c.start, c.gpuIdle])).toEqual([[136, 24], [500, 20]]);
    expect(capped.omitted).toBe(1);
    expect({ ...capped, calls: [], omitted: 0 }).toEqual({ ...all, calls: [], omitted: 0 });
    const one = hostSyncs(t, new Set([0]), segments, idle, undefined, undefined, 1);
    expect(one.calls.map((c) => c.start)).toEqual([136]);
    expect(one.omitted).toBe(2);
  });

  it('agrees with the gap classification', () => {
    const d = analyzeDevice(trace(), 0);
    expect(d.gaps.gaps.map((g) => [g.start, g.end, g.class, g.syncCall])).toEqual([
      [120, 300, 'sync-stall', 'cudaStreamSynchronize'],
      [400, 600, 'sync-stall', 'cudaMemcpyAsync'],
    ]);
  });

  it('counts GPU idle once when syncs on two threads overlap, and names synchronous copies and frees', () => {
    const t = buildTrace({
      threads: [
        { globalTid: '1', tid: 1, name: 'a', process: 0 },
        { globalTid: '2', tid: 2, name: 'b', process: 0 },
      ],
      runtime: [
        { start: 0, end: 5, name: 'cudaLaunchKernel', correlationId: 1 },
        { start: 20, end: 40, name: 'cudaMemcpy', correlationId: 2, thread: 0 },
        { start: 30, end: 50, name: 'cudaFree', correlationId: 3, thread: 1 },
        { start: 55, end: 60, name: 'cudaLaunchKernel', correlationId: 4 },
      ],
      kernels: [{ start: 6, end: 25, correlationId: 1 }, { start: 60, end: 70, correlationId: 4 }],
      memcpy: [{ start: 25, end: 30, correlationId: 2, bytes: 64, copyKind: D2H, dstKind: MemoryKind.Pageable }],
    });
    const h = analyzeDevice(t, 0).hostSyncs;
    expect(h.calls.map((c) => [c.name, c.reason, c.gpuIdle, c.precedingCopy?.bytes, c.nvtxRange])).toEqual([
      ['cudaMemcpy', 'sync-memcpy', 15, 64, undefined],
      ['cudaFree', 'free', 20, undefined, undefined],
    ]);
    expect(h.gpuIdle).toBe(25);
  });
});
