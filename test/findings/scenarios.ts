/**
 * Synthetic traces for the finding rules, each a small version of a real MoE pattern, and the
 * path from a trace to its findings that report assembly takes.
 */
import { buildTrace, emptyGpu, type KernelRow, type MemcpyRow, type NvtxRow, type RuntimeRow, type TraceRows } from '../../src/model/build.js';
import type { GpuInfo, Trace } from '../../src/model/trace.js';
import { MemcpyKind, MemoryKind } from '../../src/model/trace.js';
import type { DeviceReport, Finding } from '../../src/report/types.js';
import { analyzeDevice } from '../../src/analyses/device.js';
import { analyzeSmFill } from '../../src/analyses/sm-fill.js';
import { analyzeNvtxRanges } from '../../src/analyses/nvtx-ranges.js';
import { runFindings } from '../../src/findings/index.js';

export const US = 1000;

export const h200: GpuInfo = {
  ...emptyGpu(0), name: 'NVIDIA H200', smCount: 132, computeCapability: { major: 9, minor: 0 },
  maxThreadsPerSm: 2048, maxBlocksPerSm: 32, maxRegistersPerSm: 65536, maxRegistersPerBlock: 65536,
  maxSharedMemoryPerSm: 233472, maxSharedMemoryPerBlock: 232448, threadsPerWarp: 32,
};

/**
 * The rules' maths is pinned on the whole trace (first kernel to last): these scenarios are
 * capture-range runs. The steady-state default is tested in test/analyses/iterations.test.ts and
 * on the whole-process captures.
 */
export function deviceReport(trace: Trace, options: { wholeTrace?: boolean } = { wholeTrace: true }): DeviceReport {
  const d = analyzeDevice(trace, 0, options);
  d.smFill = analyzeSmFill(trace, 0, d.window);
  d.nvtxRanges = analyzeNvtxRanges(trace, 0, d.window);
  return d;
}

export function findingsOf(trace: Trace): Finding[] {
  return runFindings(trace, deviceReport(trace));
}

export const ids = (fs: Finding[]): string[] => fs.map((f) => f.id);

/** One builder per scenario: rows are appended by the loop body. */
class Rows {
  nvtx: NvtxRow[] = [];
  runtime: RuntimeRow[] = [];
  kernels: KernelRow[] = [];
  memcpy: MemcpyRow[] = [];
  corr = 1;
  launch(callStart: number, callEnd: number, k: Omit<KernelRow, 'correlationId'>): void {
    this.runtime.push({ start: callStart, end: callEnd, name: 'cudaLaunchKernel', correlationId: this.corr });
    this.kernels.push({ ...k, correlationId: this.corr++ });
  }
  copy(callStart: number, callEnd: number, c: Omit<MemcpyRow, 'correlationId'>): void {
    this.runtime.push({ start: callStart, end: callEnd, name: 'cudaMemcpyAsync', correlationId: this.corr });
    this.memcpy.push({ ...c, correlationId: this.corr++ });
  }
  call(start: number, end: number, name: string): void {
    this.runtime.push({ start, end, name });
  }
  trace(extra: TraceRows = {}): Trace {
    return buildTrace({ nvtx: this.nvtx, runtime: this.runtime, kernels: this.kernels, memcpy: this.memcpy, gpus: [h200], ...extra });
  }
}

/**
 * The user's loop: per expert, copy its 4-byte token count to the host, synchronize, launch its
 * 40 µs GEMM on its own stream. Each expert step takes 100 µs; the sync covers the idle GPU.
 */
