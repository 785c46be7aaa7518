/** A CUDA API call's process is its thread's: the model keeps no process column for calls. */
import { describe, expect, it } from 'vitest';
import { buildTrace } from '../../src/model/build.js';
import { processOfThread } from '../../src/model/trace.js';

const processes = [{ globalPid: '1', pid: 1, name: 'a' }, { globalPid: '2', pid: 2, name: 'b' }];
const call = (start: number, extra: object) => ({ start, end: start + 1, name: 'cudaLaunchKernel', ...extra });

describe('processOfThread', () => {
  it('maps thread index + 1 to the process, thread -1 to process -1', () => {
    const t = buildTrace({ processes, threads: [{ globalTid: '1', tid: 1, name: 'm', process: 1 }, { globalTid: '2', tid: 2, name: 'w', process: 0 }] });
    expect(Array.from(processOfThread(t))).toEqual([-1, 1, 0]);
  });
});

describe('buildTrace: calls given by process', () => {
  it('puts a call given only its process on a thread of that process, made up when no threads are listed', () => {
    const t = buildTrace({ processes, runtime: [call(0, {}), call(1, { process: 1 }), call(2, { process: 1 })] });
    expect(t.threads.map((th) => th.process)).toEqual([0, 1]);
    const p = processOfThread(t);
    expect(Array.from(t.runtime.thread, (th) => p[th + 1])).toEqual([0, 1, 1]);
  });

  it('uses the first listed thread of the process, and refuses a call whose thread and process disagree', () => {
    const threads = [{ globalTid: '1', tid: 1, name: 'm', process: 0 }, { globalTid: '2', tid: 2, name: 'w', process: 1 }];
    expect(Array.from(buildTrace({ processes, threads, runtime: [call(0, { process: 1 })] }).runtime.thread)).toEqual([1]);
    expect(() => buildTrace({ processes, threads, runtime: [call(0, { thread: 0, process: 1 })] })).toThrow(/thread 0 says process 1/);
    expect(() => buildTrace({ processes, threads: threads.slice(0, 1), runtime: [call(0, { process: 1 })] })).toThrow(/no listed thread/);
  });
});
