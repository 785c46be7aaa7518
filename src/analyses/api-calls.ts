/**
 * Which CUDA API calls the analyses, findings and the HTML report read. The reader keeps only
 * these in Trace.runtime (a million-kernel trace holds millions of calls such as
 * cuKernelGetAttribute that nothing reads) and counts every call in Trace.apiSummary.
 */
import type { ApiCallTotal, Trace } from '../model/trace.js';
import { blockingReasonOfName, canonicalApiName, isLaunchCall } from './blocking-calls.js';

/** Stream-ordered allocators (cudaMallocAsync, memory pools) are cheap and excluded on purpose. */
export const ALLOCATION_CALLS: ReadonlySet<string> = new Set([
  'cudaMalloc', 'cudaFree', 'cudaMallocHost', 'cudaFreeHost', 'cudaHostAlloc', 'cudaMallocManaged',
  'cudaMallocPitch', 'cudaMalloc3D', 'cudaMallocArray', 'cudaFreeArray',
  'cuMemAlloc', 'cuMemFree', 'cuMemAllocHost', 'cuMemFreeHost', 'cuMemHostAlloc', 'cuMemAllocManaged', 'cuMemAllocPitch',
]);

/**
 * Launches (kernels link to them by correlationId), anything named like a launch (the HTML host
 * lane), copies, sets and prefetches (their GPU records link to them), blocking calls,
 * synchronization and stream-wait calls (synchronization records take their type from them), event
 * records (the what-if replay links stream waits to them) and
 * allocations. Generous on purpose: a kept call nothing reads costs a few bytes, a dropped one
 * that something reads changes a result.
 */
const READ_BY_NAME = /Launch|Memcpy|Memset|Prefetch|Synchronize|WaitEvent|EventRecord/;

export function isAnalysedApiCall(name: string): boolean {
  return READ_BY_NAME.test(name) || isLaunchCall(name) || blockingReasonOfName(name) !== null ||
    ALLOCATION_CALLS.has(canonicalApiName(name));
}

/** Every API call by name: the reader's summary, or the runtime columns of a trace that holds them all. */
export function apiCallTotals(trace: Trace): ApiCallTotal[] {
  if (trace.apiSummary) return trace.apiSummary;
  const { runtime } = trace;
  const byName = new Map<number, ApiCallTotal>();
  for (let i = 0; i < runtime.count; i++) {
    const n = runtime.name[i];
    const d = runtime.end[i] - runtime.start[i];
    const a = byName.get(n);
    if (a) { a.count++; a.total += d; } else byName.set(n, { name: n, count: 1, total: d });
  }
  return [...byName.values()];
}
