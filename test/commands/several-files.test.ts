/** Several files with a bad one among them: the good ones are reported, the bad one named, exit 2 (issue 13). */
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli.js';
import { removeTempDirs, tempDir } from '../helpers/make-sqlite.js';

afterAll(removeTempDirs);

const A = 'fixtures/nsys-2025.3/grouped.sqlite';
const B = 'fixtures/nsys-2025.3/sequential.sqlite';

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { stdout: (s) => { out += s; }, stderr: (s) => { err += s; } });
  return { code, out, err };
}

describe('several files, one bad', () => {
  const dir = tempDir();
  const empty = join(dir, 'empty.sqlite');
  writeFileSync(empty, '');

  for (const jobs of ['1', '2']) {
    it(`analyze (--jobs ${jobs}) reports the good files, names the bad one, exits 2`, async () => {
      const r = await run(['analyze', '--jobs', jobs, A, empty, B]);
      expect(r.code).toBe(2);
      expect(r.out).toMatch(/^2 files side by side/);
      expect(r.out).toMatch(/\ngrouped +3 /);
      expect(r.out).toMatch(/\nsequential +3 /);
      expect(r.err).toBe(`moe-trace: ${empty} is empty (0 bytes); the export did not finish — run \`nsys export --type sqlite --output report.sqlite report.nsys-rep\` again\n`);
      expect(readdirSync(dir)).toEqual(['empty.sqlite']);
    });
  }
  it('analyze --json gives the good reports', async () => {
    const r = await run(['analyze', '--json', A, empty, B]);
    expect(r.code).toBe(2);
    const j = JSON.parse(r.out);
    expect(j.reports.map((x: { input: { file: string } }) => x.input.file)).toEqual([A, B]);
    expect(r.err).toMatch(new RegExp(`^moe-trace: ${empty.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is empty`));
  });
  it('compare compares the good ones when two are left, else says what is wrong with the bad one', async () => {
    const r = await run(['compare', A, empty, B]);
    expect(r.code).toBe(2);
    expect(r.out.split('\n')[0]).toMatch(/^ +grouped +sequential$/);
    expect(r.err).toMatch(/empty\.sqlite is empty/);
    const one = await run(['compare', A, empty]);
    expect(one.code).toBe(2);
    expect(one.out).toBe('');
    expect(one.err).toMatch(/^moe-trace: .*empty\.sqlite is empty \(0 bytes\)[^\n]*\n$/);
  });
  it('one file alone is still one line and exit 2', async () => {
    const r = await run(['analyze', empty]);
    expect([r.code, r.out]).toEqual([2, '']);
    expect(r.err).toMatch(/^moe-trace: [^\n]+\n$/);
  });
});
