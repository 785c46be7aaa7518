import { describe, expect, it } from 'vitest';
import { buildTrace, type KernelRow, type MemcpyRow, type NvtxRow, type RuntimeRow } from '../../src/model/build.js';
import { analyzeWhatIf, buildReplayInput, readbackSizing, replay } from '../../src/analyses/what-if.js';
import { expertDisplayName, expertInstances, instanceKernels, parseExpertWeights } from '../../src/analyses/experts.js';
import { MemcpyKind } from '../../src/model/trace.js';
import { main } from '../../src/cli.js';

const threads = [{ globalTid: '1', tid: 1, name: 't', process: 0 }];
const processes = [{ globalPid: '1', pid: 1, name: 'p' }];

describe('the weights clause of an expert range (issue 15, grouped what-if)', () => {
  it('parses rows x columns per matrix and the element type', () => {
    expect(parseExpertWeights('expert 7 weights=768x3072,3072x768:bf16')).toEqual({ shapes: [[768, 3072], [3072, 768]], elementBytes: 2, dtype: 'bf16' });
    expect(parseExpertWeights('layer 0 expert 3 weights=4096x14336:FP8')).toEqual({ shapes: [[4096, 14336]], elementBytes: 1, dtype: 'fp8' });
    expect(parseExpertWeights('expert 1 weights=2048x8192,8192x2048:fp32')!.elementBytes).toBe(4);
  });
  it('names nothing without a clause, with an unknown type or a zero dimension', () => {
    expect(parseExpertWeights('expert 7')).toBeNull();
    expect(parseExpertWeights('expert 7 weights=768x3072:q4')).toBeNull();
    expect(parseExpertWeights('expert 7 weights=0x3072:bf16')).toBeNull();
  });
  it('shows the expert without its clause', () => {
    expect(expertDisplayName('expert 7 weights=768x3072,3072x768:bf16')).toBe('expert 7');
    expect(expertDisplayName('expert 7')).toBe('expert 7');
  });
});

/**
 * One iteration: two experts on one stream, each gemm_up (100 ns), act (30 ns), gemm_down (100 ns),
 * every kernel 3 blocks of 1024 threads on a 2-SM sm_90 GPU (2 blocks per SM: 0.75 of the GPU),
 * launched 5 ns calls apart so the GPU runs them back to back. Bandwidth 1e12 B/s = 1 B/ns;
 * dense bf16 peak 4096 × 2 SMs × 1 GHz = 8192 FLOP/ns.
 */
function twoExperts(tokens: number, weights: boolean): ReturnType<typeof buildTrace> {
  const kernels: KernelRow[] = [];
  const runtime: RuntimeRow[] = [];
  const nvtx: NvtxRow[] = [];
  let host = 0;
  let gpu = 10;
  let corr = 1;
  for (let e = 0; e < 2; e++) {
    const from = host;
    for (const [name, d] of [['gemm_up', 100], ['act', 30], ['gemm_down', 100]] as const) {
      runtime.push({ start: host, end: host + 5, name: 'cudaLaunchKernel', thread: 0, correlationId: corr });
      kernels.push({ start: gpu, end: gpu + d, name, correlationId: corr++, streamId: 7, grid: [3, 1, 1], block: [1024, 1, 1] });
      host += 6;
      gpu += d;
    }
    nvtx.push({ start: from, end: host, text: weights ? `expert ${e} weights=100x200,200x100:bf16` : `expert ${e}`, payload: tokens, thread: 0 });
  }
  return buildTrace({
    processes, threads, runtime, kernels, nvtx,
    gpus: [{ deviceId: 0, smCount: 2, computeCapability: { major: 9, minor: 0 }, memoryBandwidth: 1e12, clockRate: 1e9 }],
  });
}

