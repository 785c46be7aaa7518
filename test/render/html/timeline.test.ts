import { describe, expect, it } from 'vitest';
import { buildTrace } from '../../../src/model/build.js';
import { buildReport } from '../../../src/report/build.js';
import { buildTimeline, MAX_NAME, shortText, timeAxis } from '../../../src/render/html/timeline.js';
import { smallInput } from './fixture.js';

describe('buildTimeline, small trace', () => {
  const { report, trace } = smallInput();
  const tl = buildTimeline(report, trace, undefined, (i) => [trace.strings.indexOf('expert 0'), trace.strings.indexOf('expert 1'), trace.strings.indexOf('moe layer'), -1][i]);

  it('puts NVTX levels (named after their ranges) and host threads above the streams, streams in id order', () => {
    expect(tl.rows).toEqual(['NVTX moe layer', 'NVTX expert #', 'host · tid 4242', 'GPU 0 · stream 7', 'GPU 0 · stream 13', 'GPU 0 · stream 14']);
    expect(tl.axis).toEqual({ originNs: 1000, unitNs: 1000, unit: 'µs', span: 25 });
  });

  it('draws every kernel with exact times and tooltip texts', () => {
    const kernels = tl.marks.filter((m) => m.kind === 'kernel');
    expect(kernels).toHaveLength(4);
    expect(kernels[1]).toEqual({
      row: 'GPU 0 · stream 13', kind: 'kernel', start: 2, end: 7, startText: '2.000 µs', durationText: '5.000 µs',
      name: 'expert_gemm', colour: 'range: expert #', stream: 13, grid: '32×2×1', block: '128×1×1', expert: 'expert 1', kernel: 1,
    });
    // no expert: coloured by kernel name, and the legend says which keys are ranges and which kernels
    expect(kernels[3]).toMatchObject({ colour: 'kernel: expert_gemm', expert: '–', start: 19, end: 25 });
    expect(tl.colourKeys).toEqual(['range: expert #', 'range: moe layer', 'kernel: expert_gemm']);
    expect(tl.bins).toEqual([]);
    expect(tl.aggregation).toEqual([]);
  });

  it('shows launch and sync calls on the host lane and nests NVTX ranges, clipped to the span', () => {
    const host = tl.marks.filter((m) => m.kind === 'launch' || m.kind === 'sync').map((m) => [m.kind, m.name, m.start, m.end]);
    // the first launch (500-900 ns) ended before the window; the rest fall inside it
    expect(host).toEqual([['sync', 'cudaStreamSynchronize', 10, 18.99], ['launch', 'cudaLaunchKernel', 1.5, 1.9], ['launch', 'cudaLaunchKernel', 8.5, 8.9], ['launch', 'cudaLaunchKernel', 18.995, 18.999]]);
    const nvtx = tl.marks.filter((m) => m.kind === 'nvtx').map((m) => [m.row, m.name, m.start, m.end]);
    expect(nvtx).toEqual([['NVTX moe layer', 'moe layer', 0, 25], ['NVTX expert #', 'expert 0', 0, 0], ['NVTX expert #', 'expert 1', 1.4, 2]]);
  });

  it('colours kernels by the innermost NVTX range around the launch, which the commands find (analyses/kernel-ranges.ts)', async () => {
    const { traceSection } = await import('../../../src/render/html/sections.js');
    const section = traceSection(smallInput(), 0).section;
    const spec = section.charts[0].spec as { datasets: { marks: { kind: string; expert?: string }[] } };
    expect(spec.datasets.marks.filter((m) => m.kind === 'kernel').map((m) => m.expert)).toEqual(['expert 0', 'expert 1', 'moe layer', 'moe layer']);
    // the renderer runs no analysis: handed no ranges, it colours by kernel name
    const bare = traceSection({ report, trace }, 0).section.charts[0].spec as { datasets: { marks: { kind: string; expert?: string; colour: string }[] } };
    expect(bare.datasets.marks.filter((m) => m.kind === 'kernel').every((m) => m.colour.startsWith('kernel: ') && m.expert === '–')).toBe(true);
  });
});

