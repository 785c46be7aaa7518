import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli.js';
import { removeTempDirs, tempDir } from '../helpers/make-sqlite.js';

afterAll(removeTempDirs);

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RANKS = ['sequential', 'streams', 'streams-sync'].map((m) => `${ROOT}fixtures/nsys-2025.3/${m}.sqlite`);

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = ''; let err = '';
  const code = await main(argv, { stdout: (s) => { out += s; }, stderr: (s) => { err += s; } });
  return { code, out, err };
}

describe('moe-trace merge', () => {
  it('combines per-rank analyze --json files into the summary analyze prints for the files together', async () => {
    const dir = tempDir();
    const jsons: string[] = [];
    for (const [i, f] of RANKS.entries()) {
      const r = await run(['analyze', '--json', f]);
      expect(r.code).toBe(0);
      jsons.push(join(dir, `rank${i}.json`));
      writeFileSync(jsons[i], r.out);
    }
    const together = await run(['analyze', '--json', ...RANKS]);
    const merged = await run(['merge', '--json', ...jsons]);
    expect(merged.code).toBe(0);
    const combined = JSON.parse(together.out).combined;
    expect(JSON.parse(merged.out)).toEqual(combined);
    expect(combined.ranks.map((r: { file: string }) => r.file)).toEqual(RANKS);
    expect(combined.ranks.map((r: { kernelCount: number }) => r.kernelCount)).toEqual([747, 783, 747]);
    const text = await run(['merge', ...jsons]);
    expect(text.out).toMatch(/^Combined: 3 files, 3 ranks/);
    expect(text.out).toContain('Slowest rank: ');
  });

  it('says in one line what is wrong with an input that is not a summary', async () => {
    const dir = tempDir();
    const notJson = join(dir, 'a.json');
    writeFileSync(notJson, 'nope');
    const other = join(dir, 'b.json');
    writeFileSync(other, '{"schema":"something-else"}');
    for (const [file, msg] of [[notJson, /a\.json is not JSON/], [other, /b\.json is not a moe-trace summary \(schema "something-else"\)/], [join(dir, 'missing.json'), /missing\.json: cannot read it \(ENOENT\)/]] as const) {
      const r = await run(['merge', file]);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(msg);
      expect(r.err.trim().split('\n')).toHaveLength(1);
    }
    const jobs = await run(['analyze', '--jobs', '0', ...RANKS]);
    expect([jobs.code, jobs.err.trim()]).toEqual([2, 'moe-trace: --jobs expects a positive number of worker threads, got "0".']);
  });
});

describe('analyze of several files in worker threads (built CLI)', () => {
  beforeAll(() => {
    // worker threads run the compiled worker, which vitest's globalSetup (test/setup/build.ts) built
    expect(existsSync(`${ROOT}dist/parallel/worker.js`)).toBe(true);
  });

  it('gives the same reports and combined summary with 2 jobs as in one thread', async () => {
    // three small real captures (~0.4 s an analysis, RANKS' take 2-3x that): the point is the threads
    const small = ['saturated', 'grouped', 'torch-grouped'].map((m) => `${ROOT}fixtures/nsys-2025.3/${m}.sqlite`);
    const cli = (args: string[]) => spawnSync(process.execPath, [`${ROOT}bin/moe-trace.js`, 'analyze', '--json', ...args, ...small], { encoding: 'utf8', maxBuffer: 1 << 28 });
    const parallel = cli(['--jobs', '2']);
    const single = cli(['--jobs', '1']);
    expect([parallel.status, single.status]).toEqual([0, 0]);
    expect(JSON.parse(parallel.stdout)).toEqual(JSON.parse(single.stdout));
    // and a bad file among good ones is still exit 2 with the reader's message, from a worker
    const bad = spawnSync(process.execPath, [`${ROOT}bin/moe-trace.js`, 'analyze', '--jobs', '2', RANKS[0], `${RANKS[1]}.missing`], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/streams\.sqlite\.missing: no such file/);
  }, 60_000);
});