export function streamsSync(experts = 8, iterations = 2, opts: { pageable?: boolean; expertRanges?: boolean } = {}): Trace {
  const r = new Rows();
  const step = 100 * US;
  for (let i = 0; i < iterations; i++) {
    const it0 = i * experts * step;
    r.nvtx.push({ start: it0, end: it0 + experts * step, text: `iteration ${i}` });
    for (let e = 0; e < experts; e++) {
      const t = it0 + e * step;
      r.nvtx.push({ start: t, end: t + step, text: opts.expertRanges ?? true ? `expert ${e}` : `step ${e}`, payload: 64 });
      r.copy(t, t + 5 * US, { start: t + 3 * US, end: t + 4 * US, bytes: 4, copyKind: MemcpyKind.DtoH, srcKind: MemoryKind.Device, dstKind: opts.pageable ? MemoryKind.Pageable : MemoryKind.Pinned, streamId: 13 + e });
      r.call(t + 5 * US, t + 40 * US, 'cudaStreamSynchronize');
      r.launch(t + 40 * US, t + 45 * US, { start: t + 50 * US, end: t + 90 * US, streamId: 13 + e, name: 'expert_gemm' });
    }
  }
  return r.trace();
}

/**
 * Tiny experts launched without read-back on 32 streams: an 8 µs kernel every 65 µs, the CPU
 * being the bottleneck. Each launch sits in an "expert N" NVTX range (as the bundled workload
 * marks them); `expertRanges: false` leaves them out: the same kernels with nothing saying they
 * are experts, as in a dense model's loop.
 */
export function streamsTiny(experts = 64, iterations = 2, opts: { expertRanges?: boolean } = {}): Trace {
  const r = new Rows();
  const step = 65 * US;
  for (let i = 0; i < iterations; i++) {
    const it0 = i * experts * step;
    r.nvtx.push({ start: it0, end: it0 + experts * step, text: `iteration ${i}` });
    for (let e = 0; e < experts; e++) {
      const t = it0 + e * step;
      if (opts.expertRanges ?? true) r.nvtx.push({ start: t, end: t + 6 * US, text: `expert ${e}` });
      r.launch(t, t + 5 * US, { start: t + 7 * US, end: t + 15 * US, streamId: 13 + (e % 32), name: 'tiny_expert_gemm' });
    }
  }
  return r.trace();
}

/**
 * Expert GEMMs of 2112 blocks × 128 threads: one full wave of an H200 each, on two streams, queued
 * ahead. `expertRanges` wraps each launch call in an "expert N" NVTX range.
 */
export function saturated(experts = 8, iterations = 2, grid = 2112, opts: { expertRanges?: boolean } = {}): Trace {
  const r = new Rows();
  const k = 1000 * US;
  for (let i = 0; i < iterations; i++) {
    const it0 = i * experts * k;
    r.nvtx.push({ start: it0, end: it0 + experts * k, text: `iteration ${i}` });
    for (let e = 0; e < experts; e++) {
      // launched long before they run; consecutive kernels overlap by a 5 µs tail
      const t = it0 + e * k;
      if (opts.expertRanges) r.nvtx.push({ start: it0 - 901 * US + e * 10 * US, end: it0 - 894 * US + e * 10 * US, text: `expert ${e}` });
      r.launch(it0 - 900 * US + e * 10 * US, it0 - 895 * US + e * 10 * US,
        { start: t, end: t + k + 5 * US, streamId: 13 + (e % 2), name: 'big_expert_gemm', grid: [grid, 1, 1], block: [128, 1, 1], registersPerThread: 32 });
    }
  }
  return r.trace();
}

/** All experts in one grouped GEMM per projection: 3 long kernels per iteration on one stream, launched ahead. */
export function grouped(iterations = 4): Trace {
  const r = new Rows();
  const it = 500 * US;
  for (let i = 0; i < iterations; i++) {
    const t = i * it;
    r.nvtx.push({ start: t - 100 * US, end: t - 80 * US, text: `iteration ${i}` });
    r.launch(t - 100 * US, t - 95 * US, { start: t, end: t + 200 * US, streamId: 7, name: 'grouped_gemm_up', grid: [264, 1, 1], block: [256, 1, 1], registersPerThread: 128 });
    r.launch(t - 94 * US, t - 90 * US, { start: t + 201 * US, end: t + 250 * US, streamId: 7, name: 'relu', grid: [528, 1, 1] });
    r.launch(t - 89 * US, t - 85 * US, { start: t + 251 * US, end: t + 499 * US, streamId: 7, name: 'grouped_gemm_down', grid: [264, 1, 1], block: [256, 1, 1], registersPerThread: 128 });
  }
  return r.trace();
}

export { Rows };
