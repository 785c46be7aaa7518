import { describe, expect, it } from 'vitest';
import { buildTrace } from '../../src/model/build.js';
import { InputError } from '../../src/errors.js';
import { parseTime, parseWindowSpec, resolveWindow, SegmentCursor } from '../../src/analyses/window.js';
import { deviceIds, opDuration, selectOps } from '../../src/analyses/select.js';
import { intervalSet, upperBound } from '../../src/model/intervals.js';
const launch = (start: number, end: number, correlationId: number) => ({ start, end, name: 'cudaLaunchKernel', correlationId });

describe('time and window parsing', () => {
  it('reads plain ns and units', () => {
    expect(parseTime('100')).toBe(100);
    expect(parseTime('100ns')).toBe(100);
    expect(parseTime('3us')).toBe(3000);
    expect(parseTime('3\u00b5s')).toBe(3000); // µ, MICRO SIGN
    expect(parseTime('3\u03bcs')).toBe(3000); // μ, GREEK SMALL LETTER MU
    expect(parseTime('12.5ms')).toBe(12_500_000);
    expect(parseTime('1.5s')).toBe(1_500_000_000);
    expect(parseTime(' 2e3 us')).toBe(2_000_000);
    expect(parseTime('0.0000004ms')).toBe(0);
  });
  it('rejects what is not a time', () => {
    expect(() => parseTime('abc')).toThrow(InputError);
    expect(() => parseTime('-5ms')).toThrow(/cannot read time "-5ms"/);
    expect(() => parseTime('5 min')).toThrow(InputError);
  });
  it('reads START:END with optional sides', () => {
    expect(parseWindowSpec('12.5ms:20ms')).toEqual({ start: 12_500_000, end: 20_000_000 });
    expect(parseWindowSpec(':300')).toEqual({ start: null, end: 300 });
    expect(parseWindowSpec('300:')).toEqual({ start: 300, end: null });
    expect(() => parseWindowSpec('300')).toThrow(/must be START:END/);
    expect(() => parseWindowSpec('20ms:10ms')).toThrow(/END must be after START/);
    expect(() => parseWindowSpec('1:2:3')).toThrow(InputError);
  });
});

const kernels = [
  { start: 100, end: 200, correlationId: 1 },
  { start: 150, end: 400, correlationId: 2, streamId: 8 },
  { start: 50, end: 60, deviceId: 1, correlationId: 3 },
];

describe('resolveWindow', () => {
  const t = buildTrace({ kernels });
  it('defaults to [first kernel start, last kernel end] of the device', () => {
    expect(deviceIds(t)).toEqual([0, 1]);
    expect(resolveWindow(t, 0).window).toEqual({ start: 100, end: 400, duration: 300, source: 'kernels', coveredDuration: 300 });
    expect(resolveWindow(t, 1).window).toMatchObject({ start: 50, end: 60, duration: 10 });
  });
  it('takes explicit times, filling an empty side from the kernels', () => {
    expect(resolveWindow(t, 0, { window: '120:300' }).window).toMatchObject({ start: 120, end: 300, source: 'explicit' });
    expect(resolveWindow(t, 0, { window: ':300' }).window).toMatchObject({ start: 100, end: 300 });
    expect(() => resolveWindow(t, 0, { window: '500:' })).toThrow(/END must be after START/);
  });
  it('refuses a device without kernels', () => {
    expect(() => resolveWindow(t, 3)).toThrow(/device 3 ran no kernel; devices with kernels: 0, 1/);
  });
});

