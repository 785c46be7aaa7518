import { describe, expect, it } from 'vitest';
import { buildTrace, type KernelRow, type NvtxRow, type RuntimeRow } from '../../src/model/build.js';
import { buildReport } from '../../src/report/build.js';

const NCCL = 'ncclDevKernel_SendRecv(ncclDevComm*, unsigned long, ncclWork*)';
const GEMM = 'sm90_xmma_gemm_bf16bf16_bf16f32';

/** One micro-batch: dispatch [0,300) alone, experts [300,700), combine [700,900) half beside the tail of a GEMM. */
function serialized(extra: KernelRow[] = []) {
  const nvtx: NvtxRow[] = [];
  const runtime: RuntimeRow[] = [];
  const kernels: KernelRow[] = [];
  let corr = 1;
  const launch = (range: string | null, cpu: number, k: KernelRow): void => {
    if (range) nvtx.push({ start: cpu, end: cpu + 5, text: range });
    runtime.push({ start: cpu + 1, end: cpu + 2, name: 'cudaLaunchKernel', correlationId: corr });
    kernels.push({ ...k, correlationId: corr++ });
  };
  launch('dispatch mb0', 0, { start: 0, end: 300, name: NCCL, streamId: 1 });
  launch('experts mb0', 10, { start: 300, end: 800, name: GEMM, streamId: 2 });
  launch('combine mb0', 20, { start: 700, end: 900, name: NCCL, streamId: 1 });
  for (const k of extra) launch(null, 30, k);
  return buildTrace({ nvtx, runtime, kernels });
}

describe('finding exposed-communication', () => {
  it('blames the exposed time, at most the communication busy time, with phases and the fix', () => {
    const r = buildReport(serialized());
    const c = r.devices[0].communication!;
    expect(c).toMatchObject({ busy: 500, exposed: 400, hidden: 100 });
    const f = r.findings.find((x) => x.id === 'exposed-communication')!;
    expect(f).toBeDefined();
    expect(f.costNs).toBe(400);
    expect(f.costNs).toBeLessThanOrEqual(c.busy);
    expect(f.measures).toEqual(expect.arrayContaining([
      { name: 'communicationBusy', value: 500, unit: 'ns' }, { name: 'exposed', value: 400, unit: 'ns' }, { name: 'hidden', value: 100, unit: 'ns' },
    ]));
    expect(f.costShare).toBeCloseTo(400 / 900, 12);
    expect(f.severity).toBe('high');
    expect(f.title).toContain('(44.4% of the window)');
    expect(f.evidence.join(' ')).toMatch(/By phase: dispatch \(micro-batch 0\) 300 ns exposed of 300 ns; combine \(micro-batch 0\) 100 ns exposed of 200 ns/);
    expect(f.fix).toMatch(/other micro-batch/);
    expect(f.fix).toMatch(/shared expert/);
    expect(f.fix).toMatch(/fewer SMs/);
  });

  it('stays silent when communication is hidden, or exposed for under 1% of the window', () => {
    const hidden = buildReport(buildTrace({ kernels: [{ start: 0, end: 1000, name: GEMM, streamId: 2 }, { start: 100, end: 900, name: NCCL, streamId: 1 }] }));
    expect(hidden.devices[0].communication).toMatchObject({ busy: 800, exposed: 0, hiddenShare: 1 });
    expect(hidden.findings.some((f) => f.id === 'exposed-communication')).toBe(false);
    const tiny = buildReport(buildTrace({ kernels: [{ start: 0, end: 10_000, name: GEMM, streamId: 2 }, { start: 9_950, end: 10_050, name: NCCL, streamId: 1 }] }));
    expect(tiny.devices[0].communication!.exposed).toBe(50);
    expect(tiny.findings.some((f) => f.id === 'exposed-communication')).toBe(false);
  });
});
