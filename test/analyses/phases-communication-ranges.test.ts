import { describe, expect, it } from 'vitest';
import { buildTrace } from '../../src/model/build.js';
import { hasCommunicationRanges } from '../../src/analyses/phases.js';

describe('hasCommunicationRanges', () => {
  const trace = (nvtx: { start: number; end?: number; text: string; eventType?: number }[]) => buildTrace({ nvtx });
  it('is true when a range (not a mark) is named like a communication call', () => {
    expect(hasCommunicationRanges(trace([{ start: 0, end: 10, text: 'forward' }, { start: 2, end: 5, text: 'nccl:all_to_all' }]))).toBe(true);
    expect(hasCommunicationRanges(trace([{ start: 0, end: 10, text: 'ncclAllReduce' }]))).toBe(true);
  });
  it('is false without such a range: other names, the name on a mark only, on a range with no end', () => {
    expect(hasCommunicationRanges(trace([{ start: 0, end: 10, text: 'forward' }, { start: 2, end: 5, text: 'nccl all' }]))).toBe(false);
    expect(hasCommunicationRanges(trace([{ start: 0, end: 10, text: 'forward' }, { start: 3, text: 'ncclAllReduce', eventType: 34 }]))).toBe(false);
    expect(hasCommunicationRanges(trace([{ start: 3, text: 'ncclAllReduce' }, { start: 4, end: 9, text: 'ncclAllReduce x' }]))).toBe(false);
    expect(hasCommunicationRanges(trace([]))).toBe(false);
  });
  it('finds the range when the same text was first seen on a mark', () => {
    expect(hasCommunicationRanges(trace([{ start: 1, text: 'ncclAllReduce', eventType: 34 }, { start: 2, end: 6, text: 'ncclAllReduce' }]))).toBe(true);
  });
});
