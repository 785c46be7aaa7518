/**
 * The what-if replay at another host speed (WhatIfScenario.hostSpeed, ReplayEdits.hostTimeFactor):
 * exact figures on tiny inline traces, and the cross-process pairs that the host's speed alone
 * kept apart (docs/metrics.md "Projections against real captures").
 */
import { describe, expect, it } from 'vitest';
import { buildTrace } from '../../src/model/build.js';
import { syncPairTrace } from '../helpers/sync-pair-trace.js';
import { analyzeWhatIf, buildReplayInput, replay, replayAtHostTimes } from '../../src/analyses/what-if.js';
import { HOST_TIME_FACTORS, projectionAtHostTime } from '../../src/report/expert-types.js';
import { compareReports, renderComparison } from '../../src/commands/compare.js';
import { comparison } from '../../src/render/html/compare.js';
import { hostTimeRatio } from '../../src/commands/compare-experts.js';
import { fixtureReport, fixtureTrace } from '../helpers/fixture-reports.js';

const threads = [{ globalTid: '1', tid: 1, name: 't', process: 0 }];
const processes = [{ globalPid: '1', pid: 1, name: 'p' }];

describe('a host-bound loop: the span follows the host time exactly', () => {
  // 4 launches of 10 ns with 10 ns of host work between them (call i at [20i, 20i + 10)), each
  // kernel 2 ns starting 5 ns after its call: the GPU waits for the host. Host time × f:
  // kernel i starts at 20f·i + 10f + 5, so the span is 60f + 2 (62 as recorded).
  const t = buildTrace({
    processes, threads,
    runtime: [0, 1, 2, 3].map((i) => ({ start: 20 * i, end: 20 * i + 10, name: 'cudaLaunchKernel', thread: 0, correlationId: i + 1 })),
    kernels: [0, 1, 2, 3].map((i) => ({ start: 20 * i + 15, end: 20 * i + 17, correlationId: i + 1, name: 'k', streamId: 7, grid: [1, 1, 1] as [number, number, number], block: [32, 1, 1] as [number, number, number] })),
  });
  const window = { start: 15, end: 77 };
  const input = buildReplayInput(t, 0, window)!;
  it('replays 60f + 2 at each factor', () => {
    expect(input.launchLatency).toBe(5);
    expect(replay(input)).toBe(62);
    expect(replay(input, { hostTimeFactor: 0.5 })).toBe(32);
    expect(replay(input, { hostTimeFactor: 2 })).toBe(122);
    expect(replayAtHostTimes(input, {}, [0.5, 1, 2])).toEqual([32, 62, 122]);
  });
  it('reports every scenario on the grid, the factor 1 being the projection itself', () => {
    const w = analyzeWhatIf(t, 0, window)!;
    const measured = w.scenarios.find((s) => s.scenario === 'measured')!;
    expect(measured.hostSpeed!.map((x) => x.hostTimeFactor)).toEqual([...HOST_TIME_FACTORS]);
    expect(measured.hostSpeed!.map((x) => x.projectedIterationNs)).toEqual(HOST_TIME_FACTORS.map((f) => Math.round(60 * f + 2)));
    for (const s of w.scenarios) expect(s.hostSpeed!.find((x) => x.hostTimeFactor === 1)!.projectedIterationNs, s.scenario).toBe(s.projectedIterationNs);
    // free launches: launch calls and the host time before them are gone, nothing is left to scale
    expect(w.scenarios.find((s) => s.scenario === 'free-launches')!.hostSpeed!.every((x) => x.projectedIterationNs === 8)).toBe(true);
  });
  it('reads the grid linearly between its points, and nothing outside it', () => {
    const grid = [{ hostTimeFactor: 0.5, projectedIterationNs: 32 }, { hostTimeFactor: 1, projectedIterationNs: 62 }, { hostTimeFactor: 2, projectedIterationNs: 122 }];
    expect(projectionAtHostTime(grid, 0.75)).toBe(47);
    expect(projectionAtHostTime(grid, 1)).toBe(62);
    expect(projectionAtHostTime(grid, 1.5)).toBe(92);
    expect(projectionAtHostTime(grid, 0.4)).toBeNull();
    expect(projectionAtHostTime(grid, 2.1)).toBeNull();
    expect(projectionAtHostTime([], 1)).toBeNull();
  });
});

