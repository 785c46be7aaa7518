/** syncTypesFromApiCalls: each CUPTI sync record takes the type of the API call with its (process, correlationId). */
import { describe, expect, it } from 'vitest';
import { buildTrace } from '../../src/model/build.js';
import { processOfThread } from '../../src/model/trace.js';
import { syncTypesFromApiCalls } from '../../src/readers/nsys-events.js';

const TYPE: Record<string, number> = { cudaEventSynchronize: 1, cudaStreamWaitEvent: 2, cudaStreamSynchronize: 3, cudaDeviceSynchronize: 4 };
const NAMES = [...Object.keys(TYPE), 'cudaLaunchKernel', 'cudaMemcpyAsync'];

describe('syncTypesFromApiCalls', () => {
  it('matches a lookup by (process, correlationId) on random records: repeated ids, two processes, ids past 2^32, records without a call', () => {
    let seed = 17;
    const r = () => { seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0; return seed / 4294967296; };
    const processes = [{ globalPid: '1', pid: 1, name: 'a' }, { globalPid: '2', pid: 2, name: 'b' }];
    const threads = [{ globalTid: '1', tid: 1, name: 'm', process: 0 }, { globalTid: '2', tid: 2, name: 'w', process: 1 }];
    const corr = () => (r() < 0.05 ? 2 ** 32 + Math.floor(r() * 5) : Math.floor(r() * 300));
    const runtime = Array.from({ length: 400 }, (_, i) => ({ start: i, end: i + 1, name: NAMES[Math.floor(r() * NAMES.length)], thread: r() < 0.5 ? 0 : 1, correlationId: corr() }));
    const sync = Array.from({ length: 300 }, (_, i) => ({ start: i, end: i + 1, process: r() < 0.5 ? 0 : 1, correlationId: r() < 0.1 ? -1 : corr(), syncType: 0 }));
    const t = buildTrace({ processes, threads, runtime, sync });
    // the reference: every sync API call, in row order, sets the records with its key
    const expected = Array.from(t.sync.syncType);
    const p = processOfThread(t);
    for (let j = 0; j < t.runtime.count; j++) {
      const type = TYPE[t.strings[t.runtime.name[j]]] ?? 0;
      if (!type) continue;
      for (let i = 0; i < t.sync.count; i++) {
        if (t.sync.correlationId[i] !== -1 && t.sync.process[i] === p[t.runtime.thread[j] + 1] && t.sync.correlationId[i] === t.runtime.correlationId[j]) expected[i] = type;
      }
    }
    syncTypesFromApiCalls(t.sync, t.runtime, t.strings, t.threads);
    expect(Array.from(t.sync.syncType)).toEqual(expected);
    expect(expected.filter((x) => x > 0).length).toBeGreaterThan(50);
  });
});