describe('grouped: memory-bound expert GEMMs cost their bytes at the GPU\'s bandwidth', () => {
  const W = { start: 0, end: 1000 };
  const grouped = (tokens: number, weights: boolean) => {
    const w = analyzeWhatIf(twoExperts(tokens, weights), 0, W)!;
    const p = w.scenarios.find((s) => s.scenario === 'grouped');
    // without weights not projected: its upper end, every GEMM at its SM-time, is what it would have said
    return { w, projected: p !== undefined, ns: p ? p.projectedIterationNs : w.notProjected!.find((x) => x.scenario === 'grouped')!.highNs };
  };
  it('replays the recording exactly and holds each kernel at 0.75 of the GPU', () => {
    const input = buildReplayInput(twoExperts(5, true), 0, W)!;
    expect(Array.from(input.ops.share)).toEqual([0.75, 0.75, 0.75, 0.75, 0.75, 0.75]);
    expect(input.fixedCost).toBe(30);
    expect(grouped(5, true).w.replayError).toBe(0);
  });
  it('5 tokens: each GEMM moves (100·200 + 5·300)·2 = 43,000 B (43 ns) for 200,000 FLOP (24.4 ns): memory-bound, 43 ns instead of its SM-time (100 − 30) × 0.75 = 52.5', () => {
    const withW = grouped(5, true);
    const without = grouped(5, false);
    // two batched GEMM positions, two experts each: 4 × (52.5 − 43) = 38 ns less over the window
    // (the two "expert #" ranges count as the iterations here: spans are per 2)
    expect(withW.w.iterations).toBe(2);
    expect(2 * (without.ns - withW.ns)).toBe(38);
    expect(withW.w.inputs.grouped).toEqual({ memoryBandwidth: 1e12, peakFlops: 8192e9, namedGemms: 4, memoryBoundGemms: 4, bytesPerIteration: 4 * 43_000, unknownGemms: 0 });
    expect(without.w.inputs.grouped).toEqual({ memoryBandwidth: 1e12, peakFlops: null, namedGemms: 0, memoryBoundGemms: 0, bytesPerIteration: 0, unknownGemms: 4 });
    expect(withW.projected).toBe(true);
    expect(withW.w.notProjected).toBeUndefined();
  });
  it('without weights the 4 GEMMs cost from nothing to their SM-time: 2 × 52.5 ns per position per expert pair, more than 25% of the rest, so not projected', () => {
    const without = grouped(5, false);
    expect(without.projected).toBe(false);
    const np = without.w.notProjected!;
    expect(np).toHaveLength(1);
    expect(np[0].reason).toMatch(/^the weights or token counts of 4 expert GEMMs are unknown/);
    // per iteration (2): low = the 3 batched kernels at the fixed cost 30 each (+ act's SM-time 0), back to back behind the launches
    expect(np[0].highNs - np[0].lowNs).toBe(105);
  });
  it('20 tokens: 800,000 FLOP (97.7 ns) outweigh 52,000 B (52 ns): compute-bound, the SM-time stays', () => {
    const withW = grouped(20, true);
    expect(withW.projected).toBe(true);
    expect(withW.ns).toBe(grouped(20, false).ns);
    expect(withW.w.inputs.grouped).toMatchObject({ namedGemms: 4, memoryBoundGemms: 0, bytesPerIteration: 0, unknownGemms: 0 });
  });
});

