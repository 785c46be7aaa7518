import { describe, expect, it } from 'vitest';
import { buildTrace } from '../../src/model/build.js';
import { buildReport } from '../../src/report/build.js';
import { compareReports, renderComparison } from '../../src/commands/compare.js';

const NCCL = 'ncclDevKernel_SendRecv(ncclDevComm*, unsigned long, ncclWork*)';
const GEMM = 'sm90_xmma_gemm_bf16bf16_bf16f32';

describe('compare: communication per iteration', () => {
  it('lists communication, its exposed part and hidden share when a trace has any', () => {
    const serialized = buildReport(buildTrace({ kernels: [{ start: 0, end: 400, name: NCCL, streamId: 1 }, { start: 400, end: 1000, name: GEMM, streamId: 2 }] }));
    const overlapped = buildReport(buildTrace({ kernels: [{ start: 0, end: 400, name: NCCL, streamId: 1 }, { start: 100, end: 700, name: GEMM, streamId: 2 }] }));
    const plain = buildReport(buildTrace({ kernels: [{ start: 0, end: 600, name: GEMM }] }));
    const c = compareReports([serialized, overlapped, plain], ['serialized', 'overlapped', 'plain']);
    expect(c.traces.map((t) => [t.communicationPerIteration, t.exposedCommunicationPerIteration, t.communicationHiddenShare])).toEqual([
      [400, 400, 0], [400, 100, 0.75], [null, null, null],
    ]);
    const text = renderComparison(c);
    expect(text).toMatch(/exposed communication \/ iteration\s+400 ns\s+100 ns\s+n\/a/);
    expect(text).toMatch(/communication hidden share\s+0\.0%\s+75\.0%\s+n\/a/);
    expect(renderComparison(compareReports([plain, plain], ['a', 'b']))).not.toContain('communication');
  });
});
