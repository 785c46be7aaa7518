/**
 * `--html` takes an optional path: `analyze --html a.sqlite b.sqlite` wrote the HTML report over
 * a.sqlite (the user's trace), and `analyze --html report.sqlite` failed with "missing required
 * argument". A value named like a trace is now a file to read; an existing non-HTML file is never
 * overwritten.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { htmlFlagBeforeTrace, main } from '../../src/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'moe-trace-html-flag-'));
const written: string[] = [];
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  for (const f of written) rmSync(f, { force: true });
});

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = ''; let err = '';
  const code = await main(argv, { stdout: (s) => { out += s; }, stderr: (s) => { err += s; } });
  return { code, out, err };
}
function copy(name: string): string {
  const p = join(dir, `${process.pid}-${name}`);
  copyFileSync('fixtures/kineto-2.11/grouped.sqlite', p);
  return p;
}

describe('--html before the traces', () => {
  it('moves a trace-named value back among the files', () => {
    expect(htmlFlagBeforeTrace(['analyze', '--html', 'a.sqlite', 'b.sqlite'])).toEqual(['analyze', 'a.sqlite', 'b.sqlite', '--html']);
    expect(htmlFlagBeforeTrace(['compare', '--html', 'a.pt.trace.json.gz', 'b.nsys-rep', '--full'])).toEqual(['compare', 'a.pt.trace.json.gz', 'b.nsys-rep', '--full', '--html']);
    // a path for the page stays the page's
    expect(htmlFlagBeforeTrace(['analyze', '--html', 'out.html', 'a.sqlite'])).toEqual(['analyze', '--html', 'out.html', 'a.sqlite']);
    expect(htmlFlagBeforeTrace(['info', '--html', 'a.sqlite'])).toEqual(['info', '--html', 'a.sqlite']);
  });
  it('analyze --html A B reads both and leaves A untouched', async () => {
    const a = copy('a.sqlite');
    const b = copy('b.sqlite');
    const before = readFileSync(a);
    const r = await run(['analyze', '--html', a, b]);
    const page = join('reports', `${basename(a, '.sqlite')}-vs-1-more.html`);
    written.push(page);
    expect(r.code).toBe(0);
    expect(readFileSync(a).equals(before)).toBe(true);
    expect(r.err).toContain(`wrote ${join(process.cwd(), page)}`);
    expect(existsSync(page)).toBe(true);
  }, 60_000);
  it('analyze --html A analyses A instead of failing', async () => {
    const a = copy('single.sqlite');
    const r = await run(['analyze', '--html', a]);
    const page = join('reports', `${basename(a, '.sqlite')}.html`);
    written.push(page);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/measuring the steady state/);
    expect(existsSync(page)).toBe(true);
  }, 60_000);
  it('never writes the page over an existing file that is not HTML, nor to a trace name', async () => {
    const a = copy('c.sqlite');
    const notes = join(dir, 'notes.txt');
    writeFileSync(notes, 'my notes\n');
    const r = await run(['analyze', '--html', notes, a]);
    expect(r.code).toBe(2);
    expect(r.err).toBe(`moe-trace: Refusing to write the HTML report over ${notes}, which is not an HTML file: choose another --html path.\n`);
    expect(readFileSync(notes, 'utf8')).toBe('my notes\n');
    const s = await run(['analyze', `--html=${join(dir, 'out.sqlite')}`, a]);
    expect(s.code).toBe(2);
    expect(s.err).toMatch(/Refusing to write the HTML report to .*out\.sqlite, a name for a trace/);
    expect(existsSync(join(dir, 'out.sqlite'))).toBe(false);
  }, 60_000);
});