describe('no-host-syncs: work a read-back sized runs at the iteration\'s largest size', () => {
  // one stream; per expert a 4-byte read-back, a sync until it lands, then a gemm sized by it:
  // expert 0 (10 tokens) 100 ns, expert 1 (5 tokens) 50 ns; expert 1's copy queues behind gemm 0
  const runtime: RuntimeRow[] = [
    { start: 0, end: 5, name: 'cudaMemcpyAsync', thread: 0, correlationId: 1 },
    { start: 5, end: 12, name: 'cudaStreamSynchronize', thread: 0, correlationId: 2 },
    { start: 12, end: 17, name: 'cudaLaunchKernel', thread: 0, correlationId: 3 },
    { start: 18, end: 23, name: 'cudaMemcpyAsync', thread: 0, correlationId: 4 },
    { start: 23, end: 124, name: 'cudaStreamSynchronize', thread: 0, correlationId: 5 },
    { start: 124, end: 129, name: 'cudaLaunchKernel', thread: 0, correlationId: 6 },
  ];
  const memcpy: MemcpyRow[] = [
    { start: 8, end: 10, bytes: 4, copyKind: MemcpyKind.DtoH, correlationId: 1, streamId: 7 },
    { start: 120, end: 122, bytes: 4, copyKind: MemcpyKind.DtoH, correlationId: 4, streamId: 7 },
  ];
  const kernels: KernelRow[] = [
    { start: 20, end: 120, name: 'gemm', correlationId: 3, streamId: 7 },
    { start: 132, end: 182, name: 'gemm', correlationId: 6, streamId: 7 },
  ];
  const nvtx: NvtxRow[] = [
    { start: 0, end: 18, text: 'expert 0', payload: 10, thread: 0 },
    { start: 18, end: 129, text: 'expert 1', payload: 5, thread: 0 },
  ];
  const trace = buildTrace({ processes, threads, runtime, kernels, memcpy, nvtx });
  const W = { start: 0, end: 200 };
  it('each gemm takes the 10-token expert\'s 100 ns; the copies and the router-less rest keep theirs', () => {
    const input = buildReplayInput(trace, 0, W)!;
    const ex = expertInstances(trace, 0, W)!;
    const instOf = new Int32Array(input.ops.count).fill(-1);
    for (let k = 0; k < ex.count; k++) for (const row of instanceKernels(ex, k)) for (let j = 0; j < input.ops.count; j++) if (input.ops.kind[j] === 0 && input.ops.row[j] === row) instOf[j] = k;
    const readbackCall = new Uint8Array(input.calls.count);
    for (let c = 0; c < input.calls.count; c++) if (trace.strings[trace.runtime.name[input.calls.row[c]]] === 'cudaMemcpyAsync') readbackCall[c] = 1;
    const { duration: sized, extra } = readbackSizing(input, ex, instOf, readbackCall, () => 'gemm');
    expect(Array.from(extra).every((x) => x === 0)).toBe(true);
    const byKind = Array.from(input.ops.kind, (k, j) => [k, sized[j]]);
    expect(byKind.filter(([k]) => k === 0).map(([, d]) => d)).toEqual([100, 100]);
    expect(byKind.filter(([k]) => k !== 0).every(([, d]) => Number.isNaN(d))).toBe(true);
  });
  it('without read-backs nothing is resized', () => {
    const input = buildReplayInput(trace, 0, W)!;
    const ex = expertInstances(trace, 0, W)!;
    const { duration: sized } = readbackSizing(input, ex, new Int32Array(input.ops.count).fill(0), new Uint8Array(input.calls.count), () => 'gemm');
    expect(Array.from(sized).every(Number.isNaN)).toBe(true);
  });
  it('the projection runs both gemms at 100 ns, back to back once the syncs are gone', () => {
    const input0 = buildReplayInput(trace, 0, W)!;
    const w = analyzeWhatIf(trace, 0, W)!;
    expect(w.replayError).toBe(0);
    const p = w.scenarios.find((s) => s.scenario === 'no-host-syncs')!.projectedIterationNs;
    // recorded: 174 ns from the first copy's start (8) to the last gemm's end (182) (the two
    // "expert #" ranges count as 2 iterations); without the syncs and copies: launch 0 [0, 5),
    // gemm 0 [8, 108) (launch latency 3), launch 1 [6, 11), gemm 1 behind gemm 0 for 100 ns: 200
    expect(input0.launchLatency).toBe(3);
    expect(input0.backToBack).toBe(0);
    expect(w.iterations).toBe(2);
    expect(w.measuredIterationNs).toBe(87);
    expect(2 * p).toBe(200);
  });
});

