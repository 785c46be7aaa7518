import { describe, expect, it } from 'vitest';
import { findingsOf, grouped, ids, Rows, saturated, streamsSync, streamsTiny, US } from './scenarios.js';
import { MemcpyKind, MemoryKind } from '../../src/model/trace.js';

describe('launch-bound', () => {
  it('fires on tiny experts that run faster than the CPU launches them', () => {
    const fs = findingsOf(streamsTiny(64, 2));
    expect(fs[0].id).toBe('launch-bound');
    const f = fs[0];
    expect(f.title).toBe('Kernels run 8.000 µs (median) but the CPU issues one every 65.00 µs: the GPU sits waiting for launches');
    // 127 gaps of 57 µs between 128 kernels, each ended by a launch that began after the gap
    expect(f.costNs).toBe(127 * 57 * US);
    expect(f.costShare).toBeCloseTo((127 * 57) / (127 * 65 + 8), 12);
    expect(f.evidence).toContain('64 kernels per iteration over 2 iterations ("iteration #").');
    expect(f.fix).toMatch(/grouped GEMM.*CUDA graph/);
  });
  it('advises grouping experts only where the trace has experts: the same loop unmarked gets the generic fix', () => {
    const marked = findingsOf(streamsTiny(64, 2)).find((x) => x.id === 'launch-bound')!;
    const plain = findingsOf(streamsTiny(64, 2, { expertRanges: false })).find((x) => x.id === 'launch-bound')!;
    // the ranges change the advice, not the measurement
    expect(plain.costNs).toBe(marked.costNs);
    expect(plain.title).toBe(marked.title);
    expect(marked.fix).toMatch(/run all experts as one grouped GEMM/);
    expect(plain.fix).not.toMatch(/expert|grouped/i);
    expect(plain.fix).toMatch(/CUDA graph.*fuse chains of small kernels.*larger batch/);
  });
  it('says how much of the idle time copies ran in (kmeans: 370.9 ms of copies inside 1.616 s "waiting for launches")', () => {
    const r = new Rows();
    for (let j = 0; j < 20; j++) {
      const t = j * 2000 * US;
      r.launch(t, t + 5 * US, { start: t + 10 * US, end: t + 110 * US, name: 'solver_step' });
      // a 500 µs copy after each kernel, inside the next idle gap (the last one after the window)
      r.copy(t + 200 * US, t + 800 * US, { start: t + 300 * US, end: t + 800 * US, bytes: 8 << 20, copyKind: MemcpyKind.DtoH, srcKind: MemoryKind.Device, dstKind: MemoryKind.Pinned });
    }
    const f = findingsOf(r.trace()).find((x) => x.id === 'launch-bound')!;
    expect(f.evidence).toContain('Copies (memcpy/memset) ran during 9.500 ms of the GPU\'s idle time between kernels: the copy engines were busy then, and the host may have been issuing them (--include-transfers counts copies as GPU work).');
    // without copies, no such line
    expect(findingsOf(streamsTiny()).find((x) => x.id === 'launch-bound')!.evidence.join(' ')).not.toMatch(/Copies \(memcpy/);
  });
  it('on an AMD GPU the graph is a HIP graph (the MI250 trace was told cudaStreamBeginCapture)', () => {
    const t = streamsTiny(64, 2, { expertRanges: false });
    t.gpus[0] = { ...t.gpus[0], name: 'AMD Instinct MI250X' };
    const f = findingsOf(t).find((x) => x.id === 'launch-bound')!;
    expect(f.fix).toMatch(/capture the iteration once as a HIP graph \(hipStreamBeginCapture, torch\.cuda\.CUDAGraph/);
    expect(f.fix).not.toMatch(/cudaStreamBeginCapture|CUDA graph/);
  });
  it('kernels issued milliseconds apart: the fix names the host work between launches, not launch overhead', () => {
    // 20 kernels of 100 µs, one every 2 ms: the host does 1.9 ms of other work between launches
    const r = new Rows();
    for (let j = 0; j < 20; j++) {
      const t = j * 2000 * US;
      r.launch(t, t + 5 * US, { start: t + 10 * US, end: t + 110 * US, name: 'solver_step' });
    }
    const f = findingsOf(r.trace()).find((x) => x.id === 'launch-bound')!;
    expect(f.title).toBe('Kernels run 100.0 µs (median) but the CPU issues one every 2.000 ms: the GPU sits waiting for launches');
    expect(f.fix).toMatch(/^The host issues a kernel only every 2\.000 ms, far more than a launch costs: the time goes to other host work/);
    expect(f.fix).toMatch(/a CUDA graph alone does not remove it/);
    expect(f.fix).not.toMatch(/expert/i);
    // 19 gaps of 1.9 ms, all waiting on the host
    expect(f.costNs).toBe(19 * 1900 * US);
    expect(f.evidence[0]).toMatch(/in 19 idle gaps\.$/);
  });
  it('does not fire when syncs, not launches, leave the GPU idle, nor when kernels are long', () => {
    expect(ids(findingsOf(streamsSync()))).not.toContain('launch-bound');
    expect(ids(findingsOf(saturated()))).not.toContain('launch-bound');
    expect(ids(findingsOf(grouped()))).not.toContain('launch-bound');
  });
});
