import { describe, expect, it } from 'vitest';
import { buildTrace, LAUNCH_FIELDS, LaunchConfigTable } from '../../src/model/build.js';

const cfg = (gridX: number, blockX = 128, registersPerThread = 32): number[] => [gridX, 1, 1, blockX, 1, 1, registersPerThread, 0, 0];

describe('LaunchConfigTable', () => {
  it('gives each distinct configuration one index, in order of first intern', () => {
    const t = new LaunchConfigTable();
    const ids = [cfg(64), cfg(64), cfg(132), cfg(64), cfg(64, 256), cfg(132), cfg(64, 128, 40)].map((v) => t.intern(v));
    expect(ids).toEqual([0, 0, 1, 0, 2, 1, 3]);
    expect(t.configs).toEqual([
      { gridX: 64, gridY: 1, gridZ: 1, blockX: 128, blockY: 1, blockZ: 1, registersPerThread: 32, staticSharedMemory: 0, dynamicSharedMemory: 0 },
      { gridX: 132, gridY: 1, gridZ: 1, blockX: 128, blockY: 1, blockZ: 1, registersPerThread: 32, staticSharedMemory: 0, dynamicSharedMemory: 0 },
      { gridX: 64, gridY: 1, gridZ: 1, blockX: 256, blockY: 1, blockZ: 1, registersPerThread: 32, staticSharedMemory: 0, dynamicSharedMemory: 0 },
      { gridX: 64, gridY: 1, gridZ: 1, blockX: 128, blockY: 1, blockZ: 1, registersPerThread: 40, staticSharedMemory: 0, dynamicSharedMemory: 0 },
    ]);
  });

  it('tells apart configurations whose hashes collide', () => {
    // h = 31h + v per field: (gridX + 1, gridY - 31) keeps the hash of (gridX, gridY)
    const t = new LaunchConfigTable();
    const a = [5, 40, 1, 128, 1, 1, 32, 0, 0];
    const b = [6, 9, 1, 128, 1, 1, 32, 0, 0];
    expect([t.intern(a), t.intern(b), t.intern(a), t.intern(b)]).toEqual([0, 1, 0, 1]);
  });

  it('keeps every index as the table grows past its first slots, configurations switching every launch', () => {
    const t = new LaunchConfigTable();
    const n = 500;
    // first interns in order 0..n-1, then every configuration again, interleaved
    const first = Array.from({ length: n }, (_, i) => t.intern(cfg(i + 1, 32 * (i % 7 + 1))));
    expect(first).toEqual(Array.from({ length: n }, (_, i) => i));
    for (let k = 0; k < 3 * n; k++) {
      const i = (k * 7919) % n;
      expect(t.intern(cfg(i + 1, 32 * (i % 7 + 1)))).toBe(i);
    }
    expect(t.configs.length).toBe(n);
    expect(t.configs[321].gridX).toBe(322);
  });

  it('stores values as 32-bit integers, as Int32 columns did (-1: not recorded)', () => {
    const t = new LaunchConfigTable();
    const id = t.intern([2 ** 31, 1.9, -1, 2 ** 32 + 5, 1, 1, -1, -1, -1]);
    expect(t.configs[id]).toEqual({ gridX: -(2 ** 31), gridY: 1, gridZ: -1, blockX: 5, blockY: 1, blockZ: 1, registersPerThread: -1, staticSharedMemory: -1, dynamicSharedMemory: -1 });
    expect(t.intern([-(2 ** 31), 1, -1, 5, 1, 1, -1, -1, -1])).toBe(id);
  });

  it('LAUNCH_FIELDS name every field of a configuration', () => {
    const t = new LaunchConfigTable();
    t.intern(cfg(1));
    expect(Object.keys(t.configs[0])).toEqual([...LAUNCH_FIELDS]);
  });
});

describe('buildTrace launch configurations', () => {
  it('index Trace.launchConfigs per kernel, defaults included', () => {
    const trace = buildTrace({ kernels: [
      { start: 0, end: 1, grid: [64, 2, 1], block: [256, 1, 1], registersPerThread: 40, dynamicSharedMemory: 4096 },
      { start: 2, end: 3 },
      { start: 4, end: 5, grid: [64, 2, 1], block: [256, 1, 1], registersPerThread: 40, dynamicSharedMemory: 4096 },
    ] });
    expect(Array.from(trace.kernels.launchConfig)).toEqual([0, 1, 0]);
    expect(trace.launchConfigs[1]).toEqual({ gridX: 1, gridY: 1, gridZ: 1, blockX: 128, blockY: 1, blockZ: 1, registersPerThread: 32, staticSharedMemory: 0, dynamicSharedMemory: 0 });
    expect(trace.launchConfigs[0].dynamicSharedMemory).toBe(4096);
  });
});
