import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeTrace, renderInfo } from '../../src/commands/info.js';
import { readNsysSqlite } from '../../src/readers/nsys-sqlite.js';
import { globalPid, globalTid, removeTempDirs, writeNsysExport } from '../helpers/make-sqlite.js';
import { ensureBuilt } from '../fuzz/binary.js';

afterAll(removeTempDirs);

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const pid = 31337;

function exportWithTwoStreams(): string {
  const k = (start: number, end: number, streamId: number) => ({ start, end, streamId, globalPid: globalPid(pid), shortName: 'expert', demangledName: 'expert' });
  return writeNsysExport('2024.6', {
    kernels: [k(2_000_000, 3_000_000, 7), k(2_500_000, 4_500_000, 8), k(5_000_000, 5_250_000, 7)],
    runtime: [{ start: 1_000_000, end: 1_000_500, globalTid: globalTid(pid, pid), nameId: 'cudaLaunchKernel_v7000' }],
    processes: [{ globalPid: globalPid(pid), pid, name: 'python3' }],
    gpus: [{ vmId: 1, id: 0, name: 'NVIDIA H200', smCount: 132, computeMajor: 9, computeMinor: 0, maxWarpsPerSm: 64, threadsPerWarp: 32, maxBlocksPerSm: 32, maxRegistersPerSm: 65536, maxShmemPerSm: 233472, totalMemory: 150_754_820_096 }],
  });
}

describe('describeTrace', () => {
  it('summarises counts, kernel span, streams per device and processes', () => {
    const info = describeTrace(readNsysSqlite(exportWithTwoStreams()));
    expect(info.counts).toEqual({ kernels: 3, runtime: 1, memcpy: 0, memset: 0, sync: 0, nvtx: 0 });
    expect(info.kernelSpan).toEqual({ start: 2_000_000, end: 5_250_000, duration: 3_250_000 });
    expect(info.devices).toEqual([{ deviceId: 0, kernels: 3, streams: 2 }]);
    expect(info.processes).toEqual([{ pid, globalPid: globalPid(pid).toString(), name: 'python3', threads: 1, kernels: 3, apiCalls: 1 }]);
    expect([info.nsysVersion, info.exportSchemaVersion, info.schemaVersion]).toEqual(['2024.6.2.225', '3.16.1', 1]);
  });

  it('renders the headline lines and tables', () => {
    const text = renderInfo(describeTrace(readNsysSqlite(exportWithTwoStreams())));
    const lines = text.split('\n');
    expect(lines[1]).toBe('format: Nsight Systems SQLite export; producer: nsys 2024.6.2.225');
    expect(lines[2]).toBe('nsys 2024.6.2.225, export schema 3.16.1');
    expect(lines[3]).toBe('schema shape: metadata META_DATA_EXPORT, GPU info TARGET_INFO_GPU, NVTX text none');
    expect(lines[4]).toBe('kernels: 3 on 2 streams, from 2.000 ms to 5.250 ms (3.250 ms)');
    expect(lines[5]).toBe('CUDA API calls 1, memcpy 0, memset 0, synchronizations 0, NVTX events 0');
    expect(text).toMatch(/^\s+0 {2}NVIDIA H200 {2}132 {6}9\.0 {8}2048 {9}32 {4}65536 {2}228\.0 KiB {2}140\.40 GiB$/m);
    expect(text).toMatch(/^31337 {2}python3 {8}1 {8}3 {10}1$/m);
    expect(text).toMatch(/^CUPTI_ACTIVITY_KIND_KERNEL\s+3$/m);
  });
});

describe('moe-trace info, the real binary', () => {
  beforeAll(() => {
    // vitest's globalSetup (test/setup/build.ts) built dist/ for this run
    expect(ensureBuilt()).toBe(true);
  });

  it('prints the summary and exits 0', () => {
    const file = exportWithTwoStreams();
    const r = spawnSync(process.execPath, [`${ROOT}bin/moe-trace.js`, 'info', file], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n')[0]).toMatch(/report\.sqlite \(\d+\.\d KiB\)$/);
    expect(r.stdout).toContain('kernels: 3 on 2 streams, from 2.000 ms to 5.250 ms (3.250 ms)');
  });

  it('--json prints one object; a missing file exits 2 with one line', () => {
    const file = exportWithTwoStreams();
    const ok = spawnSync(process.execPath, [`${ROOT}bin/moe-trace.js`, 'info', '--json', file], { encoding: 'utf8' });
    expect(ok.status).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ schema: 'moe-trace/info', counts: { kernels: 3 }, devices: [{ deviceId: 0, streams: 2 }] });
    const bad = spawnSync(process.execPath, [`${ROOT}bin/moe-trace.js`, 'info', `${file}.missing`], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^moe-trace: .*report\.sqlite\.missing: no such file; check the path .*\n$/);
  });
});
