/**
 * A tiny MoE-like trace (3 streams, 4 kernels, one host sync) and its Report, built by hand so
 * every number below can be checked on paper:
 *   kernels  s7 [1000,5000]  s13 [3000,8000]  s14 [10000,12000]  s7 [20000,26000]
 *   n(t)     1 on [1000,3000], 2 on [3000,5000], 1 on [5000,8000], 0 on [8000,10000],
 *            1 on [10000,12000], 0 on [12000,20000], 1 on [20000,26000]
 *   window [1000,26000] = 25000; busy 15000; kernel time 17000; overlap 2000
 */
import { buildTrace, type TraceRows } from '../../../src/model/build.js';
import type { Trace } from '../../../src/model/trace.js';
import type { DeviceReport, Distribution, Report } from '../../../src/report/types.js';
import type { HtmlInput } from '../../../src/render/html/index.js';

const dist = (values: number[]): Distribution => {
  const v = [...values].sort((a, b) => a - b);
  return { count: v.length, total: v.reduce((s, x) => s + x, 0), min: v[0] ?? 0, median: v[Math.floor(v.length / 2)] ?? 0, p95: v[v.length - 1] ?? 0, max: v[v.length - 1] ?? 0 };
};

export interface Names { gemm: string; gating: string; expert0: string; expert1: string; file: string; sync: string }

export const PLAIN: Names = { gemm: 'expert_gemm', gating: 'topk_gating', expert0: 'expert 0', expert1: 'expert 1', file: 'moe-small.sqlite', sync: 'cudaStreamSynchronize' };

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
      { start: 11000, end: 19990, name: n.sync, correlationId: 5 },
      { start: 19995, end: 19999, name: 'cudaLaunchKernel', correlationId: 4 },
    ],
    nvtx: [
      { start: 0, end: 27000, text: 'moe layer' },
      { start: 400, end: 1000, text: n.expert0 },
      { start: 2400, end: 3000, text: n.expert1 },
    ],
    threads: [{ globalTid: '281474976710657', tid: 4242, name: 'python', process: 0 }],
    meta: { file: `/data/${n.file}`, fileSizeBytes: 123456, nsysVersion: '2025.3.1', exportSchemaVersion: '3.20.3' },
  };
}

function device(): DeviceReport {
  return {
    deviceId: 0, gpuName: 'NVIDIA H200',
    window: { start: 1000, end: 26000, duration: 25000, source: 'kernels' },
    overlap: {
      kernelCount: 4, busy: 15000, kernelTime: 17000, concurrency: 17000 / 15000, overlapShare: 2000 / 15000,
      overlapTime: 2000, utilization: 0.6, levelTime: [10000, 13000, 2000], maxConcurrency: 2,
    },
    transfers: { memcpyCount: 0, memcpyBusy: 0, memsetCount: 0, memsetBusy: 0 },
    streams: [
      { streamId: 7, process: 0, kernelCount: 2, busy: 10000, occupancy: 0.4, shareOfDeviceBusy: 10000 / 15000, duration: dist([4000, 6000]), gaps: dist([15000]) },
      { streamId: 13, process: 0, kernelCount: 1, busy: 5000, occupancy: 0.2, shareOfDeviceBusy: 5000 / 15000, duration: dist([5000]), gaps: dist([]) },
      { streamId: 14, process: 0, kernelCount: 1, busy: 2000, occupancy: 0.08, shareOfDeviceBusy: 2000 / 15000, duration: dist([2000]), gaps: dist([]) },
    ],
    streamPairs: [{ a: 7, b: 13, overlap: 2000 }, { a: 7, b: 14, overlap: 0 }, { a: 13, b: 14, overlap: 0 }],
    gaps: {
      all: dist([2000, 8000]),
      byClass: { 'sync-stall': { count: 1, total: 8000 }, 'host-wait': { count: 1, total: 2000 }, 'gpu-side': { count: 0, total: 0 }, unexplained: { count: 0, total: 0 } },
      gaps: [
        { start: 8000, end: 10000, duration: 2000, class: 'host-wait', nextKernel: 2 },
        { start: 12000, end: 20000, duration: 8000, class: 'sync-stall', nextKernel: 3, syncCall: 'cudaStreamSynchronize' },
      ],
    },
    launch: { latency: dist([100, 100, 100, 1]), interval: dist([2000, 7000, 10495]), matchedKernels: 4, launchBound: false },
    hostSyncs: {
      count: 1, totalTime: 8990, gpuIdle: 7990, byName: [{ name: 'cudaStreamSynchronize', count: 1, total: 8990 }],
      calls: [{ name: 'cudaStreamSynchronize', start: 11000, end: 19990, duration: 8990, thread: 0, reason: 'explicit', gpuIdle: 7990 }],
    },
  };
}

export function smallReport(trace: Trace, n: Names = PLAIN): Report {
  const d = device();
  d.hostSyncs.calls[0].name = n.sync;
  return {
    schema: 'moe-trace/report', schemaVersion: 1, tool: { name: 'moe-trace', version: '0.1.0' },
    input: { file: trace.meta.file, fileSizeBytes: trace.meta.fileSizeBytes, nsysVersion: trace.meta.nsysVersion, exportSchemaVersion: trace.meta.exportSchemaVersion, timeOriginNs: '0', hasKernelTable: true },
    warnings: [],
    headline: ['GPU 0 (NVIDIA H200): 3 streams, overlap share 13.3%, GPU utilization 60.0%, 1 host sync'],
    findings: [{
      id: 'host-sync-stall', severity: 'high', deviceId: 0, title: `${n.sync} stalls the GPU for 8.000 µs (32.0% of the window)`,
      evidence: [`1 call to ${n.sync} in ${n.expert1}`], costNs: 8000, costShare: 0.32, fix: 'Avoid reading results back to the host inside the expert loop.',
    }],
    devices: [d],
    processes: [{ globalPid: '1', pid: 1, name: 'app' }],
    apiSummary: [],
  };
}

export function smallInput(n: Names = PLAIN): HtmlInput {
  const trace = buildTrace(smallRows(n));
  return { report: smallReport(trace, n), trace };
}

/** Names crafted to break out of a page if they were ever written as markup. */
export const HOSTILE: Names = {
  gemm: '</script><script>alert(1)</script>',
  gating: '<img src=x onerror=alert(1)>',
  expert0: 'expert\u2028zero\u2029\u202Eevil\u202C',
  expert1: '<!-- <svg onload=alert(1)> &amp; "\'',
  file: '<img src=x onerror=alert(2)>.sqlite',
  sync: '</script>cudaStreamSynchronize',
};
