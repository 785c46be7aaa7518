import { describe, expect, it } from 'vitest';
import { buildTrace } from '../../src/model/build.js';
import { intervalSet } from '../../src/model/intervals.js';
import { selectOps } from '../../src/analyses/select.js';
import { streamOccupancy } from '../../src/analyses/stream-occupancy.js';
import { analyzeDevice } from '../../src/analyses/device.js';
import { distribution } from '../../src/model/distribution.js';
import { classifyGapsDetailed, GAP_LIST_LIMIT } from '../../src/analyses/launch-gaps.js';
import { idleWithin } from '../../src/model/intervals.js';

describe('streamOccupancy gaps', () => {
  const trace = buildTrace({
    kernels: [
      { start: 0, end: 10, streamId: 1 }, { start: 5, end: 12, streamId: 1 }, { start: 20, end: 30, streamId: 1 },
      { start: 30, end: 31, streamId: 1 }, { start: 40, end: 50, streamId: 1 }, { start: 60, end: 70, streamId: 1 },
      { start: 25, end: 45, streamId: 2 },
    ],
  });
  it('are the idle stretches between the stream\'s merged kernels in a one-segment window', () => {
    const w = intervalSet([[0, 80]]);
    const { streams } = streamOccupancy(selectOps(trace, 0, w), w, 70);
    // stream 1 busy [0,12) [20,31) [40,50) [60,70): 12 + 11 + 10 + 10; gaps 8, 9, 10
    expect(streams[0]).toMatchObject({ streamId: 1, kernelCount: 6, busy: 43 });
    expect(streams[0].gaps).toEqual({ count: 3, total: 27, min: 8, median: 9, p95: 10, max: 10 });
    expect(streams[1]).toMatchObject({ streamId: 2, busy: 20, gaps: { count: 0, total: 0, min: 0, median: 0, p95: 0, max: 0 } });
  });
  it('leave out the time between the segments of a several-segment window', () => {
    const w = intervalSet([[0, 35], [38, 80]]);
    const { streams } = streamOccupancy(selectOps(trace, 0, w), w, 70);
    // gaps [12,20), [31,35), [38,40), [50,60): 8, 4, 2, 10
    expect(streams[0].gaps).toEqual({ count: 4, total: 24, min: 2, median: 6, p95: 10, max: 10 });
    // stream 2 is cut in two pieces by the segments: [25,35) and [38,45), and its gap [35,38) is outside W
    expect(streams[1]).toMatchObject({ kernelCount: 1, busy: 17, gaps: { count: 0 } });
  });
});

describe('kernelDuration of one stream', () => {
  it('is the stream\'s durations when the stream ran kernels only, and the kernels\' alone with transfers on it', () => {
    const kernels = [
      { start: 0, end: 10, streamId: 1 }, { start: 5, end: 12, streamId: 1 }, { start: 20, end: 33, streamId: 1 }, { start: 40, end: 41, streamId: 1 },
    ];
    const one = analyzeDevice(buildTrace({ kernels }), 0, { wholeTrace: true });
    expect(one.streams).toHaveLength(1);
    expect(one.kernelDuration).toEqual(distribution([10, 7, 13, 1]));
    expect(one.streams[0].duration).toEqual(one.kernelDuration);
    const withCopy = buildTrace({ kernels, memcpy: [{ start: 14, end: 18, streamId: 1, bytes: 64, copyKind: 1 }] });
    const r = analyzeDevice(withCopy, 0, { wholeTrace: true, includeTransfers: true });
    expect(r.streams).toHaveLength(1);
    expect(r.kernelDuration).toEqual(distribution([10, 7, 13, 1]));
    expect(r.streams[0].duration).toEqual(distribution([10, 7, 4, 13, 1]));
  });
});

describe('one stream\'s gaps as the device\'s', () => {
  it('give the gap classes the statistics and list their own passes give, whether or not W has idle time before or after', () => {
    let seed = 17;
    const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296);
    const kernels = [];
    let t = 100;
    for (let i = 0; i < GAP_LIST_LIMIT + 500; i++) {
      const d = 1 + Math.floor(rand() * 50);
      kernels.push({ start: t, end: t + d, streamId: 3 });
      t += d + (rand() < 0.1 ? 0 : 1 + Math.floor(rand() * 40));
    }
    const trace = buildTrace({ kernels });
    for (const options of [{ wholeTrace: true }, { window: `0:${t + 500}` }, { window: `150:${t - 300}` }]) {
      const report = analyzeDevice(trace, 0, options);
      const w = intervalSet([[report.window.start, report.window.end]]);
      const sel = selectOps(trace, 0, w);
      const own = classifyGapsDetailed(trace, 0, idleWithin(sel.start, sel.end, sel.count, w)).summary;
      expect(report.gaps).toEqual(own);
      expect(report.gaps.omitted).toBeGreaterThan(0);
    }
  });
});
