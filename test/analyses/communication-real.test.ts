/**
 * devices[].communication on real captures (issue 17). The expert-parallel dry run
 * (fixtures/nsys-2025.3-ep1: ep_moe.py at world size 1 on one H200, NCCL 2.28.9) has no NCCL
 * kernel: at world size 1 NCCL's all-to-all is one cudaMemcpyAsync inside its `ncclAlltoAll`
 * NVTX range, so those copies are the communication. Figures checked independently with
 * SQL over the export (copies whose launch call lies in an ncclAlltoAll range on the same thread;
 * exposed = |their union \ union of all kernels|).
 */
import { describe, expect, it } from 'vitest';
import { readNsysSqlite } from '../../src/readers/nsys-sqlite.js';
import { buildReport } from '../../src/report/build.js';

const EP = 'fixtures/nsys-2025.3-ep1';
const comm = (schedule: string) => {
  const r = buildReport(readNsysSqlite(`${EP}/ep-${schedule}-rank0.sqlite`));
  expect(r.devices).toHaveLength(1);
  return r.devices[0].communication!;
};

describe('communication on the expert-parallel dry run (nsys)', () => {
  it('serialized: the 10 all-to-all copies (5 forwards × dispatch + combine) are all exposed', () => {
    const c = comm('serialized');
    expect(c).toMatchObject({ kernelCount: 10, busy: 37343, exposed: 37343, hiddenShare: 0, syncOnly: 0 });
    expect(c.kernels).toEqual([{ name: '[CUDA memcpy]', class: 'communication', family: 'NCCL: ncclAlltoAll', source: 'NVTX range', count: 10, time: 37343, exposed: 37343 }]);
    expect(c.byPhase.map((p) => [p.phase, p.microBatch, p.kernels])).toEqual([['dispatch', 0, 5], ['combine', 0, 5]]);
    expect(c.byPhase[0].busy + c.byPhase[1].busy).toBe(37343);
    expect(c.collectives.names).toEqual(['NCCL: ncclAlltoAll']);
    expect(c.collectives.start).toHaveLength(10);
    // the other copies stay memory operations; no kernel is communication
    expect(c.classes.map((k) => [k.class, k.count])).toEqual([['communication', 10], ['compute', 1420], ['memory', 325]]);
  });

  it('overlapped: two micro-batches, 20 copies, each phase and micro-batch apart', () => {
    const c = comm('overlapped');
    expect(c).toMatchObject({ kernelCount: 20, busy: 43680, exposed: 43680, hiddenShare: 0 });
    expect(c.byPhase.map((p) => [p.phase, p.microBatch, p.kernels, p.busy])).toEqual([
      ['dispatch', 0, 5, 11456], ['dispatch', 1, 5, 11776], ['combine', 0, 5, 10272], ['combine', 1, 5, 10176],
    ]);
  });

  it('grouped: the grouped GEMM is the expert-GEMM class', () => {
    const c = comm('grouped');
    expect(c).toMatchObject({ kernelCount: 10, busy: 36480, exposed: 36480 });
    const gemm = c.classes.find((k) => k.class === 'expert-gemm')!;
    expect(gemm).toMatchObject({ count: 10, names: 1 });
    expect(gemm.top[0]).toMatchObject({ name: 'device_kernel', family: 'grouped GEMM' });
  });
});
