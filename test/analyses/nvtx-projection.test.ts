import { describe, expect, it } from 'vitest';
import { buildTrace } from '../../src/model/build.js';
import { MemcpyKind } from '../../src/model/trace.js';
import { innermostNvtxRanges, nvtxRangeRows, projectNvtxRanges, projectNvtxSpans, unionLengthUnsorted } from '../../src/analyses/nvtx-projection.js';
import { totalLength, union } from '../../src/model/intervals.js';

const threads = [
  { globalTid: '1', tid: 1, name: 'main', process: 0 },
  { globalTid: '2', tid: 2, name: 'worker', process: 0 },
];

// Thread 0: "outer" [0,1000) holds "inner" [100,300). Thread 1: "other" [0,1000).
// Launch calls (start): 50 → kernel [500,600); 150 → kernel [700,750) on device 1 in one variant;
// 250 → D2H copy [760,800); 1000 (at outer's end: outside) → kernel [1100,1200);
// thread 1 at 120 → kernel [550,900): inside inner's time but on another thread.
function trace(secondKernelDevice = 0) {
  return buildTrace({
    threads,
    nvtx: [
      { start: 0, end: 1000, text: 'outer', thread: 0 },
      { start: 100, end: 300, text: 'inner', thread: 0 },
      { start: 0, end: 1000, text: 'other', thread: 1 },
      { start: 120, text: 'a mark', thread: 0, eventType: 34 },
    ],
    runtime: [
      { start: 50, end: 60, name: 'cudaLaunchKernel', correlationId: 1, thread: 0 },
      { start: 150, end: 160, name: 'cudaLaunchKernel', correlationId: 2, thread: 0 },
      { start: 250, end: 260, name: 'cudaMemcpyAsync', correlationId: 3, thread: 0 },
      { start: 1000, end: 1010, name: 'cudaLaunchKernel', correlationId: 4, thread: 0 },
      { start: 120, end: 130, name: 'cudaLaunchKernel', correlationId: 5, thread: 1 },
    ],
    kernels: [
      { start: 500, end: 600, correlationId: 1 },
      { start: 700, end: 750, correlationId: 2, deviceId: secondKernelDevice },
      { start: 1100, end: 1200, correlationId: 4 },
      { start: 550, end: 900, correlationId: 5 },
    ],
    memcpy: [{ start: 760, end: 800, correlationId: 3, bytes: 4, copyKind: MemcpyKind.DtoH }],
  });
}

function byText(t: ReturnType<typeof trace>, p: ReturnType<typeof projectNvtxRanges>) {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < p.count; i++) {
    out[t.strings[t.nvtx.text[p.range[i]]]] = {
      gpuStart: p.gpuStart[i], gpuEnd: p.gpuEnd[i], gpuTime: p.gpuTime[i], ops: p.opCount[i], kernels: p.kernelCount[i],
    };
  }
  return out;
}

