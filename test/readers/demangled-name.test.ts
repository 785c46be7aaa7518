import { describe, expect, it } from 'vitest';
import { readNsysSqlite } from '../../src/readers/nsys-sqlite.js';
import { buildTrace } from '../../src/model/build.js';

describe('kernel full (demangled) names', () => {
  it('the nsys reader fills demangledName beside shortName', () => {
    const t = readNsysSqlite('fixtures/nsys-2025.3/grouped.sqlite');
    const k = t.kernels;
    expect(k.demangledName).toBeDefined();
    expect(k.demangledName!.length).toBe(k.count);
    const byShort = new Map<string, string>();
    for (let i = 0; i < k.count; i++) byShort.set(t.strings[k.shortName[i]], t.strings[k.demangledName![i]]);
    expect(byShort.get('dispatchKernel')).toBe('void <unnamed>::dispatchKernel<__nv_bfloat16>(const T1 *, const int *, const int *, int, int, int, T1 *)');
    expect(byShort.get('routerTopKKernel')).toBe('<unnamed>::routerTopKKernel(const float *, const float *, int, int, int, int *, float *)');
  });

  it('buildTrace sets demangledName and collectives only when rows give them', () => {
    expect(buildTrace({ kernels: [{ start: 0, end: 1 }] }).kernels.demangledName).toBeUndefined();
    const t = buildTrace({
      kernels: [
        { start: 5, end: 9, name: 'ncclDevKernel_SendRecv', collective: { name: 'all_to_allv', inNelems: 1024, outNelems: 1024, dtype: 'BFloat16', processGroup: '0', groupSize: 2 } },
        { start: 0, end: 1, name: 'dispatch', demangledName: 'void deep_ep::intranode::dispatch<8>()' },
      ],
    });
    expect(t.strings[t.kernels.demangledName![0]]).toBe('void deep_ep::intranode::dispatch<8>()');
    expect(t.kernels.demangledName![1]).toBe(-1);
    const c = t.collectives!;
    expect(c.count).toBe(1);
    expect(c.kernel[0]).toBe(1); // rows are sorted by start: the NCCL kernel is row 1
    expect(t.strings[c.collective[0]]).toBe('all_to_allv');
    expect([c.inNelems[0], c.outNelems[0], c.groupSize[0]]).toEqual([1024, 1024, 2]);
    expect(t.strings[c.dtype[0]]).toBe('BFloat16');
  });
});
