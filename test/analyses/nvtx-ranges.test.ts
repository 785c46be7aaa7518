import { describe, expect, it } from 'vitest';
import { buildTrace, type KernelRow, type MemcpyRow, type NvtxRow, type RuntimeRow } from '../../src/model/build.js';
import { analyzeNvtxRanges, nestingDepth } from '../../src/analyses/nvtx-ranges.js';
import { nvtxRangeRows } from '../../src/analyses/nvtx-projection.js';
import type { Trace } from '../../src/model/trace.js';
import { MemcpyKind, MemoryKind } from '../../src/model/trace.js';

/**
 * mode streams [0, 2000) > iteration i [1000i, 1000i + 1000) > expert e [b, b + 400), b = 1000i + 400e.
 * Each expert: a 4-byte pinned DtoH copy, a cudaStreamSynchronize, then one kernel on stream 13 + e.
 */
function moeTrace() {
  const nvtx: NvtxRow[] = [{ start: 0, end: 2000, text: 'mode streams' }];
  const runtime: RuntimeRow[] = [];
  const kernels: KernelRow[] = [];
  const memcpy: MemcpyRow[] = [];
  let corr = 1;
  for (let i = 0; i < 2; i++) {
    nvtx.push({ start: 1000 * i, end: 1000 * i + 1000, text: `iteration ${i}` });
    for (let e = 0; e < 2; e++) {
      const b = 1000 * i + 400 * e;
      nvtx.push({ start: b, end: b + 400, text: `expert ${e}` });
      runtime.push({ start: b + 10, end: b + 20, name: 'cudaMemcpyAsync', correlationId: corr });
      memcpy.push({ start: b + 15, end: b + 18, bytes: 4, copyKind: MemcpyKind.DtoH, srcKind: MemoryKind.Device, dstKind: MemoryKind.Pinned, correlationId: corr++ });
      runtime.push({ start: b + 20, end: b + 100, name: 'cudaStreamSynchronize' });
      runtime.push({ start: b + 100, end: b + 110, name: 'cudaLaunchKernel', correlationId: corr });
      // iteration 1's expert 0 runs long enough to overlap expert 1 by 30 ns
      const end = i === 1 && e === 0 ? b + 550 : b + 300;
      kernels.push({ start: b + 120, end, streamId: 13 + e, correlationId: corr++, name: 'expert_gemm' });
    }
  }
  return buildTrace({ nvtx, runtime, kernels, memcpy });
}

describe('analyzeNvtxRanges', () => {
  const r = analyzeNvtxRanges(moeTrace(), 0);

  it('groups instances by exact text with GPU time, kernels, syncs and overlap with other ranges', () => {
    const e0 = r.byName.find((g) => g.name === 'expert 0')!;
    expect(e0).toMatchObject({ distinctNames: 1, instances: 2, depth: 2, kernelCount: 2, syncs: 2, syncsByName: { cudaStreamSynchronize: 2 } });
    expect(e0.gpuTime).toMatchObject({ count: 2, total: 610, min: 180, max: 430 });
    expect(e0.duration).toMatchObject({ count: 2, total: 800 });
    expect(e0.overlapWithOthers).toBeCloseTo(30 / 610, 12);
    const e1 = r.byName.find((g) => g.name === 'expert 1')!;
    expect(e1.overlapWithOthers).toBeCloseTo(30 / 360, 12);
    const mode = r.byName.find((g) => g.name === 'mode streams')!;
    expect(mode).toMatchObject({ instances: 1, depth: 0, kernelCount: 4, syncs: 4, overlapWithOthers: 0 });
    // union of all four kernels: 180 + 180 + [1120,1700) = 940
    expect(mode.gpuTime.total).toBe(940);
    expect(r.byName[0].name).toBe('mode streams');
  });

  it('groups texts that differ only in numbers into families', () => {
    expect(r.families.map((f) => f.name).sort()).toEqual(['expert #', 'iteration #']);
    const experts = r.families.find((f) => f.name === 'expert #')!;
    expect(experts).toMatchObject({ distinctNames: 2, instances: 4, depth: 2, kernelCount: 4, syncs: 4 });
    expect(experts.overlapWithOthers).toBeCloseTo(60 / (610 + 360), 12);
  });

  it('finds the iterations: the outermost repeated range named like one', () => {
    expect(r.iterations).toEqual({
      name: 'iteration #', count: 2,
      duration: { count: 2, total: 1160, min: 580, median: 580, p95: 580, max: 580 },
      kernelsPerIteration: 2, syncsPerIteration: 2, syncsPerIterationByName: { cudaStreamSynchronize: 2 }, busyPerIteration: 470,
      instances: [
        { cpuStart: 0, cpuEnd: 1000, gpuStart: 120, gpuEnd: 700, kernels: 2, syncs: 2 },
        { cpuStart: 1000, cpuEnd: 2000, gpuStart: 1120, gpuEnd: 1700, kernels: 2, syncs: 2 },
      ],
    });
  });

  it('falls back to the outermost repeated range when no name says "iteration"', () => {
    const t = buildTrace({
      nvtx: [0, 1, 2].map((i) => ({ start: 100 * i, end: 100 * i + 100, text: 'moe_layer' })),
      runtime: [0, 1, 2].map((i) => ({ start: 100 * i + 1, end: 100 * i + 2, name: 'cudaLaunchKernel', correlationId: i + 1 })),
      kernels: [0, 1, 2].map((i) => ({ start: 100 * i + 5, end: 100 * i + 50, correlationId: i + 1 })),
    });
    expect(analyzeNvtxRanges(t, 0).iterations).toMatchObject({ name: 'moe_layer', count: 3, kernelsPerIteration: 1, syncsPerIteration: 0 });
  });

  it('keeps only ranges that meet the window, and has no iterations without repeated ranges', () => {
    const w = analyzeNvtxRanges(moeTrace(), 0, { start: 1100, end: 1300 });
    expect(w.byName.map((g) => g.name).sort()).toEqual(['expert 0', 'iteration 1', 'mode streams']);
    expect(w.iterations).toBeNull();
    expect(analyzeNvtxRanges(buildTrace({ kernels: [{ start: 0, end: 1 }] }), 0)).toEqual({ byName: [], families: [], iterations: null });
  });

  it('counts overlap only inside the --range segments of W (select.ts\'s kernels in the window, piece by piece)', () => {
    // the 30 ns overlap is [1520, 1550): a gap [1530, 1540) between segments leaves 20 ns of it in W,
    // and cuts expert 0's kernel into two pieces, the second after expert 1's kernel starts
    const w = analyzeNvtxRanges(moeTrace(), 0, { start: 0, end: 2000, segments: [{ start: 0, end: 1530 }, { start: 1540, end: 2000 }] });
    expect(w.byName.find((g) => g.name === 'expert 0')!.overlapWithOthers).toBeCloseTo(20 / 610, 12);
    expect(w.byName.find((g) => g.name === 'expert 1')!.overlapWithOthers).toBeCloseTo(20 / 360, 12);
    // one segment over the whole trace: as without a window
    const whole = analyzeNvtxRanges(moeTrace(), 0, { start: 0, end: 2000, segments: [{ start: 0, end: 2000 }] });
    expect(whole.byName.find((g) => g.name === 'expert 0')!.overlapWithOthers).toBeCloseTo(30 / 610, 12);
  });
});

