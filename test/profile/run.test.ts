import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EnvironmentError } from '../../src/errors.js';
import { planCaptures } from '../../src/profile/plan.js';
import { type RunContext, parseLatency, runCaptures } from '../../src/profile/run.js';
import { comparisonTable } from '../../src/commands/profile.js';

const FIXTURE = resolve('fixtures/nsys-2025.3/grouped.sqlite');
const dirs: string[] = [];
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });

// A stand-in nsys: `profile` runs the program and leaves what FAKE_NSYS says (a report, only a
// .qdstrm, or a failure); `export` copies a real fixture to the -o path.
const FAKE_NSYS = `#!/bin/bash
cmd=$1; shift
if [ "$cmd" = profile ]; then
  while [ $# -gt 0 ]; do if [ "$1" = -o ]; then out=$2; shift 2; break; fi; shift; done
  "$@"; rc=$?
  case "$FAKE_NSYS" in
    qdstrm) echo "Importer error status: An unknown error occurred."; touch "$out.qdstrm" ;;
    fail) echo "nsys: boom"; exit 7 ;;
    *) touch "$out.nsys-rep" ;;
  esac
  exit $rc
fi
while [ $# -gt 0 ]; do if [ "$1" = -o ]; then out=$2; fi; shift; done
cp "$FAKE_SQLITE" "$out"
`;

function sandbox(tools: Record<string, string>): { bin: string; out: string } {
  const root = mkdtempSync(join(tmpdir(), 'moe-trace-run-'));
  dirs.push(root);
  const bin = join(root, 'bin');
  mkdirSync(bin);
  for (const [name, body] of Object.entries(tools)) {
    writeFileSync(join(bin, name), body);
    chmodSync(join(bin, name), 0o755);
  }
  return { bin, out: join(root, 'out') };
}

function ctx(bin: string, extraEnv: Record<string, string> = {}): RunContext & { lines: string[] } {
  const lines: string[] = [];
  return {
    env: { PATH: `${bin}:/usr/bin:/bin`, NSYS: join(bin, 'nsys'), FAKE_SQLITE: FIXTURE, ...extraEnv },
    packageRoot: process.cwd(), fsRoot: bin, cudaBin: join(bin, 'no-cuda'), progress: (l) => lines.push(l), lines,
  };
}

const smi = (rc: number): string => `#!/bin/sh\necho "GPU 0: Fake H200"\nexit ${rc}\n`;
const own = (cmd: string) => planCaptures({ workload: 'native', modes: [], all: false, workloadFlags: {}, command: ['sh', '-c', cmd] });

