import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli.js';
import { globalPid, globalTid, removeTempDirs, tempDir, writeNsysExport } from '../helpers/make-sqlite.js';

afterAll(removeTempDirs);

const pid = 4242;
function exportWithComm(): string {
  const k = (start: number, end: number, streamId: number, name: string, corr: number) => ({ start, end, streamId, correlationId: corr, globalPid: globalPid(pid), shortName: name, demangledName: name });
  return writeNsysExport('2024.6', {
    kernels: [
      k(1_000_000, 2_000_000, 7, 'ncclDevKernel_SendRecv', 1),
      k(1_500_000, 3_000_000, 8, 'my_gemm_kernel', 2),
      k(3_000_000, 3_500_000, 7, 'my_a2a_kernel', 3),
    ],
    runtime: [1, 2, 3].map((c) => ({ start: 900_000 + c, end: 900_010 + c, correlationId: c, globalTid: globalTid(pid, pid), nameId: 'cudaLaunchKernel_v7000' })),
    processes: [{ globalPid: globalPid(pid), pid, name: 'python3' }],
  });
}

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(args, { stdout: (s) => { out += s; }, stderr: (s) => { err += s; } });
  return { code, out, err };
}

describe('--classes on the command line', () => {
  const file = exportWithComm();
  const dir = tempDir();
  const classes = join(dir, 'classes.json');
  writeFileSync(classes, JSON.stringify({ classes: [{ class: 'communication', pattern: '^my_a2a', family: 'in-house a2a' }] }));

  it('analyze: built-in NCCL alone, then the file adds the in-house all-to-all', async () => {
    const plain = await run(['analyze', '--json', file]);
    expect(plain.code).toBe(0);
    const c0 = JSON.parse(plain.out).devices[0].communication;
    // NCCL [1.0, 2.0) ms, half under the GEMM [1.5, 3.0): 0.5 ms exposed; my_a2a_kernel is compute
    expect(c0).toMatchObject({ kernelCount: 1, busy: 1_000_000, exposed: 500_000, hiddenShare: 0.5 });
    const withFile = await run(['analyze', '--json', '--classes', classes, file]);
    expect(withFile.code).toBe(0);
    const c1 = JSON.parse(withFile.out).devices[0].communication;
    expect(c1).toMatchObject({ kernelCount: 2, busy: 1_500_000, exposed: 1_000_000, classesFile: classes });
    expect(c1.kernels.map((k: { name: string; family: string; source: string }) => [k.name, k.family, k.source])).toEqual([
      ['ncclDevKernel_SendRecv', 'NCCL', 'builtin'], ['my_a2a_kernel', 'in-house a2a', classes],
    ]);
  });

  it('info lists what was classified how', async () => {
    const r = await run(['info', '--classes', classes, file]);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`Kernel classes (patterns from ${classes}, then built-in)`);
    expect(r.out).toMatch(/communication\s+2\s+1\.500 ms\s+2\s+ncclDevKernel_SendRecv \(NCCL\); my_a2a_kernel \(in-house a2a, /);
    const json = JSON.parse((await run(['info', '--json', file])).out);
    expect(json.kernelClasses.map((c: { class: string; kernels: number }) => [c.class, c.kernels])).toEqual([['communication', 1], ['compute', 2]]);
  });

  it('a bad classes file: one line, exit 2, nothing written', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"classes": [{"class": "network", "pattern": "x"}]}');
    const before = readdirSync(dir).sort();
    const r = await run(['analyze', '--classes', bad, file]);
    expect(r.code).toBe(2);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/entry 1: "class" must be one of/);
    expect(readdirSync(dir).sort()).toEqual(before);
    const missing = await run(['info', '--classes', join(dir, 'nope.json'), file]);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/cannot read it \(ENOENT\)/);
  });
});
