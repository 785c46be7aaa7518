import { describe, expect, it } from 'vitest';
import { findingsOf, grouped, ids, saturated, streamsSync, streamsTiny, US } from './scenarios.js';

describe('sm-saturated', () => {
  it('fires when every expert GEMM fills all SMs and streams overlap only in tails', () => {
    const fs = findingsOf(saturated(8, 2));
    const f = fs.find((x) => x.id === 'sm-saturated')!;
    expect(fs[0]).toBe(f);
    expect(f.title).toBe("Kernels fill every SM: big_expert_gemm's 2,112 blocks take 1.0 waves on 132 SMs (16 fit per SM), so 2 streams overlap only 0.5% of the busy time");
    // Held back behind the other stream's saturating kernel (ready = launch end or the stream's previous kernel end):
    // iteration 0: kernel 1 waits [0, 1000] µs, kernels 2..7 each 995 µs (ready at their stream's previous end + 5 µs);
    // iteration 1: kernel 8 is launched at 7105 µs and waits until 8000 (895 µs), kernels 9..15 995 µs each.
    expect(f.costNs).toBe((1000 + 6 * 995 + 895 + 7 * 995) * US);
    expect(f.evidence[1]).toBe('big_expert_gemm: 16 launches, median 2,112 blocks, 16 resident per SM (limited by threads per SM), 1.00 waves, 16.08 ms.');
    // nothing in the trace says these kernels are experts: no advice about experts
    expect(f.fix).toBe('More streams cannot speed this up: each kernel already occupies all 132 SMs, so make the kernels themselves faster or smaller.');
  });
  it('with NVTX expert ranges, the fix adds the grouped GEMM over the experts', () => {
    const plain = findingsOf(saturated(8, 2)).find((x) => x.id === 'sm-saturated')!;
    const f = findingsOf(saturated(8, 2, 2112, { expertRanges: true })).find((x) => x.id === 'sm-saturated')!;
    expect(f.costNs).toBe(plain.costNs);
    expect(f.fix).toMatch(/For the experts, one grouped GEMM over all of them replaces the streams/);
  });
  it('stays silent when nothing was queued behind the saturating kernels', () => {
    // the same kernels, but each launched only after the previous one ended (a host sync in between)
    const t = saturated(8, 1);
    const k = t.kernels;
    for (let r = 0; r < t.runtime.count; r++) {
      const i = Array.from(k.correlationId).indexOf(t.runtime.correlationId[r]);
      const prevEnd = i > 0 ? k.end[i - 1] : k.start[i] - 10 * US;
      t.runtime.start[r] = prevEnd + 1 * US;
      t.runtime.end[r] = prevEnd + 2 * US;
      k.start[i] = Math.max(k.start[i], prevEnd + 3 * US);
    }
    expect(ids(findingsOf(t))).not.toContain('sm-saturated');
  });
  it('does not fire for kernels smaller than one wave, or on a single stream', () => {
    expect(ids(findingsOf(saturated(8, 2, 1000)))).not.toContain('sm-saturated');
    expect(ids(findingsOf(grouped()))).not.toContain('sm-saturated');
    expect(ids(findingsOf(streamsSync()))).not.toContain('sm-saturated');
    expect(ids(findingsOf(streamsTiny()))).not.toContain('sm-saturated');
  });
});
