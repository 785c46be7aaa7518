/**
 * Reader-level facts of the captures of `grouped` with the persistent v2 kernel
 * (fixtures/nsys-2025.3-grouped, fixtures/MANIFEST.md "grouped, v2 kernel"): straight SQL on the
 * nsys exports. Each holds the 3 timed iterations of one process, 3 kernels an iteration (the
 * router GEMM, the fused top-k + pack kernel, the persistent ffn kernel) on one stream, the
 * ffn kernel launched early by programmatic dependent launch and taking most of the iteration.
 */
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';

const DIR = 'fixtures/nsys-2025.3-grouped';
const CAPTURES = ['grouped', 'grouped-zipf'];
const ITERATIONS = 3;

const open = new Map<string, Database.Database>();
function db(name: string): Database.Database {
  let d = open.get(name);
  if (!d) open.set(name, (d = new Database(`${DIR}/${name}.sqlite`, { readonly: true, fileMustExist: true })));
  return d;
}
afterAll(() => { for (const d of open.values()) d.close(); });

interface Kernel { start: number; end: number; name: string; gridX: number; blockX: number; smem: number; streamId: number }
const kernels = (name: string): Kernel[] => db(name).prepare(`
  SELECT k.start, k.end, s.value AS name, k.gridX, k.blockX, k.dynamicSharedMemory AS smem, k.streamId
  FROM CUPTI_ACTIVITY_KIND_KERNEL k JOIN StringIds s ON s.id = k.shortName ORDER BY k.start`).all() as Kernel[];
const one = (name: string, sql: string): number => Number(Object.values(db(name).prepare(sql).get() as object)[0]);

describe.each(CAPTURES)('%s (v2 kernel)', (name) => {
  it('one H200, the 3 timed iterations, one stream, no host wait inside them', () => {
    expect(db(name).prepare('SELECT name, smCount FROM TARGET_INFO_GPU').all()).toEqual([{ name: 'NVIDIA H200', smCount: 132 }]);
    expect(one(name, `SELECT count(*) FROM NVTX_EVENTS e LEFT JOIN StringIds s ON s.id = e.textId
      WHERE coalesce(e.text, s.value) LIKE 'iteration %'`)).toBe(ITERATIONS);
    expect(new Set(kernels(name).map((k) => k.streamId)).size).toBe(1);
    // the one sync closes the timed loop
    expect(one(name, `SELECT count(*) FROM CUPTI_ACTIVITY_KIND_RUNTIME r JOIN StringIds s ON s.id = r.nameId
      WHERE s.value LIKE 'cudaStreamSynchronize%'`)).toBe(1);
  });

  it('3 kernels an iteration: router GEMM, route (top-k + pack), the persistent ffn kernel', () => {
    const ks = kernels(name);
    expect(ks).toHaveLength(3 * ITERATIONS);
    let early = 0;
    for (let i = 0; i < ITERATIONS; ++i) {
      const [gemm, route, ffn] = ks.slice(3 * i, 3 * i + 3);
      expect(gemm.name).toMatch(/gemm|nvjet|sm90/i);
      expect(route.name).toBe('routePackKernel');
      expect(ffn.name).toBe('ffnKernel2');
      // one CTA per SM, 3 warpgroups, the shared-memory ring (5 stages of 44 KB)
      expect([ffn.gridX, ffn.blockX]).toEqual([132, 384]);
      expect(ffn.smem).toBeGreaterThan(200 * 1024);
      // programmatic dependent launch: the ffn kernel starts before the route kernel ends, or
      // right after it where the host launched it late (the first iteration, under tracing)
      expect(ffn.start).toBeLessThan(route.end + 1000);
      if (ffn.start < route.end) early += 1;
      // and it is most of the iteration's GPU time
      expect((ffn.end - ffn.start) / (ffn.end - gemm.start)).toBeGreaterThan(0.8);
    }
    expect(early).toBeGreaterThanOrEqual(ITERATIONS - 1);
  });
});
