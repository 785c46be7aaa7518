/**
 * Which CUDA API calls make the host wait for the GPU (DESIGN.md "Device gaps"), and the
 * launch calls. Shared by launch-gaps (sync-stall), host-syncs and launch.
 */
import type { Trace } from '../model/trace.js';
import { MemoryKind } from '../model/trace.js';
import type { HostSync } from '../report/types.js';
import { callLinks, type CallLinks } from './correlation.js';

export type BlockingReason = HostSync['reason'];

/**
 * Name without version or per-thread-default-stream suffixes: `cuMemcpyDtoH_v2`,
 * `cudaMemcpy_ptds`, `cudaStreamSynchronize_v3020` all name the same operation.
 */
export function canonicalApiName(name: string): string {
  let n = name;
  for (let prev = ''; prev !== n;) {
    prev = n;
    n = n.replace(/_(v\d+|ptds|ptsz)$/, '');
  }
  return n;
}

const EXPLICIT = new Set([
  'cudaDeviceSynchronize', 'cudaThreadSynchronize', 'cudaStreamSynchronize', 'cudaEventSynchronize',
  'cuCtxSynchronize', 'cuStreamSynchronize', 'cuEventSynchronize',
  // ROCm (HIP) traces from the PyTorch profiler put these among the runtime calls
  'hipDeviceSynchronize', 'hipStreamSynchronize', 'hipEventSynchronize', 'hipCtxSynchronize',
]);
const SYNC_MEMCPY = new Set([
  'cudaMemcpy', 'cudaMemcpy2D', 'cudaMemcpy3D', 'cudaMemcpyPeer', 'cudaMemcpy3DPeer',
  'cudaMemcpyToSymbol', 'cudaMemcpyFromSymbol', 'cudaMemcpyToArray', 'cudaMemcpyFromArray',
  'cudaMemcpy2DToArray', 'cudaMemcpy2DFromArray', 'cudaMemcpyArrayToArray', 'cudaMemcpy2DArrayToArray',
  'cuMemcpy', 'cuMemcpyDtoH', 'cuMemcpyHtoD', 'cuMemcpyDtoD', 'cuMemcpyDtoA', 'cuMemcpyAtoD',
  'cuMemcpyAtoH', 'cuMemcpyHtoA', 'cuMemcpyAtoA', 'cuMemcpy2D', 'cuMemcpy2DUnaligned', 'cuMemcpy3D',
  'cuMemcpyPeer', 'cuMemcpy3DPeer',
  'hipMemcpy', 'hipMemcpyWithStream', 'hipMemcpy2D', 'hipMemcpy3D', 'hipMemcpyPeer', 'hipMemcpyDtoH', 'hipMemcpyHtoD',
  'hipMemcpyDtoD', 'hipMemcpyToSymbol', 'hipMemcpyFromSymbol',
]);
/** Asynchronous copies block only when they land in pageable host memory. */
const ASYNC_MEMCPY = new Set([
  'cudaMemcpyAsync', 'cudaMemcpy2DAsync', 'cudaMemcpy3DAsync', 'cudaMemcpyPeerAsync', 'cudaMemcpy3DPeerAsync',
  'cudaMemcpyToSymbolAsync', 'cudaMemcpyFromSymbolAsync', 'cudaMemcpyFromArrayAsync', 'cudaMemcpy2DFromArrayAsync',
  'cuMemcpyAsync', 'cuMemcpyDtoHAsync', 'cuMemcpyAtoHAsync', 'cuMemcpy2DAsync', 'cuMemcpy3DAsync',
  'cuMemcpyPeerAsync', 'cuMemcpy3DPeerAsync',
  'hipMemcpyAsync', 'hipMemcpy2DAsync', 'hipMemcpy3DAsync', 'hipMemcpyPeerAsync', 'hipMemcpyDtoHAsync',
  'hipMemcpyToSymbolAsync', 'hipMemcpyFromSymbolAsync',
]);
const SYNC_MEMSET = new Set([
  'cudaMemset', 'cudaMemset2D', 'cudaMemset3D',
  'cuMemsetD8', 'cuMemsetD16', 'cuMemsetD32', 'cuMemsetD2D8', 'cuMemsetD2D16', 'cuMemsetD2D32',
  'hipMemset', 'hipMemset2D', 'hipMemset3D', 'hipMemsetD8', 'hipMemsetD16', 'hipMemsetD32',
]);
const FREE = new Set(['cudaFree', 'cudaFreeHost', 'cudaFreeArray', 'cudaFreeMipmappedArray', 'cuMemFree', 'cuMemFreeHost', 'cuArrayDestroy',
  'hipFree', 'hipHostFree', 'hipFreeArray']);