describe('NVTX projection', () => {
  it('skips marks', () => {
    const t = trace();
    expect(Array.from(nvtxRangeRows(t), (r) => t.strings[t.nvtx.text[r]])).toEqual(['outer', 'other', 'inner']);
  });

  it('gives each range the ops launched inside it on its own thread, nested ranges included', () => {
    const t = trace();
    expect(byText(t, projectNvtxRanges(t))).toEqual({
      outer: { gpuStart: 500, gpuEnd: 800, gpuTime: 100 + 50 + 40, ops: 3, kernels: 2 },
      inner: { gpuStart: 700, gpuEnd: 800, gpuTime: 50 + 40, ops: 2, kernels: 1 },
      other: { gpuStart: 550, gpuEnd: 900, gpuTime: 350, ops: 1, kernels: 1 },
    });
  });

  it('can leave copies out and restrict to one device', () => {
    const t = trace(1);
    expect(byText(t, projectNvtxRanges(t, { includeTransfers: false, deviceId: 0 }))).toEqual({
      outer: { gpuStart: 500, gpuEnd: 600, gpuTime: 100, ops: 1, kernels: 1 },
      inner: { gpuStart: NaN, gpuEnd: NaN, gpuTime: 0, ops: 0, kernels: 0 },
      other: { gpuStart: 550, gpuEnd: 900, gpuTime: 350, ops: 1, kernels: 1 },
    });
  });

  it('measures GPU time as the union of overlapping ops', () => {
    const t = buildTrace({
      nvtx: [{ start: 0, end: 100, text: 'r' }],
      runtime: [
        { start: 10, end: 11, name: 'cudaLaunchKernel', correlationId: 1 },
        { start: 20, end: 21, name: 'cudaGraphLaunch', correlationId: 2 },
      ],
      kernels: [
        { start: 200, end: 300, correlationId: 1 },
        { start: 250, end: 350, correlationId: 2, streamId: 8 },
        { start: 400, end: 410, correlationId: 2, streamId: 8 },
      ],
    });
    const p = projectNvtxRanges(t);
    expect([p.gpuStart[0], p.gpuEnd[0], p.gpuTime[0], p.kernelCount[0]]).toEqual([200, 410, 160, 3]);
  });

  it('finds the innermost range around a time on a thread', () => {
    const t = trace();
    const name = (r: number) => (r < 0 ? null : t.strings[t.nvtx.text[r]]);
    const q = [[0, 0], [1, 5], [0, 50], [0, 100], [0, 120], [0, 299], [0, 300], [2, 400], [0, 1000]];
    const got = innermostNvtxRanges(t, q.map((x) => x[0]), q.map((x) => x[1]), q.length);
    expect(Array.from(got, name)).toEqual(['outer', 'other', 'outer', 'inner', 'inner', 'inner', 'outer', null, null]);
  });

  it('finds the innermost ranges as a stack walk per thread does, on nested, overlapping, equal-start and marked ranges', () => {
    /** the stack walk by definition: each thread's ranges by start, the longer first, then row; queries in the given order */
    function reference(t: ReturnType<typeof buildTrace>, th: number[], tm: number[]): number[] {
      const rows = Array.from(nvtxRangeRows(t));
      const { start, end, thread } = t.nvtx;
      const byThread = new Map<number, number[]>();
      for (const r of rows) { if (!byThread.has(thread[r])) byThread.set(thread[r], []); byThread.get(thread[r])!.push(r); }
      for (const l of byThread.values()) l.sort((a, b) => start[a] - start[b] || end[b] - end[a] || a - b);
      const state = new Map([...byThread.keys()].map((k) => [k, { next: 0, stack: [] as number[] }]));
      return tm.map((x, q) => {
        const l = byThread.get(th[q]);
        if (!l) return -1;
        const g = state.get(th[q])!;
        while (g.next < l.length && start[l[g.next]] <= x) g.stack.push(l[g.next++]);
        while (g.stack.length > 0 && end[g.stack[g.stack.length - 1]] <= x) g.stack.pop();
        return g.stack.length > 0 ? g.stack[g.stack.length - 1] : -1;
      });
    }
    let seed = 11;
    const rand = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
    for (let c = 0; c < 60; c++) {
      // ranges on two threads: starts on a coarse grid (many equal), ends nested or overlapping, some marks
      const nvtx = Array.from({ length: 5 + rand(40) }, () => {
        const start = 10 * rand(20);
        return rand(10) === 0 ? { start, text: 'm', thread: rand(2), eventType: 34 } : { start, end: start + 5 * (1 + rand(12)), text: 'r', thread: rand(2) };
      });
      const t = buildTrace({ threads, nvtx });
      const q = Array.from({ length: 1 + rand(30) }, () => [rand(3), rand(260)] as [number, number]);
      // ascending times (the fast walk), and once in every few cases as given (the stack walk)
      if (c % 5 !== 0) q.sort((a, b) => a[1] - b[1]);
      const th = q.map((x) => x[0]);
      const tm = q.map((x) => x[1]);
      expect(Array.from(innermostNvtxRanges(t, th, tm, q.length))).toEqual(reference(t, th, tm));
    }
  });

  it('projectNvtxSpans: the spans and counts of projectNvtxRanges, kernels and transfers projected apart', () => {
    let seed = 5;
    const rand = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
    for (let c = 0; c < 40; c++) {
      const runtime: { start: number; end: number; name: string; correlationId: number; thread: number }[] = [];
      const kernels: { start: number; end: number; correlationId: number; deviceId: number }[] = [];
      const memcpy: { start: number; end: number; correlationId: number; bytes: number; copyKind: number; deviceId: number }[] = [];
      const memset: { start: number; end: number; correlationId: number; bytes: number; deviceId: number }[] = [];
      for (let i = 0; i < 5 + rand(40); i++) {
        const t = 10 * i + rand(10);
        const kind = rand(6);
        const thread = rand(4) === 0 ? 1 : 0;
        runtime.push({ start: t, end: t + 2, name: kind === 0 ? 'cudaMemcpyAsync' : kind === 1 ? 'cudaMemsetAsync' : 'cudaLaunchKernel', correlationId: i + 1, thread });
        // ops run later, some before earlier launches' ops; some on device 1
        const s = 1000 + 5 * i + rand(300) - 0;
        const op = { start: s, end: s + rand(40), correlationId: i + 1, deviceId: rand(5) === 0 ? 1 : 0 };
        if (kind === 0) memcpy.push({ ...op, bytes: 4, copyKind: MemcpyKind.DtoH }); else if (kind === 1) memset.push({ ...op, bytes: 4 }); else kernels.push(op);
      }
      const nvtx = Array.from({ length: 3 + rand(10) }, () => { const a = 10 * rand(50); return { start: a, end: a + 10 * (1 + rand(20)), text: 'r', thread: rand(3) === 0 ? 1 : 0 }; });
      const t = buildTrace({ threads, nvtx, runtime, kernels, memcpy, memset });
      for (const options of [{}, { deviceId: 0 }, { deviceId: 1 }, { includeTransfers: false }, { deviceId: 0, includeTransfers: false }]) {
        const { gpuTime: _, ...want } = projectNvtxRanges(t, options);
        const got = projectNvtxSpans(t, options);
        expect({ ...got, opCount: Array.from(got.opCount), kernelCount: Array.from(got.kernelCount), gpuStart: Array.from(got.gpuStart), gpuEnd: Array.from(got.gpuEnd), range: Array.from(got.range) })
          .toEqual({ ...want, opCount: Array.from(want.opCount), kernelCount: Array.from(want.kernelCount), gpuStart: Array.from(want.gpuStart), gpuEnd: Array.from(want.gpuEnd), range: Array.from(want.range) });
      }
    }
  });

  it('gives the same projection when kernels run in another order than their launches (ops sorted by call)', () => {
    // launches at 10 (thread 0), 20 (thread 1), 30 (thread 0); the third launch's kernel runs first
    const t = buildTrace({
      threads,
      nvtx: [{ start: 0, end: 25, text: 'a', thread: 0 }, { start: 25, end: 40, text: 'b', thread: 0 }, { start: 0, end: 40, text: 'c', thread: 1 }],
      runtime: [
        { start: 10, end: 11, name: 'cudaLaunchKernel', correlationId: 1, thread: 0 },
        { start: 20, end: 21, name: 'cudaLaunchKernel', correlationId: 2, thread: 1 },
        { start: 30, end: 31, name: 'cudaMemcpyAsync', correlationId: 3, thread: 0 },
        { start: 35, end: 36, name: 'cudaLaunchKernel', correlationId: 4, thread: 0 },
      ],
      kernels: [
        { start: 100, end: 150, correlationId: 4 },
        { start: 200, end: 260, correlationId: 1, streamId: 8 },
        { start: 300, end: 310, correlationId: 2, streamId: 9 },
      ],
      memcpy: [{ start: 120, end: 130, correlationId: 3, bytes: 4, copyKind: MemcpyKind.DtoH }],
    });
    expect(byText(t, projectNvtxRanges(t))).toEqual({
      a: { gpuStart: 200, gpuEnd: 260, gpuTime: 60, ops: 1, kernels: 1 },
      // the copy (call 30) and the kernel (call 35): ops out of start order, their union sorted
      b: { gpuStart: 100, gpuEnd: 150, gpuTime: 50, ops: 2, kernels: 1 },
      c: { gpuStart: 300, gpuEnd: 310, gpuTime: 10, ops: 1, kernels: 1 },
    });
  });
});

