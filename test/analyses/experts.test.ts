import { describe, expect, it } from 'vitest';
import { buildTrace, type KernelRow, type NvtxRow, type RuntimeRow } from '../../src/model/build.js';
import { analyzeExperts } from '../../src/analyses/experts.js';
import { readNsysSqlite } from '../../src/readers/nsys-sqlite.js';
import { resolveWindow } from '../../src/analyses/window.js';
import type { Trace } from '../../src/model/trace.js';

const W = { start: 0, end: 10_000 };

/** Two iterations of a router kernel then four experts on one stream; expert 1 has the most tokens and time. */
function tiny(withNvtx: boolean, lengths = [100, 400, 200, 300], names = ['gemm_up', 'act', 'gemm_down'], iterations = 2, extraNvtx: NvtxRow[] = []): Trace {
  const kernels: KernelRow[] = [];
  const runtime: RuntimeRow[] = [];
  const nvtx: NvtxRow[] = [];
  let t = 0;
  let corr = 1;
  const tokens = lengths.map((l) => l / 10);
  for (let it = 0; it < iterations; it++) {
    runtime.push({ start: t, end: t + 5, name: 'cudaLaunchKernel', thread: 0, correlationId: corr });
    kernels.push({ start: t + 10, end: t + 60, name: 'router', correlationId: corr++, streamId: 7 });
    t += 80;
    for (let e = 0; e < lengths.length; e++) {
      const from = t;
      for (const name of names) {
        runtime.push({ start: t, end: t + 5, name: 'cudaLaunchKernel', thread: 0, correlationId: corr });
        kernels.push({ start: t + 10, end: t + 10 + lengths[e], name, correlationId: corr, streamId: 7 });
        corr++;
        t += 10 + lengths[e] + 10;
      }
      nvtx.push({ start: from, end: t, text: `expert ${e}`, payload: tokens[e], thread: 0 });
    }
    t += 100;
  }
  return buildTrace({
    kernels, runtime, nvtx: withNvtx ? [...nvtx, ...extraNvtx] : [],
    processes: [{ globalPid: '1', pid: 1, name: 'p' }], threads: [{ globalTid: '1', tid: 1, name: 't', process: 0 }],
  });
}

describe('experts from NVTX ranges', () => {
  it("finds the same instances when the ranges come out of start order (a range's kernels searched back, not on from the last)", () => {
    const reversed = tiny(true, [100, 400, 200, 300], ['gemm_up', 'act', 'gemm_down'], 3);
    // the NVTX rows last to first (buildTrace sorts them)
    const n = reversed.nvtx.count;
    for (const col of Object.values(reversed.nvtx)) if (ArrayBuffer.isView(col) && (col as Float64Array).length === n) (col as Float64Array).reverse();
    expect(reversed.nvtx.start[0]).toBeGreaterThan(reversed.nvtx.start[1]);
    expect(analyzeExperts(reversed, 0, W)).toEqual(analyzeExperts(tiny(true, [100, 400, 200, 300], ['gemm_up', 'act', 'gemm_down'], 3), 0, W));
  });
  it('finds the same instances when a range of the family has no kernels (the one-pass scan falls back to count, then scan)', () => {
    const t = tiny(true);
    // "expert 9" [9000, 9100): no kernel launched in it, so no instance: every other row still makes one
    const withEmpty = tiny(true, undefined, undefined, undefined, [{ start: 9000, end: 9100, text: 'expert 9', thread: 0 }]);
    expect(withEmpty.nvtx.count).toBe(t.nvtx.count + 1);
    expect(analyzeExperts(withEmpty, 0, W)).toEqual(analyzeExperts(t, 0, W));
  });
  it('numbers experts the same whether their numbers are small (a table) or large (a Map)', () => {
    // "expert 5000" .. : the same trace with each expert's number raised past the table's 4096
    const small = tiny(true, [100, 400, 200, 300], ['gemm_up', 'act', 'gemm_down'], 3);
    const large = tiny(true, [100, 400, 200, 300], ['gemm_up', 'act', 'gemm_down'], 3);
    large.strings = large.strings.map((s) => s.replace(/^expert (\d+)$/, (_, d: string) => `expert ${Number(d) % 2 ? 5000 + Number(d) : Number(d)}`));
    const a = analyzeExperts(small, 0, W)!;
    const b = analyzeExperts(large, 0, W)!;
    // experts 1 and 3 became 5001 and 5003; 0 and 2 stayed below the table's end
    expect(b.experts.map((e) => e.expert)).toEqual([0, 2, 5001, 5003]);
    const byOld = (e: number): number => (e >= 5000 ? e - 5000 : e);
    expect(b.experts.map((e) => [byOld(e.expert), e.instances, e.gpuTime, e.span, e.tokens, e.kernels, e.streams]).sort((p, q) => (p[0] as number) - (q[0] as number)))
      .toEqual(a.experts.map((e) => [e.expert, e.instances, e.gpuTime, e.span, e.tokens, e.kernels, e.streams]));
    expect(b.stragglers.map((s) => [s.iteration, byOld(s.expert), s.gpuTime])).toEqual(a.stragglers.map((s) => [s.iteration, s.expert, s.gpuTime]));
  });
  const x = analyzeExperts(tiny(true), 0, W)!;
  it('finds each expert with its tokens, kernels and GPU time', () => {
    expect(x.source).toBe('nvtx');
    expect(x.rangeName).toBe('expert #');
    expect(x.experts.map((e) => [e.expert, e.tokens, e.kernels, e.gpuTime, e.instances])).toEqual([
      [0, 10, 3, 300, 2], [1, 40, 3, 1200, 2], [2, 20, 3, 600, 2], [3, 30, 3, 900, 2],
    ]);
    expect(x.experts[1].span).toBe(400 * 3 + 20 * 2);
    expect(x.experts[0].streams).toEqual([7]);
  });
  it('says imbalance = max / mean GPU time and names the straggler per iteration', () => {
    expect(x.imbalance).toBeCloseTo(1200 / 750, 10);
    expect(x.tokenImbalance).toBeCloseTo(40 / 25, 10);
    expect(x.stragglers.map((s) => [s.iteration, s.expert, s.gpuTime, s.medianGpuTime])).toEqual([[0, 1, 1200, 750], [1, 1, 1200, 750]]);
    expect(x.straggler).toBe(1);
    // per iteration: (1200 - 750) + (900 - 750) above the mean
    expect(x.imbalanceCostNs).toBe(2 * 600);
  });
});