describe('--range windows', () => {
  // Two "forward" passes and a "backward" on thread 0; each launches one or two kernels.
  const t = buildTrace({
    nvtx: [
      { start: 0, end: 100, text: 'forward' },
      { start: 100, end: 200, text: 'backward' },
      { start: 1000, end: 1100, text: 'forward' },
      { start: 2000, end: 2100, text: 'idle step' },
    ],
    runtime: [
      { start: 10, end: 12, name: 'cudaLaunchKernel', correlationId: 1 },
      { start: 20, end: 22, name: 'cudaLaunchKernel', correlationId: 2 },
      { start: 110, end: 112, name: 'cudaLaunchKernel', correlationId: 3 },
      { start: 1010, end: 1012, name: 'cudaLaunchKernel', correlationId: 4 },
    ],
    kernels: [
      { start: 30, end: 60, correlationId: 1 },
      { start: 40, end: 90, correlationId: 2, streamId: 8 },
      { start: 120, end: 180, correlationId: 3 },
      { start: 1030, end: 1050, correlationId: 4 },
    ],
  });
  it('uses the union of the matching ranges\' GPU projections', () => {
    const r = resolveWindow(t, 0, { range: 'forward' });
    expect(r.window).toEqual({
      start: 30, end: 1050, duration: 1020, source: 'range', range: 'forward', rangeInstances: 2,
      coveredDuration: 60 + 20, segments: [{ start: 30, end: 90 }, { start: 1030, end: 1050 }],
      // each instance is an iteration: its GPU span, and its NVTX range on the host
      iterations: {
        method: 'range', name: 'forward', found: 2, count: 2, leftOut: 0,
        span: { count: 2, total: 80, min: 20, median: 40, p95: 58, max: 60 }, meanSpan: 40,
        host: { start: [0, 1000], end: [100, 1100] },
      },
    });
  });
  it('takes a family name as the tool prints it ("expert #"), and lists family names when nothing matches', () => {
    const f = buildTrace({
      nvtx: [{ start: 0, end: 10, text: 'expert 0' }, { start: 20, end: 30, text: 'expert 1' }, { start: 40, end: 50, text: 'expert #' }],
      runtime: [launch(1, 2, 1), launch(21, 22, 2), launch(41, 42, 3)],
      kernels: [{ start: 3, end: 5, correlationId: 1 }, { start: 23, end: 25, correlationId: 2 }, { start: 43, end: 45, correlationId: 3 }],
    });
    // a range whose text is exactly "expert #" wins: it is what the user wrote
    expect(resolveWindow(f, 0, { range: 'expert #' }).window.rangeInstances).toBe(1);
    const g = buildTrace({
      nvtx: [{ start: 0, end: 10, text: 'expert 0' }, { start: 20, end: 30, text: 'expert 1' }],
      runtime: [launch(1, 2, 1), launch(21, 22, 2)],
      kernels: [{ start: 3, end: 5, correlationId: 1 }, { start: 23, end: 25, correlationId: 2 }],
    });
    expect(resolveWindow(g, 0, { range: 'expert #' }).window).toMatchObject({ source: 'range', rangeInstances: 2, coveredDuration: 4 });
    // experts are not iterations: no per-iteration timing
    expect(resolveWindow(g, 0, { range: 'expert #' }).window.iterations).toBeUndefined();
    expect(() => resolveWindow(g, 0, { range: 'layer #' })).toThrow(/matches no NVTX range; available ranges include "expert #"$/);
  });
  it('matches /regex/ and merges overlapping projections', () => {
    const r = resolveWindow(t, 0, { range: '/^(for|back)ward$/' });
    expect(r.window.segments).toEqual([{ start: 30, end: 90 }, { start: 120, end: 180 }, { start: 1030, end: 1050 }]);
    expect(r.window.rangeInstances).toBe(3);
  });
  it('intersects with --window', () => {
    const r = resolveWindow(t, 0, { range: 'forward', window: '50:1040' });
    expect(r.window.segments).toEqual([{ start: 50, end: 90 }, { start: 1030, end: 1040 }]);
    expect(r.window.coveredDuration).toBe(50);
  });
  it('says which ranges exist when nothing matches', () => {
    expect(() => resolveWindow(t, 0, { range: 'Forward' })).toThrow(
      /--range "Forward" matches no NVTX range; available ranges include "forward", "backward", "idle step"/,
    );
    expect(() => resolveWindow(t, 0, { range: '/(/' })).toThrow(/not a valid regular expression/);
  });
  it('refuses a range that launched no GPU work on the device', () => {
    expect(() => resolveWindow(t, 0, { range: 'idle step' })).toThrow(/matches 1 NVTX range\(s\), but none launched GPU work on device 0/);
  });
});

describe('selectOps', () => {
  it('clips kernels to the window, keeps zero-length kernels inside it and drops touching ones', () => {
    const t = buildTrace({
      kernels: [
        { start: 0, end: 10 }, { start: 5, end: 25, streamId: 8 }, { start: 30, end: 30 },
        { start: 40, end: 50 }, { start: 50, end: 60 }, { start: 55, end: 56, deviceId: 1 },
      ],
    });
    const sel = selectOps(t, 0, intervalSet([[8, 50]]));
    expect(Array.from(sel.start)).toEqual([8, 8, 30, 40]);
    expect(Array.from(sel.end)).toEqual([10, 25, 30, 50]);
    expect(sel.kernelCount).toBe(4);
    expect(Array.from({ length: sel.ops.count }, (_, o) => opDuration(sel, o))).toEqual([2, 17, 0, 10]);
  });
  it('splits a kernel across window segments into pieces but counts it once', () => {
    const t = buildTrace({ kernels: [{ start: 0, end: 100 }, { start: 20, end: 30, streamId: 8 }] });
    const sel = selectOps(t, 0, intervalSet([[10, 40], [60, 70]]));
    expect(Array.from(sel.start)).toEqual([10, 20, 60]);
    expect(Array.from(sel.end)).toEqual([40, 30, 70]);
    expect(sel.kernelCount).toBe(2);
    expect(Array.from({ length: sel.ops.count }, (_, o) => opDuration(sel, o))).toEqual([40, 10]);
  });
});

describe('SegmentCursor', () => {
  it('answers upperBound(end, count, t) for times in order, backwards and far ahead', () => {
    const w = intervalSet([[0, 10], [20, 30], [40, 50], [60, 70], [80, 90], [100, 110]]);
    const cursor = new SegmentCursor(w);
    const times = [-5, 0, 5, 10, 15, 30, 31, 30, 12, 95, 110, 111, 0, 69.5, 70, 45, 200, -1];
    for (const t of times) expect(cursor.firstEndingAfter(t)).toBe(upperBound(w.end, w.count, t));
  });
  it('answers for an empty window', () => {
    expect(new SegmentCursor(intervalSet([])).firstEndingAfter(5)).toBe(0);
  });
});
