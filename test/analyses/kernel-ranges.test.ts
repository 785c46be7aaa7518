/** The innermost NVTX range around each kernel's launch: one definition for expert GEMMs, info and the HTML timeline. */
import { describe, expect, it } from 'vitest';
import { buildTrace } from '../../src/model/build.js';
import { innermostRangeTexts } from '../../src/analyses/kernel-ranges.js';
import { buildReport } from '../../src/report/build.js';
import { htmlInput } from '../../src/commands/analyze.js';

// thread 0: "expert 0" [0, 100] holds "up" [10, 20]; thread 1 has no range. Kernel rows are in GPU
// start order, which is not launch order (the launch at 60 runs first on its own stream).
const t = buildTrace({
  threads: [{ globalTid: '1', tid: 1, name: 'main', process: 0 }, { globalTid: '2', tid: 2, name: 'worker', process: 0 }],
  nvtx: [{ start: 0, end: 100, text: 'expert 0', thread: 0 }, { start: 10, end: 20, text: 'up', thread: 0 }],
  runtime: [
    { start: 15, end: 16, name: 'cudaLaunchKernel', correlationId: 1, thread: 0 },
    { start: 60, end: 61, name: 'cudaLaunchKernel', correlationId: 2, thread: 0 },
    { start: 15, end: 16, name: 'cudaLaunchKernel', correlationId: 3, thread: 1 },
    { start: 150, end: 151, name: 'cudaLaunchKernel', correlationId: 4, thread: 0 },
  ],
  kernels: [
    { start: 200, end: 210, name: 'gemm_up', correlationId: 1, streamId: 7 },
    { start: 70, end: 80, name: 'gemm_down', correlationId: 2, streamId: 8 },
    { start: 300, end: 310, name: 'other_thread', correlationId: 3, streamId: 9 },
    { start: 400, end: 410, name: 'after', correlationId: 4, streamId: 7 },
    { start: 500, end: 510, name: 'no_launch_call', correlationId: 99, streamId: 7 },
  ],
});
const text = (i: number): string | null => (i >= 0 ? t.strings[i] : null);
const byName = (name: string): number => Array.from({ length: t.kernels.count }, (_, i) => i).find((i) => t.strings[t.kernels.shortName[i]] === name)!;

describe('innermostRangeTexts', () => {
  it('gives the innermost range on the launching thread, -1 outside any range or without a launch call', () => {
    const rows = Int32Array.from({ length: t.kernels.count }, (_, i) => i);
    const got = Array.from(innermostRangeTexts(t, rows), text);
    const expected: Record<string, string | null> = { gemm_up: 'up', gemm_down: 'expert 0', other_thread: null, after: null, no_launch_call: null };
    for (const [name, range] of Object.entries(expected)) expect(got[byName(name)], name).toBe(range);
  });
  it('is what the HTML timeline colours kernels by', () => {
    const input = htmlInput(buildReport(t), t);
    expect(input.expertOf).toBeDefined();
    for (const name of ['gemm_up', 'gemm_down', 'other_thread', 'after', 'no_launch_call']) {
      expect(text(input.expertOf!(byName(name))), name).toBe(text(innermostRangeTexts(t, Int32Array.of(byName(name)))[0]));
    }
    // no range anywhere: nothing to colour by
    const bare = buildTrace({ runtime: [{ start: 0, end: 1, name: 'cudaLaunchKernel', correlationId: 1 }], kernels: [{ start: 2, end: 3, name: 'k', correlationId: 1 }] });
    expect(htmlInput(buildReport(bare), bare).expertOf).toBeUndefined();
  });
});