describe('experts from launch order (no NVTX)', () => {
  const eight = [100, 400, 200, 300, 150, 250, 350, 120];
  const W2 = { start: 0, end: 100_000 };
  it('cuts the repeated kernel-name block into experts, one run per iteration', () => {
    const x = analyzeExperts(tiny(false, eight), 0, W2)!;
    expect(x.source).toBe('launch-order');
    expect(x.count).toBe(8);
    expect(x.experts.map((e) => [e.expert, e.tokens, e.gpuTime])).toEqual(eight.map((l, e) => [e, null, 3 * l]));
    expect(x.stragglers.map((s) => s.iteration)).toEqual([0, 1]);
    expect(x.straggler).toBe(1);
  });
  it('calls nothing experts that could be any repeated block: too few, no matrix multiply, or no second iteration', () => {
    expect(analyzeExperts(tiny(false), 0, W2)).toBeNull(); // 4 blocks
    expect(analyzeExperts(tiny(false, eight, ['copy', 'scale', 'add']), 0, W2)).toBeNull();
    expect(analyzeExperts(tiny(false, eight, undefined, 1), 0, W2)).toBeNull();
  });
  it('finds nothing in a trace without a repeated block', () => {
    const t = buildTrace({ kernels: [{ start: 0, end: 10, name: 'a' }, { start: 20, end: 30, name: 'b' }] });
    expect(analyzeExperts(t, 0, W)).toBeNull();
  });
});

describe('real captures', () => {
  const experts = (file: string) => {
    const t = readNsysSqlite(file);
    return analyzeExperts(t, 0, resolveWindow(t, 0, {}).window)!;
  };
  it('zipf routing: expert 0 (512 tokens) is the straggler of every iteration in sequential', () => {
    const x = experts('fixtures/nsys-2025.3/zipf/sequential.sqlite');
    expect(x.count).toBe(64);
    expect(x.experts[0].tokens).toBe(512);
    expect(x.tokenImbalance).toBeCloseTo(8.05, 2);
    expect(x.stragglers.map((s) => s.expert)).toEqual([0, 0, 0]);
    expect(x.imbalance).toBeGreaterThan(1.3);
    // the hottest expert takes ~19 µs, the median one ~13 µs (fixtures/MANIFEST.md)
    expect(x.experts[0].gpuTime).toBeGreaterThan(17_000);
    expect(x.stragglers[0].medianGpuTime).toBeLessThan(14_000);
  });
  it('zipf in streams mode: every expert runs its full slice, so the skew costs no GPU time (imbalance ~1)', () => {
    const x = experts('fixtures/nsys-2025.3/zipf/streams.sqlite');
    expect(x.imbalance).toBeLessThan(1.1);
    expect(new Set(x.experts.map((e) => e.streams[0])).size).toBe(64);
  });
  it('uniform routing is balanced; torch captures name experts without payload', () => {
    const x = experts('fixtures/nsys-2025.3/sequential.sqlite');
    expect(x.tokenImbalance!).toBeLessThan(1.4);
    const torch = experts('fixtures/nsys-2025.3/torch-sequential.sqlite');
    expect(torch.count).toBe(64);
    expect(torch.tokenImbalance).toBeNull();
    expect(torch.imbalance!).toBeLessThan(1.2);
  });
  it('grouped captures have no per-expert kernels', () => {
    const t = readNsysSqlite('fixtures/nsys-2025.3/grouped.sqlite');
    expect(analyzeExperts(t, 0, resolveWindow(t, 0, {}).window)).toBeNull();
  });
});
