/**
 * Reads the public nsys exports of ../shared/nsys-corpus (one per nsys era, 2020.5 – 2026.1) and
 * checks them against the kernel and stream counts of its MANIFEST.md. The corpus is reference
 * data kept outside the repository; without it these tests are skipped.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { main } from '../src/cli.js';
import { readNsysSqlite } from '../src/readers/nsys-sqlite.js';

const CORPUS = fileURLToPath(new URL('../../shared/nsys-corpus/', import.meta.url));
const present = existsSync(`${CORPUS}MANIFEST.md`);

interface ManifestRow { file: string; nsys: string; kernels: number | null; streams: number | null }

/** The manifest's table rows: | file | repository | nsys | kernels | streams | notes | */
function manifest(): ManifestRow[] {
  const rows = readFileSync(`${CORPUS}MANIFEST.md`, 'utf8').split('\n')
    .filter((l) => /^\|\s*nsys[\d.]+_/.test(l))
    .map((l) => l.split('|').slice(1, -1).map((c) => c.trim()));
  return rows.map(([file, , nsys, kernels, streams]) => ({
    file, nsys,
    kernels: kernels === 'none' ? null : Number(kernels.replace(/,/g, '')),
    streams: /^\d+$/.test(streams) ? Number(streams) : null,
  }));
}

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = ''; let stderr = '';
  const code = await main(argv, { stdout: (s) => { stdout += s; }, stderr: (s) => { stderr += s; } });
  return { code, stdout, stderr };
}

describe.skipIf(!present)('nsys corpus (../shared/nsys-corpus present)', () => {
  const rows = present ? manifest() : [];

  it('the manifest lists the five exports', () => {
    expect(rows.map((r) => r.nsys)).toEqual(['2020.5.1', '2022.4.2', '2023.3.3', '2024.6.2', '2026.1.1']);
  });

  it.each(rows.map((r) => [r.file, r] as const))('%s: kernel and stream counts match MANIFEST.md', (_, row) => {
    const t = readNsysSqlite(CORPUS + row.file);
    if (row.kernels === null) {
      expect(t.hasKernelTable).toBe(false);
      expect(t.kernels.count).toBe(0);
      expect(t.runtime.count).toBeGreaterThan(0);
      expect(t.meta.warnings.join(' ')).toContain('no CUDA kernel records');
    } else {
      expect(t.hasKernelTable).toBe(true);
      expect(t.kernels.count).toBe(row.kernels);
      expect(new Set(t.kernels.streamId).size).toBe(row.streams);
    }
    // exports before 2022.2 record no version; the others must agree with the manifest
    if (t.meta.nsysVersion !== null) expect(t.meta.nsysVersion.startsWith(row.nsys)).toBe(true);
    else expect(row.nsys < '2022.2').toBe(true);
    for (let i = 1; i < t.kernels.count; i++) expect(t.kernels.start[i] >= t.kernels.start[i - 1]).toBe(true);
  });

  it('the WSL capture: 12,870 cudaLaunchKernel calls, no kernel table', () => {
    const row = rows.find((r) => r.kernels === null);
    const t = readNsysSqlite(CORPUS + row!.file);
    const launch = t.strings.indexOf('cudaLaunchKernel');
    expect(t.runtime.name.filter((n) => n === launch).length).toBe(12870);
  });

  it('syncType follows the synchronizing call although nsys versions store it differently', () => {
    const byApi = (file: string): string[] => {
      const t = readNsysSqlite(CORPUS + file);
      const apiOf = new Map<number, string>();
      for (let j = 0; j < t.runtime.count; j++) apiOf.set(t.runtime.correlationId[j], t.strings[t.runtime.name[j]]);
      const seen = new Map<string, number>();
      for (let i = 0; i < t.sync.count; i++) {
        const key = `${apiOf.get(t.sync.correlationId[i])}=${t.sync.syncType[i]}`;
        seen.set(key, (seen.get(key) ?? 0) + 1);
      }
      return [...seen].map(([k, n]) => `${k} x${n}`).sort();
    };
    // stored: 2020.5 cuEventSynchronize=2; 2023.3 cuCtxSynchronize=1, cudaDeviceSynchronize=1, cuEventSynchronize=2; 2024.6 cudaDeviceSynchronize=0
    expect(rows.map((r) => byApi(r.file))).toEqual([
      ['cuEventSynchronize=1 x176', 'cuStreamSynchronize=3 x153'],
      ['cudaStreamSynchronize=3 x4'],
      ['cuCtxSynchronize=4 x6804', 'cuEventSynchronize=1 x3354', 'cudaDeviceSynchronize=4 x1293'],
      ['cudaDeviceSynchronize=4 x512'],
      ['cudaDeviceSynchronize=4 x1', 'cudaEventSynchronize=1 x1'],
    ]);
  });

  it('schema shapes and GPUs per era', () => {
    const seen = rows.map((r) => {
      const t = readNsysSqlite(CORPUS + r.file);
      return [r.nsys, t.meta.schemaShape.metadataTable, t.meta.schemaShape.gpuTable, t.gpus.map((g) => `${g.name}/${g.smCount}`).join()];
    });
    expect(seen).toEqual([
      ['2020.5.1', null, 'TARGET_INFO_GPU_5COL', 'NVIDIA GeForce RTX 3080/68'],
      ['2022.4.2', 'EXPORT_META_DATA', 'TARGET_INFO_GPU', 'Tesla T4/40'],
      ['2023.3.3', 'META_DATA_EXPORT', 'TARGET_INFO_GPU', 'NVIDIA GeForce RTX 4060 Laptop GPU/24'],
      ['2024.6.2', 'META_DATA_EXPORT', 'TARGET_INFO_GPU', 'NVIDIA GeForce RTX 4060 Ti/34'],
      ['2026.1.1', 'META_DATA_EXPORT', 'TARGET_INFO_GPU', 'NVIDIA GeForce RTX 4060 Ti/34'],
    ]);
  });

  it.each(rows.map((r) => [r.file, r] as const))('%s: info and analyze run without error', async (_, row) => {
    const info = await run(['info', '--json', CORPUS + row.file]);
    expect(info.stderr).toBe('');
    expect(info.code).toBe(0);
    expect((JSON.parse(info.stdout) as { counts: { kernels: number } }).counts.kernels).toBe(row.kernels ?? 0);
    const analyze = await run(['analyze', CORPUS + row.file]);
    expect(analyze.stderr).toBe('');
    expect(analyze.code).toBe(0);
    if (row.kernels === null) {
      const strict = await run(['analyze', '--require-kernels', CORPUS + row.file]);
      expect(strict.code).toBe(2);
      expect(strict.stderr).toMatch(/no CUDA kernel records/);
    }
  });
});
