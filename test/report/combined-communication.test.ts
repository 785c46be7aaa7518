import { describe, expect, it } from 'vitest';
import { buildTrace, type KernelRow } from '../../src/model/build.js';
import { buildReport } from '../../src/report/build.js';
import { buildCombined, mergeCombined } from '../../src/report/combined.js';
import { summaryOf } from '../../src/commands/merge.js';
import { renderCombinedTerminal } from '../../src/parallel/render-combined.js';

const A2A = 'ncclDevKernel_SendRecv(ncclDevComm*, unsigned long, ncclWork*)';
const GEMM = 'sm90_xmma_gemm_bf16bf16_bf16f32';

/** Two steps: experts then an all-to-all. `late` = how long this rank's experts run in each step. */
function rank(file: string, late: [number, number]) {
  const kernels: KernelRow[] = [];
  const step = (t0: number, experts: number): void => {
    kernels.push({ start: t0, end: t0 + experts, name: GEMM, streamId: 2 });
    // every rank's all-to-all ends at t0 + 1500: it waits for the slowest rank's experts
    kernels.push({ start: t0 + experts, end: t0 + 1500, name: A2A, streamId: 1, collective: { name: 'all_to_allv' } });
  };
  step(0, late[0]);
  step(2000, late[1]);
  return buildReport(buildTrace({ kernels, meta: { file } }));
}

describe('communication across ranks', () => {
  // rank 1 is late in step 0 (its experts take 1400), rank 0 in step 1 (1300); rank 2 is never late
  const reports = [rank('r0.sqlite', [1000, 1300]), rank('r1.sqlite', [1400, 1000]), rank('r2.sqlite', [900, 1000])];

  it('per-rank exposed communication and the rank the others waited for at each collective', () => {
    const c = buildCombined(reports).communication!;
    expect(c.perRank.map((r) => [r.rank, r.busy, r.exposed])).toEqual([[0, 500 + 200, 700], [1, 100 + 500, 600], [2, 600 + 500, 1100]]);
    expect(c.totals).toMatchObject({ busy: 2400, exposed: 2400, hiddenShare: 0 });
    expect(c.matched).toBe(2);
    // step 0: rank 1 last (100 ns kernel); rank 0 waited 400, rank 2 500: 900. step 1: rank 0 last (200), others 300 each: 600
    expect(c.worst).toEqual([
      { name: 'NCCL: all_to_allv', occurrence: 0, lastRank: 1, waitNs: 900 },
      { name: 'NCCL: all_to_allv', occurrence: 1, lastRank: 0, waitNs: 600 },
    ]);
    expect(c.lastArrivals).toEqual([{ rank: 1, count: 1, waitCausedNs: 900 }, { rank: 0, count: 1, waitCausedNs: 600 }]);
    expect(c.waitedOn).toEqual({ rank: 1, count: 1, share: 0.5, waitCausedNs: 900 });
  });

  it('merge of the JSON summaries, and of merged parts, gives the same', () => {
    const direct = buildCombined(reports).communication;
    const viaJson = mergeCombined(reports.map((r, i) => summaryOf(`r${i}.json`, JSON.stringify(r))));
    expect(viaJson.communication).toEqual(direct);
    const parts = mergeCombined([buildCombined(reports.slice(0, 2)), buildCombined(reports.slice(2))]);
    expect(parts.communication).toEqual(direct);
  });

  it('the terminal summary names the rank the others waited for', () => {
    const text = renderCombinedTerminal(buildCombined(reports));
    expect(text).toContain('Communication across ranks: 2.400 µs exposed of 2.400 µs (hidden share 0.0%)');
    expect(text).toContain('Waited on: rank 1 (r1.sqlite GPU 0) arrived last at 1 of 2 collectives (50.0%), costing the other ranks 900 ns of waiting');
  });

  it('copies a library made (world size 1) wait for no peer: no last arrival is named from them', async () => {
    const { readNsysSqlite } = await import('../../src/readers/nsys-sqlite.js');
    const ep = buildReport(readNsysSqlite('fixtures/nsys-2025.3-ep1/ep-serialized-rank0.sqlite'));
    expect(ep.devices[0].communication!.collectives.waitsForPeers).toEqual([false]);
    const c = buildCombined([ep, ep]).communication!;
    expect(c.perRank.map((r) => r.exposed)).toEqual([37343, 37343]);
    expect([c.matched, c.waitedOn]).toEqual([0, null]);
  });

  it('ranks without communication: no communication part', () => {
    const plain = buildReport(buildTrace({ kernels: [{ start: 0, end: 10, name: GEMM }] }));
    expect(buildCombined([plain, plain]).communication).toBeUndefined();
  });
});
