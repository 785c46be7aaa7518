import { describe, expect, it } from 'vitest';
import { buildTrace, type KernelRow, type NvtxRow, type RuntimeRow } from '../../src/model/build.js';
import { buildReport } from '../../src/report/build.js';

const NCCL = 'ncclDevKernel_SendRecv(ncclDevComm*, unsigned long, ncclWork*)';
const GEMM = 'sm90_xmma_gemm_bf16bf16_bf16f32';

function trace(ranges: [string, KernelRow][]) {
  const nvtx: NvtxRow[] = [];
  const runtime: RuntimeRow[] = [];
  const kernels: KernelRow[] = [];
  ranges.forEach(([text, k], c) => {
    nvtx.push({ start: 10 * c, end: 10 * c + 5, text });
    runtime.push({ start: 10 * c + 1, end: 10 * c + 2, name: 'cudaLaunchKernel', correlationId: c + 1 });
    kernels.push({ ...k, correlationId: c + 1 });
  });
  return buildTrace({ nvtx, runtime, kernels });
}

describe('exposed-communication: the fix fits what the trace shows', () => {
  it('two micro-batches already: check their order, not "split the batch"; a shared expert: its own stream', () => {
    const r = buildReport(trace([
      ['dispatch mb0', { start: 0, end: 300, name: NCCL, streamId: 1 }],
      ['dispatch mb1', { start: 300, end: 600, name: NCCL, streamId: 1 }],
      ['shared_expert', { start: 600, end: 700, name: GEMM, streamId: 2 }],
    ]));
    const f = r.findings.find((x) => x.id === 'exposed-communication')!;
    expect(f.costNs).toBe(600);
    expect(f.fix).toMatch(/micro-batches do not yet hide each other's communication/);
    expect(f.fix).not.toMatch(/split the batch in two/);
    expect(f.fix).toMatch(/Run the shared expert on its own stream/);
  });

  it('comm kernels slower beside compute than alone: fewer SMs for them, with the slowdown in the evidence', () => {
    const kernels: [string, KernelRow][] = [];
    // all-to-alls of 100 ns alone, 200 ns when a GEMM runs beside them
    for (let i = 0; i < 4; i++) kernels.push([`dispatch mb0`, { start: 1000 * i, end: 1000 * i + 100, name: NCCL, streamId: 1 }]);
    for (let i = 4; i < 8; i++) {
      kernels.push([`dispatch mb0`, { start: 1000 * i, end: 1000 * i + 200, name: NCCL, streamId: 1 }]);
      kernels.push([`experts mb1`, { start: 1000 * i, end: 1000 * i + 200, name: GEMM, streamId: 2 }]);
    }
    const r = buildReport(trace(kernels));
    const c = r.devices[0].communication!;
    expect(c.contention[0]).toMatchObject({ alone: { count: 4, median: 100 }, overlapped: { count: 4, median: 200 }, slowdown: 2 });
    const f = r.findings.find((x) => x.id === 'exposed-communication')!;
    expect(f.evidence.join(' ')).toMatch(/runs 2\.00x slower beside other kernels \(median 200 ns\) than alone \(100 ns\)/);
    expect(f.fix).toMatch(/Give the communication kernels fewer SMs/);
  });
});

describe('exposed-communication: a dense model gets no MoE advice', () => {
  it('an all-reduce in the backward pass: overlap by bucketing, no micro-batches, experts or DeepEP', () => {
    const ALLREDUCE = 'ncclDevKernel_AllReduce_Sum_f32_RING_LL(ncclDevComm*, unsigned long, ncclWork*)';
    const r = buildReport(trace([
      ['backward', { start: 0, end: 300, name: GEMM, streamId: 1 }],
      ['backward', { start: 300, end: 700, name: ALLREDUCE, streamId: 2 }],
    ]));
    const f = r.findings.find((x) => x.id === 'exposed-communication')!;
    expect(f.costNs).toBe(400);
    expect(f.fix).toMatch(/^Overlap the collectives with compute/);
    expect(f.fix).toMatch(/bucket_cap_mb/);
    expect(f.fix).not.toMatch(/expert|micro-batch|DeepEP|TBO/i);
  });
});
