import { describe, expect, it } from 'vitest';
import { MemcpyKind, MemoryKind } from '../../src/model/trace.js';
import { findingsOf, grouped, ids, Rows, saturated, streamsSync, streamsTiny, US } from './scenarios.js';

describe('no-overlap-despite-streams', () => {
  it('states the symptom and names the findings that explain it', () => {
    const f = findingsOf(streamsSync(8, 2)).find((x) => x.id === 'no-overlap-despite-streams')!;
    expect(f.title).toBe('8 streams ran kernels, but no two kernels ever ran at the same time');
    expect(f.costNs).toBe(0);
    expect(f.evidence.at(-1)).toBe('Explained by: host-sync-stall (34.1% of the window).');
  });
  it('does not fire on one stream or when streams overlap', () => {
    expect(ids(findingsOf(grouped()))).not.toContain('no-overlap-despite-streams');
    const r = new Rows();
    for (let i = 0; i < 20; i++) r.launch(i * 10 * US, i * 10 * US + 1, { start: i * 10 * US, end: i * 10 * US + 15 * US, streamId: 13 + (i % 2) });
    expect(ids(findingsOf(r.trace()))).not.toContain('no-overlap-despite-streams');
  });
});

describe('many-small-kernels', () => {
  /** 200 kernels of 5 µs per iteration on one stream, queued ahead: the GPU is fed but each kernel is tiny. */
  function fedTinyKernels(withGaps: boolean) {
    const r = new Rows();
    for (let i = 0; i < 2; i++) {
      const it0 = i * 2000 * US;
      r.nvtx.push({ start: it0, end: it0 + 100 * US, text: `step ${i}` });
      for (let k = 0; k < 200; k++) {
        const t = it0 + k * (withGaps ? 7 : 5) * US;
        r.launch(it0 + k * 400, it0 + k * 400 + 300, { start: t + 200 * US, end: t + 205 * US, name: k % 2 ? 'act' : 'gemm' });
      }
    }
    return r.trace();
  }
  it('fires on hundreds of tiny kernels per iteration, costing the gaps the GPU caused', () => {
    const f = findingsOf(fedTinyKernels(true)).find((x) => x.id === 'many-small-kernels')!;
    expect(f.title).toBe('200 kernels per iteration, 5.000 µs each (median): every launch costs about as much as the work it carries');
    // 199 gaps of 2 µs per iteration with the kernel launched long before (gpu-side); the gap
    // between iterations waits for the next iteration's launches (host-wait) and is not counted
    expect(f.costNs).toBe(2 * 199 * 2 * US);
    expect(f.evidence[0]).toBe('400 kernels, 2.000 ms of kernel time; most launched: act × 200, gemm × 200.');
  });
  it('does not fire for few kernels, long kernels, or when launch-bound already says it', () => {
    expect(ids(findingsOf(grouped()))).not.toContain('many-small-kernels');
    expect(ids(findingsOf(saturated()))).not.toContain('many-small-kernels');
    expect(ids(findingsOf(streamsTiny()))).not.toContain('many-small-kernels');
  });
});

describe('pageable-memcpy', () => {
  it('fires on copies to pageable memory and costs the GPU idle time while they block', () => {
    const fs = findingsOf(streamsSync(8, 2, { pageable: true }));
    const f = fs.find((x) => x.id === 'pageable-memcpy')!;
    // 15 copies inside the window (the first precedes the first kernel)
    expect(f.title).toBe('15 copies use pageable host memory (60 B in total, 15 device-to-host): the host blocks on each and they cannot overlap kernels');
    // each 5 µs copy call sits in a 60 µs idle gap
    expect(f.costNs).toBe(15 * 5 * US);
    expect(f.fix).toMatch(/pinned host buffers/);
  });
  it('does not fire on pinned copies', () => {
    expect(ids(findingsOf(streamsSync()))).not.toContain('pageable-memcpy');
  });
});

