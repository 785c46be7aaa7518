import { describe, expect, it } from 'vitest';
import { buildTrace, type KernelRow, type MemcpyRow, type NvtxRow, type RuntimeRow } from '../../src/model/build.js';
import { classifyKernels, type KernelClass } from '../../src/analyses/kernel-classes.js';
import { analyzeCommunication } from '../../src/analyses/communication.js';
import { microBatchOfText, phaseOfText } from '../../src/analyses/phases.js';
import type { Window } from '../../src/report/types.js';
import { MemcpyKind } from '../../src/model/trace.js';

const NCCL = 'ncclDevKernel_SendRecv(ncclDevComm*, unsigned long, ncclWork*)';
const GEMM = 'sm90_xmma_gemm_bf16bf16_bf16f32';

function classOf(name: string, demangledName?: string): { class: KernelClass; family: string } {
  const t = buildTrace({ kernels: [{ start: 0, end: 1, name, demangledName }] });
  const c = classifyKernels(t);
  const e = c.names[c.nameOf[0]];
  return { class: e.class, family: e.family };
}

describe('kernel classes', () => {
  it.each([
    ['ncclKernel_AllReduce_RING_LL_Sum_float(ncclDevComm*, unsigned long, ncclWork*)', undefined, 'communication', 'NCCL'],
    ['ncclDevKernel_AllGather_RING_LL', 'ncclDevKernel_AllGather_RING_LL(ncclDevComm *, unsigned long, ncclWork *)', 'communication', 'NCCL'],
    ['rccl_kernel_AllToAll', undefined, 'communication', 'RCCL'],
    ['dispatch', 'void deep_ep::intranode::dispatch<8, 768, 8192>(int4 *, float *, int *)', 'communication', 'DeepEP'],
    ['combine', 'void deep_ep::internode_ll::combine<false, 7168>(void *, int *)', 'communication', 'DeepEP'],
    ['notify_dispatch', 'void deep_ep::intranode::notify_dispatch<8>(const int *, int *)', 'communication', 'DeepEP'],
    ['cached_notify_combine', 'void deep_ep::internode::cached_notify_combine<8>(void **)', 'communication', 'DeepEP'],
    ['barrier', 'void deep_ep::intranode::barrier<8>(int **, int)', 'sync', 'barrier'],
    ['get_dispatch_layout', 'void deep_ep::layout::get_dispatch_layout<256, 32, 8>(const long *, int *)', 'compute', 'other'],
    ['dispatchKernel', 'void pplx::dispatchKernel<__nv_bfloat16>(const T1 *)', 'communication', 'pplx'],
    // our own workload's local gather: not communication
    ['dispatchKernel', 'void <unnamed>::dispatchKernel<__nv_bfloat16>(const T1 *, const int *, const int *, int, int, int, T1 *)', 'compute', 'other'],
    ['combineKernel', 'void <unnamed>::combineKernel<__nv_bfloat16>(const T1 *)', 'compute', 'other'],
    ['cross_device_reduce_1stage', 'void vllm::cross_device_reduce_1stage<__nv_bfloat16, 8>(vllm::RankData *)', 'communication', 'custom all-reduce'],
    ['cross_device_reduce_2stage', 'void sglang::cross_device_reduce_2stage<float, 4>(sglang::RankData *)', 'communication', 'custom all-reduce'],
    ['oneShotAllReduceKernel', 'void tensorrt_llm::kernels::oneShotAllReduceKernel<half, 8>(AllReduceParams)', 'communication', 'custom all-reduce'],
    ['multimem_all_reduce_kernel', 'void c10d::symmetric_memory::multimem_all_reduce_kernel<c10::BFloat16, 16>(c10::BFloat16 *)', 'communication', 'symmetric memory'],
    ['barrier_kernel', 'void c10d::symmetric_memory::barrier_kernel(unsigned int **, int)', 'sync', 'barrier'],
    ['device_kernel', 'void cutlass::device_kernel<at::cuda::detail::enable_3x_kernel_for_sm9x<cutlass::gemm::kernel::GemmUniversal<cutlass::gemm::GroupProblemShape<cute::tuple<int, int, int>>>>>(T1::Params)', 'expert-gemm', 'grouped GEMM'],
    ['prepare_grouped_gemm_data', 'void at::cuda::detail::prepare_grouped_gemm_data<cutlass::bfloat16_t>(int)', 'compute', 'grouped GEMM setup'],
    ['fused_moe_kernel', undefined, 'expert-gemm', 'Triton fused_moe'],
    ['ampere_sgemm_128x64_nn', undefined, 'compute', 'other'],
    ['Memset (Device)', undefined, 'memory', 'copy/fill'],
  ] as const)('%s (%s) is %s', (name, full, cls, family) => {
    expect(classOf(name, full)).toEqual({ class: cls, family });
  });

  it('Kineto collective args make a kernel communication whatever its name, with the collective as family', () => {
    const t = buildTrace({
      kernels: [
        { start: 0, end: 5, name: 'ncclDevKernel_SendRecv', collective: { name: 'all_to_allv', inNelems: 8, outNelems: 8 } },
        { start: 6, end: 9, name: 'some_vendor_kernel', collective: { name: 'allreduce' } },
        { start: 10, end: 12, name: 'ncclDevKernel_SendRecv' },
      ],
    });
    const c = classifyKernels(t);
    expect([0, 1, 2].map((i) => [c.names[c.nameOf[i]].class, c.names[c.nameOf[i]].family, c.names[c.nameOf[i]].source])).toEqual([
      ['communication', 'NCCL: all_to_allv', 'collective args'],
      ['communication', 'NCCL: allreduce', 'collective args'],
      ['communication', 'NCCL', 'builtin'],
    ]);
  });
});

