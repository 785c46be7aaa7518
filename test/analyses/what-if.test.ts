import { describe, expect, it } from 'vitest';
import { syncPairTrace } from '../helpers/sync-pair-trace.js';
import { analyzeWhatIf, buildReplayInput, replay } from '../../src/analyses/what-if.js';
import { readNsysSqlite } from '../../src/readers/nsys-sqlite.js';
import { resolveWindow } from '../../src/analyses/window.js';
import type { WhatIfReport } from '../../src/report/types.js';
import { buildReport } from '../../src/report/build.js';


describe('replay on an inline trace', () => {
  // launch k1 [0,5) → k1 runs [10,110); the host syncs [5,112) waiting for it; then launches k2
  // [112,117) → k2 runs [122,222) (launch latency 5 both times). Unchanged, the replay gives the recorded span 212.
  const t = syncPairTrace();
  const input = buildReplayInput(t, 0, { start: 10, end: 222 })!;
  it('reproduces the recording', () => {
    expect(input.calls.kind[1]).toBe(1);
    expect(input.calls.waitsFor[1]).toBe(0);
    expect(input.calls.residual[1]).toBe(2);
    expect(input.launchLatency).toBe(5);
    expect(replay(input)).toBe(212);
  });
  it('without the sync, k2 queues right behind k1 on its stream', () => {
    // sync takes 0: k2's call [5,10) ends at 10, ready at 10 + latency; stream order: after k1 (110) + back-to-back
    const span = replay(input, { noWaits: true, callDuration: (c) => (c === 1 ? 0 : input.calls.end[c] - input.calls.start[c]) });
    expect(span).toBe(110 + input.backToBack + 100 - 10);
  });
  it('reports the unchanged replay first, with its error', () => {
    const w = analyzeWhatIf(t, 0, { start: 10, end: 222 })!;
    expect(w.scenarios[0]).toMatchObject({ scenario: 'measured', projectedIterationNs: 212 });
    expect(w.replayError).toBe(0);
    expect(w.scenarios.find((s) => s.scenario === 'no-host-syncs')!.projectedIterationNs).toBe(200);
  });
});

