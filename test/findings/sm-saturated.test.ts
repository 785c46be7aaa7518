import { describe, expect, it } from 'vitest';
import { findingsOf, grouped, ids, saturated, streamsSync, streamsTiny, US } from './scenarios.js';

describe('sm-saturated', () => {
  it('fires when every expert GEMM fills all SMs and streams overlap only in tails', () => {
    const fs = findingsOf(saturated(8, 2));
    const f = fs.find((x) => x.id === 'sm-saturated')!;
    expect(fs[0]).toBe(f);
    expect(f.title).toBe("Kernels fill every SM: big_expert_gemm's 2,112 blocks take 1.0 waves on 132 SMs (16 fit per SM), so 2 streams overlap only 0.5% of the busy time");
    // 16 kernels of 1005 µs back to back, consecutive ones sharing 5 µs: alone 16 × 1005 - 2 × 15 × 5 µs
    expect(f.costNs).toBe((16 * 1005 - 2 * 15 * 5) * US);
    expect(f.evidence[1]).toBe('big_expert_gemm: 16 launches, median 2,112 blocks, 16 resident per SM (limited by threads per SM), 1.00 waves, 16.08 ms.');
  });
  it('does not fire for kernels smaller than one wave, or on a single stream', () => {
    expect(ids(findingsOf(saturated(8, 2, 1000)))).not.toContain('sm-saturated');
    expect(ids(findingsOf(grouped()))).not.toContain('sm-saturated');
    expect(ids(findingsOf(streamsSync()))).not.toContain('sm-saturated');
    expect(ids(findingsOf(streamsTiny()))).not.toContain('sm-saturated');
  });
});
