/**
 * A synthetic million-kernel trace built straight into typed arrays (row objects would cost
 * gigabytes): 32 expert streams, each kernel launched by one host thread inside an NVTX
 * "expert i" range, with a stream sync every 1000 launches. The Report carries the window and
 * stream list the renderer needs; its overlap numbers are computed with the project's interval
 * maths so the page's text is consistent.
 */
import { concurrencyLevels, union, totalLength } from '../../../src/model/intervals.js';
import { emptyKernels, emptyMeta, emptyNvtx, emptyRuntime, emptyMemcpy, emptyMemset, emptySync, emptyGpu, StringTable } from '../../../src/model/build.js';
import type { Trace } from '../../../src/model/trace.js';
import { GAP_CLASSES, type DeviceReport, type Distribution, type GapSummary, type Report } from '../../../src/report/types.js';

const NONE: Distribution = { count: 0, total: 0, min: 0, median: 0, p95: 0, max: 0 };

export function bigTrace(n = 1_000_000, streams = 32): Trace {
  const st = new StringTable();
  const k = emptyKernels(n);
  const rt = emptyRuntime(n + Math.floor(n / 1000));
  const nv = emptyNvtx(n);
  const launch = st.intern('cudaLaunchKernel');
  const sync = st.intern('cudaStreamSynchronize');
  const names = Array.from({ length: streams }, (_, e) => st.intern(`expert_gemm_${e % 8}`));
  const experts = Array.from({ length: streams }, (_, e) => st.intern(`expert ${e}`));
  let t = 1_000_000;
  let r = 0;
  for (let i = 0; i < n; i++) {
    const e = i % streams;
    // launch every 6 µs, kernel 5-9 µs starting 2 µs after its launch: some overlap, some gaps
    nv.start[i] = t; nv.end[i] = t + 1500; nv.text[i] = experts[e]; nv.eventType[i] = 59; nv.payload[i] = NaN;
    rt.start[r] = t + 200; rt.end[r] = t + 1200; rt.name[r] = launch; rt.correlationId[r] = i + 1; r++;
    k.start[i] = t + 2000; k.end[i] = t + 2000 + 5000 + (i % 5) * 1000;
    k.streamId[i] = 16 + e; k.correlationId[i] = i + 1; k.shortName[i] = names[e];
    k.launchConfig[i] = 0;
    k.graphNodeId[i] = -1;
    t += 6000;
    if ((i + 1) % 1000 === 0) {
      rt.start[r] = t; rt.end[r] = t + 20_000; rt.name[r] = sync; rt.correlationId[r] = -1; r++;
      t += 25_000;
    }
  }
  return {
    meta: { ...emptyMeta('/synthetic/moe-1m.sqlite'), fileSizeBytes: 0 },
    strings: st.strings, kernels: k, hasKernelTable: true, runtime: rt,
    // every kernel: grid 64×1×1, block 128×1×1, registers and shared memory not recorded
    launchConfigs: [{ gridX: 64, gridY: 1, gridZ: 1, blockX: 128, blockY: 1, blockZ: 1, registersPerThread: 0, staticSharedMemory: 0, dynamicSharedMemory: 0 }],
    memcpy: emptyMemcpy(), memset: emptyMemset(), sync: emptySync(), nvtx: nv,
    gpus: [emptyGpu(0)], processes: [{ globalPid: '1', pid: 1, name: 'python' }],
    threads: [{ globalTid: '1', tid: 77, name: 'python', process: 0 }],
  };
}

export function bigReport(trace: Trace): Report {
  const k = trace.kernels;
  const w0 = k.start[0];
  let w1 = 0;
  for (let i = 0; i < k.count; i++) w1 = Math.max(w1, k.end[i]);
  const lv = concurrencyLevels(k.start, k.end, k.count);
  lv.levelTime[0] = w1 - w0 - lv.busy;
  const byStream = new Map<number, number[]>();
  for (let i = 0; i < k.count; i++) {
    const l = byStream.get(k.streamId[i]);
    if (l) l.push(i); else byStream.set(k.streamId[i], [i]);
  }
  const streams = [...byStream].map(([streamId, idx]) => {
    const busy = totalLength(union(Float64Array.from(idx, (i) => k.start[i]), Float64Array.from(idx, (i) => k.end[i]), idx.length));
    return { streamId, process: 0, kernelCount: idx.length, busy, occupancy: busy / (w1 - w0), shareOfDeviceBusy: busy / lv.busy, duration: NONE, gaps: NONE };
  });
  const syncs = [];
  for (let r = 0; r < trace.runtime.count; r++) {
    if (trace.strings[trace.runtime.name[r]] !== 'cudaStreamSynchronize') continue;
    const { start, end } = { start: trace.runtime.start[r], end: trace.runtime.end[r] };
    syncs.push({ name: 'cudaStreamSynchronize', start, end, duration: end - start, thread: 0, reason: 'explicit' as const, gpuIdle: 0 });
  }
  const d: DeviceReport = {
    deviceId: 0, gpuName: 'GPU 0', window: { start: w0, end: w1, duration: w1 - w0, source: 'kernels' },
    overlap: {
      kernelCount: k.count, busy: lv.busy, kernelTime: 0, concurrency: null, overlapShare: lv.overlapTime / lv.busy,
      overlapTime: lv.overlapTime, utilization: lv.busy / (w1 - w0), levelTime: lv.levelTime, maxConcurrency: lv.maxConcurrency,
    },
    transfers: { memcpyCount: 0, memcpyBusy: 0, memsetCount: 0, memsetBusy: 0 },
    streams, streamPairs: [],
    gaps: { all: NONE, byClass: Object.fromEntries(GAP_CLASSES.map((c) => [c, { count: 0, total: 0 }])) as GapSummary['byClass'], gaps: [] },
    launch: { latency: NONE, interval: NONE, matchedKernels: k.count, launchBound: false },
    hostSyncs: { count: syncs.length, totalTime: 0, gpuIdle: 0, byName: [], byReason: [], calls: syncs, omitted: 0 },
  };
  return {
    schema: 'moe-trace/report', schemaVersion: 1, tool: { name: 'moe-trace', version: '0.1.0' },
    input: { file: trace.meta.file, fileSizeBytes: 0, nsysVersion: null, exportSchemaVersion: null, timeOriginNs: '0', hasKernelTable: true },
    warnings: [], headline: ['synthetic million-kernel trace'], findings: [], devices: [d],
    processes: [{ globalPid: '1', pid: 1, name: 'python' }], apiSummary: [],
  };
}