describe('real captures: each projection within 25% of the measured counterpart (bench/what-if-errors.js)', () => {
  const cache = new Map<string, WhatIfReport>();
  const whatIf = (file: string): WhatIfReport => {
    let w = cache.get(file);
    if (!w) {
      const t = readNsysSqlite(file);
      cache.set(file, (w = analyzeWhatIf(t, 0, resolveWindow(t, 0, {}).window)!));
    }
    return w;
  };
  const projected = (file: string, scenario: string) => whatIf(file).scenarios.find((s) => s.scenario === scenario)!.projectedIterationNs;
  const D = 'fixtures/nsys-2025.3';
  it('the unchanged replay reproduces every capture-range capture within 5%', () => {
    for (const m of ['sequential', 'streams-sync', 'streams', 'grouped', 'torch-sequential', 'torch-streams', 'torch-grouped']) {
      expect(Math.abs(whatIf(`${D}/${m}.sqlite`).replayError), m).toBeLessThan(0.05);
    }
  });
  it('no-host-syncs from streams-sync lands within 25% of the measured streams capture (native, torch, zipf)', () => {
    for (const [a, b] of [['streams-sync', 'streams'], ['torch-streams-sync', 'torch-streams'], ['zipf/streams-sync', 'zipf/streams'], ['tokens-64k/streams-sync', 'tokens-64k/streams']]) {
      const p = projected(`${D}/${a}.sqlite`, 'no-host-syncs');
      const m = whatIf(`${D}/${b}.sqlite`).measuredIterationNs;
      expect(Math.abs(p - m) / m, a).toBeLessThan(0.25);
      expect(p).toBeLessThan(whatIf(`${D}/${a}.sqlite`).measuredIterationNs);
    }
  });
  it('free-launches from streams lands within 25% of the measured CUDA graph capture', () => {
    const p = projected(`${D}/streams.sqlite`, 'free-launches');
    const m = whatIf(`${D}/graph.sqlite`).measuredIterationNs;
    expect(Math.abs(p - m) / m).toBeLessThan(0.25);
  });
  it('grouped from torch-sequential lands within 25% of the measured torch._grouped_mm capture', () => {
    const p = projected(`${D}/torch-sequential.sqlite`, 'grouped');
    const m = whatIf(`${D}/torch-grouped.sqlite`).measuredIterationNs;
    expect(Math.abs(p - m) / m).toBeLessThan(0.25);
  });
  it('grouped from native sequential: without weights not projected (nothing to SM-time spans 5x, the measured grouped kernels inside it); with the weights given, from bytes, below them', () => {
    for (const [dir, lo, hi] of [[D, -0.28, -0.26], [`${D}/zipf`, -0.19, -0.16]] as const) {
      const w0 = whatIf(`${dir}/sequential.sqlite`);
      const m = whatIf(`${dir}/grouped.sqlite`).measuredIterationNs;
      expect(w0.scenarios.find((s) => s.scenario === 'grouped')).toBeUndefined();
      const np = w0.notProjected!.find((x) => x.scenario === 'grouped')!;
      expect(np.reason).toContain('384 expert GEMMs are unknown');
      expect(np.highNs).toBeGreaterThan(1.25 * np.lowNs);
      expect(np.highNs).toBeGreaterThan(1.4 * m);
      expect(np.lowNs).toBeLessThan(m);
      expect(w0.inputs.grouped).toMatchObject({ namedGemms: 0, unknownGemms: 384 });
      const w = buildReport(readNsysSqlite(`${dir}/sequential.sqlite`), { expertWeights: '768x3072,3072x768:bf16' }).devices[0].whatIf!;
      expect(w.notProjected).toBeUndefined();
      const e = (w.scenarios.find((s) => s.scenario === 'grouped')!.projectedIterationNs - m) / m;
      expect(e, dir).toBeGreaterThan(lo);
      expect(e, dir).toBeLessThan(hi);
    }
  });
  it('the weights campaign (expert ranges name their weights): every projection within 25% of its measured counterpart', () => {
    const V = 'fixtures/nsys-2025.3-weights';
    const pairs = [
      ['streams-sync', 'no-host-syncs', 'streams'], ['streams', 'free-launches', 'graph'], ['sequential', 'grouped', 'grouped'],
      ['tokens-64k/streams-sync', 'no-host-syncs', 'tokens-64k/streams'], ['zipf/streams-sync', 'no-host-syncs', 'zipf/streams'], ['zipf/sequential', 'grouped', 'zipf/grouped'],
    ];
    for (const [a, scenario, b] of pairs) {
      const p = projected(`${V}/${a}.sqlite`, scenario);
      const m = whatIf(`${V}/${b}.sqlite`).measuredIterationNs;
      expect(Math.abs(p - m) / m, `${a} ${scenario}`).toBeLessThan(0.25);
    }
    // grouped from bytes: every expert GEMM named, all memory-bound at ≤ 80 tokens
    expect(whatIf(`${V}/sequential.sqlite`).inputs.grouped).toMatchObject({ namedGemms: 384, memoryBoundGemms: 384 });
  });
  describe('one process, the modes taking turns (capture-whatif-host.sh): both sides at the same host speed', () => {
    const blockWhatIf = (t: ReturnType<typeof readNsysSqlite>, range: string) => analyzeWhatIf(t, 0, resolveWindow(t, 0, { range }).window)!;
    const pairs = (file: string, list: [string, string, string][]) => {
      const t = readNsysSqlite(`fixtures/nsys-2025.3-inproc/${file}.sqlite`);
      return list.flatMap(([from, scenario, to]) => [0, 1, 2].map((b) => {
        const a = blockWhatIf(t, `block ${b} ${from}`);
        const m = blockWhatIf(t, `block ${b} ${to}`).measuredIterationNs;
        expect(a.iterations).toBe(3);
        return { what: `${file} block ${b} ${from} ${scenario}`, e: (a.scenarios.find((s) => s.scenario === scenario)!.projectedIterationNs - m) / m };
      }));
    };
    it('every projection of every block within 25% of the next mode\'s block; no-host-syncs within 11%, grouped within 3%', () => {
      const rows = [
        ...pairs('default', [['streams-sync', 'no-host-syncs', 'streams'], ['streams', 'free-launches', 'graph'], ['sequential', 'grouped', 'grouped']]),
        ...pairs('zipf', [['streams-sync', 'no-host-syncs', 'streams'], ['sequential', 'grouped', 'grouped']]),
        ...pairs('64k', [['streams-sync', 'no-host-syncs', 'streams']]),
      ];
      expect(rows).toHaveLength(18);
      for (const r of rows) expect(Math.abs(r.e), r.what).toBeLessThan(0.25);
      for (const r of rows.filter((x) => x.what.includes('no-host-syncs'))) expect(Math.abs(r.e), r.what).toBeLessThan(0.11);
      for (const r of rows.filter((x) => x.what.includes('grouped'))) expect(Math.abs(r.e), r.what).toBeLessThan(0.03);
    });
    it('separate processes pinned to one core: the projections spread 1.6x with their hosts, the measured streams 1.07x', () => {
      const R = 'fixtures/nsys-2025.3-repeats';
      // each capture read once (the cached whatIf above: the same read, window and replay)
      const w = (f: string) => whatIf(`${R}/${f}.sqlite`);
      const projected = [1, 2, 3].map((r) => w(`streams-sync-${r}`).scenarios.find((s) => s.scenario === 'no-host-syncs')!.projectedIterationNs);
      const measured = [1, 2, 3].map((r) => w(`streams-${r}`).measuredIterationNs);
      expect(Math.max(...projected) / Math.min(...projected)).toBeGreaterThan(1.5);
      expect(Math.max(...measured) / Math.min(...measured)).toBeLessThan(1.1);
    });
  });
  it('perfect-overlap is never slower than free-launches and bounded by the GPU work', () => {
    const w = whatIf(`${D}/streams.sqlite`);
    const po = w.scenarios.find((s) => s.scenario === 'perfect-overlap')!.projectedIterationNs;
    expect(po).toBeLessThanOrEqual(projected(`${D}/streams.sqlite`, 'free-launches') * 1.01);
    expect(po).toBeGreaterThan(200_000);
  });
});
