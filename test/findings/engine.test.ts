import { describe, expect, it } from 'vitest';
import { buildTrace } from '../../src/model/build.js';
import { rankFindings, reportFindings, runFindings } from '../../src/findings/index.js';
import type { Finding } from '../../src/report/types.js';
import { deviceReport, grouped, streamsSync } from './scenarios.js';

const f = (id: string, costNs: number, severity: Finding['severity'], deviceId = 0): Finding => ({
  id, severity, deviceId, title: id, evidence: [], costNs, costShare: null, fix: '', measures: [],
});

describe('rankFindings', () => {
  it('orders by GPU time explained, then severity, then id', () => {
    const ranked = rankFindings([f('b', 10, 'low'), f('a', 10, 'low'), f('c', 10, 'high'), f('d', 50, 'info'), f('e', 0, 'medium')]);
    expect(ranked.map((x) => x.id)).toEqual(['d', 'c', 'a', 'b', 'e']);
  });
});

describe('reportFindings', () => {
  it('says "nothing to report" explicitly, with the numbers behind it', () => {
    const t = grouped();
    const d = deviceReport(t);
    expect(runFindings(t, d)).toEqual([]);
    const [only, ...rest] = reportFindings(t, [d]);
    expect(rest).toEqual([]);
    expect(only).toMatchObject({ id: 'nothing-to-report', severity: 'info', deviceId: 0, costNs: 0 });
    // 4 iterations of 497 µs busy in a window of 1999 µs
    expect(only.title).toBe('Nothing to report on GPU 0: busy 99.4% of the 1.999 ms window, 12 kernels, overlap share 0.0%, 0 host syncs');
  });
  it('ranks findings of all devices together', () => {
    const t = streamsSync();
    const fs = reportFindings(t, [deviceReport(t)]);
    expect(fs.map((x) => x.id)).toEqual(['host-sync-stall', 'no-overlap-despite-streams']);
  });
  it('explains a trace without devices instead of returning nothing', () => {
    const noTable = buildTrace({ hasKernelTable: false, runtime: [{ start: 0, end: 5, name: 'cudaLaunchKernel' }] });
    expect(reportFindings(noTable, [])).toEqual([expect.objectContaining({
      id: 'nothing-to-report', deviceId: null,
      title: 'Nothing to report: the export has no kernel records (only 1 CUDA API call), so GPU overlap cannot be measured',
    })]);
    expect(reportFindings(buildTrace({}), [])[0].title).toBe('Nothing to report: no kernels ran in the selected window');
  });
});
