/** The terminal summary of a real capture: headline first, findings next, then the tables behind them. */
import { describe, expect, it } from 'vitest';
import { buildReport } from '../../src/report/build.js';
import { renderTerminal } from '../../src/render/terminal.js';
import { formatNs, formatPct, textTable } from '../../src/render/format.js';
import { buildTrace } from '../../src/model/build.js';
import { fixtureReport } from '../helpers/fixture-reports.js';

const text = renderTerminal(fixtureReport('fixtures/nsys-2025.3/streams-sync.sqlite'), { full: true });
const lines = text.split('\n');

describe('terminal summary of streams-sync', () => {
  it('leads with the headline and the top finding', () => {
    // the steady state: the 3 iterations' GPU spans (issue 13)
    expect(lines[1]).toBe('GPU 0: measuring the steady state, 3 iterations of NVTX range "iteration #"; --whole-trace measures');
    expect(lines[3]).toBe('GPU 0 (NVIDIA H200): 65 streams, overlap share 0.0%, GPU utilization 29.7%, 192 host syncs');
    expect(lines[4]).toBe('GPU 0: 2.885 ms per iteration (median GPU span, first kernel to last; mean 3.050 ms, 2.833 ms ..');
    expect(lines[8]).toBe('Findings (most GPU time explained first):');
    // per expert the host waits for a 4-byte count, then launches into an empty queue (issue 13's split)
    expect(lines[9]).toMatch(/^1\. HIGH launch-bound: Kernels run 4\.448 µs \(median\) but the CPU issues one every 8\.974 µs: the GPU$/);
    expect(text).toMatch(/\n2\. MEDIUM host-sync-stall: The host blocks on cudaStreamSynchronize 64 times per iteration, each\n   after a 4 B device-to-host copy/);
  });
  it('shows each blocking call with the copy before it and the NVTX range around it', () => {
    const row = lines.find((l) => l.startsWith('cudaStreamSynchronize '))!;
    expect(row.split(/\s{2,}/)).toEqual(['cudaStreamSynchronize', '192', '1.432 ms', '1.164 ms', '192 (pinned)', 'expert # (192)']);
  });
  it('groups the 64 experts x 3 iterations into one NVTX family with per-iteration figures', () => {
    expect(text).toContain('NVTX ranges (iteration = "iteration #": 3 iterations');
    expect(text.replace(/\n\s*/g, ' ')).toContain('249 kernels and 64 host syncs per iteration');
    const row = lines.find((l) => l.startsWith('expert #'))!;
    expect(row.split(/\s{2,}/).slice(0, 2)).toEqual(['expert #', '192']);
  });
  it('reports SM fill with the limit that binds', () => {
    expect(text).toMatch(/SM fill \(132 SMs, sm90; limits from trace\)/);
    expect(lines.find((l) => l.startsWith('reluKernel '))!.split(/\s{2,}/).slice(4, 7)).toEqual(['8', 'warps', '0.72']);
  });
});

describe('formatting', () => {
  it('picks units that keep 3-4 significant digits', () => {
    expect([formatNs(999), formatNs(1000), formatNs(12_345), formatNs(1_500_000), formatNs(2_500_000_000)])
      .toEqual(['999 ns', '1.000 µs', '12.35 µs', '1.500 ms', '2.500 s']);
    expect(formatPct(null)).toBe('n/a');
    expect(formatPct(0.1234)).toBe('12.3%');
  });
  it('right-aligns numeric columns only', () => {
    expect(textTable(['name', 'n'], [['a', '5'], ['bb', '10']])).toBe('name   n\n----  --\na      5\nbb    10');
  });
  it('writes the headline for a one-kernel trace', () => {
    const r = buildReport(buildTrace({ kernels: [{ start: 0, end: 10 }] }));
    const text = renderTerminal(r, { width: 200 });
    // a trace without device properties: not "GPU 0 (GPU 0)"; and one kernel, not "1 kernels"
    expect(text).toContain('GPU 0 (model not recorded): 1 stream, overlap share 0.0%, GPU utilization 100.0%, 0 host syncs');
    expect(text).toContain(', 1 kernel, GPU busy 10 ns');
    expect(text).toContain('window, 1 kernel, overlap share');
    expect(text).not.toMatch(/\b1 kernels\b/);
  });
});

describe('printing trace strings', () => {
  it('turns control characters and bidi overrides into visible escapes, keeping newlines and tabs', async () => {
    const { printable, printableLine } = await import('../../src/render/format.js');
    expect(printable('a\u001b[31mred\u202eevil\u0085\tok\n')).toBe('a\\u001b[31mred\\u202eevil\\u0085\tok\n');
    expect(printableLine('one\ntwo\r\tthree')).toBe('one\\ntwo\\u000d\\tthree');
  });
  it('the CLI prints a hostile kernel name as text', async () => {
    const { main } = await import('../../src/cli.js');
    const { writeNsysExport } = await import('../helpers/make-sqlite.js');
    const file = writeNsysExport('2026.1', {
      kernels: [{ start: 1000, end: 2000, shortName: 'evil\u001b]0;pwned\u0007\u202ename', demangledName: 'evil\u001b]0;pwned\u0007\u202ename' }],
    });
    let out = '';
    const code = await main(['analyze', '--full', file], { stdout: (s) => { out += s; }, stderr: () => {} });
    expect(code).toBe(0);
    expect(out).toContain('evil\\u001b]0;pwned\\u0007\\u202ename');
    expect(out).not.toMatch(/[\u001b\u0007\u202e]/);
  });
});

describe('formatRatio', () => {
  it('keeps two significant digits below 0.01 (a 1,367x slower trace printed "0.00x")', async () => {
    const { formatRatio } = await import('../../src/render/format.js');
    expect(formatRatio(26.2234)).toBe('26.22x');
    expect(formatRatio(1)).toBe('1.00x');
    expect(formatRatio(1.333e-3 / 1.822)).toBe('0.00073x');
    expect(formatRatio(0)).toBe('0.00x');
  });
});

describe('renderAlternatives', () => {
  it('gives each top finding two lines cut at a word, not one line cut mid-word', async () => {
    const { renderAlternatives } = await import('../../src/render/terminal.js');
    const finding = {
      id: 'launch-bound', severity: 'high' as const, deviceId: 0, costNs: 1_616_000_000, costShare: 0.887, evidence: [], fix: '', measures: [],
      title: 'Kernels run 167.1 µs (median) but the CPU issues one every 36.34 ms: the GPU sits waiting for launches',
    };
    const row = { label: 'kmeans', iterations: null, windowPerIteration: 1.822e9, speedup: 1 / 1367, busyPerIteration: 8.5e6, utilization: 0.005, overlapShare: 0, syncsPerIteration: 324, topFinding: finding };
    const text = renderAlternatives([{ ...row, label: 'a', speedup: 1 }, row], 100);
    expect(text).toContain('0.00073x');
    expect(text).toContain('kmeans: HIGH launch-bound [1.616 s, 88.7% of the window]: Kernels run 167.1 µs (median) but the CPU\n  issues one every 36.34 ms: the GPU sits waiting for launches\n');
    const long = renderAlternatives([{ ...row, topFinding: { ...finding, title: 'word '.repeat(60) } }], 100);
    const lines = long.trimEnd().split('\n');
    expect(lines.at(-1)).toMatch(/ word…$/);
    expect(lines.at(-2)).toMatch(/^kmeans: HIGH launch-bound/);
  });
});
