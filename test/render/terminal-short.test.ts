/**
 * The short terminal report, on the bundled fixtures: at most 30 lines, none wider than the terminal.
 * npm test checks a sample of the fixtures (every folder represented); terminal-short.long.test.ts the rest.
 */
import { describe, expect, it } from 'vitest';
import { renderTerminal, terminalWidth, wrap } from '../../src/render/terminal.js';
import { main } from '../../src/cli.js';
import { FIXTURES, inFastSample, shortReportSweep } from './terminal-short-fixtures.js';
import { fixtureReport } from '../helpers/fixture-reports.js';

describe('short terminal report', () => {
  it('covers the bundled fixtures', () => {
    expect(FIXTURES.filter((f) => f.endsWith('.sqlite')).length).toBeGreaterThanOrEqual(30);
    expect(FIXTURES.filter((f) => f.endsWith('.json.gz')).length).toBeGreaterThanOrEqual(7);
  });

  it('checks a fixture of every folder here (the others: terminal-short.long.test.ts)', () => {
    const folders = (fs: string[]) => new Set(fs.map((f) => f.split('/')[1]));
    expect(folders(FIXTURES.filter(inFastSample))).toEqual(folders(FIXTURES));
  });

  shortReportSweep(inFastSample);

  it('gives the time per iteration from the NVTX iterations of a whole-process capture', () => {
    const text = renderTerminal(fixtureReport('fixtures/nsys-2025.3-whole/torch-streams-sync.sqlite'));
    expect(text).toContain('GPU 0: 41.96 ms per iteration (median GPU span, first kernel to last; mean 41.85 ms, 41.35 ms ..\n  42.14 ms) over 5 iterations of "forward streams-sync #"');
    // the steady state has three findings (the warm-up's allocations and pageable copy are left out), all with their fixes
    expect(text).not.toMatch(/\n\+ \d+ more/);
    expect(text).toMatch(/\n3\. MEDIUM no-overlap-despite-streams: /);
  });

  it('keeps the evidence and tables for --full', () => {
    const report = fixtureReport('fixtures/nsys-2025.3/streams-sync.sqlite');
    const short = renderTerminal(report);
    const full = renderTerminal(report, { full: true });
    expect(short).not.toContain('Streams (65), busiest first');
    expect(full).toContain('Streams (65), busiest first');
    expect(full).toContain(`     - ${report.findings[0].evidence[0].slice(0, 40)}`);
  });
});

describe('wrap', () => {
  it('breaks at spaces, indents continuation lines, cuts words longer than a line', () => {
    expect(wrap('aaa bbb ccc ddd', 20)).toEqual(['aaa bbb ccc ddd']);
    expect(wrap('one two three four five six seven eight', 20, '  ')).toEqual(['one two three four', '  five six seven', '  eight']);
    expect(wrap(`x ${'y'.repeat(45)}`, 20, '  ')).toEqual(['x', `  ${'y'.repeat(18)}`, `  ${'y'.repeat(18)}`, `  ${'y'.repeat(9)}`]);
    expect(wrap('   fix: a b', 20)).toEqual(['   fix: a b']);
  });
  it('uses the terminal width when stdout is a TTY, else 100', () => {
    expect(terminalWidth({ isTTY: true, columns: 132 })).toBe(132);
    expect(terminalWidth({ isTTY: false, columns: 132 })).toBe(100);
    expect(terminalWidth({})).toBe(100);
  });
});

describe('analyze of several files', () => {
  const files = ['sequential', 'streams', 'streams-sync'].map((m) => `fixtures/nsys-2025.3/${m}.sqlite`);
  const run = async (argv: string[]): Promise<string> => {
    let out = '';
    expect(await main(argv, { stdout: (s) => { out += s; }, stderr: () => {} })).toBe(0);
    return out;
  };
  it('prints them side by side as alternatives, without a slowest rank', async () => {
    const out = await run(['analyze', '--jobs', '1', ...files]);
    expect(out).toMatch(/^3 files side by side/);
    expect(out).not.toContain('Slowest rank');
    expect(out.split('\n').find((l) => l.startsWith('streams-sync '))!.split(/\s{2,}/).slice(0, 4)).toEqual(['streams-sync', '3', '2.885 ms', '0.72x']);
    expect(out).toMatch(/\nstreams-sync: HIGH launch-bound \[4\.880 ms, 53\.3% of the window\]/);
    expect(out.trimEnd().split('\n').length).toBeLessThanOrEqual(30);
    // the table may be wider than the terminal; the prose is wrapped
    for (const l of out.split('\n').filter((x) => !/^(file|---|sequential|streams)/.test(x))) expect([...l].length, l).toBeLessThanOrEqual(100);
  });
  it('shows the spread and the slowest rank only with --ranks', async () => {
    const out = await run(['analyze', '--jobs', '1', '--ranks', ...files]);
    expect(out).toMatch(/^Combined: 3 files, 3 ranks/);
    expect(out).toContain('Slowest rank: ');
  });
});

describe('short terminal report: what a trace without GPU records says', () => {
  it('a Kineto trace taken under nsys: the whole warning (it was cut at "the…"), and a fix for Kineto, not for a WSL nsys export', async () => {
    let out = '';
    expect(await main(['analyze', 'fixtures/kineto-2.11/grouped.under-nsys.pt.trace.json.gz'], { stdout: (s) => { out += s; }, stderr: () => {} })).toBe(0);
    const flat = out.replace(/\n {2,}/g, ' ');
    expect(flat).toContain('warning: The trace has CPU operators but no GPU records (no kernel, CUDA API or memcpy events): the profiler got no CUPTI data — another profiler (e.g. nsys) held CUPTI (CUPTI_ERROR_MULTIPLE_SUBSCRIBERS_NOT_SUPPORTED), or ProfilerActivity.CUDA was not requested.');
    expect(flat).not.toContain('…');
    expect(flat).toContain('Nothing to report: the PyTorch profiler trace has no GPU records');
    expect(flat).toMatch(/fix: Analyse the nsys export of the same run instead/);
    expect(flat).not.toMatch(/WSL|native Linux/);
  });
  it('a warning longer than three lines is cut at a word and points to --full', () => {
    const r = fixtureReport('fixtures/nsys-2025.3/streams.sqlite');
    r.warnings = [`${'word '.repeat(80)}end`];
    const lines = renderTerminal(r, { width: 60 }).split('\n');
    const at = lines.findIndex((l) => l.startsWith('warning: '));
    expect(lines[at + 2]).toMatch(/ word… \(--full\)$/);
    expect(lines[at + 3]).not.toMatch(/^ {2}word/);
  });
});

describe('README', () => {
  it('shows the short report exactly as analyze prints it', async () => {
    const { readFileSync } = await import('node:fs');
    const readme = readFileSync('README.md', 'utf8');
    const shown = /```\n\$ npx moe-trace analyze (\S+)\n([\s\S]*?)```/.exec(readme);
    expect(shown).not.toBeNull();
    let out = '';
    expect(await main(['analyze', shown![1]], { stdout: (s) => { out += s; }, stderr: () => {} })).toBe(0);
    expect(shown![2]).toBe(out);
  });
});