describe('runCaptures with a stand-in nsys', () => {
  it("captures the user's command, exports SQLite, logs its output, and compares", async () => {
    const { bin, out } = sandbox({ nsys: FAKE_NSYS, 'nvidia-smi': smi(0) });
    const c = ctx(bin);
    const results = await runCaptures(own('echo hello from the app'), out, c);
    expect(results).toHaveLength(1);
    expect(results[0].sqlite).toBe(join(out, 'sh.sqlite'));
    expect(existsSync(results[0].sqlite)).toBe(true);
    expect(readFileSync(results[0].log, 'utf8')).toContain('hello from the app');
    expect(results[0].latencyUs).toBeNull();
    expect(c.lines[0]).toBe(`nsys: ${join(bin, 'nsys')} (found via NSYS)`);
    expect(c.lines[1]).toBe("[1/1] capturing sh: sh -c 'echo hello from the app'");
    const { headlines, table } = comparisonTable(results);
    expect(headlines).toEqual(['sh: GPU 0 (NVIDIA H200): 1 stream, overlap share 0.0%, GPU utilization 89.8%, 0 host syncs']);
    expect(table.split('\n')[0]).toMatch(/^capture\s+latency\s+GPU busy\s+utilization\s+overlap share\s+host syncs\s+kernels\s+streams$/);
    expect(table.split('\n')[2]).toMatch(/^sh\s+n\/a\s.*\s89\.8%\s+0\.0%\s+0\s+24\s+1$/);
  });

  it('a failing capture is an EnvironmentError that points at its log', async () => {
    const { bin, out } = sandbox({ nsys: FAKE_NSYS, 'nvidia-smi': smi(0) });
    const p = runCaptures(own('true'), out, ctx(bin, { FAKE_NSYS: 'fail' }));
    await expect(p).rejects.toBeInstanceOf(EnvironmentError);
    await expect(runCaptures(own('true'), out, ctx(bin, { FAKE_NSYS: 'fail' })))
      .rejects.toThrow(`capturing sh failed (nsys exit 7): see ${join(out, 'sh.log')}\nnsys: boom`);
  });

  it('the program failing under nsys fails the capture too', async () => {
    const { bin, out } = sandbox({ nsys: FAKE_NSYS, 'nvidia-smi': smi(0) });
    await expect(runCaptures(own('exit 3'), out, ctx(bin))).rejects.toThrow('capturing sh failed (nsys exit 3)');
  });

  it('recognises a .qdstrm-only capture as a failed importer', async () => {
    const { bin, out } = sandbox({ nsys: FAKE_NSYS, 'nvidia-smi': smi(0) });
    const err = await runCaptures(own('true'), out, ctx(bin, { FAKE_NSYS: 'qdstrm' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EnvironmentError);
    expect((err as Error).message).toContain(`nsys left only ${join(out, 'sh')}.qdstrm and no .nsys-rep`);
    expect((err as Error).message).toContain('library dependencies of the importer (e.g. libdw.so.1, libelf) are the usual cause');
  });

  it('no driver, and a driver that sees no GPU, are told apart', async () => {
    const none = sandbox({ nsys: FAKE_NSYS });
    await expect(runCaptures(own('true'), none.out, { ...ctx(none.bin), env: { PATH: none.bin, NSYS: join(none.bin, 'nsys') } }))
      .rejects.toThrow('no NVIDIA driver: nvidia-smi is not on PATH');
    const broken = sandbox({ nsys: FAKE_NSYS, 'nvidia-smi': smi(9) });
    await expect(runCaptures(own('true'), broken.out, ctx(broken.bin)))
      .rejects.toThrow('nvidia-smi found no usable GPU (nvidia-smi -L failed)');
  });

  it('the bundled workload needs CMake/ninja, then nvcc', async () => {
    const native = planCaptures({ workload: 'native', modes: ['grouped'], all: false, workloadFlags: {} });
    const bare = sandbox({ nsys: FAKE_NSYS, 'nvidia-smi': smi(0) });
    const env = { PATH: bare.bin, NSYS: join(bare.bin, 'nsys') };
    await expect(runCaptures(native, bare.out, { ...ctx(bare.bin), env })).rejects.toThrow('CMake and ninja are needed');
    const withCmake = sandbox({ nsys: FAKE_NSYS, 'nvidia-smi': smi(0), cmake: '#!/bin/sh\n', ninja: '#!/bin/sh\n' });
    await expect(runCaptures(native, withCmake.out, { ...ctx(withCmake.bin), env: { PATH: withCmake.bin, NSYS: join(withCmake.bin, 'nsys') } }))
      .rejects.toThrow('nvcc (the CUDA compiler) is needed');
  });

  it('a CMake configure that reports missing cuBLAS becomes the cuBLAS message', async () => {
    const native = planCaptures({ workload: 'native', modes: ['grouped'], all: false, workloadFlags: {} });
    const cmake = '#!/bin/sh\necho "CMake Error: moe-workload needs cuBLAS, which was not found"\nexit 1\n';
    const s = sandbox({ nsys: FAKE_NSYS, 'nvidia-smi': smi(0), cmake, ninja: '#!/bin/sh\n', nvcc: '#!/bin/sh\n' });
    await expect(runCaptures(native, s.out, { ...ctx(s.bin), env: { PATH: s.bin, NSYS: join(s.bin, 'nsys') } }))
      .rejects.toThrow('the CUDA toolkit has no cuBLAS');
  });
});

describe('parseLatency', () => {
  it("reads the mode's RESULT line from a real capture log", () => {
    const log = [
      'RESULT mode=sequential median_us=1896.0 min_us=1475.0 speedup_vs_sequential=1.000 rel_err=0.000e+00 check=ok',
      'RESULT mode=grouped median_us=278.4 min_us=275.1 speedup_vs_sequential=6.810 rel_err=2.101e-03 check=ok',
    ].join('\n');
    expect(parseLatency(log, 'grouped')).toBe(278.4);
    expect(parseLatency(log, 'sequential')).toBe(1896);
    expect(parseLatency(log, 'graph')).toBeNull();
  });
});

describe('moe-trace profile (through the CLI)', () => {
  it('prints each capture headline and the comparison table', async () => {
    const { main } = await import('../../src/cli.js');
    const { bin, out } = sandbox({ nsys: FAKE_NSYS, 'nvidia-smi': smi(0) });
    const saved = { PATH: process.env.PATH, NSYS: process.env.NSYS, FAKE_SQLITE: process.env.FAKE_SQLITE };
    Object.assign(process.env, { PATH: `${bin}:/usr/bin:/bin`, NSYS: join(bin, 'nsys'), FAKE_SQLITE: FIXTURE });
    let stdout = ''; let stderr = '';
    try {
      const code = await main(['profile', '--out', out, '--', 'sh', '-c', 'true'], { stdout: (s) => { stdout += s; }, stderr: (s) => { stderr += s; } });
      expect(code).toBe(0);
    } finally {
      for (const [k, v] of Object.entries(saved)) { if (v === undefined) delete process.env[k]; else process.env[k] = v; }
    }
    expect(stderr).toContain('moe-trace: [1/1] capturing sh: sh -c true');
    expect(stdout.split('\n')[0]).toBe('sh: GPU 0 (NVIDIA H200): 1 stream, overlap share 0.0%, GPU utilization 89.8%, 0 host syncs');
    expect(stdout).toContain(`Captures in ${out}: ${join(out, 'sh.sqlite')}`);
  });
});
