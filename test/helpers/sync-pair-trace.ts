/**
 * The what-if tests' smallest host-synchronised trace: launch k1 [0,5) → k1 runs [10,110); the host
 * syncs [5,112) waiting for it; then launches k2 [112,117) → k2 runs [122,222) (launch latency 5
 * both times). One host thread, one stream; recorded span 212.
 */
import { buildTrace } from '../../src/model/build.js';

export function syncPairTrace(): ReturnType<typeof buildTrace> {
  return buildTrace({
    processes: [{ globalPid: '1', pid: 1, name: 'p' }],
    threads: [{ globalTid: '1', tid: 1, name: 't', process: 0 }],
    runtime: [
      { start: 0, end: 5, name: 'cudaLaunchKernel', thread: 0, correlationId: 1 },
      { start: 5, end: 112, name: 'cudaStreamSynchronize', thread: 0, correlationId: 2 },
      { start: 112, end: 117, name: 'cudaLaunchKernel', thread: 0, correlationId: 3 },
    ],
    kernels: [
      { start: 10, end: 110, correlationId: 1, name: 'k1', streamId: 7, grid: [1, 1, 1], block: [32, 1, 1] },
      { start: 122, end: 222, correlationId: 3, name: 'k2', streamId: 7, grid: [1, 1, 1], block: [32, 1, 1] },
    ],
  });
}
