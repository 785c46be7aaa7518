import { describe, expect, it } from 'vitest';
import { buildTrace, type KernelRow, type RuntimeRow } from '../../src/model/build.js';
import { callLinks } from '../../src/analyses/correlation.js';

const processes = [{ globalPid: '1', pid: 1, name: 'a' }, { globalPid: '2', pid: 2, name: 'b' }];

/** kernelCall of a trace with these runtime rows (in start order) and kernels looking up (process, correlationId). */
function kernelCall(runtime: RuntimeRow[], lookups: [number, number][]): number[] {
  const kernels: KernelRow[] = lookups.map(([process, correlationId], i) => ({ start: 1000 + i, end: 1001 + i, process, correlationId }));
  return Array.from(callLinks(buildTrace({ runtime, kernels, processes })).kernelCall);
}

const call = (start: number, correlationId: number, process = 0): RuntimeRow => ({ start, end: start + 1, name: 'cudaLaunchKernel', correlationId, process });

describe('callLinks kernelCall', () => {
  it('finds calls in a one-process trace whose ids count up (binary search), the first row on repeated ids', () => {
    const runtime = [call(0, 3), call(1, 5), call(2, 5), call(3, 9)];
    expect(kernelCall(runtime, [[0, 5], [0, 9], [0, 3], [0, 4], [0, 10], [0, 1], [1, 5], [0, -1]])).toEqual([1, 3, 0, -1, -1, -1, -1, -1]);
  });
  it('gives the same answers when ids are out of order or processes mix (table)', () => {
    const runtime = [call(0, 9), call(1, 5), call(2, 5), call(3, 3), call(4, 5, 1)];
    expect(kernelCall(runtime, [[0, 5], [0, 9], [0, 3], [0, 4], [1, 5], [1, 9], [0, -1]])).toEqual([1, 0, 3, -1, 4, -1, -1]);
  });
  it('skips calls without a correlation id', () => {
    const runtime = [call(0, 3), { start: 1, end: 2, name: 'cudaMalloc' }, call(2, 4)];
    expect(kernelCall(runtime, [[0, 3], [0, 4]])).toEqual([0, 2]);
  });
});
