import { describe, expect, it } from 'vitest';
import { findingsOf, grouped, ids, saturated, streamsSync, streamsTiny, US } from './scenarios.js';

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
  it('does not fire when syncs, not launches, leave the GPU idle, nor when kernels are long', () => {
    expect(ids(findingsOf(streamsSync()))).not.toContain('launch-bound');
    expect(ids(findingsOf(saturated()))).not.toContain('launch-bound');
    expect(ids(findingsOf(grouped()))).not.toContain('launch-bound');
  });
});
