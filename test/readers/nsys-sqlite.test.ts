import { afterAll, describe, expect, it } from 'vitest';
import { readNsysSqlite } from '../../src/readers/nsys-sqlite.js';
import type { Trace } from '../../src/model/trace.js';
import { globalPid, globalTid, removeTempDirs, writeNsysExport } from '../helpers/make-sqlite.js';

afterAll(removeTempDirs);

const PID = 4242;
const GPID = globalPid(PID);
const MAIN = globalTid(PID, PID);
const WORKER = globalTid(PID, PID + 1);

const kernel = (start: number, end: number, streamId: number, name: string, extra: Record<string, number | bigint | string | null> = {}) => ({
  start, end, deviceId: 0, contextId: 1, streamId, globalPid: GPID, shortName: name, demangledName: `${name}(float*)`,
  gridX: 64, gridY: 2, gridZ: 1, blockX: 128, blockY: 1, blockZ: 1, registersPerThread: 40,
  staticSharedMemory: 1024, dynamicSharedMemory: 2048, ...extra,
});

const col = (a: ArrayLike<number>, n: number): number[] => Array.from(a).slice(0, n);
const names = (t: Trace, idx: ArrayLike<number>, n: number): (string | null)[] =>
  col(idx, n).map((i) => (i === -1 ? null : t.strings[i]));

