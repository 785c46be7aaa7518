import { describe, expect, it } from 'vitest';
import { buildTrace } from '../../src/model/build.js';
import { analyzeSmFill, kernelFill, smLimits, type KernelShape, type SmLimits } from '../../src/analyses/sm-fill.js';
import type { GpuInfo } from '../../src/model/trace.js';
import { emptyGpu } from '../../src/model/build.js';

/** H200 as nsys 2025 records it in TARGET_INFO_GPU. */
const h200: GpuInfo = {
  ...emptyGpu(0), name: 'NVIDIA H200', smCount: 132, computeCapability: { major: 9, minor: 0 },
  maxThreadsPerSm: 2048, maxBlocksPerSm: 32, maxRegistersPerSm: 65536, maxRegistersPerBlock: 65536,
  maxSharedMemoryPerSm: 233472, maxSharedMemoryPerBlock: 232448, threadsPerWarp: 32,
};
const limits = smLimits(h200) as SmLimits;

function shape(block: number, regs: number, staticSmem = 0, dynamicSmem = 0, grid = 1): KernelShape {
  return {
    gridX: grid, gridY: 1, gridZ: 1, blockX: block, blockY: 1, blockZ: 1,
    registersPerThread: regs, staticSharedMemory: staticSmem, dynamicSharedMemory: dynamicSmem,
  };
}

describe('smLimits', () => {
  it('takes every value from the trace when it has them', () => {
    expect(limits.source).toBe('trace');
    expect(limits.smCount).toBe(132);
    expect(limits.reservedSharedMemoryPerBlock).toBe(1024);
    expect(limits.sharedMemoryAllocationUnit).toBe(128);
  });
  it('falls back to the compute-capability table and the SM count by product name', () => {
    const t4 = smLimits({ ...emptyGpu(0), name: 'Tesla T4', computeCapability: { major: 7, minor: 5 } }) as SmLimits;
    expect(t4.source).toBe('table');
    expect(t4).toMatchObject({ smCount: 40, maxThreadsPerSm: 1024, maxBlocksPerSm: 16, maxSharedMemoryPerSm: 65536, reservedSharedMemoryPerBlock: 0, sharedMemoryAllocationUnit: 256 });
    const h100pcie = smLimits({ ...emptyGpu(0), name: 'NVIDIA H100 PCIe', computeCapability: { major: 9, minor: 0 } });
    expect(h100pcie?.smCount).toBe(114);
  });
  it('mixes trace and table, and uses the closest lower minor revision', () => {
    const l = smLimits({ ...emptyGpu(0), name: 'x', smCount: 20, computeCapability: { major: 10, minor: 3 } }) as SmLimits;
    expect(l.source).toBe('trace+table');
    expect(l.maxThreadsPerSm).toBe(2048); // the 10.0 row
    expect(l.maxSharedMemoryPerSm).toBe(228 * 1024);
  });
  it('is null when neither the trace nor the table knows the architecture', () => {
    expect(smLimits({ ...emptyGpu(0), name: 'mystery' })).toBeNull();
    expect(smLimits(undefined)).toBeNull();
  });
});

describe('kernelFill on an H200', () => {
  it('warps and registers tie at 16 blocks of 128 threads: one full wave at 2112 blocks', () => {
    const f = kernelFill(shape(128, 32, 0, 0, 2112), limits);
    expect(f).toEqual({ blocks: 2112, threadsPerBlock: 128, residentBlocksPerSm: 16, limit: 'warps', waves: 1 });
  });
  it('registers bind at 128 per thread: 2 blocks of 256 threads per SM', () => {
    const f = kernelFill(shape(256, 128, 49152, 0, 64), limits);
    expect(f.residentBlocksPerSm).toBe(2);
    expect(f.limit).toBe('registers');
    expect(f.waves).toBeCloseTo(64 / 264, 12);
  });
  it('rounds registers per warp up to 256: 33 registers cost like 40', () => {
    // 33 × 32 = 1056 → 1280 per warp; 16384 / 1280 = 12 warps per sub-partition → 48 warps → 6 blocks of 8 warps
    const f = kernelFill(shape(256, 33), limits);
    expect(f.residentBlocksPerSm).toBe(6);
    expect(f.limit).toBe('registers');
  });
  it('shared memory binds with 100 KB dynamic plus the 1 KB reserved per block', () => {
    // (102400 + 1024) rounded to 128 = 103424; 233472 / 103424 = 2
    const f = kernelFill(shape(128, 32, 0, 102400, 528), limits);
    expect(f.residentBlocksPerSm).toBe(2);
    expect(f.limit).toBe('sharedMemory');
    expect(f.waves).toBe(2);
  });
  it('the per-SM block cap binds for tiny blocks', () => {
    const f = kernelFill(shape(32, 16), limits);
    expect(f.residentBlocksPerSm).toBe(32);
    expect(f.limit).toBe('blocks');
  });
  it('counts one block when our limits say none fits (the kernel did run)', () => {
    const f = kernelFill(shape(128, 32, 0, 300 * 1024), limits);
    expect(f.residentBlocksPerSm).toBe(1);
    expect(f.limit).toBe('sharedMemory');
  });
  it('has no waves without an SM count', () => {
    const f = kernelFill(shape(128, 32, 0, 0, 10), { ...limits, smCount: null });
    expect(f.waves).toBeNull();
    expect(f.residentBlocksPerSm).toBe(16);
  });
});

