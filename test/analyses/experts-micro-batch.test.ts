/**
 * "experts mb1" is micro-batch 1's expert phase, not expert 1: on the EP fixtures the expert
 * analysis reported "2 experts (NVTX "experts mb#")" for a layer of 64.
 */
import { describe, expect, it } from 'vitest';
import { buildTrace, type KernelRow, type NvtxRow, type RuntimeRow } from '../../src/model/build.js';
import { buildReport } from '../../src/report/build.js';
import { expertsLine } from '../../src/render/experts-text.js';

/** `iterations` forwards, each two micro-batches whose "experts mb#" phase holds `experts` "expert N" ranges of one GEMM. */
function twoMicroBatches(iterations: number, experts: number, phaseOnly = false) {
  const nvtx: NvtxRow[] = [];
  const runtime: RuntimeRow[] = [];
  const kernels: KernelRow[] = [];
  let c = 1;
  let t = 0;
  for (let i = 0; i < iterations; i++) {
    const it0 = t;
    for (let mb = 0; mb < 2; mb++) {
      const p0 = t;
      for (let e = 0; e < experts; e++) {
        if (!phaseOnly) nvtx.push({ start: t, end: t + 10, text: `expert ${e}` });
        runtime.push({ start: t + 1, end: t + 2, name: 'cudaLaunchKernel', correlationId: c });
        kernels.push({ start: t + 3, end: t + 3 + (e === 0 ? 9 : 6), name: 'gemm_expert', correlationId: c++ });
        t += 20;
      }
      nvtx.push({ start: p0, end: t, text: `experts mb${mb}` });
    }
    nvtx.push({ start: it0, end: t, text: `forward ${i}` });
    t += 100;
  }
  return buildTrace({ nvtx, runtime, kernels });
}

describe('experts and micro-batches', () => {
  it('takes the "expert N" ranges, not the micro-batch phases, as the experts', () => {
    const d = buildReport(twoMicroBatches(3, 4)).devices[0];
    expect(d.experts).toMatchObject({ source: 'nvtx', rangeName: 'expert #', count: 4 });
    // expert 0 is the straggler in each of the 6 passes (2 micro-batches × 3 forwards)
    expect(d.experts!.stragglers).toHaveLength(6);
    expect(expertsLine(d)).toMatch(/straggler expert 0: 9 ns vs median 6 ns, 6 of 6 passes over the experts \(2 per iteration\)$/);
  });
  it('a micro-batch number alone names no expert', () => {
    const d = buildReport(twoMicroBatches(3, 4, true)).devices[0];
    expect(d.experts?.rangeName ?? null).not.toBe('experts mb#');
  });
});
