/**
 * Links GPU operations to the API call that issued them. CUPTI correlation ids are unique only
 * within a process, so the key is (process, correlationId). Computed once per trace and cached:
 * every analysis that needs "the launch call of this kernel" shares it.
 */
import type { Trace } from '../model/trace.js';

export interface CallLinks {
  /** runtime row of each kernel's launch call, -1 when not found */
  kernelCall: Int32Array;
  memcpyCall: Int32Array;
  memsetCall: Int32Array;
  /** memcpy row issued by each runtime call, -1 when none (the first, if several) */
  callMemcpy: Int32Array;
}

const cache = new WeakMap<Trace, CallLinks>();

export function callLinks(trace: Trace): CallLinks {
  let links = cache.get(trace);
  if (!links) {
    links = computeLinks(trace);
    cache.set(trace, links);
  }
  return links;
}

function computeLinks(trace: Trace): CallLinks {
  const { runtime, kernels, memcpy, memset } = trace;
  // Slot 0 is "process unknown"; correlation ids stay far below 2^53 / slots in practice.
  const slots = trace.processes.length + 2;
  const key = (corr: number, process: number) => corr * slots + (process + 1);
  const byKey = new Map<number, number>();
  for (let i = 0; i < runtime.count; i++) {
    const corr = runtime.correlationId[i];
    if (!(corr >= 0)) continue;
    const k = key(corr, runtime.process[i]);
    // Rows are sorted by start: the first one is the outermost call when a driver call nests in a runtime call.
    if (!byKey.has(k)) byKey.set(k, i);
  }
  const link = (corrs: Float64Array, procs: Int32Array, n: number): Int32Array => {
    const out = new Int32Array(n).fill(-1);
    for (let i = 0; i < n; i++) {
      const corr = corrs[i];
      if (!(corr >= 0)) continue;
      const r = byKey.get(key(corr, procs[i]));
      if (r !== undefined) out[i] = r;
    }
    return out;
  };
  const memcpyCall = link(memcpy.correlationId, memcpy.process, memcpy.count);
  const callMemcpy = new Int32Array(runtime.count).fill(-1);
  for (let m = 0; m < memcpy.count; m++) {
    const r = memcpyCall[m];
    if (r >= 0 && callMemcpy[r] < 0) callMemcpy[r] = m;
  }
  return {
    kernelCall: link(kernels.correlationId, kernels.process, kernels.count),
    memcpyCall,
    memsetCall: link(memset.correlationId, memset.process, memset.count),
    callMemcpy,
  };
}
