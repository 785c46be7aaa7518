/**
 * The NVTX range each kernel was launched in: the innermost range around its launch call (how MoE
 * code marks its experts: `with nvtx.range(f"expert {i}")`), as NVTX projection defines ownership
 * in DESIGN.md. The HTML timeline colours kernels by it; the commands compute it and hand it to the
 * renderer (renderers run no analysis).
 */
import { gatherF64, gatherI32 } from '../model/gather.js';
import type { Trace } from '../model/trace.js';
import { callLinks, type CallLinks } from './correlation.js';
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

/**
 * For the given kernel rows: the string index of the innermost NVTX range text around each
 * launch call, or -1. Typed columns throughout: a million GEMMs cost ~25 bytes each while it runs.
 */
export function innermostRangeTexts(trace: Trace, rows: Int32Array, links: CallLinks = callLinks(trace)): Int32Array {
  const out = new Int32Array(rows.length).fill(-1);
  const { kernelCall } = links;
  const { runtime, nvtx } = trace;
  let n = 0;
  for (let j = 0; j < rows.length; j++) if (kernelCall[rows[j]] >= 0) n++;
  const q = new Uint32Array(n);
  const time = new Float64Array(n);
  n = 0;
  let sorted = true;
  for (let j = 0; j < rows.length; j++) {
    const call = kernelCall[rows[j]];
    if (call < 0) continue;
    q[n] = j;
    time[n] = runtime.start[call];
    if (n > 0 && time[n] < time[n - 1]) sorted = false;
    n++;
  }
  // innermostNvtxRanges wants its queries in time order; launches nearly always come in it
  if (!sorted) {
    const order = new Uint32Array(n);
    for (let k = 0; k < n; k++) order[k] = k;
    order.sort((a, b) => time[a] - time[b] || a - b);
    q.set(gatherI32(q, order));
    time.set(gatherF64(time, order));
  }
  const thread = new Int32Array(n);
  for (let k = 0; k < n; k++) thread[k] = runtime.thread[kernelCall[rows[q[k]]]];
  const inner = innermostNvtxRanges(trace, thread, time, n);
  for (let k = 0; k < n; k++) if (inner[k] >= 0) out[q[k]] = nvtx.text[inner[k]];
  return out;
}
