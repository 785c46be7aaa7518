/**
 * devices[].communication on real captures (issue 17). The expert-parallel dry run
 * (fixtures/nsys-2025.3-ep1: ep_moe.py at world size 1 on one H200, NCCL 2.28.9) has no NCCL
 * kernel: at world size 1 NCCL's all-to-all is one cudaMemcpyAsync inside its `ncclAlltoAll`
 * NVTX range, so those copies are the communication. Figures checked independently with
 * SQL over the export (copies whose launch call lies in an ncclAlltoAll range on the same thread;
 * exposed = |their union \ union of all kernels|).
 */
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { readTrace } from '../../src/readers/read-trace.js';
import { describeTrace, renderInfo } from '../../src/commands/info.js';
import { buildReport } from '../../src/report/build.js';
import { anyReport, anyTrace, fixtureReport } from '../helpers/fixture-reports.js';

const EP = 'fixtures/nsys-2025.3-ep1';
const comm = (schedule: string) => {
  const r = fixtureReport(`${EP}/ep-${schedule}-rank0.sqlite`);
  expect(r.devices).toHaveLength(1);
  return r.devices[0].communication!;
};

describe('communication on the expert-parallel dry run (nsys)', () => {
  it('serialized: the 10 all-to-all copies (5 forwards × dispatch + combine) are all exposed', () => {
    const c = comm('serialized');
    expect(c).toMatchObject({ kernelCount: 10, busy: 37343, exposed: 37343, hiddenShare: 0, syncOnly: 0 });
    // 78,643,200 B: the copies' sizes (SQL over the export gives the same sum)
    expect(c.kernels).toEqual([{
      name: '[CUDA memcpy]', class: 'communication', family: 'NCCL: ncclAlltoAll', source: 'NVTX range', count: 10, time: 37343, exposed: 37343,
      messageBytes: 78_643_200, algorithmBandwidth: (78_643_200 / 37343) * 1e9,
    }]);
    expect(c.byPhase.map((p) => [p.phase, p.microBatch, p.kernels])).toEqual([['dispatch', 0, 5], ['combine', 0, 5]]);
    expect(c.byPhase[0].busy + c.byPhase[1].busy).toBe(37343);
    expect(c.collectives.names).toEqual(['NCCL: ncclAlltoAll']);
    expect(c.collectives.start).toHaveLength(10);
    // the other copies stay memory operations; no kernel is communication
    // the per-expert GEMMs (two nvjet GEMMs and a split-K reduce per expert, 64 experts × 5 forwards) launched inside `expert N`
    expect(c.classes.map((k) => [k.class, k.count])).toEqual([['communication', 10], ['expert-gemm', 960], ['compute', 460], ['memory', 325]]);
    expect(c.classes[1].top.map((t) => [t.family, t.count])).toEqual([['GEMM in an expert range', 320], ['GEMM in an expert range', 320], ['GEMM in an expert range', 320]]);
  });

  it('overlapped: two micro-batches, 20 copies, each phase and micro-batch apart', () => {
    const c = comm('overlapped');
    expect(c).toMatchObject({ kernelCount: 20, busy: 43680, exposed: 43680, hiddenShare: 0 });
    expect(c.byPhase.map((p) => [p.phase, p.microBatch, p.kernels, p.busy])).toEqual([
      ['dispatch', 0, 5, 11456], ['dispatch', 1, 5, 11776], ['combine', 0, 5, 10272], ['combine', 1, 5, 10176],
    ]);
  });

  it('grouped: the grouped GEMM is the expert-GEMM class', () => {
    const c = comm('grouped');
    expect(c).toMatchObject({ kernelCount: 10, busy: 36480, exposed: 36480 });
    const gemm = c.classes.find((k) => k.class === 'expert-gemm')!;
    expect(gemm).toMatchObject({ count: 10, names: 1 });
    expect(gemm.top[0]).toMatchObject({ name: 'device_kernel', family: 'grouped GEMM' });
  });
});

/**
 * Kineto traces from ../shared/kineto-corpus (public, not ours; MANIFEST.md there). The A100 DDP
 * trace (rank 0 of 2, NCCL 2.17.1) has 21 NCCL kernels with their Collective name args. Figures
 * checked independently in Python over the JSON (NCCL kernels vs every other kernel, ns =
 * round(ts·1000), end = start + round(dur·1000)): busy 46,876,493 ns, exposed 39,559,468 ns.
 */
const CORPUS = '../shared/kineto-corpus';
const A100 = `${CORPUS}/facebookresearch_HolisticTraceAnalysis_nccl_data.json.gz`;
const haveCorpus = existsSync(A100);