const kernelSpan = (kernels: KernelRow[], memcpy: MemcpyRow[] = []): Window => {
  const all = [...kernels, ...memcpy];
  const start = Math.min(...all.map((k) => k.start));
  const end = Math.max(...all.map((k) => k.end));
  return { start, end, duration: end - start, source: 'kernels', coveredDuration: end - start };
};

function comm(kernels: KernelRow[], memcpy: MemcpyRow[] = [], window?: Window) {
  const t = buildTrace({ kernels, memcpy });
  return analyzeCommunication(t, 0, window ?? kernelSpan(kernels, memcpy), classifyKernels(t));
}

describe('exposed communication: every overlap case', () => {
  it('communication alone is all exposed', () => {
    const r = comm([{ start: 0, end: 100, name: NCCL, streamId: 1 }]);
    expect(r).toMatchObject({ kernelCount: 1, busy: 100, exposed: 100, hidden: 0, hiddenShare: 0, exposedShare: 1, computeBusy: 0 });
  });

  it('communication under a longer compute kernel on another stream is all hidden', () => {
    const r = comm([{ start: 0, end: 100, name: GEMM, streamId: 2 }, { start: 10, end: 60, name: NCCL, streamId: 1 }]);
    expect(r).toMatchObject({ busy: 50, exposed: 0, hidden: 50, hiddenShare: 1, computeBusy: 100 });
    expect(r.exposedShare).toBe(0);
  });

  it('partial overlap: the part outside compute is exposed', () => {
    const r = comm([{ start: 10, end: 30, name: NCCL, streamId: 1 }, { start: 20, end: 40, name: GEMM, streamId: 2 }]);
    expect(r).toMatchObject({ busy: 20, exposed: 10, hiddenShare: 0.5 });
    expect(r.exposedShare).toBe(10 / 30);
  });

  it('overlapping compute kernels with a gap between them: only the gap is exposed', () => {
    const r = comm([
      { start: 0, end: 12, name: GEMM, streamId: 2 }, { start: 10, end: 15, name: 'fused_moe_kernel', streamId: 3 },
      { start: 18, end: 25, name: GEMM, streamId: 2 }, { start: 5, end: 25, name: NCCL, streamId: 1 },
    ]);
    expect(r).toMatchObject({ busy: 20, exposed: 3, hidden: 17 });
    expect(r.hiddenShare).toBeCloseTo(17 / 20, 15);
  });

  it('two communication kernels at once count once', () => {
    const r = comm([
      { start: 0, end: 50, name: NCCL, streamId: 1 },
      { start: 20, end: 80, name: 'dispatch', demangledName: 'void deep_ep::intranode::dispatch<8>()', streamId: 4 },
      { start: 60, end: 70, name: GEMM, streamId: 2 },
    ]);
    expect(r).toMatchObject({ kernelCount: 2, busy: 80, exposed: 70 });
    const byName = Object.fromEntries(r.kernels.map((k) => [k.name, k]));
    expect(byName.dispatch).toMatchObject({ family: 'DeepEP', count: 1, time: 60, exposed: 50 });
    expect(byName[NCCL]).toMatchObject({ family: 'NCCL', time: 50, exposed: 50 });
    // issue 15's contention over the communication kernels: the two overlap each other for 30 ns
    expect(r.contention.map((c) => [c.name, c.count, c.overlapNs])).toEqual([['dispatch', 1, 40], [NCCL, 1, 30]]);
  });

  it('a sync kernel beside communication hides nothing, and alone it is sync-only communication time', () => {
    const r = comm([
      { start: 0, end: 40, name: NCCL, streamId: 1 },
      { start: 0, end: 60, name: 'barrier', demangledName: 'void deep_ep::intranode::barrier<8>(int **, int)', streamId: 2 },
    ]);
    expect(r).toMatchObject({ busy: 60, exposed: 60, syncOnly: 20, computeBusy: 0, kernelCount: 2 });
    expect(r.kernels.map((k) => k.class).sort()).toEqual(['communication', 'sync']);
  });

  it('copies and memory kernels beside communication hide nothing', () => {
    const r = comm(
      [{ start: 0, end: 40, name: NCCL, streamId: 1 }, { start: 0, end: 40, name: 'Memcpy DtoD', streamId: 2 }],
      [{ start: 0, end: 40, bytes: 1 << 20, copyKind: MemcpyKind.DtoD, streamId: 3 }],
    );
    expect(r).toMatchObject({ busy: 40, exposed: 40, computeBusy: 0 });
    const memory = r.classes.find((c) => c.class === 'memory')!;
    expect(memory).toMatchObject({ count: 2, time: 80, busy: 40, names: 2 });
    expect(memory.top.map((n) => n.name).sort()).toEqual(['Memcpy DtoD', '[CUDA memcpy]']);
  });

  it('compute on another GPU hides nothing on this one', () => {
    const r = comm([{ start: 0, end: 40, name: NCCL, deviceId: 0 }, { start: 0, end: 40, name: GEMM, deviceId: 1 }]);
    expect(r).toMatchObject({ busy: 40, exposed: 40, computeBusy: 0 });
  });

  it('only the window counts: kernels are clipped to it, and to each segment of a split window', () => {
    const kernels: KernelRow[] = [{ start: 0, end: 100, name: NCCL, streamId: 1 }, { start: 50, end: 70, name: GEMM, streamId: 2 }];
    const r = comm(kernels, [], { start: 40, end: 80, duration: 40, source: 'explicit', coveredDuration: 40 });
    expect(r).toMatchObject({ busy: 40, exposed: 20, exposedShare: 0.5 });
    const split = comm(kernels, [], {
      start: 0, end: 100, duration: 100, source: 'range', coveredDuration: 30,
      segments: [{ start: 0, end: 10 }, { start: 60, end: 80 }],
    });
    // segment 1: [0,10) exposed; segment 2: [60,70) hidden, [70,80) exposed
    expect(split).toMatchObject({ busy: 30, exposed: 20, computeBusy: 10 });
    expect(split.exposedShare).toBeCloseTo(20 / 30, 15);
  });

  it('no communication: busy 0, hidden share null, classes still listed', () => {
    const r = comm([{ start: 0, end: 10, name: GEMM }, { start: 10, end: 20, name: 'fused_moe_kernel' }]);
    expect(r).toMatchObject({ kernelCount: 0, busy: 0, exposed: 0, hiddenShare: null, byPhase: [] });
    expect(r.classes.map((c) => [c.class, c.count, c.time])).toEqual([['expert-gemm', 1, 10], ['compute', 1, 10]]);
  });

  it('lists the collective sequence in time order with each kernel\'s exposure', () => {
    const r = comm([
      { start: 0, end: 10, name: NCCL, streamId: 1, collective: { name: 'all_to_allv' } },
      { start: 5, end: 8, name: GEMM, streamId: 2 },
      { start: 20, end: 30, name: NCCL, streamId: 1, collective: { name: 'all_to_allv' } },
      { start: 40, end: 45, name: 'barrier_kernel', demangledName: 'c10d::symmetric_memory::barrier_kernel()', streamId: 1 },
    ]);
    expect(r.collectives).toEqual({ names: ['NCCL: all_to_allv'], waitsForPeers: [true], name: [0, 0], start: [0, 20], duration: [10, 10], exposed: [7, 10], omitted: 0 });
  });
});