describe('analyzeSmFill', () => {
  const trace = buildTrace({
    gpus: [h200],
    kernels: [
      // gemm: 2112 blocks of 128 threads → 1 wave each
      { start: 0, end: 100, name: 'gemm', grid: [2112, 1, 1], block: [128, 1, 1], registersPerThread: 32 },
      { start: 200, end: 300, name: 'gemm', grid: [2112, 1, 1], block: [128, 1, 1], registersPerThread: 32 },
      // act: 132 blocks → 1/16 wave
      { start: 100, end: 120, name: 'act', grid: [132, 1, 1], block: [128, 1, 1], registersPerThread: 32 },
      { start: 300, end: 330, name: 'act', grid: [132, 1, 1], block: [128, 1, 1], registersPerThread: 32 },
      { start: 0, end: 50, deviceId: 1, name: 'other' },
    ],
  });
  it('summarises per kernel name, most kernel time first', () => {
    const r = analyzeSmFill(trace, 0);
    expect(r.kernelCount).toBe(4);
    expect(r.kernelTime).toBe(250);
    expect(r.fullKernelCount).toBe(2);
    expect(r.fullKernelTime).toBe(200);
    expect(r.fullTimeShare).toBe(0.8);
    expect(r.byName.map((s) => s.name)).toEqual(['gemm', 'act']);
    expect(r.byName[0]).toEqual({ name: 'gemm', count: 2, kernelTime: 200, medianBlocks: 2112, residentBlocksPerSm: 16, limit: 'warps', medianWaves: 1, fullShare: 1 });
    expect(r.byName[1]).toMatchObject({ count: 2, kernelTime: 50, medianWaves: 1 / 16, fullShare: 0 });
  });
  it('clips to the window', () => {
    const r = analyzeSmFill(trace, 0, { start: 50, end: 250 });
    // gemm [0,100] → 50, gemm [200,300] → 50, act [100,120] → 20; act [300,330] is outside
    expect(r.kernelCount).toBe(3);
    expect(r.kernelTime).toBe(120);
    expect(r.fullKernelTime).toBe(100);
  });
  it('reports unknown waves when the GPU is unknown', () => {
    const r = analyzeSmFill(buildTrace({ kernels: [{ start: 0, end: 10 }] }), 0);
    expect(r.limits).toBeNull();
    expect(r.fullTimeShare).toBeNull();
    expect(r.byName[0]).toMatchObject({ medianWaves: null, fullShare: null, residentBlocksPerSm: null, limit: null });
  });
  it('takes medians over every kernel of a name across its launch configurations (ties, even counts)', () => {
    // 'moe': grids 264 ×3, 2112 ×1, 528 ×2, launched interleaved; 6 kernels, so the median
    // interpolates between sorted ranks 2 and 3: [264, 264, 264, 528, 528, 2112] → (264 + 528) / 2
    const grids = [264, 2112, 264, 528, 264, 528];
    const t = buildTrace({
      gpus: [h200],
      kernels: grids.map((g, i) => ({ start: i * 10, end: i * 10 + 5, name: 'moe', grid: [g, 1, 1] as [number, number, number], block: [128, 1, 1] as [number, number, number], registersPerThread: 32 })),
    });
    const r = analyzeSmFill(t, 0).byName[0];
    expect(r.count).toBe(6);
    expect(r.medianBlocks).toBe(396);
    // 16 blocks resident per SM × 132 SMs = 2112 blocks per wave
    expect(r.medianWaves).toBe((264 / 2112 + 528 / 2112) / 2);
    expect(r.fullShare).toBe(1 / 6);
    // the most frequent configuration (grid 264) sets the fill
    expect(r.residentBlocksPerSm).toBe(16);
    const odd = analyzeSmFill(t, 0, { start: 0, end: 45 }).byName[0];
    // first five kernels: [264, 264, 264, 528, 2112] → 264
    expect(odd.medianBlocks).toBe(264);
  });
});