describe('a blocking call: its wait and wake-up keep their time, the launches around it scale', () => {
  // launch k1 [0,5) → k1 [10,110); the sync [5,112) waits for k1 and returns 2 ns after it; launch
  // k2 [112,117) → k2 [122,222). Host time × f: span = 100 (k1) + 2 (wake-up) + 5f (k2's launch) + 5 (latency) + 100 (k2).
  const t = syncPairTrace();
  const input = buildReplayInput(t, 0, { start: 10, end: 222 })!;
  it('207 + 5f', () => {
    expect(replayAtHostTimes(input, {}, [0.5, 1, 2])).toEqual([209.5, 212, 217]);
  });
});

describe('real captures in separate processes: the projection at the counterpart\'s host speed', () => {
  it('the -profile pair: streams-sync → no-host-syncs at streams\' host speed (0.70x) lands within 25% of the measured streams (+48.7% at its own)', () => {
    const names = ['streams-sync', 'streams'];
    const c = compareReports(names.map((n) => fixtureReport(`fixtures/nsys-2025.3-profile/${n}.sqlite`)), names);
    const x = c.experts!;
    const p = x.projections.find((r) => r.to === 'streams')!;
    expect(p.scenario).toBe('no-host-syncs');
    expect(p.error).toBeGreaterThan(0.4);
    expect(p.hostTimeFactor).toBe(x.hostSpeed[0].ratio);
    expect(p.hostTimeFactor!).toBeGreaterThan(0.6);
    expect(p.hostTimeFactor!).toBeLessThan(0.8);
    expect(Math.abs(p.errorAtHostSpeed!)).toBeLessThan(0.25);
    const row = x.atHostSpeed.find((r) => r.to === 'streams' && r.scenario === 'no-host-syncs')!;
    expect(row).toMatchObject({ from: 'streams-sync', projectedAtHostSpeed: p.projectedAtHostSpeed, error: p.errorAtHostSpeed });
    expect(row.projectedAtHostSpeed!).toBeLessThan(row.projected);
    // terminal: the closest projection's line and the table
    const text = renderComparison(c);
    expect(text).toMatch(/streams measured 2\.\d+ ms; streams-sync's closest projection: "no host syncs" 3\.\d+ ms \(\+4\d\.\d%\); at streams's host speed \(0\.7\dx the host time\): 2\.\d+ ms \([+-]\d\.\d%\)\./);
    expect(text).toContain("streams-sync's projections at each capture's host speed");
    // HTML: handed compare's rows, the comparison table shows them in streams' column
    const inputs = names.map((n) => ({ report: fixtureReport(`fixtures/nsys-2025.3-profile/${n}.sqlite`), trace: fixtureTrace(`fixtures/nsys-2025.3-profile/${n}.sqlite`) }));
    const compared = c.traces.map((t) => ({ ...t, atHostSpeed: x.atHostSpeed.filter((r) => r.to === t.label) }));
    const html = comparison(inputs, compared).table.rows.find((r) => r[0] === 'projected from streams-sync.sqlite at this host speed: no host syncs')!;
    expect(html[1]).toBe('–');
    expect(html[2]).toMatch(/^2\.\d+ ms \(host time 0\.7\dx; [+-]\d\.\d% vs measured\)$/);
  });
  it('pinned repeats: every streams-sync process\'s no-host-syncs at every streams process\'s host speed within 25% (−33.7% .. +15.9% at their own)', () => {
    const R = 'fixtures/nsys-2025.3-repeats';
    const w = (f: string) => fixtureReport(`${R}/${f}.sqlite`).devices[0].whatIf!;
    const from = [1, 2, 3].map((r) => w(`streams-sync-${r}`));
    const to = [1, 2, 3].map((r) => w(`streams-${r}`));
    for (const a of from) {
      const s = a.scenarios.find((x) => x.scenario === 'no-host-syncs')!;
      for (const b of to) {
        const h = hostTimeRatio(a, b)!;
        const p = projectionAtHostTime(s.hostSpeed, h.ratio)!;
        expect(Math.abs(p - b.measuredIterationNs) / b.measuredIterationNs).toBeLessThan(0.25);
      }
    }
  });
});