describe('2020.3 shape: TARGET_INFO_CUDA_GPU only, no metadata, no PROCESSES', () => {
  const file = writeNsysExport('2020.3', {
    // inserted out of order: the reader must sort by start, then end
    kernels: [kernel(500, 900, 13, 'gemm', { correlationId: 12 }), kernel(100, 400, 7, 'softmax', { correlationId: 11 }), kernel(100, 300, 14, 'gemm', { correlationId: 10 })],
    runtime: [
      { start: 90, end: 95, eventClass: 1, globalTid: MAIN, correlationId: 10, nameId: 'cuLaunchKernel', returnValue: 0 },
      { start: 20, end: 60, eventClass: 1, globalTid: WORKER, correlationId: 3, nameId: 'cuMemcpyHtoDAsync_v2', returnValue: 0 },
    ],
    memcpy: [{ start: 61, end: 80, deviceId: 0, contextId: 1, streamId: 13, correlationId: 3, globalPid: GPID, bytes: 4096, copyKind: 1, srcKind: 1, dstKind: 3 }],
    sync: [
      { start: 950, end: 990, deviceId: 0, contextId: 1, streamId: 4294967295, correlationId: 20, globalPid: GPID, syncType: 1, eventId: 5 },
      { start: 910, end: 940, deviceId: 0, contextId: 1, streamId: 13, correlationId: 21, globalPid: GPID, syncType: 3, eventId: 4294967295 },
    ],
    threadNames: [{ nameId: 'kmeans', priority: 20, globalTid: MAIN }, { nameId: 'worker', priority: 20, globalTid: WORKER }],
    cudaGpus: [{
      vmId: 281474976710656n, name: 'NVIDIA GeForce RTX 3080', pciBusId: '0000:02:00.0', globalMemoryBandwidth: 760080000,
      globalMemorySize: 10495524864, numThreadsPerWarp: 32, numMultiprocessors: 68, maxWarpsPerMultiprocessor: 48,
      maxBlocksPerMultiprocessor: 16, maxRegistersPerBlock: 65536, maxSharedMemoryPerBlock: 49152,
      computeCapabilityMajor: 8, computeCapabilityMinor: 6, deviceId: 0, pid: PID,
    }],
  });
  const t = readNsysSqlite(file);

  it('recognises the shape and has no versions', () => {
    expect(t.meta.schemaShape).toEqual({ metadataTable: null, gpuTable: 'TARGET_INFO_CUDA_GPU', nvtxText: null });
    expect([t.meta.nsysVersion, t.meta.exportSchemaVersion, t.meta.sessionStartUtcNs, t.meta.timeOriginNs]).toEqual([null, null, null, '0']);
    expect(t.meta.warnings).toEqual([]);
    expect(t.meta.tables).toEqual([
      { name: 'CUPTI_ACTIVITY_KIND_KERNEL', rows: 3 }, { name: 'CUPTI_ACTIVITY_KIND_MEMCPY', rows: 1 },
      { name: 'CUPTI_ACTIVITY_KIND_RUNTIME', rows: 2 }, { name: 'CUPTI_ACTIVITY_KIND_SYNCHRONIZATION', rows: 2 },
      { name: 'StringIds', rows: 8 }, { name: 'TARGET_INFO_CUDA_GPU', rows: 1 }, { name: 'ThreadNames', rows: 2 },
    ]);
  });

  it('reads kernels sorted by start then end, names from StringIds', () => {
    const k = t.kernels;
    expect(k.count).toBe(3);
    expect(col(k.start, 3)).toEqual([100, 100, 500]);
    expect(col(k.end, 3)).toEqual([300, 400, 900]);
    expect(col(k.streamId, 3)).toEqual([14, 7, 13]);
    expect(col(k.correlationId, 3)).toEqual([10, 11, 12]);
    expect(names(t, k.shortName, 3)).toEqual(['gemm', 'softmax', 'gemm']);
    expect(t.launchConfigs[k.launchConfig[0]]).toEqual({ gridX: 64, gridY: 2, gridZ: 1, blockX: 128, blockY: 1, blockZ: 1,
      registersPerThread: 40, staticSharedMemory: 1024, dynamicSharedMemory: 2048 });
    expect(k.graphNodeId[0]).toBe(-1);
    expect(col(k.process, 3)).toEqual([0, 0, 0]);
  });

  it('strips _vNNNN from driver API names and marks them as driver calls', () => {
    const r = t.runtime;
    expect(names(t, r.name, r.count)).toEqual(['cuMemcpyHtoDAsync', 'cuLaunchKernel']);
    expect(col(r.api, r.count)).toEqual([1, 1]);
    expect(col(r.correlationId, r.count)).toEqual([3, 10]);
    expect(r.thread[0]).not.toBe(r.thread[1]);
    expect(t.threads[r.thread[0]]).toEqual({ globalTid: WORKER.toString(), tid: PID + 1, name: 'worker', process: 0 });
    expect(t.threads[r.thread[1]]).toEqual({ globalTid: MAIN.toString(), tid: PID, name: 'kmeans', process: 0 });
  });

  it('names the process after its main thread when there is no PROCESSES table', () => {
    expect(t.processes).toEqual([{ globalPid: GPID.toString(), pid: PID, name: 'kmeans' }]);
  });

  it('reads memcpy and sync, with CUPTI\'s invalid stream 0xFFFFFFFF as -1', () => {
    expect([t.memcpy.count, t.memcpy.start[0], t.memcpy.bytes[0], t.memcpy.copyKind[0], t.memcpy.srcKind[0], t.memcpy.dstKind[0], t.memcpy.streamId[0]])
      .toEqual([1, 61, 4096, 1, 1, 3, 13]);
    expect(col(t.sync.start, 2)).toEqual([910, 950]);
    expect(col(t.sync.streamId, 2)).toEqual([13, -1]);
    expect(col(t.sync.syncType, 2)).toEqual([3, 1]);
  });

  it('takes SM limits from TARGET_INFO_CUDA_GPU (bandwidth kB/s → B/s, threads/SM = warps × 32)', () => {
    expect(t.gpus).toEqual([{
      deviceId: 0, name: 'NVIDIA GeForce RTX 3080', smCount: 68, computeCapability: { major: 8, minor: 6 },
      maxThreadsPerSm: 1536, maxBlocksPerSm: 16, maxRegistersPerSm: null, maxRegistersPerBlock: 65536,
      maxSharedMemoryPerSm: null, maxSharedMemoryPerBlock: 49152, threadsPerWarp: 32,
      memoryBandwidth: 760080000000, clockRate: null, totalMemory: 10495524864, busLocation: '0000:02:00.0',
    }]);
  });
});