describe('buildTimeline, aggregation', () => {
  // stream 1: 10 kernels of 100 ns every 200 ns from 0; stream 2: one kernel [0, 2000)
  const kernels = Array.from({ length: 10 }, (_, i) => ({ start: i * 200, end: i * 200 + 100 + (i === 4 ? 50 : 0), streamId: 1 }));
  kernels.push({ start: 0, end: 2000, streamId: 2 });
  const trace = buildTrace({ kernels });
  const report = buildReport(trace);
  const tl = buildTimeline(report, trace, { maxMarks: 5, keepLongest: 2, bins: 4 });

  it('keeps the longest kernels as marks and says so', () => {
    // in trace order (by start, then end)
    expect(tl.marks.map((m) => [m.row, m.start, m.end])).toEqual([['GPU 0 · stream 2', 0, 2], ['GPU 0 · stream 1', 0.8, 0.95]]);
    expect(tl.aggregation).toEqual(['11 kernels: the 2 longest are drawn one by one; all of them are summed into 4 time bins per row (shade = share of the bin that is busy).']);
  });

  it('sums every kernel into bins: count by start, busy share of the row union', () => {
    expect(tl.binWidth).toBe(0.5);
    // bins of 500 ns: stream 1 starts at 0,200,400 | 600,800 | 1000,1200,1400 | 1600,1800
    expect(tl.bins.map((b) => [b.row, b.bin, b.count, b.busyShare, b.busyText])).toEqual([
      ['GPU 0 · stream 1', 0, 3, 0.6, '300 ns'],
      ['GPU 0 · stream 1', 1, 2, 0.5, '250 ns'],
      ['GPU 0 · stream 1', 2, 3, 0.6, '300 ns'],
      ['GPU 0 · stream 1', 3, 2, 0.4, '200 ns'],
      ['GPU 0 · stream 2', 0, 1, 1, '500 ns'],
      ['GPU 0 · stream 2', 1, 0, 1, '500 ns'],
      ['GPU 0 · stream 2', 2, 0, 1, '500 ns'],
      ['GPU 0 · stream 2', 3, 0, 1, '500 ns'],
    ]);
  });
});

describe('timeAxis', () => {
  it('switches to ms from 10 ms of window on', () => {
    const trace = buildTrace({ kernels: [{ start: 5e6, end: 15e6 }] });
    expect(timeAxis(buildReport(trace))).toEqual({ originNs: 5e6, unitNs: 1e6, unit: 'ms', span: 10 });
  });
});

describe('shortText', () => {
  it('keeps names up to MAX_NAME and cuts longer ones on a code point boundary', () => {
    expect(shortText('x'.repeat(MAX_NAME))).toBe('x'.repeat(MAX_NAME));
    const long = `${'a'.repeat(MAX_NAME - 2)}😀${'b'.repeat(1_000_000)}`;
    const cut = shortText(long);
    // the emoji straddles the cut: it goes whole rather than leaving half a surrogate pair
    expect(cut).toBe(`${'a'.repeat(MAX_NAME - 2)}… (1,000,300 characters)`);
  });

  it('bounds the page whatever the names are', async () => {
    const { renderHtml } = await import('../../../src/render/html/index.js');
    const big = 'k'.repeat(1 << 20);
    const trace = buildTrace({
      kernels: Array.from({ length: 200 }, (_, i) => ({ start: i * 1000, end: i * 1000 + 500, name: `${big}${i % 3}`, streamId: 1 + (i % 4) })),
      nvtx: [{ start: 0, end: 300_000, text: big }],
    });
    const html = renderHtml([{ report: buildReport(trace), trace }]);
    expect(html.length).toBeLessThan(2_000_000);
  });
});
