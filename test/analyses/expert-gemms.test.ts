import { describe, expect, it } from 'vitest';
import { buildTrace, type KernelRow, type NvtxRow, type RuntimeRow } from '../../src/model/build.js';
import { classifyKernels, refineExpertGemms } from '../../src/analyses/kernel-classes.js';
import { innermostRangeTexts } from '../../src/analyses/kernel-ranges.js';

function trace(launches: [string | null, string][]) {
  const nvtx: NvtxRow[] = [];
  const runtime: RuntimeRow[] = [];
  const kernels: KernelRow[] = [];
  launches.forEach(([range, name], c) => {
    if (range) nvtx.push({ start: 10 * c, end: 10 * c + 5, text: range });
    runtime.push({ start: 10 * c + 1, end: 10 * c + 2, name: 'cudaLaunchKernel', correlationId: c + 1 });
    kernels.push({ start: 100 + 10 * c, end: 105 + 10 * c, name, correlationId: c + 1 });
  });
  return buildTrace({ nvtx, runtime, kernels });
}

const classesOf = (t: ReturnType<typeof trace>) => {
  const c = classifyKernels(t);
  const moved = refineExpertGemms(t, c, (rows) => innermostRangeTexts(t, rows));
  return { moved, rows: Array.from(c.nameOf, (e) => [c.names[e].class, c.names[e].family]) };
};

describe('GEMMs launched in an expert range are expert GEMMs', () => {
  it('moves only GEMM-named, unmatched kernels inside a range naming an expert', () => {
    const t = trace([
      ['expert 3', 'nvjet_sm90_tst_64x40_64x16_4x2_h_bz_TNT'],
      ['expert 3', 'splitKreduce_kernel'],
      ['expert 3', 'reluKernel'],
      ['route', 'nvjet_sm90_tst_64x48_64x15_1x4_h_bz_NNT'],
      ['experts mb0', 'prepare_grouped_gemm_data'],
      [null, 'ampere_sgemm_128x64_nn'],
    ]);
    expect(classesOf(t)).toEqual({
      moved: 2,
      rows: [
        ['expert-gemm', 'GEMM in an expert range'], ['expert-gemm', 'GEMM in an expert range'], ['compute', 'other'],
        ['compute', 'other'], ['compute', 'grouped GEMM setup'], ['compute', 'other'],
      ],
    });
  });

  it('does nothing without expert ranges', () => {
    expect(classesOf(trace([['layer 0', 'ampere_sgemm_128x64_nn']])).moved).toBe(0);
  });
});