describe('unionLengthUnsorted', () => {
  it('is totalLength(union()) to the bit: overlapping, touching, empty, inverted and fractional intervals in any order', () => {
    // a fixed linear congruential sequence: the same intervals every run
    let seed = 7;
    const next = (): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
    for (let t = 0; t < 3000; t++) {
      const k = 1 + Math.floor(next() * 40);
      const s = new Float64Array(k);
      const e = new Float64Array(k);
      for (let i = 0; i < k; i++) {
        s[i] = Math.floor(next() * 100) + (t % 3 === 0 ? next() : 0);
        e[i] = s[i] + Math.floor(next() * 30) - 5 + (t % 5 === 0 ? next() * 1e-3 : 0);
      }
      expect(Object.is(unionLengthUnsorted(s, e, k, new Uint32Array(k + 2)), totalLength(union(s, e, k)))).toBe(true);
    }
  });
});

describe('NVTX projection over kernels, copies and sets merged by launch call', () => {
  it('gives every range the ops a direct count finds, however the sources interleave (runs of one source, ties on one call)', () => {
    // one thread; calls every 10 ns: kernels, copies and sets in runs of varying length, and
    // graph launches (one call) that ran a kernel, a copy and a set each
    const runtime = [];
    const kernels = [];
    const memcpy = [];
    const memset = [];
    let t = 0;
    const pattern = 'kkkkcckscsskkkgkcgggkkkkkkkkcs';
    for (let j = 0; j < pattern.length; j++, t += 10) {
      const corr = j + 1;
      runtime.push({ start: t, end: t + 5, name: 'cudaLaunchKernel', correlationId: corr, thread: 0 });
      const op = { start: 1000 + 7 * j, end: 1000 + 7 * j + 5 + (j % 4), correlationId: corr };
      const kinds = pattern[j] === 'g' ? 'kcs' : pattern[j];
      for (const kind of kinds) {
        if (kind === 'k') kernels.push(op);
        else if (kind === 'c') memcpy.push({ ...op, bytes: 8, copyKind: MemcpyKind.DtoH });
        else memset.push({ ...op, bytes: 8 });
      }
    }
    const nvtx = [];
    for (let a = 0; a < pattern.length; a += 3) for (const len of [1, 4, 9, 30]) nvtx.push({ start: 10 * a, end: 10 * (a + len), text: `r${a}-${len}`, thread: 0 });
    const tr = buildTrace({ threads: threads.slice(0, 1), runtime, kernels, memcpy, memset, nvtx });
    const p = projectNvtxRanges(tr);
    expect(p.count).toBe(nvtx.length);
    for (let q = 0; q < p.count; q++) {
      const row = p.range[q];
      const inside = (call: number) => call >= 0 && tr.runtime.start[call] >= tr.nvtx.start[row] && tr.runtime.start[call] < tr.nvtx.end[row];
      const s: number[] = [];
      const e: number[] = [];
      let nKernels = 0;
      const links = [
        { cols: tr.kernels, corr: tr.kernels.correlationId, kernel: true },
        { cols: tr.memcpy, corr: tr.memcpy.correlationId, kernel: false },
        { cols: tr.memset, corr: tr.memset.correlationId, kernel: false },
      ];
      for (const { cols, corr, kernel } of links) {
        for (let i = 0; i < cols.count; i++) {
          if (!inside(corr[i] - 1)) continue;
          s.push(cols.start[i]); e.push(cols.end[i]);
          if (kernel) nKernels++;
        }
      }
      expect(p.opCount[q]).toBe(s.length);
      expect(p.kernelCount[q]).toBe(nKernels);
      if (s.length === 0) continue;
      expect(p.gpuStart[q]).toBe(Math.min(...s));
      expect(p.gpuEnd[q]).toBe(Math.max(...e));
      expect(p.gpuTime[q]).toBe(totalLength(union(s, e, s.length)));
    }
  });
});