describe('analyzeNvtxRanges overlap with others', () => {
  it('looks up only the kernels that overlap another: isolated and touching ones add nothing either way', () => {
    // own kernels launched inside "r" [0, 100), the others after it; GPU pieces (own o, others x):
    // o[1000,1010) o[1010,1020) o[1030,1050) x[1040,1060) o[1070,1080) x[1090,1100) o[1100,1120) x[1115,1130)
    const pieces: [number, number, boolean][] = [
      [1000, 1010, true], [1010, 1020, true], [1030, 1050, true], [1040, 1060, false],
      [1070, 1080, true], [1090, 1100, false], [1100, 1120, true], [1115, 1130, false],
    ];
    const t = buildTrace({
      nvtx: [{ start: 0, end: 100, text: 'r' }],
      runtime: pieces.map(([, , own], i) => ({ start: own ? 10 + i : 200 + i, end: own ? 11 + i : 201 + i, name: 'cudaLaunchKernel', correlationId: i + 1 })),
      kernels: pieces.map(([start, end], i) => ({ start, end, correlationId: i + 1 })),
    });
    const r = analyzeNvtxRanges(t, 0).byName.find((g) => g.name === 'r')!;
    // own busy 70 ns; own ∩ others: [1040,1050) and [1115,1120)
    expect(r.gpuTime.total).toBe(70);
    expect(r.overlapWithOthers).toBe(15 / 70);
  });
});

describe('nestingDepth', () => {
  /** the depth by definition: ranges by thread, start, the longer first (then row), each one's open enclosers on its thread */
  function reference(trace: Trace, rows: Int32Array): number[] {
    const { start, end, thread } = trace.nvtx;
    const order = Array.from(rows.keys()).sort((x, y) => thread[rows[x]] - thread[rows[y]] || start[rows[x]] - start[rows[y]] || end[rows[y]] - end[rows[x]] || x - y);
    const depth: number[] = new Array(rows.length).fill(0);
    const stack: number[] = [];
    let current = NaN;
    for (const q of order) {
      const r = rows[q];
      if (thread[r] !== current) { stack.length = 0; current = thread[r]; }
      while (stack.length > 0 && end[stack[stack.length - 1]] <= start[r]) stack.pop();
      depth[q] = stack.length;
      stack.push(r);
    }
    return depth;
  }
  const ranges = (spec: [number, number, number][]) => buildTrace({
    nvtx: spec.map(([start, end, thread], j) => ({ start, end, thread, text: `r${j}` })),
    threads: [0, 1, 2].map((t) => ({ globalTid: String(t + 1), tid: t + 1, name: `t${t}`, process: 0 })),
  });
  it('nests ranges on one thread, on several interleaved, with and without shared starts', () => {
    const cases: [number, number, number][][] = [
      [[0, 100, 0], [10, 50, 0], [20, 30, 0], [60, 90, 0], [100, 120, 0]],
      [[0, 100, 0], [0, 200, 0], [0, 50, 0], [10, 20, 0], [50, 60, 0]],
      [[0, 100, 0], [5, 100, 1], [10, 50, 0], [10, 60, 1], [10, 40, 2], [20, 30, 1], [20, 25, 0], [20, 90, 2]],
      [[0, 10, 1], [0, 10, 0], [0, 20, 1], [3, 4, 0], [3, 9, 1], [3, 5, 1]],
    ];
    for (const spec of cases) {
      const t = ranges(spec);
      const rows = nvtxRangeRows(t);
      expect(Array.from(nestingDepth(t, rows))).toEqual(reference(t, rows));
    }
  });
  it('nestingDepth: 300 ranges each inside the one before, depths 0 to 299', () => {
    const deep = ranges(Array.from({ length: 300 }, (_, j): [number, number, number] => [j, 1000 - j, 0]));
    const deepRows = nvtxRangeRows(deep);
    expect(Array.from(nestingDepth(deep, deepRows))).toEqual(reference(deep, deepRows));
    expect(Array.from(nestingDepth(deep, deepRows))).toEqual(Array.from({ length: 300 }, (_, j) => j));
  });
});