describe('allocation-in-loop', () => {
  function allocating(calls: number, ranges = true) {
    const r = new Rows();
    for (let i = 0; i < 4; i++) {
      const t = i * 100 * US;
      if (ranges) r.nvtx.push({ start: t, end: t + 100 * US, text: `iteration ${i}` });
      r.launch(t, t + 5 * US, { start: t + 10 * US, end: t + 50 * US });
      if (i < calls) {
        r.call(t + 55 * US, t + 75 * US, 'cudaMalloc');
        r.call(t + 80 * US, t + 95 * US, 'cudaFree');
      }
    }
    return r.trace();
  }
  it('fires on cudaMalloc/cudaFree in every iteration and costs the idle time they overlap', () => {
    const f = findingsOf(allocating(4)).find((x) => x.id === 'allocation-in-loop')!;
    // the last iteration's calls fall after the last kernel, outside the window
    expect(f.title).toBe('cudaMalloc/cudaFree called 1.5 times per iteration (105.0 µs of host time): allocation stalls the host and cudaFree synchronizes the device');
    expect(f.costNs).toBe(3 * 35 * US);
    expect(f.evidence[0]).toBe('3 × cudaMalloc (60.00 µs), 3 × cudaFree (45.00 µs).');
    expect(f.measures).toEqual(expect.arrayContaining([
      { name: 'allocationCalls', value: 6, unit: 'count' }, { name: 'allocationTime', value: 105 * US, unit: 'ns' },
      { name: 'allocationCallsPerIteration', value: 1.5, unit: 'per-iteration' },
    ]));
  });
  it('without iterations, counts the window once ("6 times in the window", not "... in the window inside the window")', () => {
    const f = findingsOf(allocating(4, false)).find((x) => x.id === 'allocation-in-loop')!;
    expect(f.title).toBe('cudaMalloc/cudaFree called 6 times in the window (105.0 µs of host time): allocation stalls the host and cudaFree synchronizes the device');
  });
  it('does not fire on a single allocation', () => {
    const r = new Rows();
    r.launch(0, 1, { start: 0, end: 10 * US });
    r.call(20 * US, 30 * US, 'cudaMalloc');
    r.launch(40 * US, 41 * US, { start: 50 * US, end: 60 * US });
    expect(ids(findingsOf(r.trace()))).not.toContain('allocation-in-loop');
  });
});

describe('default-stream-serialization', () => {
  /** Streams 13 and 14 overlap each other; stream 7 kernels sit between them, each waiting 3 µs after its launch. */
  function withNullStream(nullStream: number) {
    const r = new Rows();
    for (let i = 0; i < 4; i++) {
      const t = i * 100 * US;
      r.launch(t - 50 * US, t - 49 * US, { start: t, end: t + 40 * US, streamId: 13 });
      r.launch(t - 48 * US, t - 47 * US, { start: t + 10 * US, end: t + 45 * US, streamId: 14 });
      r.launch(t - 46 * US, t - 45 * US, { start: t + 48 * US, end: t + 90 * US, streamId: nullStream });
    }
    return r.trace();
  }
  it('fires when the legacy default stream never overlaps streams that overlap each other', () => {
    const f = findingsOf(withNullStream(7)).find((x) => x.id === 'default-stream-serialization')!;
    expect(f.title).toBe('4 kernels run on the legacy default stream (stream 7), which waits for and blocks the 2 other streams: none of them ever overlaps it');
    // 3 µs before each stream-7 kernel, launched 90+ µs earlier
    expect(f.costNs).toBe(4 * 3 * US);
    expect(f.evidence[0]).toBe('The other streams overlap each other for 120.0 µs (summed over pairs) but the default stream for 0 ns.');
    expect(f.measures).toEqual(expect.arrayContaining([
      { name: 'defaultStreamKernels', value: 4, unit: 'count' }, { name: 'otherStreams', value: 2, unit: 'count' },
      { name: 'overlapAmongOtherStreams', value: 120 * US, unit: 'ns' }, { name: 'overlapWithDefaultStream', value: 0, unit: 'ns' },
    ]));
  });
  it('finds the same on GPU 0 when GPU 1 also ran kernels (the window\'s kernels are then a list of rows, not every kernel)', () => {
    const r = new Rows();
    for (let i = 0; i < 4; i++) {
      const t = i * 100 * US;
      r.launch(t - 50 * US, t - 49 * US, { start: t, end: t + 40 * US, streamId: 13 });
      r.launch(t - 48 * US, t - 47 * US, { start: t + 10 * US, end: t + 45 * US, streamId: 14 });
      r.launch(t - 46 * US, t - 45 * US, { start: t + 48 * US, end: t + 90 * US, streamId: 7 });
      r.launch(t - 44 * US, t - 43 * US, { start: t + 20 * US, end: t + 30 * US, streamId: 7, deviceId: 1 });
    }
    const one = findingsOf(withNullStream(7)).find((x) => x.id === 'default-stream-serialization')!;
    const two = findingsOf(r.trace()).find((x) => x.id === 'default-stream-serialization')!;
    expect(two).toEqual(one);
    expect(two.evidence[2]).toContain('4 of 12 kernels');
  });
  it('does not fire for a created stream, or with only the default stream', () => {
    expect(ids(findingsOf(withNullStream(15)))).not.toContain('default-stream-serialization');
    expect(ids(findingsOf(grouped()))).not.toContain('default-stream-serialization');
  });
});

