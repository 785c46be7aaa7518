import { describe, expect, it } from 'vitest';
import { renderTerminal } from '../../src/render/terminal.js';
import { expertsLine, expertTables, whatIfLine, whatIfShortLine } from '../../src/render/experts-text.js';
import { formatNs } from '../../src/render/format.js';
import { TERMINAL_TABLES } from '../../src/render/tables.js';
import { fixtureReport } from '../helpers/fixture-reports.js';

describe('expert-level text (issue 15)', () => {
  const report = fixtureReport('fixtures/nsys-2025.3/zipf/sequential.sqlite');
  const d = report.devices[0];
  it('names the straggler with its tokens and the imbalance, in one line', () => {
    const line = expertsLine(d)!;
    expect(line).toContain('64 experts (NVTX "expert #")');
    expect(line).toContain('GPU time max/mean 1.45x, tokens 8.05x');
    expect(line).toMatch(/straggler expert 0 \(512 tokens\): 19\.\d+ µs vs median 1[23]\.\d+ µs, 3 of 3 iterations/);
  });
  it('gives every scenario\'s projected time per iteration', () => {
    const line = whatIfLine(d)!;
    for (const s of ['no host syncs', 'free launches (CUDA graph)', 'perfect overlap', 'grouped GEMM']) expect(line).toContain(s);
    // the grouped projection needs the expert GEMMs' weights here: what it would span, and how to give them
    expect(line).toMatch(/grouped GEMM: not projected, somewhere from 1\d\d\.\d µs to 46\d\.\d µs: the weights or token counts of 384 expert GEMMs are unknown, .* or give --expert-weights$/);
    expect(expertTables(d, TERMINAL_TABLES).find((t) => t.key === 'what-if')!.rows.at(-1)!.slice(0, 2)).toEqual(['grouped GEMM', 'not projected']);
    const named = fixtureReport('fixtures/nsys-2025.3-weights/sequential.sqlite').devices[0];
    expect(whatIfLine(named)).toMatch(/grouped GEMM [\d.]+ µs \(−\d+(\.\d+)?%\) \[384 of 384 expert GEMMs from their bytes at 4\.81 TB\/s, the rest from SM-time\]/);
  });
  it('the short report carries both lines; --full the tables', () => {
    // after the findings when they fit: this capture's findings leave them room in 40 lines
    const short = renderTerminal(report, { maxLines: 40 }).replace(/\n\s*/g, ' ');
    expect(short).toContain('straggler');
    expect(short).toMatch(/projected per iteration \(now 2\.\d+ ms = [\d.]+ ms ÷ 3 iterations\): no syncs [\d.]+ ms, graph [\d.]+ ms, overlap [\d.]+ [mµ]?s, grouped not projected/);
    const full = renderTerminal(report, { full: true });
    for (const caption of ['Experts by GPU time', 'The straggler of each iteration', 'Contention', 'What a fix would gain', 'Why streams serialize']) {
      expect(full).toContain(caption);
    }
    expect(expertTables(d, TERMINAL_TABLES).map((t) => t.key)).toEqual(['experts', 'stragglers', 'contention', 'what-if', 'serialization']);
  });
  it('a trace without experts gets no expert lines', () => {
    const g = fixtureReport('fixtures/nsys-2025.3/grouped.sqlite').devices[0];
    expect(expertsLine(g)).toBeNull();
    expect(whatIfLine(g)).toContain('free launches');
  });
});

describe('the short what-if line', () => {
  const base = fixtureReport('fixtures/nsys-2025.3/zipf/sequential.sqlite').devices[0];
  it('says the division behind "now", and "no gain" for a projection at or above it (the ResNet trace read "no syncs 338.9 ms" beside "now 338.3 ms")', () => {
    const w = base.whatIf!;
    const now = w.measuredIterationNs;
    const d = { ...base, whatIf: { ...w, scenarios: [
      { scenario: 'measured' as const, description: '', projectedIterationNs: now, savingNs: 0, ratio: 1 },
      { scenario: 'no-host-syncs' as const, description: '', projectedIterationNs: now + 1000, savingNs: -1000, ratio: (now + 1000) / now },
      { scenario: 'free-launches' as const, description: '', projectedIterationNs: 500_000, savingNs: now - 500_000, ratio: 500_000 / now },
    ] } };
    const line = whatIfShortLine(d)!;
    expect(line).toContain(`(now ${formatNs(now)} = ${formatNs(now * w.iterations)} ÷ ${w.iterations} iterations)`);
    expect(line).toContain(': no syncs no gain, graph 500.0 µs');
  });
});