describe('phases and micro-batches', () => {
  it('reads phases and micro-batches from range names', () => {
    expect(['dispatch mb1', 'experts mb0', 'expert 7', 'combine mb1', 'shared_expert', 'self_attn', 'route', 'nccl:all_to_all', '## backward ##', 'Optimizer.step#SGD.step', 'unpermute']
      .map((s) => [phaseOfText(s), microBatchOfText(s)])).toEqual([
      ['dispatch', 1], ['experts', 0], ['experts', null], ['combine', 1], ['shared-expert', null], ['attention', null],
      ['router', null], [null, null], ['backward', null], ['optimizer', null], ['combine', null],
    ]);
  });

  /**
   * Two micro-batches, ep_moe.py's overlapped schedule: mb1's dispatch runs beside mb0's experts
   * (hidden), mb0's dispatch and mb1's combine run alone (exposed), mb0's combine half under mb1's experts.
   */
  function dualBatch() {
    const nvtx: NvtxRow[] = [];
    const runtime: RuntimeRow[] = [];
    const kernels: KernelRow[] = [];
    let corr = 1;
    const launch = (range: string, cpu: number, k: KernelRow): void => {
      nvtx.push({ start: cpu, end: cpu + 5, text: range });
      runtime.push({ start: cpu + 1, end: cpu + 2, name: 'cudaLaunchKernel', correlationId: corr });
      kernels.push({ ...k, correlationId: corr++ });
    };
    nvtx.push({ start: 0, end: 100, text: 'forward overlapped 0' });
    launch('dispatch mb0', 10, { start: 100, end: 200, name: NCCL, streamId: 1 });
    launch('dispatch mb1', 20, { start: 200, end: 300, name: NCCL, streamId: 1 });
    nvtx.push({ start: 28, end: 40, text: 'experts mb0' });
    launch('expert 3', 30, { start: 200, end: 300, name: GEMM, streamId: 2 });
    launch('combine mb0', 40, { start: 300, end: 400, name: NCCL, streamId: 1 });
    launch('experts mb1', 50, { start: 300, end: 350, name: GEMM, streamId: 2 });
    launch('combine mb1', 60, { start: 400, end: 500, name: NCCL, streamId: 1 });
    // a collective outside any phase range (its launch call is outside every range)
    runtime.push({ start: 150, end: 151, name: 'cudaLaunchKernel', correlationId: corr });
    kernels.push({ start: 600, end: 610, name: NCCL, streamId: 1, correlationId: corr++ });
    return buildTrace({ nvtx, runtime, kernels });
  }

  it('gives exposed time per phase and micro-batch', () => {
    const t = dualBatch();
    const k = t.kernels;
    const span: Window = { start: 100, end: 610, duration: 510, source: 'kernels', coveredDuration: 510 };
    const r = analyzeCommunication(t, 0, span, classifyKernels(t));
    expect(k.count).toBe(7);
    expect(r).toMatchObject({ busy: 410, exposed: 260, computeBusy: 150 });
    expect(r.byPhase).toEqual([
      { phase: 'dispatch', microBatch: 0, kernels: 1, busy: 100, exposed: 100, hiddenShare: 0 },
      { phase: 'dispatch', microBatch: 1, kernels: 1, busy: 100, exposed: 0, hiddenShare: 1 },
      { phase: 'combine', microBatch: 0, kernels: 1, busy: 100, exposed: 50, hiddenShare: 0.5 },
      { phase: 'combine', microBatch: 1, kernels: 1, busy: 100, exposed: 100, hiddenShare: 0 },
      // the outer "forward overlapped 0" range names the phase of a kernel launched inside it only
      { phase: 'none', microBatch: null, kernels: 1, busy: 10, exposed: 10, hiddenShare: 0 },
    ]);
  });
});

