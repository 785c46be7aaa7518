/** The per-iteration waterfall on a real capture with a host sync per expert. */
import { describe, expect, it } from 'vitest';
import { buildReport } from '../../../src/report/build.js';
import { buildTrace } from '../../../src/model/build.js';
import { medianIteration, waterfallSpec, type WaterfallMark } from '../../../src/render/html/waterfall.js';
import { fixtureReport, fixtureTrace } from '../../helpers/fixture-reports.js';

describe('waterfallSpec', () => {
  const trace = fixtureTrace('fixtures/nsys-2025.3/streams-sync.sqlite');
  const report = fixtureReport('fixtures/nsys-2025.3/streams-sync.sqlite');
  const d = report.devices[0];

  it('draws the median iteration: its kernels, its launches and syncs on the host, and each idle gap as a band', () => {
    const pick = medianIteration(d)!;
    const spans = d.nvtxRanges!.iterations!.instances!.map((x) => x.gpuEnd! - x.gpuStart!);
    expect(pick.it.gpuEnd! - pick.it.gpuStart!).toBe([...spans].sort((a, b) => a - b)[1]);
    const spec = waterfallSpec(d, trace)! as { data: { values: WaterfallMark[] }; title: { text: string } };
    const marks = spec.data.values;
    const count = (kind: string): number => marks.filter((m) => m.kind === kind).length;
    expect(count('kernel')).toBe(pick.it.kernels);
    expect(count('sync')).toBe(pick.it.syncs);
    expect(count('launch')).toBeGreaterThanOrEqual(pick.it.kernels);
    // the idle time between the iteration's kernels is the gaps, every one of them a band
    const stalls = marks.filter((m) => m.kind === 'gap' && m.class === 'sync-stall');
    expect(stalls.length).toBeGreaterThanOrEqual(60);
    expect(stalls[0].name).toBe('idle while the host waits in cudaStreamSynchronize');
    expect(marks.every((m) => m.start >= 0 && m.end >= m.start)).toBe(true);
    expect(spec.title.text).toBe(`GPU 0: one iteration as a waterfall — iteration # (${pick.index + 1} of 3, the median by GPU span: 2.885 ms)`);
  });

  it('draws nothing without iterations', () => {
    const t = buildTrace({ kernels: [{ start: 0, end: 10 }, { start: 20, end: 30 }] });
    expect(waterfallSpec(buildReport(t).devices[0], t)).toBeNull();
  });
});
