import { describe, expect, it } from 'vitest';
import { buildTrace } from '../../src/model/build.js';
import { intervalSet } from '../../src/model/intervals.js';
import { selectOps } from '../../src/analyses/select.js';
import { streamOccupancy } from '../../src/analyses/stream-occupancy.js';
import { analyzeDevice } from '../../src/analyses/device.js';
import { distribution } from '../../src/model/distribution.js';

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
