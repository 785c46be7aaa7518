/**
 * The NVTX range each kernel was launched in: the innermost range around its launch call (how MoE
 * code marks its experts: `with nvtx.range(f"expert {i}")`), as NVTX projection defines ownership
 * in DESIGN.md. The HTML timeline colours kernels by it; the commands compute it and hand it to the
 * renderer (renderers run no analysis).
 */
import { gatherF64, gatherI32 } from '../model/gather.js';
import type { Trace } from '../model/trace.js';
import { callLinks, type CallLinks } from './correlation.js';
import { innermostNvtxRanges } from './nvtx-projection.js';

/**
 * For the given kernel rows: the string index of the innermost NVTX range text around each
 * launch call, or -1 (no launch call, no range around it, or a range without text). The one
 * definition: the expert-GEMM classes, `info` and the HTML timeline's colours all use it. Typed columns throughout: a million GEMMs cost ~25 bytes each while it runs.
 */
export function innermostRangeTexts(trace: Trace, rows: Int32Array, links: CallLinks = callLinks(trace)): Int32Array {
  const out = new Int32Array(rows.length).fill(-1);
  const { kernelCall } = links;
  const { runtime, nvtx } = trace;
  let n = 0;
  for (let j = 0; j < rows.length; j++) if (kernelCall[rows[j]] >= 0) n++;
  const q = new Uint32Array(n);
  const time = new Float64Array(n);
  // the launch thread read with the start (one pass over the calls, not two, when in time order)
  const thread = new Int32Array(n);
  n = 0;
  let sorted = true;
  for (let j = 0; j < rows.length; j++) {
    const call = kernelCall[rows[j]];
    if (call < 0) continue;
    q[n] = j;
    time[n] = runtime.start[call];
    thread[n] = runtime.thread[call];
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
    thread.set(gatherI32(thread, order));
  }
  const inner = innermostNvtxRanges(trace, thread, time, n);
  for (let k = 0; k < n; k++) if (inner[k] >= 0) out[q[k]] = nvtx.text[inner[k]];
  return out;
}
