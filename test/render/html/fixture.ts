/**
 * A tiny MoE-like trace (3 streams, 4 kernels, one host sync) and its Report from buildReport.
 * Every number the tests expect can be checked on paper:
 *   kernels  s7 [1000,5000]  s13 [3000,8000]  s14 [10000,12000]  s7 [20000,26000]
 *   n(t)     1 on [1000,3000], 2 on [3000,5000], 1 on [5000,8000], 0 on [8000,10000],
 *            1 on [10000,12000], 0 on [12000,20000], 1 on [20000,26000]
 *   window [1000,26000] = 25000; busy 15000; kernel time 17000; overlap 2000
 *   gaps [8000,10000] host-wait, [12000,20000] sync-stall (cudaStreamSynchronize 11000-19990: 7990 ns
 *   of it blocked, the last 10 ns, launching, host-wait)
 */
import { htmlInput } from '../../../src/commands/analyze.js';
import { buildTrace, type TraceRows } from '../../../src/model/build.js';
import { buildReport } from '../../../src/report/build.js';
import type { HtmlInput } from '../../../src/render/html/index.js';

export interface Names { gemm: string; gating: string; expert0: string; expert1: string; file: string; layer: string }

export const PLAIN: Names = { gemm: 'expert_gemm', gating: 'topk_gating', expert0: 'expert 0', expert1: 'expert 1', file: 'moe-small.sqlite', layer: 'moe layer' };

export function smallRows(n: Names = PLAIN): TraceRows {
  return {
    kernels: [
      { start: 1000, end: 5000, streamId: 7, correlationId: 1, name: n.gemm, grid: [64, 1, 1], block: [256, 1, 1] },
      { start: 3000, end: 8000, streamId: 13, correlationId: 2, name: n.gemm, grid: [32, 2, 1] },
      { start: 10000, end: 12000, streamId: 14, correlationId: 3, name: n.gating },
      { start: 20000, end: 26000, streamId: 7, correlationId: 4, name: n.gemm, grid: [128, 1, 1] },
    ],
    runtime: [
      { start: 500, end: 900, name: 'cudaLaunchKernel', correlationId: 1 },
      { start: 2500, end: 2900, name: 'cudaLaunchKernel', correlationId: 2 },
      { start: 9500, end: 9900, name: 'cudaLaunchKernel', correlationId: 3 },
      { start: 11000, end: 19990, name: 'cudaStreamSynchronize', correlationId: 5 },
      { start: 19995, end: 19999, name: 'cudaLaunchKernel', correlationId: 4 },
    ],
    nvtx: [
      { start: 0, end: 27000, text: n.layer },
      { start: 400, end: 1000, text: n.expert0 },
      { start: 2400, end: 3000, text: n.expert1 },
    ],
    threads: [{ globalTid: '281474976710657', tid: 4242, name: 'python', process: 0 }],
    meta: { file: `/data/${n.file}`, fileSizeBytes: 123456, nsysVersion: '2025.3.1', exportSchemaVersion: '3.20.3' },
  };
}

export function smallInput(n: Names = PLAIN): HtmlInput {
  const trace = buildTrace(smallRows(n));
  // as the commands hand it to the renderer: with the NVTX range each kernel was launched in
  return htmlInput(buildReport(trace), trace);
}

/** Names crafted to break out of a page if they were ever written as markup. */
export const HOSTILE: Names = {
  gemm: '</script><script>alert(1)</script>',
  gating: '<img src=x onerror=alert(1)>',
  expert0: 'expert\u2028zero\u2029\u202Eevil\u202C',
  expert1: '<!-- <svg onload=alert(1)> &amp; "\'',
  file: '<img src=x onerror=alert(2)>.sqlite',
  layer: '</script>moe layer <b>bold</b>',
};
