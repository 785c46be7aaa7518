import { describe, expect, it } from 'vitest';
import { buildTrace } from '../../../src/model/build.js';
import { buildReport } from '../../../src/report/build.js';
import { concurrencySeries, gapHistogram, levelRows } from '../../../src/render/html/series.js';
import { timeAxis } from '../../../src/render/html/timeline.js';
import { smallInput } from './fixture.js';

describe('concurrencySeries', () => {
  it('is n(t) as a step function over the window, in µs from the window start', () => {
    const { report, trace } = smallInput();
    const s = concurrencySeries(report.devices[0], trace, timeAxis(report));
    expect(s.aggregated).toBe(false);
    expect(s.points.map((p) => [p.t, p.active])).toEqual([[0, 1], [2, 2], [4, 1], [7, 0], [9, 1], [11, 0], [19, 1], [25, 0]]);
  });

  it('selects the kernels of the window as the analyses do: with --range, only inside its pieces, and sums to the report\'s time per level', async () => {
    const { readNsysSqlite } = await import('../../../src/readers/nsys-sqlite.js');
    const trace = readNsysSqlite('fixtures/nsys-2025.3/streams-sync.sqlite');
    const report = buildReport(trace, { range: '/expert/' });
    const d = report.devices[0];
    expect(d.window.segments!.length).toBeGreaterThan(100);
    const axis = { originNs: 0, unitNs: 1, unit: 'µs' as const, span: d.window.end };
    const s = concurrencySeries(d, trace, axis, 1e9);
    expect(s.aggregated).toBe(false);
    const perLevel = new Array(d.overlap.levelTime.length).fill(0);
    for (let i = 0; i + 1 < s.points.length; i++) perLevel[s.points[i].active] += s.points[i + 1].t - s.points[i].t;
    // level 0 also holds the time between the pieces, which is outside the window
    expect(perLevel.slice(1)).toEqual(d.overlap.levelTime.slice(1));
    expect(perLevel.slice(1).reduce((a, b) => a + b, 0)).toBe(d.overlap.busy);
  });

  it('counts back-to-back kernels as one running at a time', () => {
    const trace = buildTrace({ kernels: [{ start: 0, end: 1000, streamId: 1 }, { start: 1000, end: 2000, streamId: 2 }] });
    const report = buildReport(trace);
    const s = concurrencySeries(report.devices[0], trace, timeAxis(report));
    expect(s.points.map((p) => [p.t, p.active])).toEqual([[0, 1], [2, 0]]);
  });

  it('above maxPoints, gives per-bin max and time-weighted mean', () => {
    // 10 kernels of 100 ns, one every 200 ns on two streams, and one 1000 ns kernel over the first half
    const kernels = Array.from({ length: 10 }, (_, i) => ({ start: i * 200, end: i * 200 + 100, streamId: 1 }));
    kernels.push({ start: 0, end: 1000, streamId: 2 });
    const trace = buildTrace({ kernels });
    const report = buildReport(trace);
    // window [0, 1900]; 2 bins of 950 ns
    const s = concurrencySeries(report.devices[0], trace, { originNs: 0, unitNs: 1, unit: 'µs', span: 1900 }, 3, 2);
    expect(s.aggregated).toBe(true);
    const max = s.points.filter((p) => p.series === 'max in bin').map((p) => [p.t, p.active]);
    const mean = s.points.filter((p) => p.series === 'mean in bin').map((p) => [p.t, p.active]);
    // in bin 1 the long kernel ends at 1000 exactly when a short one starts: never 2 at once
    expect(max).toEqual([[0, 2], [950, 1], [1900, 1]]);
    // bin 0 [0,950): 5 short kernels x 100 ns = 500 + long kernel 950 → 1450 / 950
    // bin 1 [950,1900): short kernels 1000-1100 ... 1800-1900 = 500, long 950-1000 = 50 → 550 / 950
    expect(mean[0][1]).toBeCloseTo(1450 / 950, 12);
    expect(mean[1][1]).toBeCloseTo(550 / 950, 12);
  });
});

describe('levelRows', () => {
  it('gives the time at each level with units and window share', () => {
    const { report } = smallInput();
    expect(levelRows(report.devices[0], timeAxis(report))).toEqual([
      { level: 0, time: 10, timeText: '10.00 µs', shareText: '40.0%' },
      { level: 1, time: 13, timeText: '13.00 µs', shareText: '52.0%' },
      { level: 2, time: 2, timeText: '2.000 µs', shareText: '8.0%' },
    ]);
  });
});

describe('gapHistogram', () => {
  it('stacks the report\'s exact histogram by class, bin by bin', () => {
    const { report } = smallInput();
    const d = structuredClone(report.devices[0]);
    d.gaps.gaps = []; // the list may be capped: the chart must not read it
    d.gaps.histogram = [
      { bin: 13, class: 'sync-stall', count: 1, total: 2500 },
      { bin: 13, class: 'host-wait', count: 3, total: 6000 },
      { bin: 15, class: 'sync-stall', count: 2, total: 16000 },
    ];
    const bins = gapHistogram(d);
    expect(bins.map((b) => [Math.round(b.lo), Math.round(b.hi), b.class, b.count, b.y0, b.y1])).toEqual([
      [1778, 3162, 'sync-stall', 1, 0, 1],
      [1778, 3162, 'host-wait', 3, 1, 4],
      [5623, 10000, 'sync-stall', 2, 0, 2],
    ]);
    expect(bins[2].range).toBe('5.623 µs – 10.00 µs');
    expect(bins[2].totalText).toBe('16.00 µs');
  });

  it('bins the gap list of a report without a histogram (an older report)', () => {
    const { report } = smallInput();
    const d = structuredClone(report.devices[0]);
    delete d.gaps.histogram;
    d.gaps.gaps.push({ start: 0, end: 0, duration: 2500, class: 'sync-stall', nextKernel: null });
    const bins = gapHistogram(d);
    // 2000 and 2500 ns share the bin [10^3.25, 10^3.5) = [1778, 3162); 8000 is in [7499, 10^4)
    expect(bins.map((b) => [Math.round(b.lo), Math.round(b.hi), b.class, b.count, b.y0, b.y1])).toEqual([
      [1778, 3162, 'sync-stall', 1, 0, 1],
      [1778, 3162, 'host-wait', 1, 1, 2],
      [5623, 10000, 'sync-stall', 1, 0, 1],
    ]);
    expect(bins[2].totalText).toBe('8.000 µs');
  });

  it('gives the same bins from the histogram as from the full list', () => {
    const { report } = smallInput();
    const d = report.devices[0];
    const fromList = structuredClone(d);
    delete fromList.gaps.histogram;
    expect(gapHistogram(d)).toEqual(gapHistogram(fromList));
    expect(gapHistogram(d).length).toBeGreaterThan(0);
  });
});