describe.skipIf(!haveCorpus)('communication on Kineto traces (../shared/kineto-corpus)', () => {
  it('A100 DDP: all-reduces in backward, broadcasts in forward, 15.6% hidden', async () => {
    const r = await anyReport(A100);
    expect(r.devices).toHaveLength(1);
    const c = r.devices[0].communication!;
    expect(c).toMatchObject({ kernelCount: 21, busy: 46_876_493, exposed: 39_559_468, hidden: 7_317_025, syncOnly: 0 });
    expect(c.hiddenShare).toBeCloseTo(0.15609156, 7);
    expect(c.kernels.map((k) => [k.name, k.family, k.source, k.count, k.time, k.exposed])).toEqual([
      ['ncclKernel_AllReduce_RING_LL_Sum_float', 'NCCL: allreduce', 'collective args', 15, 46_762_159, 39_445_134],
      ['ncclKernel_Broadcast_RING_LL_Sum_int8_t', 'NCCL: broadcast', 'collective args', 6, 114_334, 114_334],
    ]);
    // DDP launches the all-reduces from autograd's thread while "## backward ##" is open on the main thread
    expect(c.byPhase.map((p) => [p.phase, p.kernels, p.busy, p.exposed])).toEqual([
      ['forward', 6, 114_334, 114_334], ['backward', 15, 46_762_159, 39_445_134],
    ]);
    // message sizes from the args: input elements × dtype size (Float 4 B, the broadcasts' Long 8 B), checked in Python
    expect(c.kernels.map((k) => [k.messageBytes, k.processGroups])).toEqual([[306_684_384, ['0']], [638_712, ['0']]]);
    expect(c.kernels[0].algorithmBandwidth).toBeCloseTo((306_684_384 / 46_762_159) * 1e9, 3);
    expect(c.classes.map((k) => [k.class, k.count])).toEqual([['communication', 21], ['compute', 2679], ['memory', 1074]]);
    // the default window (3 steady-state ProfilerSteps) holds every collective: the whole capture gives the same
    const whole = (await anyReport(A100, { wholeTrace: true })).devices[0].communication!;
    expect([whole.busy, whole.exposed, whole.kernelCount]).toEqual([46_876_493, 39_559_468, 21]);
    const f = r.findings.find((x) => x.id === 'exposed-communication')!;
    expect(f.costNs).toBe(39_559_468);
    expect(f.costNs).toBeLessThanOrEqual(c.busy);
  });

  it('info lists the classes of a Kineto trace, with the collective args that decided them', async () => {
    const text = renderInfo(describeTrace(await anyTrace(A100)));
    expect(text).toMatch(/communication\s+21\s+46\.88 ms\s+2\s+ncclKernel_AllReduce_RING_LL_Sum_float \(NCCL: allreduce, collective args\)/);
  });

  it('traces without collectives: no communication, the classes still listed', async () => {
    const v100 = await anyReport(`${CORPUS}/facebookresearch_HolisticTraceAnalysis_rank-0.Apr_03_18_51_38.1102.pt.trace.json.gz`);
    expect(v100.devices[0].communication).toMatchObject({ kernelCount: 0, busy: 0, hiddenShare: null });
    expect(v100.findings.some((f) => f.id === 'exposed-communication')).toBe(false);
    const b300 = buildReport(await readTrace(`${CORPUS}/AMD-AGI_TraceLens_moe_01_many_experts_few_tokens.json.gz`));
    // the MoE micro-benchmark's three expert GEMMs per call run inside its expert_ffn[...] annotation;
    // the window is the 2 steady calls of 3 (the first, 1.058 ms, is warm-up): 6 + 18 kernels
    const b300Classes = b300.devices[0].communication!.classes;
    expect(b300Classes.map((k) => [k.class, k.count])).toEqual([['expert-gemm', 6], ['compute', 18]]);
    expect(b300Classes[0].top.every((t) => t.name.startsWith('nvjet_sm103_') && t.family === 'GEMM in an expert range')).toBe(true);
  });
});

describe('communication on the EP dry run through torch.profiler (Kineto, fixtures/nsys-2025.3-ep1)', () => {
  it('the copies under nccl:all_to_all are the communication, per phase and micro-batch', async () => {
    const r = buildReport(await readTrace(`${EP}/ep-overlapped-rank0.pt.trace.json.gz`));
    const c = r.devices[0].communication!;
    expect(c).toMatchObject({ kernelCount: 12, busy: 25_952, exposed: 25_952, hiddenShare: 0 });
    expect(c.kernels.map((k) => [k.name, k.family, k.count])).toEqual([['[CUDA memcpy]', 'NCCL: all_to_all', 12]]);
    expect(c.byPhase.map((p) => [p.phase, p.microBatch, p.kernels, p.busy])).toEqual([
      ['dispatch', 0, 3, 6656], ['dispatch', 1, 3, 6881], ['combine', 0, 3, 6079], ['combine', 1, 3, 6336],
    ]);
    const grouped = buildReport(await readTrace(`${EP}/ep-grouped-rank0.pt.trace.json.gz`)).devices[0].communication!;
    expect(grouped).toMatchObject({ kernelCount: 6, busy: 21_088 });
    expect(grouped.classes.find((k) => k.class === 'expert-gemm')).toMatchObject({ count: 6, names: 1 });
  });
});
