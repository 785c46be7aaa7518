/**
 * The NVTX range each kernel was launched in: the innermost range around its launch call (how MoE
 * code marks its experts: `with nvtx.range(f"expert {i}")`), as NVTX projection defines ownership
 * in DESIGN.md. The HTML timeline colours kernels by it; the commands compute it and hand it to the
 * renderer (renderers run no analysis).
 */
import type { Trace } from '../model/trace.js';
import { callLinks } from './correlation.js';
import { innermostNvtxRanges, nvtxRangeRows } from './nvtx-projection.js';

/** Per kernel: the string index of the innermost NVTX range text around its launch, or -1; null when no kernel has one. */
export function kernelNvtxText(trace: Trace): Int32Array | null {
  if (trace.kernels.count === 0 || nvtxRangeRows(trace).length === 0) return null;
  const { kernelCall } = callLinks(trace);
  const { runtime, nvtx } = trace;
  const kernels: number[] = [];
  for (let i = 0; i < trace.kernels.count; i++) if (kernelCall[i] >= 0) kernels.push(i);
  // innermostNvtxRanges wants its queries in time order
  kernels.sort((a, b) => runtime.start[kernelCall[a]] - runtime.start[kernelCall[b]] || a - b);
  const thread = Int32Array.from(kernels, (i) => runtime.thread[kernelCall[i]]);
  const time = Float64Array.from(kernels, (i) => runtime.start[kernelCall[i]]);
  const inner = innermostNvtxRanges(trace, thread, time, kernels.length);
  const out = new Int32Array(trace.kernels.count).fill(-1);
  let any = false;
  kernels.forEach((k, q) => {
    const row = inner[q];
    if (row >= 0 && nvtx.text[row] >= 0) { out[k] = nvtx.text[row]; any = true; }
  });
  return any ? out : null;
}