describe('pageable and allocation kinds', () => {
  it('treats host-to-device pageable copies as pageable too', () => {
    const r = new Rows();
    r.launch(0, 1, { start: 0, end: 10 * US });
    r.copy(12 * US, 30 * US, { start: 15 * US, end: 25 * US, bytes: 1 << 20, copyKind: MemcpyKind.HtoD, srcKind: MemoryKind.Pageable, dstKind: MemoryKind.Device });
    r.launch(31 * US, 32 * US, { start: 40 * US, end: 50 * US });
    const f = findingsOf(r.trace()).find((x) => x.id === 'pageable-memcpy')!;
    expect(f.title).toBe('1 copy uses pageable host memory (1.0 MiB in total): the host blocks on it and it cannot overlap kernels');
  });
});

describe('no-overlap-despite-streams and many-small-kernels: expert advice only with experts', () => {
  it('no-overlap: "replace the per-expert loop" only where the loop is marked as experts', () => {
    const marked = findingsOf(streamsTiny()).find((x) => x.id === 'no-overlap-despite-streams')!;
    const plain = findingsOf(streamsTiny(64, 2, { expertRanges: false })).find((x) => x.id === 'no-overlap-despite-streams')!;
    expect(marked.fix).toMatch(/replace the per-expert loop with one grouped GEMM/);
    expect(plain.fix).toBe('Streams only overlap kernels that are queued at the same time and leave SMs free; remove what empties the queue (see the other findings).');
  });
  it('many-small-kernels: fuse and batch without experts; group the experts with them', () => {
    function tiny(expertRanges: boolean) {
      const r = new Rows();
      for (let i = 0; i < 2; i++) {
        const it0 = i * 2000 * US;
        r.nvtx.push({ start: it0, end: it0 + 100 * US, text: `step ${i}` });
        for (let k = 0; k < 200; k++) {
          const t = it0 + k * 7 * US;
          if (expertRanges) r.nvtx.push({ start: it0 + k * 400, end: it0 + k * 400 + 350, text: `expert ${k >> 1}` });
          r.launch(it0 + k * 400, it0 + k * 400 + 300, { start: t + 200 * US, end: t + 205 * US, name: k % 2 ? 'act' : 'gemm' });
        }
      }
      return r.trace();
    }
    const plain = findingsOf(tiny(false)).find((x) => x.id === 'many-small-kernels')!;
    const marked = findingsOf(tiny(true)).find((x) => x.id === 'many-small-kernels')!;
    expect(plain.costNs).toBe(marked.costNs);
    expect(plain.fix).not.toMatch(/expert|grouped/i);
    expect(plain.fix).toMatch(/^Fuse chains of small kernels/);
    expect(marked.fix).toMatch(/^Fuse the per-expert work: one grouped GEMM per projection/);
  });
});

describe('no-overlap-despite-streams with two streams', () => {
  it('says "the two streams never overlap", not "none of the 1 stream pairs"', () => {
    const r = new Rows();
    for (let j = 0; j < 20; j++) {
      const t = j * 50 * US;
      r.launch(t, t + 5 * US, { start: t + 10 * US, end: t + 20 * US, streamId: 13 + (j % 2), name: 'k' });
    }
    const f = findingsOf(r.trace()).find((x) => x.id === 'no-overlap-despite-streams')!;
    expect(f.title).toBe('2 streams ran kernels, but no two kernels ever ran at the same time');
    expect(f.evidence).toContain('The two streams never overlap.');
  });
});
