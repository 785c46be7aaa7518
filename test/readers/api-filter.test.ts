/**
 * analyze reads only the CUDA API calls the analyses use (readNsysSqlite's keepApiCall): the
 * report must be the one made from every call, while the trace holds fewer.
 */
import { existsSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readNsysSqlite } from '../../src/readers/nsys-sqlite.js';
import { buildReport } from '../../src/report/build.js';
import { apiCallTotals, isAnalysedApiCall } from '../../src/analyses/api-calls.js';
import { fixtureReport, fixtureTrace } from '../helpers/fixture-reports.js';

// relative, as the other files name them: the full trace's Report is shared (helpers/fixture-reports.ts)
const files = [
  ...['fixtures/nsys-2025.3/', '../shared/nsys-corpus/'].flatMap((dir) =>
    existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.sqlite')).map((f) => dir + f) : []),
];

describe('isAnalysedApiCall', () => {
  it('keeps launches, copies, syncs, waits and allocations, drops queries', () => {
    const kept = ['cudaLaunchKernel', 'cuLaunchKernelEx', 'cudaGraphLaunch', 'cudaLaunchHostFunc', 'cudaMemcpyAsync', 'cuMemsetD32Async',
      'cudaMemPrefetchAsync', 'cudaStreamSynchronize', 'cuCtxSynchronize', 'cudaStreamWaitEvent', 'cudaMalloc', 'cuMemFree_v2', 'cuArrayDestroy'];
    const dropped = ['cuKernelGetAttribute', 'cuKernelGetName', 'cudaGetDevice', 'cudaStreamGetCaptureInfo', 'cudaMallocAsync', 'cuProfilerStart'];
    expect(kept.filter((n) => !isAnalysedApiCall(n))).toEqual([]);
    expect(dropped.filter(isAnalysedApiCall)).toEqual([]);
  });
});

describe.skipIf(files.length === 0)('a trace read with only the analysed API calls', () => {
  it.each(files.map((f) => [f.slice(f.lastIndexOf('/') + 1), f]))('%s: gives the report of the full trace', (_, file) => {
    const all = fixtureTrace(file);
    const some = readNsysSqlite(file, { keepApiCall: isAnalysedApiCall });
    expect(JSON.stringify(buildReport(some))).toBe(JSON.stringify(fixtureReport(file)));
    // the same numbering of threads, processes and names, and a summary of every call
    expect([some.threads, some.processes, some.strings]).toEqual([all.threads, all.processes, all.strings]);
    expect(apiCallTotals(some).reduce((n, a) => n + a.count, 0)).toBe(all.runtime.count);
    const names = new Set(Array.from(some.runtime.name.subarray(0, some.runtime.count)));
    expect([...names].every((n) => n < 0 || isAnalysedApiCall(some.strings[n]))).toBe(true);
    const dropped = Array.from(all.runtime.name.subarray(0, all.runtime.count)).filter((n) => n >= 0 && !isAnalysedApiCall(all.strings[n]));
    expect(some.runtime.count).toBe(all.runtime.count - dropped.length);
  });
});
