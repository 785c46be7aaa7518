import { describe, expect, it } from 'vitest';
import { buildTrace } from '../../src/model/build.js';
import { buildReport } from '../../src/report/build.js';
import { buildCombined, mergeCombined } from '../../src/report/combined.js';
import { summaryOf } from '../../src/commands/merge.js';

/** One rank: `n` back-to-back 1 µs kernels on stream 7 from `t0`, plus one overlapping kernel on stream 8 when `overlap`. */
function rank(file: string, n: number, t0: number, overlap = false) {
  const kernels = Array.from({ length: n }, (_, i) => ({ start: t0 + i * 2000, end: t0 + i * 2000 + 1000, streamId: 7 }));
  if (overlap) kernels.push({ start: t0 + 500, end: t0 + 1500, streamId: 8 });
  return buildReport(buildTrace({ kernels, meta: { file } }));
}

describe('buildCombined', () => {
  const reports = [rank('rank0.sqlite', 3, 0), rank('rank1.sqlite', 5, 10_000, true), rank('rank2.sqlite', 4, 0)];
  const c = buildCombined(reports);

  it('has one row per rank with its overlap metrics', () => {
    expect(c.files).toEqual(['rank0.sqlite', 'rank1.sqlite', 'rank2.sqlite']);
    expect(c.ranks.map((r) => [r.file, r.kernelCount, r.window, r.busy, r.kernelTime, r.overlapTime, r.streams])).toEqual([
      ['rank0.sqlite', 3, 5000, 3000, 3000, 0, 1],
      ['rank1.sqlite', 6, 9000, 5500, 6000, 500, 2],
      ['rank2.sqlite', 4, 7000, 4000, 4000, 0, 1],
    ]);
    expect(c.ranks[1].overlapShare).toBe(500 / 5500);
    expect(c.ranks[0].gapTime['unexplained']).toBe(2000);
  });

  it('names the slowest rank and the spread across ranks', () => {
    expect(c.slowest).toEqual({ rank: 1, file: 'rank1.sqlite', deviceId: 0, window: 9000, behindMedian: 2000 });
    expect(c.spread.window).toEqual({ min: 5000, median: 7000, max: 9000, spread: 4000, relativeSpread: 4000 / 9000 });
    expect(c.spread.kernelCount).toEqual({ min: 3, median: 4, max: 6, spread: 3, relativeSpread: 0.5 });
    expect(c.totals).toEqual({ kernelCount: 13, busy: 12500, kernelTime: 13000, overlapTime: 500, overlapShare: 500 / 12500, hostSyncs: 0 });
  });

  it('merging per-rank summaries read back from JSON equals combining the reports', () => {
    const parts = reports.map((r, i) => summaryOf(`r${i}.json`, JSON.stringify(r)));
    expect(mergeCombined(parts)).toEqual(c);
    // a merge of merges too: nodes reduce their ranks, then one machine reduces the nodes
    const node0 = summaryOf('node0.json', JSON.stringify(mergeCombined(parts.slice(0, 2))));
    expect(mergeCombined([node0, parts[2]])).toEqual(c);
  });

  it('lists files without kernels and has no slowest rank without ranks', () => {
    const empty = buildReport(buildTrace({ meta: { file: 'idle.sqlite' } }));
    const e = buildCombined([empty]);
    expect(e.filesWithoutKernels).toEqual(['idle.sqlite']);
    expect([e.ranks.length, e.slowest, e.spread.window, e.totals.overlapShare]).toEqual([0, null, null, null]);
  });
});
