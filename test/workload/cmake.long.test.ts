/**
 * Configures and compiles native-workload where the toolchain allows. CI machines have no GPU;
 * this one has nvcc but no cuBLAS, so the kernels are compiled alone (MOE_KERNELS_ONLY) and the
 * full configure is expected to stop with the cuBLAS message.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { whichOnPath } from '../../src/profile/find-nsys.js';
import { toolchainPath } from '../../src/profile/run.js';

const PATH = toolchainPath(process.env);
const cmake = whichOnPath('cmake', PATH);
const ninja = whichOnPath('ninja', PATH);
const nvcc = whichOnPath('nvcc', PATH);
const missing = [!cmake && 'cmake', !ninja && 'ninja', !nvcc && 'nvcc'].filter(Boolean).join(', ');
const cudaRoot = nvcc ? resolve(nvcc, '../..') : '';
const hasCublas = ['include/cublas_v2.h', 'targets/x86_64-linux/include/cublas_v2.h'].some((p) => existsSync(join(cudaRoot, p)));

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

function configure(extra: string[]): { status: number | null; output: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'moe-workload-build-'));
  dirs.push(dir);
  const r = spawnSync(cmake!, ['-S', 'native-workload', '-B', dir, '-G', 'Ninja', ...extra],
    { env: { ...process.env, PATH }, encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}${r.stderr}`, dir };
}

describe.skipIf(missing !== '')(`native-workload CMake build${missing ? ` (skipped: no ${missing} on this machine)` : ''}`, () => {
  it('compiles the cuBLAS-free kernels for sm_90', () => {
    const c = configure(['-DMOE_KERNELS_ONLY=ON']);
    expect(c.status, c.output).toBe(0);
    expect(c.output).toContain('MOE_KERNELS_ONLY: building the cuBLAS-free kernels only');
    const b = spawnSync(cmake!, ['--build', c.dir], { env: { ...process.env, PATH }, encoding: 'utf8' });
    expect(b.status, `${b.stdout}${b.stderr}`).toBe(0);
    const objects = readdirSync(join(c.dir, 'CMakeFiles/moe_kernels.dir/src'));
    expect(objects).toContain('kernels.cu.o');
  }, 240_000);

  it.runIf(!hasCublas)('without cuBLAS, the full configure stops and says what to install', () => {
    const c = configure([]);
    expect(c.status).not.toBe(0);
    expect(c.output).toContain('moe-workload needs cuBLAS, which was not found in the CUDA toolkit');
  }, 120_000);

  it.runIf(hasCublas)('with cuBLAS, the full configure succeeds', () => {
    expect(configure([]).status).toBe(0);
  }, 120_000);
});
