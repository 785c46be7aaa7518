/**
 * Reader-level sanity checks of the committed H200 captures (fixtures/nsys-2025.3), straight
 * SQL on the exports: each capture holds what the workload was built to do. The pictures the
 * analyses must draw from them are tested with the analyses.
 */
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';

const DIR = 'fixtures/nsys-2025.3';
const NATIVE = ['sequential', 'streams-sync', 'streams', 'grouped', 'graph', 'saturated'];
const TORCH = ['torch-sequential', 'torch-streams-sync', 'torch-streams', 'torch-grouped'];
const ITERATIONS = 3;
const EXPERTS = 64;
// Top-1 routing of 4096 tokens with capacity 80 drops 15 of them (printed by the workload).
const KEPT_TOKENS = 4096 - 15;

const open = new Map<string, Database.Database>();
function db(name: string): Database.Database {
  let d = open.get(name);
  if (!d) open.set(name, (d = new Database(`${DIR}/${name}.sqlite`, { readonly: true, fileMustExist: true })));
  return d;
}
afterAll(() => { for (const d of open.values()) d.close(); });

const one = (name: string, sql: string): number => Number(Object.values(db(name).prepare(sql).get() as object)[0]);
const kernels = (name: string): number => one(name, 'SELECT count(*) FROM CUPTI_ACTIVITY_KIND_KERNEL');
const streams = (name: string): number => one(name, 'SELECT count(DISTINCT streamId) FROM CUPTI_ACTIVITY_KIND_KERNEL');
const apiCalls = (name: string, api: string): number =>
  one(name, `SELECT count(*) FROM CUPTI_ACTIVITY_KIND_RUNTIME r JOIN StringIds s ON s.id = r.nameId WHERE s.value LIKE '${api}\\_v%' ESCAPE '\\'`);
const nvtxCount = (name: string, like: string): number =>
  one(name, `SELECT count(*) FROM NVTX_EVENTS e LEFT JOIN StringIds s ON s.id = e.textId WHERE coalesce(e.text, s.value) LIKE '${like}'`);

describe('every capture', () => {
  it.each([...NATIVE, ...TORCH])('%s: one H200, exactly the 3 timed iterations', (name) => {
    expect(db(name).prepare('SELECT name, smCount, computeMajor, computeMinor FROM TARGET_INFO_GPU').all())
      .toEqual([{ name: 'NVIDIA H200', smCount: 132, computeMajor: 9, computeMinor: 0 }]);
    expect(nvtxCount(name, 'iteration %')).toBe(ITERATIONS);
    expect(kernels(name)).toBeGreaterThan(0);
  });
});