export const LAUNCH_CALLS: ReadonlySet<string> = new Set([
  'cudaLaunchKernel', 'cudaLaunchKernelExC', 'cudaLaunchCooperativeKernel', 'cudaLaunchCooperativeKernelMultiDevice',
  'cudaLaunch', 'cudaGraphLaunch', 'cudaLaunchDevice',
  'cuLaunchKernel', 'cuLaunchKernelEx', 'cuLaunchCooperativeKernel', 'cuLaunchCooperativeKernelMultiDevice',
  'cuLaunchGrid', 'cuLaunchGridAsync', 'cuLaunch', 'cuGraphLaunch',
  'hipLaunchKernel', 'hipExtLaunchKernel', 'hipModuleLaunchKernel', 'hipExtModuleLaunchKernel', 'hipLaunchCooperativeKernel',
  'hipHccModuleLaunchKernel', 'hipGraphLaunch',
]);

export function isLaunchCall(name: string): boolean {
  return LAUNCH_CALLS.has(canonicalApiName(name));
}

/** Reason a call of this name blocks the host, 'async-memcpy' when it depends on the copy's memory, null when it never does. */
export function blockingReasonOfName(name: string): BlockingReason | 'async-memcpy' | null {
  const n = canonicalApiName(name);
  if (EXPLICIT.has(n)) return 'explicit';
  if (SYNC_MEMCPY.has(n)) return 'sync-memcpy';
  if (ASYNC_MEMCPY.has(n)) return 'async-memcpy';
  if (SYNC_MEMSET.has(n)) return 'sync-memset';
  if (FREE.has(n)) return 'free';
  return null;
}

const REASONS: readonly BlockingReason[] = ['explicit', 'sync-memcpy', 'pageable-memcpy', 'sync-memset', 'free', 'other'];

export interface BlockingIndex {
  /** per runtime row: index into BLOCKING_REASONS, -1 when the call does not block */
  reason: Int8Array;
  /** blocking runtime rows of each thread (key: thread index), in start order */
  byThread: Map<number, Int32Array>;
}

export const BLOCKING_REASONS = REASONS;

/** Computes the index (a pass over every API call): a report computes it once, in indexTrace, and hands it on. */
export function blockingIndex(trace: Trace, links: CallLinks = callLinks(trace)): BlockingIndex {
  const { runtime, memcpy, strings } = trace;
  const byName = new Map<number, number>();
  const ASYNC = -2;
  const nameCode = (s: number): number => {
    let c = byName.get(s);
    if (c === undefined) {
      const r = blockingReasonOfName(strings[s] ?? '');
      c = r === null ? -1 : r === 'async-memcpy' ? ASYNC : REASONS.indexOf(r);
      byName.set(s, c);
    }
    return c;
  };
  const { memcpyOf } = links;
  const reason = new Int8Array(runtime.count).fill(-1);
  const lists = new Map<number, number[]>();
  for (let i = 0; i < runtime.count; i++) {
    let c = nameCode(runtime.name[i]);
    if (c === ASYNC) {
      const m = memcpyOf(i);
      c = m >= 0 && memcpy.dstKind[m] === MemoryKind.Pageable ? REASONS.indexOf('pageable-memcpy') : -1;
    }
    if (c < 0) continue;
    reason[i] = c;
    const t = runtime.thread[i];
    let list = lists.get(t);
    if (!list) lists.set(t, (list = []));
    list.push(i);
  }
  const byThread = new Map<number, Int32Array>();
  for (const [t, list] of lists) byThread.set(t, Int32Array.from(list));
  return { reason, byThread };
}
