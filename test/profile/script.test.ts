import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli.js';

const dirs: string[] = [];
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });

async function printScript(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = ''; let err = '';
  const code = await main(['profile', '--print-script', ...args], { stdout: (s) => { out += s; }, stderr: (s) => { err += s; } });
  return { code, out, err };
}

describe('moe-trace profile --print-script', () => {
  it('still prints exactly the committed campaign script that made fixtures/nsys-2025.3', async () => {
    const { code, out } = await printScript(['--all', '--workload', 'all', '--iterations', '3', '--warmup', '2', '--out', 'captures']);
    expect(code).toBe(0);
    expect(out).toBe(readFileSync('native-workload/capture-campaign.sh', 'utf8'));
  });

  it('still prints exactly the committed script that made fixtures/nsys-2025.3/tokens-64k', async () => {
    const { code, out } = await printScript(['--mode', 'sequential', '--mode', 'streams-sync', '--mode', 'streams', '--tokens', '65536',
      '--iterations', '3', '--warmup', '2', '--out', 'captures']);
    expect(code).toBe(0);
    expect(out).toBe(readFileSync('native-workload/capture-campaign-64k-tokens.sh', 'utf8'));
  });

  it('is valid bash', async () => {
    const { out } = await printScript(['--all', '--workload', 'all']);
    const dir = mkdtempSync(join(tmpdir(), 'moe-trace-script-'));
    dirs.push(dir);
    writeFileSync(join(dir, 's.sh'), out);
    expect(() => execFileSync('bash', ['-n', join(dir, 's.sh')])).not.toThrow();
  });

  it('bad requests exit 2 with one line', async () => {
    const r = await printScript(['--mode', 'warp']);
    expect(r.code).toBe(2);
    expect(r.err).toBe('moe-trace: unknown native mode "warp": choose from sequential, streams-sync, streams, grouped, graph.\n');
    expect((await printScript(['--workload', 'jax', '--all'])).err).toContain('--workload expects native, torch or all, got "jax".');
  });

  it('runs a user command end to end with a stand-in nsys, and fails with exit 2 on a .qdstrm-only capture', async () => {
    const { out } = await printScript(['--out', 'ignored', '--', 'sh', '-c', 'echo app-output']);
    const dir = mkdtempSync(join(tmpdir(), 'moe-trace-script-'));
    dirs.push(dir);
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    const tool = (name: string, body: string): void => { writeFileSync(join(bin, name), body); chmodSync(join(bin, name), 0o755); };
    tool('nvidia-smi', '#!/bin/sh\necho "GPU 0: Fake"\n');
    tool('nsys', `#!/bin/bash
cmd=$1; shift
if [ "$cmd" = --version ]; then echo "fake nsys"; exit 0; fi
if [ "$cmd" = profile ]; then
  while [ $# -gt 0 ]; do if [ "$1" = -o ]; then o=$2; shift 2; break; fi; shift; done
  "$@"; if [ -n "\${ONLY_QDSTRM:-}" ]; then touch "$o.qdstrm"; else touch "$o.nsys-rep"; fi; exit 0
fi
while [ $# -gt 0 ]; do if [ "$1" = -o ]; then o=$2; fi; shift; done
cp "${resolve('fixtures/nsys-2025.3/grouped.sqlite')}" "$o"
`);
    writeFileSync(join(dir, 's.sh'), out);
    const env = { PATH: `${bin}:/usr/bin:/bin`, NSYS: join(bin, 'nsys'), MOE_TRACE_OUT: join(dir, 'cap') };
    const ok = spawnSync('bash', [join(dir, 's.sh')], { env, encoding: 'utf8' });
    expect(ok.status).toBe(0);
    expect(existsSync(join(dir, 'cap/sh.sqlite'))).toBe(true);
    expect(readFileSync(join(dir, 'cap/sh.log'), 'utf8')).toContain('app-output');
    expect(readFileSync(join(dir, 'cap/environment.txt'), 'utf8')).toContain('fake nsys');
    const bad = spawnSync('bash', [join(dir, 's.sh')], { env: { ...env, ONLY_QDSTRM: '1', MOE_TRACE_OUT: join(dir, 'cap2') }, encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('moe-trace: sh: nsys left only a .qdstrm: its importer (QdstrmImporter) failed');
  });
});
