import { describe, expect, it } from 'vitest';
import { findingsOf, grouped, ids, Rows, streamsSync, streamsTiny, US } from './scenarios.js';

describe('host-sync-stall', () => {
  it('leads on the per-expert read-back loop, one sync per expert per iteration', () => {
    const fs = findingsOf(streamsSync(8, 2));
    const f = fs[0];
    expect(f.id).toBe('host-sync-stall');
    expect(f.title).toBe('The host blocks on cudaStreamSynchronize 8 times per iteration, each after a 4 B device-to-host copy (a size read back, as boolean-mask indexing does); the GPU idles until the next launch');
    // 16 experts in the window; 15 gaps of 60 µs between them, each ending while the host syncs:
    // the sync blocks 35 µs of each ([t+5, t+40]); the 25 µs before and after are not its
    expect(f.costNs).toBe(15 * 35 * US);
    expect(f.costNs).toBeLessThanOrEqual(525 * US); // the host time of the 15 syncs
    // the first expert's sync precedes the window, which starts at the first kernel
    expect(f.evidence[0]).toBe('15 blocking calls in the window: 15 × cudaStreamSynchronize (525.0 µs).');
    expect(f.costShare).toBeCloseTo((15 * 35) / (16 * 100 - 60 + 0), 12);
    expect(f.evidence).toContain('The host was blocked during 525.0 µs of GPU idle time (34.1% of the 1.540 ms window), in 15 idle gaps; the other 375.0 µs of those gaps came after the call returned (launching: host-wait).');
    expect(f.severity).toBe('high');
    expect(f.evidence).toContain('1 cudaStreamSynchronize per "expert #" range (16 ranges, 8 per iteration).');
    expect(f.evidence.some((e) => e.startsWith('15 of the 15 cudaStreamSynchronize calls follow a device-to-host copy (median 4 B)'))).toBe(true);
    expect(f.fix).toMatch(/^Stop reading per-expert results/);
  });
  it('the same read-back loop with nothing naming experts: the same cost, a fix that does not speak of experts', () => {
    const moe = findingsOf(streamsSync(8, 2)).find((x) => x.id === 'host-sync-stall')!;
    const f = findingsOf(streamsSync(8, 2, { expertRanges: false })).find((x) => x.id === 'host-sync-stall')!;
    expect(f.costNs).toBe(moe.costNs);
    expect(f.fix).toMatch(/^Stop reading small results back to the host inside the loop/);
    expect(f.fix).not.toMatch(/expert|grouped/i);
  });
  it('does not fire without syncs (launch-bound loop, grouped GEMM)', () => {
    expect(ids(findingsOf(streamsTiny()))).not.toContain('host-sync-stall');
    expect(ids(findingsOf(grouped()))).not.toContain('host-sync-stall');
  });
});

describe('host-sync-stall on cudaFree', () => {
  it('names the free, not stream ordering, as the fix (the ResNet trace got "order streams with cudaEventRecord")', () => {
    const r = new Rows();
    for (let i = 0; i < 8; i++) {
      const t = i * 100 * US;
      r.launch(t, t + 5 * US, { start: t + 10 * US, end: t + 40 * US, name: 'conv' });
      r.call(t + 40 * US, t + 90 * US, 'cudaFree');
    }
    const f = findingsOf(r.trace()).find((x) => x.id === 'host-sync-stall')!;
    expect(f.title).toMatch(/^The host blocks on cudaFree 7 times in the window/);
    expect(f.fix).toMatch(/^cudaFree waits for all work on the device before it frees: keep the buffers allocated across iterations/);
    expect(f.fix).not.toMatch(/cudaEventRecord/);
  });
});
