/** The newest full shape, and what the reader repairs or drops: NULLs, inverted rows, huge timestamps, WAL files. */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readNsysSqlite } from '../../src/readers/nsys-sqlite.js';
import { callLinks } from '../../src/analyses/correlation.js';
import { NSYS_SHAPES } from '../helpers/nsys-shapes.js';
import { globalPid, globalTid, removeTempDirs, writeNsysExport, writeSqlite } from '../helpers/make-sqlite.js';

afterAll(removeTempDirs);

const col = (a: ArrayLike<number>): number[] => Array.from(a);

describe('2026.1 full shape: META_DATA_EXPORT, driver table, memset, NVTX by textId and inline', () => {
  // vmId 0x7F puts globalPid/globalTid past 2^53: they must survive as exact decimal strings
  const VM = 0x7fn;
  const gpid = globalPid(900, VM);
  const main = globalTid(900, 900, VM);
  const next = globalTid(900, 901, VM);
  const t = readNsysSqlite(writeNsysExport('2026.1', {
    kernels: [{ start: 50, end: 70, streamId: 7, globalPid: gpid, shortName: 'expert_gemm', demangledName: 'expert_gemm<64>', correlationId: 5, graphNodeId: 77, gridX: 1, gridY: 1, gridZ: 1, blockX: 1, blockY: 1, blockZ: 1 }],
    runtime: [{ start: 40, end: 45, eventClass: 0, globalTid: main, correlationId: 5, nameId: 'cudaLaunchKernel_v7000' }],
    driver: [{ start: 41, end: 44, eventClass: 1, globalTid: next, correlationId: 6, nameId: 'cuLaunchKernel' }],
    memset: [{ start: 80, end: 85, streamId: 7, globalPid: gpid, value: 0, bytes: 512, memKind: 2 }],
    sync: [{ start: 90, end: 99, streamId: 4294967295, globalPid: gpid, deprecatedSyncType: null, syncType: 4, eventId: 4294967295 }],
    nvtx: [
      { start: 30, end: 100, eventType: 59, textId: 'forward', globalTid: main, domainId: 0 },
      { start: 35, end: 60, eventType: 60, text: 'expert 3', globalTid: main, domainId: 2, int64Value: 4096 },
      { start: 36, eventType: 34, text: 'mark', globalTid: next, doubleValue: 0.5 },
      // a domain-create record is not a time range: not read
      { start: 1, eventType: 75, text: 'my domain', domainId: 2 },
    ],
    gpus: [{ vmId: 1, id: 0, name: 'NVIDIA H200', smCount: 132, computeMajor: 9, computeMinor: 0, maxWarpsPerSm: 64, threadsPerWarp: 32 }],
    // a MIG slice: CUDA saw 16 SMs of the 132
    cudaDevices: [{ gpuId: 0, cudaId: 0, pid: 900, numMultiprocessors: 16 }],
    processes: [{ globalPid: gpid, pid: 900, name: 'python' }],
    threadNames: [{ nameId: 'python', globalTid: main }, { nameId: 'pt_autograd_0', globalTid: next }],
  }));

  it('reads versions and shape', () => {
    expect([t.meta.nsysVersion, t.meta.exportSchemaVersion]).toEqual(['2026.1.1.204', '3.24.14']);
    expect(t.meta.schemaShape).toEqual({ metadataTable: 'META_DATA_EXPORT', gpuTable: 'TARGET_INFO_GPU', nvtxText: 'both' });
    expect(t.meta.warnings).toEqual([]);
  });

  it('keeps globalPid/globalTid above 2^53 exact', () => {
    expect(gpid > BigInt(Number.MAX_SAFE_INTEGER)).toBe(true);
    expect(t.processes).toEqual([{ globalPid: gpid.toString(), pid: 900, name: 'python' }]);
    expect(t.threads.map((th) => [th.globalTid, th.tid, th.name, th.process]))
      .toEqual([[main.toString(), 900, 'python', 0], [next.toString(), 901, 'pt_autograd_0', 0]]);
  });

  it('merges runtime and driver tables in start order', () => {
    expect(col(t.runtime.start)).toEqual([40, 41]);
    expect(t.strings[t.runtime.name[0]]).toBe('cudaLaunchKernel');
    expect(t.strings[t.runtime.name[1]]).toBe('cuLaunchKernel');
    expect(col(t.runtime.api)).toEqual([0, 1]);
    expect(col(t.runtime.thread)).toEqual([0, 1]);
  });

  it('reads kernels, memset, sync', () => {
    expect([t.kernels.count, t.kernels.graphNodeId[0], t.strings[t.kernels.shortName[0]]]).toEqual([1, 77, 'expert_gemm']);
    // the full (demangled) name beside the short one: kernel classes read it (issue 17)
    expect(t.strings[t.kernels.demangledName![0]]).toBe('expert_gemm<64>');
    expect([t.memset.count, t.memset.bytes[0], t.memset.memKind[0], t.memset.process[0]]).toEqual([1, 512, 2, 0]);
    expect([t.sync.count, t.sync.syncType[0], t.sync.streamId[0]]).toEqual([1, 4, -1]);
  });

  it('reads NVTX text from StringIds or inline, payloads, and NaN end for marks', () => {
    const v = t.nvtx;
    expect(v.count).toBe(3);
    expect(col(v.start)).toEqual([30, 35, 36]);
    expect(col(v.end)).toEqual([100, 60, NaN]);
    expect(col(v.text).map((i) => t.strings[i])).toEqual(['forward', 'expert 3', 'mark']);
    expect(col(v.eventType)).toEqual([59, 60, 34]);
    expect(col(v.payload)).toEqual([NaN, 4096, 0.5]);
    expect(col(v.domainId)).toEqual([0, 2, -1]);
    expect(col(v.thread)).toEqual([0, 0, 1]);
  });

  it('prefers the SM count CUDA saw (TARGET_INFO_CUDA_DEVICE) over the whole GPU\'s', () => {
    expect(t.gpus.map((g) => [g.deviceId, g.name, g.smCount, g.maxThreadsPerSm])).toEqual([[0, 'NVIDIA H200', 16, 2048]]);
  });
});

