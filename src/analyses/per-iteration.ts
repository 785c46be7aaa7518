/**
 * Kernels, host syncs and GPU busy per iteration, one definition for the iteration line, the NVTX
 * table, the findings, compare and the gates (--fail-if kernelsPerIteration / syncsPerIteration).
 */
import type { DeviceReport, IterationSummary } from '../report/types.js';

/** Per-iteration counts, and where they come from. */
export interface PerIteration {
  kernels: number;
  syncs: number;
  /** GPU busy time */
  busy: number;
  /** true: the window's totals ÷ iterations, the ranges' projection having missed work launched from other threads */
  fromWindow: boolean;
  /** share of the window's kernels launched outside the ranges' thread (0 when from the projection) */
  outsideShare: number;
}

/**
 * Kernels, host syncs and GPU busy per iteration. The iteration ranges' projection (kernels whose
 * launch call is inside a range, on its thread) gives them, unless it misses more than a tenth of
 * the window's kernels: a DDP training step's backward kernels are launched by autograd's thread,
 * outside "ProfilerStep#N" (HTA's rank-0 trace: 314 of 870 kernels an iteration). Then, when the
 * window is made of those iterations, the window's totals ÷ iterations.
 */
export function perIteration(device: DeviceReport, it: IterationSummary): PerIteration {
  const projected = it.kernelsPerIteration * it.count;
  const inWindow = device.overlap.kernelCount;
  const windowIsIterations = device.window.source === 'iterations' && device.window.iterations?.count === it.count;
  if (!windowIsIterations || it.count === 0 || inWindow <= 1.1 * projected) {
    return { kernels: it.kernelsPerIteration, syncs: it.syncsPerIteration, busy: it.busyPerIteration, fromWindow: false, outsideShare: 0 };
  }
  return {
    kernels: inWindow / it.count, syncs: device.hostSyncs.count / it.count, busy: device.overlap.busy / it.count,
    fromWindow: true, outsideShare: 1 - projected / inWindow,
  };
}