describe('CUDA workload captures', () => {
  it('sequential: one stream, one 256-byte count read-back and sync per iteration', () => {
    expect(streams('sequential')).toBe(1);
    // + 1: the sync that closes the timed loop
    expect(apiCalls('sequential', 'cudaStreamSynchronize')).toBe(ITERATIONS + 1);
    expect(db('sequential').prepare('SELECT bytes, count(*) AS n FROM CUPTI_ACTIVITY_KIND_MEMCPY GROUP BY bytes').all())
      .toEqual([{ bytes: 4 * EXPERTS, n: ITERATIONS }]);
  });

  it('expert NVTX ranges carry the routed token count as payload', () => {
    for (const name of ['sequential', 'streams-sync', 'streams']) {
      expect(nvtxCount(name, 'expert %')).toBe(EXPERTS * ITERATIONS);
      expect(one(name, "SELECT sum(int64Value) FROM NVTX_EVENTS WHERE text LIKE 'expert %'")).toBe(KEPT_TOKENS * ITERATIONS);
    }
  });

  it('streams-sync: a stream per expert, and a 4-byte pinned read-back + sync before every expert', () => {
    expect(streams('streams-sync')).toBe(EXPERTS + 1);
    expect(apiCalls('streams-sync', 'cudaStreamSynchronize')).toBe(EXPERTS * ITERATIONS + 1);
    // dstKind 1 = pinned host memory (ENUM_CUDA_MEM_KIND); copyKind 2 = device to host
    expect(db('streams-sync').prepare('SELECT bytes, copyKind, dstKind, count(*) AS n FROM CUPTI_ACTIVITY_KIND_MEMCPY GROUP BY 1, 2, 3').all())
      .toEqual([{ bytes: 4, copyKind: 2, dstKind: 1, n: EXPERTS * ITERATIONS }]);
  });

  it('streams: the same streams with no read-back at all', () => {
    expect(streams('streams')).toBe(EXPERTS + 1);
    expect(apiCalls('streams', 'cudaStreamSynchronize')).toBe(1);
    expect(one('streams', "SELECT count(*) FROM sqlite_master WHERE name = 'CUPTI_ACTIVITY_KIND_MEMCPY'")).toBe(0);
  });

  it('grouped: 8 kernels per iteration on one stream', () => {
    expect(kernels('grouped')).toBe(8 * ITERATIONS);
    expect(streams('grouped')).toBe(1);
  });

  it('graph: the streams loop replayed, every kernel a graph node', () => {
    expect(kernels('graph')).toBe(kernels('streams'));
    expect(streams('graph')).toBe(EXPERTS + 1);
    expect(one('graph', 'SELECT count(*) FROM CUPTI_ACTIVITY_KIND_KERNEL WHERE graphNodeId IS NULL')).toBe(0);
    expect(apiCalls('graph', 'cudaGraphLaunch')).toBe(ITERATIONS);
  });

  it('saturated: each expert GEMM is one CTA per SM on all 132 SMs (shared memory bound)', () => {
    const gemms = db('saturated').prepare(`
      SELECT gridX * gridY * gridZ AS blocks, min(staticSharedMemory + dynamicSharedMemory) AS smem, count(*) AS n
      FROM CUPTI_ACTIVITY_KIND_KERNEL k JOIN StringIds s ON s.id = k.shortName
      WHERE s.value LIKE 'nvjet%' AND k.streamId NOT IN (
        SELECT streamId FROM CUPTI_ACTIVITY_KIND_KERNEL r JOIN StringIds t ON t.id = r.shortName
        WHERE t.value = 'routerTopKKernel')
      GROUP BY blocks`).all() as { blocks: number; smem: number; n: number }[];
    // 8 experts × 2 GEMMs × 3 iterations on the expert streams (the router's GEMM runs on the main stream)
    expect(gemms.map((g) => [g.blocks, g.n])).toEqual([[132, 48]]);
    // over half of an H100/H200 SM's 228 KB: a second CTA cannot be resident
    expect(gemms[0].smem).toBeGreaterThan(114 * 1024);
    expect(streams('saturated')).toBe(9);
  });
});

describe('PyTorch captures', () => {
  it("streams-sync: PyTorch's 32-stream pool, and x[mask] costs a 4-byte read-back + sync per mask", () => {
    expect(streams('torch-streams-sync')).toBe(33);
    // hidden[mask] and next_states[mask] = ... each read a 4-byte count: 2 per expert
    expect(apiCalls('torch-streams-sync', 'cudaStreamSynchronize')).toBe(2 * EXPERTS * ITERATIONS);
    expect(one('torch-streams-sync', 'SELECT count(*) FROM CUPTI_ACTIVITY_KIND_MEMCPY WHERE bytes = 4 AND copyKind = 2')).toBe(2 * EXPERTS * ITERATIONS);
  });

  it('sequential: one stream, the same per-mask syncs plus the expert list read-back', () => {
    expect(streams('torch-sequential')).toBe(1);
    expect(apiCalls('torch-sequential', 'cudaStreamSynchronize')).toBe((2 * EXPERTS + 2) * ITERATIONS);
  });

  it('streams and grouped never make the host wait', () => {
    for (const name of ['torch-streams', 'torch-grouped']) expect(apiCalls(name, 'cudaStreamSynchronize')).toBe(0);
    expect(streams('torch-streams')).toBe(33);
    expect(kernels('torch-grouped')).toBe(33 * ITERATIONS);
  });
});