describe('validation and repair', () => {
  const shape = NSYS_SHAPES['2024.6'];
  // nsys declares start/end NOT NULL; a damaged or hand-made file may still hold NULLs
  const loose = shape.CUPTI_ACTIVITY_KIND_KERNEL.replace('start INTEGER NOT NULL, end INTEGER NOT NULL', 'start INTEGER, end INTEGER');
  const k = (start: number | null, end: number | null, extra = {}) => ({ start, end, deviceId: 0, streamId: 7, shortName: 1, demangledName: 1, ...extra });

  it('drops rows with NULL or inverted times, with one warning per reason', () => {
    const t = readNsysSqlite(writeSqlite([
      { name: 'CUPTI_ACTIVITY_KIND_KERNEL', columns: loose, rows: [k(10, 20), k(null, 5), k(30, 25), k(40, 35), k(50, null), k(60, 60)] },
      { name: 'StringIds', columns: shape.StringIds, rows: [{ id: 1, value: 'k' }] },
    ]));
    expect(col(t.kernels.start)).toEqual([10, 60]);
    expect(t.meta.warnings).toEqual([
      '2 kernels with no start or end time were ignored.',
      '2 kernels with end < start were ignored.',
      'GPU 0 has activity but no description in the export; its SM count and limits are unknown.',
    ]);
  });

  it('takes syncType from the synchronizing API call, not the stored value', () => {
    const gpid = globalPid(77);
    const tid = globalTid(77, 77);
    const t = readNsysSqlite(writeNsysExport('2024.6', {
      runtime: [
        { start: 10, end: 20, globalTid: tid, correlationId: 1, nameId: 'cudaDeviceSynchronize_v3020' },
        { start: 30, end: 40, globalTid: tid, correlationId: 2, nameId: 'cuEventSynchronize' },
        { start: 50, end: 60, globalTid: tid, correlationId: 3, nameId: 'cudaMemcpy_v3020' },
      ],
      sync: [
        { start: 11, end: 19, globalPid: gpid, correlationId: 1, syncType: 0, streamId: 4294967295 },
        { start: 31, end: 39, globalPid: gpid, correlationId: 2, syncType: 2, streamId: 4294967295 },
        { start: 51, end: 59, globalPid: gpid, correlationId: 3, syncType: 3, streamId: 7 },
        { start: 61, end: 69, globalPid: gpid, correlationId: 9, syncType: 3, streamId: 7 },
      ],
    }));
    expect(col(t.sync.syncType)).toEqual([4, 1, 3, 3]);
  });

  it('reads NULL optional fields as -1', () => {
    const t = readNsysSqlite(writeSqlite([
      { name: 'CUPTI_ACTIVITY_KIND_KERNEL', columns: loose, rows: [k(10, 20, { correlationId: null, globalPid: null, graphNodeId: null })] },
      { name: 'StringIds', columns: shape.StringIds, rows: [{ id: 1, value: 'k' }] },
    ]));
    expect([t.kernels.correlationId[0], t.kernels.process[0], t.kernels.graphNodeId[0]]).toEqual([-1, -1, -1]);
    expect(t.processes).toEqual([]);
  });

  it.each([['pages', false], ['SQL', true]] as const)('%s: ids past 32 bits stay exact (Float64Array); small ids narrow to the smallest integer array', (_, noPages) => {
    const tid = globalTid(77, 77);
    const gpid = globalPid(77);
    const big = 2 ** 40 + 3;
    const file = (corr: number, node: number) => writeNsysExport('2024.6', {
      kernels: [{ start: 50, end: 70, streamId: 7, globalPid: gpid, shortName: 'k', demangledName: 'k', correlationId: corr, graphNodeId: node }],
      runtime: [{ start: 40, end: 45, globalTid: tid, correlationId: corr, nameId: 'cudaLaunchKernel_v7000' }],
    });
    const wide = readNsysSqlite(file(big, big + 1), { noPages });
    expect(wide.kernels.correlationId).toBeInstanceOf(Float64Array);
    expect([wide.kernels.correlationId[0], wide.kernels.graphNodeId[0], wide.runtime.correlationId[0]]).toEqual([big, big + 1, big]);
    expect(callLinks(wide).kernelCall[0]).toBe(0);
    const small = readNsysSqlite(file(5, -1), { noPages });
    for (const c of [small.kernels.correlationId, small.kernels.graphNodeId, small.runtime.correlationId]) expect(c).toBeInstanceOf(Int8Array);
    expect([small.kernels.correlationId[0], small.kernels.graphNodeId[0], small.runtime.correlationId[0]]).toEqual([5, -1, 5]);
    expect(callLinks(small).kernelCall[0]).toBe(0);
  });

  it('warns about a single inverted row in the singular', () => {
    const t = readNsysSqlite(writeNsysExport('2024.6', {
      runtime: [{ start: 5, end: 4, nameId: 'cudaFree_v3020' }, { start: 6, end: 7, nameId: 'cudaFree_v3020' }],
    }));
    expect(t.meta.warnings).toContain('1 CUDA API call with end < start was ignored.');
    expect(t.runtime.count).toBe(1);
  });

  it('reads an export without a kernel table, saying why there are no kernels', () => {
    const t = readNsysSqlite(writeNsysExport('2024.6', { runtime: [{ start: 5, end: 9, nameId: 'cudaLaunchKernel_v7000' }] }));
    expect(t.hasKernelTable).toBe(false);
    expect(t.kernels.count).toBe(0);
    expect(t.runtime.count).toBe(1);
    expect(t.meta.warnings).toEqual([
      'The export has no CUDA kernel records (no CUPTI_ACTIVITY_KIND_KERNEL table): CUDA kernel tracing was off or unsupported (e.g. under WSL); only CUDA API calls and other records are available.',
    ]);
  });

  it('rebases timestamps past 2^53 to the earliest start, exactly', () => {
    const base = 1n << 60n;
    const t = readNsysSqlite(writeNsysExport('2024.6', {
      kernels: [{ start: base + 1000n, end: base + 1500n, shortName: 'a', demangledName: 'a' }, { start: base + 1001n, end: base + 1003n, shortName: 'a', demangledName: 'a' }],
      runtime: [{ start: base + 7n, end: base + 9n, nameId: 'cudaLaunchKernel_v7000' }],
    }));
    expect(t.meta.timeOriginNs).toBe((base + 7n).toString());
    expect(col(t.kernels.start)).toEqual([993, 994]);
    expect(col(t.kernels.end)).toEqual([1493, 996]);
    expect([t.runtime.start[0], t.runtime.end[0]]).toEqual([0, 2]);
  });

  it('warns about string ids missing from StringIds and GPUs without a description', () => {
    const t = readNsysSqlite(writeSqlite([
      { name: 'CUPTI_ACTIVITY_KIND_KERNEL', columns: shape.CUPTI_ACTIVITY_KIND_KERNEL, rows: [k(1, 2, { shortName: 99, deviceId: 3 }), k(3, 4, { shortName: 1, deviceId: 3 })] },
      { name: 'StringIds', columns: shape.StringIds, rows: [{ id: 1, value: 'k' }] },
    ]));
    expect(t.kernels.shortName[0]).toBe(-1);
    expect(t.strings[t.kernels.shortName[1]]).toBe('k');
    expect(t.gpus.map((g) => [g.deviceId, g.smCount])).toEqual([[3, null]]);
    expect(t.meta.warnings).toEqual([
      '1 string ids were missing from StringIds; those names read as unknown.',
      'GPU 3 has activity but no description in the export; its SM count and limits are unknown.',
    ]);
  });

  it('reads a WAL-mode database without creating -shm/-wal files next to it', () => {
    const file = writeNsysExport('2024.6', { kernels: [{ start: 1, end: 2, shortName: 'a', demangledName: 'a' }] }, { wal: true });
    expect(readFileSync(file)[18]).toBe(2);
    const before = readFileSync(file);
    const listing = readdirSync(dirname(file));
    expect(readNsysSqlite(file).kernels.count).toBe(1);
    expect(readdirSync(dirname(file))).toEqual(listing);
    expect(readFileSync(file).equals(before)).toBe(true);
  });
});