describe('2020.5 shape: 5-column TARGET_INFO_GPU next to TARGET_INFO_CUDA_GPU', () => {
  const t = readNsysSqlite(writeNsysExport('2020.5', {
    kernels: [kernel(10, 20, 13, 'k', { deviceId: 1 })],
    gpus: [
      { vmId: 1, deviceId: 0, name: 'GPU A', busLocation: '0000:01:00.0', isDiscrete: 1 },
      { vmId: 1, deviceId: 1, name: 'GPU B', busLocation: '0000:02:00.0', isDiscrete: 1 },
    ],
    cudaGpus: [{
      vmId: 1, name: 'cuda name', deviceId: 1, numMultiprocessors: 80, numThreadsPerWarp: 32,
      maxWarpsPerMultiprocessor: 64, maxBlocksPerMultiprocessor: 32, computeCapabilityMajor: 7,
      computeCapabilityMinor: 0, maxSharedMemoryPerMultiprocessor: 98304, maxRegistersPerMultiprocessor: 65536,
    }],
  }));

  it('merges names from the 5-column table with limits from TARGET_INFO_CUDA_GPU', () => {
    expect(t.meta.schemaShape.gpuTable).toBe('TARGET_INFO_GPU_5COL');
    expect(t.gpus.map((g) => [g.deviceId, g.name, g.busLocation, g.smCount, g.maxThreadsPerSm, g.maxSharedMemoryPerSm, g.maxRegistersPerSm]))
      .toEqual([[0, 'GPU A', '0000:01:00.0', null, null, null, null], [1, 'GPU B', '0000:02:00.0', 80, 2048, 98304, 65536]]);
    expect(t.meta.warnings).toEqual([]);
  });
});

describe('2022.4 shape: EXPORT_META_DATA, full TARGET_INFO_GPU, PROCESSES', () => {
  const t = readNsysSqlite(writeNsysExport('2022.4', {
    kernels: [kernel(1000, 2000, 13, 'vecAdd', { correlationId: 117 })],
    runtime: [
      { start: 900, end: 950, eventClass: 0, globalTid: MAIN, correlationId: 117, nameId: 'cudaLaunchKernel_v7000' },
      { start: 960, end: 2100, eventClass: 0, globalTid: MAIN, correlationId: 118, nameId: 'cudaStreamSynchronize_v3020' },
    ],
    memcpy: [{ start: 10, end: 20, streamId: 14, bytes: 8, copyKind: 2, srcKind: 3, dstKind: 1, globalPid: GPID }],
    processes: [{ globalPid: GPID, pid: PID, name: './vectorAdd_streams' }, { globalPid: globalPid(1), pid: 1, name: 'systemd' }],
    threadNames: [{ nameId: 'vectorAdd_strea', globalTid: MAIN }],
    sessionStart: { utcEpochNs: 1736033500264562021n, utcTime: '2025-01-04T23:31:40', localTime: '2025-01-04T23:31:40' },
    gpus: [{
      vmId: 1, id: 0, name: 'Tesla T4', busLocation: '0000:00:04.0', totalMemory: 15642329088, memoryBandwidth: 320064000000,
      smCount: 40, maxRegistersPerBlock: 65536, maxShmemPerBlock: 49152, maxShmemPerBlockOptin: 65536, maxShmemPerSm: 65536,
      maxRegistersPerSm: 65536, threadsPerWarp: 32, maxWarpsPerSm: 32, maxBlocksPerSm: 16, computeMajor: 7, computeMinor: 5,
    }],
  }));

  it('reads versions from EXPORT_META_DATA and the session start exactly', () => {
    expect([t.meta.nsysVersion, t.meta.exportSchemaVersion]).toEqual(['2022.4.2.1', '3.0.0']);
    expect(t.meta.schemaShape).toEqual({ metadataTable: 'EXPORT_META_DATA', gpuTable: 'TARGET_INFO_GPU', nvtxText: null });
    expect(t.meta.sessionStartUtcNs).toBe('1736033500264562021');
  });

  it('normalizes runtime API names and keeps only processes with activity', () => {
    expect(names(t, t.runtime.name, 2)).toEqual(['cudaLaunchKernel', 'cudaStreamSynchronize']);
    expect(col(t.runtime.api, 2)).toEqual([0, 0]);
    expect(t.processes).toEqual([{ globalPid: GPID.toString(), pid: PID, name: './vectorAdd_streams' }]);
    expect(t.threads).toEqual([{ globalTid: MAIN.toString(), tid: PID, name: 'vectorAdd_strea', process: 0 }]);
  });

  it('reads the GPU limits of TARGET_INFO_GPU', () => {
    expect(t.gpus).toEqual([{
      deviceId: 0, name: 'Tesla T4', smCount: 40, computeCapability: { major: 7, minor: 5 }, maxThreadsPerSm: 1024,
      maxBlocksPerSm: 16, maxRegistersPerSm: 65536, maxRegistersPerBlock: 65536, maxSharedMemoryPerSm: 65536,
      maxSharedMemoryPerBlock: 49152, threadsPerWarp: 32, memoryBandwidth: 320064000000, clockRate: null, totalMemory: 15642329088,
      busLocation: '0000:00:04.0',
    }]);
  });
});