describe('copies a communication library issued', () => {
  it('a copy launched inside an NCCL NVTX range is communication; one outside stays memory', () => {
    const t = buildTrace({
      nvtx: [{ start: 0, end: 10, text: 'ncclAlltoAll' }, { start: 30, end: 40, text: 'nccl:all_to_all' }],
      runtime: [
        { start: 1, end: 2, name: 'cudaMemcpyAsync', correlationId: 1 },
        { start: 20, end: 21, name: 'cudaMemcpyAsync', correlationId: 2 },
        { start: 31, end: 32, name: 'cudaMemsetAsync', correlationId: 3 },
        { start: 22, end: 23, name: 'cudaLaunchKernel', correlationId: 4 },
      ],
      memcpy: [
        { start: 100, end: 140, bytes: 1024, copyKind: MemcpyKind.DtoD, correlationId: 1, streamId: 1 },
        { start: 150, end: 160, bytes: 1024, copyKind: MemcpyKind.DtoD, correlationId: 2, streamId: 1 },
      ],
      memset: [{ start: 170, end: 180, bytes: 64, correlationId: 3, streamId: 1 }],
      kernels: [{ start: 120, end: 200, name: GEMM, correlationId: 4, streamId: 2 }],
    });
    const r = analyzeCommunication(t, 0, { start: 100, end: 200, duration: 100, source: 'kernels', coveredDuration: 100 }, classifyKernels(t));
    // copy [100,140) half under the GEMM [120,200); memset [170,180) under it
    expect(r).toMatchObject({ kernelCount: 2, busy: 50, exposed: 20, hidden: 30 });
    expect(r.kernels.map((k) => [k.name, k.family, k.source, k.count, k.exposed])).toEqual([
      ['[CUDA memcpy]', 'NCCL: ncclAlltoAll', 'NVTX range', 1, 20],
      ['[CUDA memset]', 'NCCL: all_to_all', 'NVTX range', 1, 0],
    ]);
    expect(r.classes.map((c) => [c.class, c.count, c.time])).toEqual([['communication', 2, 50], ['compute', 1, 80], ['memory', 1, 10]]);
    expect(r.collectives.names).toEqual(['NCCL: ncclAlltoAll', 'NCCL: all_to_all']);
  });
});

