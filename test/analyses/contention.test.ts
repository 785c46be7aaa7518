import { describe, expect, it } from 'vitest';
import { buildTrace } from '../../src/model/build.js';
import { aloneMedians, kernelContention, overlappedSet } from '../../src/analyses/contention.js';
import { readNsysSqlite } from '../../src/readers/nsys-sqlite.js';
import { resolveWindow } from '../../src/analyses/window.js';

describe('overlappedSet', () => {
  it('is {t : n(t) >= 2}, touching intervals not overlapping', () => {
    const s = [0, 5, 10, 12, 30];
    const e = [10, 20, 11, 13, 40];
    expect(overlappedSet(s, e, 5)).toEqual({ count: 2, start: Float64Array.of(5, 12), end: Float64Array.of(11, 13) });
    expect(overlappedSet([0, 10], [10, 20], 2).count).toBe(0);
  });
});

describe('kernelContention on an inline trace', () => {
  // gemm alone: 100, 100, 102; gemm beside "other" for its whole run: 150 → slowdown 1.5
  const t = buildTrace({
    kernels: [
      { start: 0, end: 100, name: 'gemm', grid: [8, 1, 1], block: [128, 1, 1] },
      { start: 200, end: 300, name: 'gemm', grid: [8, 1, 1], block: [128, 1, 1] },
      { start: 400, end: 502, name: 'gemm', grid: [8, 1, 1], block: [128, 1, 1] },
      { start: 600, end: 750, name: 'gemm', grid: [8, 1, 1], block: [128, 1, 1], streamId: 2 },
      { start: 600, end: 750, name: 'other', grid: [1, 1, 1], block: [32, 1, 1], streamId: 3 },
    ],
  });
  const c = kernelContention(t, 0, { start: 0, end: 1000 });
  it('measures alone vs overlapped medians per name and configuration', () => {
    const g = c.entries.find((x) => x.name === 'gemm')!;
    expect(g.config).toBe('8×1×1 / 128×1×1');
    expect(g.alone).toEqual({ count: 3, median: 100, from: 'here' });
    expect(g.overlapCost).toBeUndefined();
    expect(g.overlapped).toEqual({ count: 1, median: 150 });
    expect(g.slowdown).toBe(1.5);
    expect(g.addedNs).toBe(50);
    expect(g.overlapNs).toBe(150);
  });
  it('nets overlap gained against slowdown added', () => {
    // kernel time 602, busy 452: 150 gained; 50 added by gemm (other has no alone run)
    expect(c.summary).toEqual({ gainedNs: 150, addedNs: 50, netNs: 100, meanSlowdown: 1.5 });
  });
  it('takes alone medians from a reference capture when a group never ran alone', () => {
    const ref = new Map([['other\u00001×1×1 / 32×1×1', 100]]);
    const o = kernelContention(t, 0, { start: 0, end: 1000 }, { reference: ref }).entries.find((x) => x.name === 'other')!;
    expect(o.alone).toEqual({ count: 0, median: 100, from: 'reference' });
    expect(o.slowdown).toBe(1.5);
  });
});

describe('real captures', () => {
  const contention = (file: string, reference?: Map<string, number>) => {
    const t = readNsysSqlite(file);
    return kernelContention(t, 0, resolveWindow(t, 0, {}).window, { reference });
  };
  it('tokens-64k streams: overlapped expert kernels ran slower, eating nearly all the overlap gained', () => {
    const c = contention('fixtures/nsys-2025.3/tokens-64k/streams.sqlite');
    const relu = c.entries.find((e) => e.name === 'reluKernel')!;
    expect(relu.slowdown!).toBeGreaterThan(2);
    const gemms = c.entries.filter((e) => e.name.startsWith('nvjet') && e.slowdown !== null);
    expect(gemms.length).toBeGreaterThanOrEqual(2);
    for (const g of gemms) expect(g.slowdown!).toBeGreaterThan(1.02);
    expect(c.summary.addedNs).toBeGreaterThan(0.5 * c.summary.gainedNs);
    expect(c.summary.netNs).toBeLessThan(0.2 * c.summary.gainedNs);
  });
  it('graph: no expert GEMM ever ran alone; against the streams capture (alone) they ran slower overlapped', () => {
    const graph = contention('fixtures/nsys-2025.3/graph.sqlite');
    const gemm = graph.entries.find((e) => e.name.startsWith('nvjet'))!;
    expect(gemm.alone.count).toBe(0);
    expect(gemm.overlapped.count).toBe(192);
    const ref = aloneMedians(contention('fixtures/nsys-2025.3/streams.sqlite'));
    const vs = contention('fixtures/nsys-2025.3/graph.sqlite', ref);
    const slowed = vs.entries.filter((e) => e.alone.from === 'reference' && e.name.startsWith('nvjet'));
    expect(slowed.length).toBeGreaterThanOrEqual(2);
    for (const e of slowed) expect(e.slowdown!).toBeGreaterThan(1.1);
    expect(vs.summary.addedNs).toBeGreaterThan(0);
    expect(vs.summary.netNs).toBeLessThan(vs.summary.gainedNs);
  });
  it('saturated: the full-GPU GEMMs overlap only at their tails and grow by ~0.9 ns per ns of company, so overlap cost more than it saved', () => {
    const c = contention('fixtures/nsys-2025.3/saturated.sqlite');
    const coop = c.entries.find((e) => e.name.includes('coopB'))!;
    // none ran alone or mostly overlapped: the alone duration is the fit's intercept
    expect(coop.overlapped.count).toBe(0);
    expect(coop.alone.from).toBe('fit');
    expect(coop.alone.median!).toBeGreaterThan(80_000);
    expect(coop.alone.median!).toBeLessThan(112_000); // below the shortest kernel, which had 28.6 µs of company
    expect(coop.overlapCost!).toBeGreaterThan(0.7);
    expect(coop.slowdown!).toBeGreaterThan(1.3);
    expect(c.summary.netNs).toBeLessThan(0);
  });
  it('never extrapolates an alone duration from kernels that always had company (graph)', () => {
    const c = contention('fixtures/nsys-2025.3/graph.sqlite');
    const always = c.entries.filter((x) => x.name.startsWith('nvjet') && x.alone.count === 0);
    expect(always.length).toBeGreaterThanOrEqual(2);
    for (const e of always) expect(e.alone).toEqual({ count: 0, median: null, from: null });
  });
});
