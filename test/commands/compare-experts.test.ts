import { describe, expect, it } from 'vitest';
import { readNsysSqlite } from '../../src/readers/nsys-sqlite.js';
import { buildReport } from '../../src/report/build.js';
import { compareReports, renderComparison } from '../../src/commands/compare.js';
import { fixtureReport } from '../helpers/fixture-reports.js';

describe('compare: measured vs projected side by side (issue 15)', () => {
  const names = ['streams-sync', 'streams', 'graph'];
  const reports = names.map((n) => fixtureReport(`fixtures/nsys-2025.3/${n}.sqlite`));
  const c = compareReports(reports, names);
  it('puts each capture\'s measurement beside the first capture\'s projections', () => {
    const x = c.experts!;
    expect(x.whatIf[0]!.projected['no-host-syncs']).toBeLessThan(x.whatIf[0]!.measured);
    const toStreams = x.projections.find((p) => p.to === 'streams')!;
    expect(toStreams.scenario).toBe('no-host-syncs');
    expect(Math.abs(toStreams.error)).toBeLessThan(0.25);
    // a CUDA graph capture has nothing to edit: its own row says so with dashes
    expect(x.whatIf[2]!.projected['free-launches']).toBeUndefined();
  });
  it('measures the graph\'s slowdown against the kernels run alone in the first capture', () => {
    const gemms = c.experts!.contention.filter((r) => r.label === 'graph' && r.name.startsWith('nvjet'));
    expect(gemms.length).toBeGreaterThanOrEqual(2);
    for (const g of gemms) expect(g.slowdown).toBeGreaterThan(1.1);
  });
  it('prints both tables', () => {
    const text = renderComparison(c);
    expect(text).toContain('Measured vs projected per iteration');
    expect(text).toMatch(/streams measured 2\.\d+ ms; streams-sync's closest projection: "no host syncs" 2\.\d+ ms \(\+\d+\.\d%\)/);
    expect(text).toContain("Contention against streams-sync's kernels run alone");
  });
});

describe('compare: how fast each host ran, beside the projections', () => {
  it('the -profile pair: streams\' host took 0.70x the time per launch call of streams-sync\'s, and compare says the +48.7% is partly the hosts\'', () => {
    const reports = ['streams-sync', 'streams'].map((n) => fixtureReport(`fixtures/nsys-2025.3-profile/${n}.sqlite`));
    const c = compareReports(reports, ['streams-sync', 'streams']);
    const h = c.experts!.hostSpeed;
    expect(h).toHaveLength(1);
    // cuLaunchKernelEx 4.56 µs against 6.48, cudaStreamWaitEvent 419 ns against 731, ...
    expect(h[0].names.map((x) => x.name)).toContain('cuLaunchKernelEx');
    expect(h[0].ratio).toBeGreaterThan(0.6);
    expect(h[0].ratio).toBeLessThan(0.8);
    expect(renderComparison(c)).toMatch(/streams's host took 0\.\d\dx streams-sync's time per launch call \(median over the \d call names both make: cuLaunchKernelEx 4\.\d+ µs against 6\.\d+ µs.*\): streams-sync's projections keep streams-sync's host speed/);
  });
  it('blocks of one process (fixtures/nsys-2025.3-inproc): the same host speed, no such warning', () => {
    const t = readNsysSqlite('fixtures/nsys-2025.3-inproc/default.sqlite');
    const reports = ['streams-sync', 'streams'].map((m) => buildReport(t, { range: `block 1 ${m}` }));
    const c = compareReports(reports, ['streams-sync', 'streams']);
    const h = c.experts!.hostSpeed[0];
    expect(Math.abs(h.ratio - 1)).toBeLessThan(0.1);
    expect(renderComparison(c)).not.toContain('projections keep');
  });
});