describe('phases without a launch call, or launched from another thread', () => {
  it('an operation with no launch call takes the phase whose GPU projection holds its start', () => {
    const t = buildTrace({
      nvtx: [{ start: 0, end: 10, text: 'combine mb1' }, { start: 20, end: 30, text: 'experts mb0' }],
      runtime: [
        { start: 1, end: 2, name: 'cudaLaunchKernel', correlationId: 1 },
        { start: 21, end: 22, name: 'cudaLaunchKernel', correlationId: 2 },
      ],
      kernels: [
        { start: 100, end: 200, name: GEMM, correlationId: 1, streamId: 2 },
        { start: 300, end: 400, name: GEMM, correlationId: 2, streamId: 2 },
        // no correlation id: its launch call is unknown
        { start: 150, end: 250, name: NCCL, streamId: 1 },
      ],
    });
    const r = analyzeCommunication(t, 0, { start: 100, end: 400, duration: 300, source: 'kernels', coveredDuration: 300 }, classifyKernels(t));
    expect(r.byPhase).toEqual([{ phase: 'combine', microBatch: 1, kernels: 1, busy: 100, exposed: 50, hiddenShare: 0.5 }]);
  });

  it('a launch from a thread with no phase range takes the ranges open on its process\'s other threads', () => {
    const t = buildTrace({
      threads: [{ globalTid: '1', tid: 1, name: 'main', process: 0 }, { globalTid: '2', tid: 2, name: 'autograd', process: 0 }],
      nvtx: [{ start: 0, end: 100, text: '## backward ##', thread: 0 }],
      runtime: [{ start: 50, end: 51, name: 'cudaLaunchKernel', correlationId: 1, thread: 1 }],
      kernels: [{ start: 1000, end: 1100, name: NCCL, correlationId: 1 }],
    });
    const r = analyzeCommunication(t, 0, { start: 1000, end: 1100, duration: 100, source: 'kernels', coveredDuration: 100 }, classifyKernels(t));
    expect(r.byPhase.map((p) => [p.phase, p.kernels])).toEqual([['backward', 1]]);
  });
});