describe('no-host-syncs: a kernel only the smaller size launched is gone, with its launch', () => {
  // as above, but the 5-token expert's GEMM ran split-K and launched cuBLAS' reduce after it
  // (cudaLaunchKernelExC 130-135, 182-192); the 10-token expert, whose size both now run, did not
  const runtime: RuntimeRow[] = [
    { start: 0, end: 5, name: 'cudaMemcpyAsync', thread: 0, correlationId: 1 },
    { start: 5, end: 12, name: 'cudaStreamSynchronize', thread: 0, correlationId: 2 },
    { start: 12, end: 17, name: 'cudaLaunchKernel', thread: 0, correlationId: 3 },
    { start: 18, end: 23, name: 'cudaMemcpyAsync', thread: 0, correlationId: 4 },
    { start: 23, end: 124, name: 'cudaStreamSynchronize', thread: 0, correlationId: 5 },
    { start: 124, end: 129, name: 'cudaLaunchKernel', thread: 0, correlationId: 6 },
    { start: 130, end: 135, name: 'cudaLaunchKernelExC', thread: 0, correlationId: 7 },
  ];
  const memcpy: MemcpyRow[] = [
    { start: 8, end: 10, bytes: 4, copyKind: MemcpyKind.DtoH, correlationId: 1, streamId: 7 },
    { start: 120, end: 122, bytes: 4, copyKind: MemcpyKind.DtoH, correlationId: 4, streamId: 7 },
  ];
  const gemms: KernelRow[] = [
    { start: 20, end: 120, name: 'nvjet_tst_64x8_splitK', correlationId: 3, streamId: 7 },
    { start: 132, end: 182, name: 'nvjet_tst_64x8_splitK', correlationId: 6, streamId: 7 },
  ];
  const reduce: KernelRow = { start: 182, end: 192, name: 'splitKreduce_kernel', correlationId: 7, streamId: 7 };
  const nvtx = (end: number): NvtxRow[] => [
    { start: 0, end: 18, text: 'expert 0', payload: 10, thread: 0 },
    { start: 18, end, text: 'expert 1', payload: 5, thread: 0 },
  ];
  const withReduce = buildTrace({ processes, threads, runtime, kernels: [...gemms, reduce], memcpy, nvtx: nvtx(136) });
  const without = buildTrace({ processes, threads, runtime: runtime.slice(0, 6), kernels: gemms, memcpy, nvtx: nvtx(129) });
  const W = { start: 0, end: 200 };
  const noSyncs = (t: typeof without) => analyzeWhatIf(t, 0, W)!.scenarios.find((s) => s.scenario === 'no-host-syncs')!.projectedIterationNs;
  it('the reduce is matched to nothing in the larger expert\'s kernels: extra; the GEMM takes the larger\'s 100 ns', () => {
    const input = buildReplayInput(withReduce, 0, W)!;
    const ex = expertInstances(withReduce, 0, W)!;
    const instOf = new Int32Array(input.ops.count).fill(-1);
    for (let k = 0; k < ex.count; k++) for (const row of instanceKernels(ex, k)) for (let j = 0; j < input.ops.count; j++) if (input.ops.kind[j] === 0 && input.ops.row[j] === row) instOf[j] = k;
    const readbackCall = new Uint8Array(input.calls.count);
    for (let c = 0; c < input.calls.count; c++) if (withReduce.strings[withReduce.runtime.name[input.calls.row[c]]] === 'cudaMemcpyAsync') readbackCall[c] = 1;
    const role = (j: number) => (/nvjet/.test(withReduce.strings[withReduce.kernels.shortName[input.ops.row[j]]]) ? 'gemm' : 'other');
    const { duration, extra } = readbackSizing(input, ex, instOf, readbackCall, role);
    const kernelsOf = (v: ArrayLike<number>) => Array.from(input.ops.kind).flatMap((k, j) => (k === 0 ? [v[j]] : []));
    expect(kernelsOf(duration)).toEqual([100, 100, NaN]);
    expect(kernelsOf(extra)).toEqual([0, 0, 1]);
  });
  it('projects what the trace without the reduce and its launch call projects', () => {
    expect(analyzeWhatIf(withReduce, 0, W)!.replayError).toBe(0);
    expect(noSyncs(withReduce)).toBe(noSyncs(without));
  });
});

describe('--expert-weights: the weights for expert ranges that do not name them', () => {
  const run = async (argv: string[]) => {
    let stdout = '';
    let stderr = '';
    const code = await main(argv, { stdout: (s) => { stdout += s; }, stderr: (s) => { stderr += s; } });
    return { code, stdout, stderr };
  };
  it('a bad value: one line, exit 2', async () => {
    const r = await run(['analyze', 'fixtures/nsys-2025.3/zipf/sequential.sqlite', '--expert-weights', '768x3072:q4']);
    expect(r.code).toBe(2);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^moe-trace: --expert-weights expects .*got "768x3072:q4"/);
  });
  it('the zipf native loop (ranges without weights): grouped not projected, then from bytes at the H200\'s 4.81 TB/s', async () => {
    const json = async (extra: string[]) => JSON.parse((await run(['analyze', 'fixtures/nsys-2025.3/zipf/sequential.sqlite', '--json', ...extra])).stdout);
    const plain = (await json([])).devices[0].whatIf;
    const given = (await json(['--expert-weights', '768x3072,3072x768:bf16'])).devices[0].whatIf;
    expect(plain.inputs.grouped).toMatchObject({ namedGemms: 0, memoryBoundGemms: 0, unknownGemms: 384 });
    expect(plain.scenarios.find((s: { scenario: string }) => s.scenario === 'grouped')).toBeUndefined();
    const np = plain.notProjected.find((x: { scenario: string }) => x.scenario === 'grouped');
    // 64 experts × 2 GEMMs × 3 iterations, all named. Ridge: 4096 × 132 SMs × 1.98 GHz / 4.814 TB/s
    // = 222 FLOP/B; intensity T·R·C / (R·C + T·(R + C)): expert 0 (512 tokens) 279, compute-bound
    // (2 GEMMs × 3 iterations); expert 1 (335 tokens) 217 and every other one below: memory-bound
    expect(given.inputs.grouped).toMatchObject({ memoryBandwidth: 4814304000000, peakFlops: 4096 * 132 * 1980000000, namedGemms: 384, memoryBoundGemms: 378 });
    const g = (w: { scenarios: { scenario: string; projectedIterationNs: number }[] }) => w.scenarios.find((s) => s.scenario === 'grouped')!.projectedIterationNs;
    expect(given.notProjected).toBeUndefined();
    // from bytes: inside the span the unknown weights left open
    expect(g(given)).toBeLessThan(np.highNs);
    expect(g(given)).toBeGreaterThan(np.lowNs);
    // everything else is unchanged
    expect(given.scenarios.filter((s: { scenario: string }) => s.scenario !== 'grouped')).toEqual(plain.scenarios.filter((s: { scenario: string }) => s.scenario !== 'grouped'));
  });
});

