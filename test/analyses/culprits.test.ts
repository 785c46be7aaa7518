import { describe, expect, it } from 'vitest';
import { buildTrace } from '../../src/model/build.js';
import { findCulprits } from '../../src/analyses/culprits.js';

describe('culprits from kernel names', () => {
  it('lists each pattern\'s names in order of first kernel with their counts, a name matching both in both, the window and device only', () => {
    const names = ['relu', 'cub::DeviceSelectSweepKernel', 'grouped_gemm_kernel', 'nonzero_grouped_mm', 'cub::DeviceSelectSweepKernel', 'relu', 'nonzero_kernel', 'grouped_gemm_kernel', 'DeviceCompactKernel'];
    const kernels = names.map((name, j) => ({ start: 100 * j, end: 100 * j + 50, name, correlationId: j + 1 }));
    // outside the window, and on another device: not counted
    kernels.push({ start: 5000, end: 5050, name: 'DeviceCompactKernel', correlationId: 100 });
    kernels.push({ start: 200, end: 250, name: 'nonzero_kernel', correlationId: 101, deviceId: 1 } as (typeof kernels)[number]);
    const trace = buildTrace({ kernels });
    const c = findCulprits(trace, 0, { start: 0, end: 1000 }, 2);
    const mask = c.find((x) => x.id === 'boolean-mask-indexing')!;
    expect(mask.evidence).toEqual(['cub::DeviceSelectSweepKernel', 'nonzero_grouped_mm', 'nonzero_kernel', 'DeviceCompactKernel']);
    // the most frequent name's count (2) per iteration
    expect(mask.perIteration).toBe(1);
    const grouped = c.find((x) => x.id === 'existing-grouped-gemm')!;
    expect(grouped.evidence).toEqual(['grouped_gemm_kernel', 'nonzero_grouped_mm']);
    expect(grouped.perIteration).toBe(1);
    expect(findCulprits(trace, 0, { start: 0, end: 90 }, null)).toEqual([]);
  });
});