describe('a kernel that started before its stream predecessor ended (programmatic dependent launch)', () => {
  // k1 [10, 110); k2, same stream, launched by then, starts at 90 (20 ns before k1 ends) and ends at
  // 150, beside k1 though both take the whole GPU (3 blocks of 1024 threads on 2 SMs would not fit twice)
  const t = buildTrace({
    processes, threads,
    runtime: [
      { start: 0, end: 5, name: 'cudaLaunchKernel', thread: 0, correlationId: 1 },
      { start: 6, end: 11, name: 'cudaLaunchKernelExC', thread: 0, correlationId: 2 },
    ],
    kernels: [
      { start: 10, end: 110, name: 'topk', correlationId: 1, streamId: 7, grid: [4, 1, 1], block: [1024, 1, 1] },
      { start: 90, end: 150, name: 'ffn', correlationId: 2, streamId: 7, grid: [4, 1, 1], block: [1024, 1, 1] },
    ],
    gpus: [{ deviceId: 0, smCount: 2, computeCapability: { major: 9, minor: 0 } }],
  });
  const input = buildReplayInput(t, 0, { start: 0, end: 200 })!;
  it('keeps the recorded lead: the unchanged replay reproduces the 140 ns span', () => {
    expect(Array.from(input.ops.lead)).toEqual([0, 20]);
    expect(Array.from(input.ops.share)).toEqual([1, 1]);
    expect(replay(input)).toBe(140);
  });
  it('with free launches k2 still starts 20 ns before k1 ends: 140 ns, not the 160 of stream order', () => {
    expect(replay(input, { callDuration: () => 0, callGap: () => 0, hostLatency: 0 })).toBe(140);
  });
});

describe('the back-to-back gap counts only where nothing else ran', () => {
  // stream 7: k1 [0, 100), k3 [200, 300), k4 [310, 400); stream 8: k2 [100, 200), all launched by
  // 0 and each filling the GPU. k3 waited 100 ns for k2's SMs, not for latency: no sample. k4's
  // 10 ns after k3 is the only one.
  const runtime: RuntimeRow[] = [1, 2, 3, 4].map((c) => ({ start: -20 + c, end: -20 + c + 0.5, name: 'cudaLaunchKernel', thread: 0, correlationId: c }));
  const k = (c: number, start: number, end: number, streamId: number): KernelRow => ({ start, end, name: `k${c}`, correlationId: c, streamId, grid: [4, 1, 1], block: [1024, 1, 1] });
  const t = buildTrace({
    processes, threads, runtime,
    kernels: [k(1, 0, 100, 7), k(2, 100, 200, 8), k(3, 200, 300, 7), k(4, 310, 400, 7)],
    gpus: [{ deviceId: 0, smCount: 2, computeCapability: { major: 9, minor: 0 } }],
  });
  it('back-to-back = 10 ns (k4), not the 100 ns k3 queued for SMs', () => {
    const input = buildReplayInput(t, 0, { start: 0, end: 400 })!;
    expect(input.backToBack).toBe(10);
    expect(replay(input)).toBe(400);
  });
});
