/** analyze's flags that users got wrong answers from: --window outside the trace, --fail-if on several files. */
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli.js';

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = ''; let err = '';
  const code = await main(argv, { stdout: (s) => { out += s; }, stderr: (s) => { err += s; } });
  return { code, out, err };
}
const STREAMS = 'fixtures/nsys-2025.3/streams.sqlite';
const GRAPH = 'fixtures/nsys-2025.3/graph.sqlite';

describe('analyze --window', () => {
  it('exits 2 with one line saying where the kernels are when the window holds none', async () => {
    const r = await run(['analyze', '--window', '100s:200s', STREAMS]);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toBe(`moe-trace: ${STREAMS}: --window 100s:200s holds no kernel; its kernels run from 14.08 ms to 20.56 ms (trace time). Choose START:END inside that span.\n`);
  });
  it('says the same from worker threads, for several files', async () => {
    const r = await run(['analyze', '--jobs', '1', '--window', '100s:200s', STREAMS, GRAPH]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^moe-trace: fixtures\/nsys-2025\.3\/streams\.sqlite: --window 100s:200s holds no kernel; /);
  });
  it('and so does compare', async () => {
    const r = await run(['compare', '--window', '100s:200s', STREAMS, GRAPH]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^moe-trace: fixtures\/nsys-2025\.3\/streams\.sqlite: --window 100s:200s holds no kernel; its kernels run from /);
  });
  it('still analyses a window that holds kernels', async () => {
    const r = await run(['analyze', '--window', '14ms:16ms', STREAMS]);
    expect(r.code).toBe(0);
  });
});

describe('analyze --range takes the range names the report prints', () => {
  const KINETO = 'fixtures/kineto-2.11/grouped.pt.trace.json.gz';
  it('torch.profiler steps print as "ProfilerStep#N" and --range "ProfilerStep#N" selects them', async () => {
    const d = await run(['analyze', KINETO]);
    expect(d.code).toBe(0);
    expect(d.out).toMatch(/3 iterations of torch\.profiler steps "ProfilerStep#N"/);
    expect(d.out).not.toMatch(/##/);
    const r = await run(['analyze', '--range', 'ProfilerStep#N', KINETO]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/measuring --range "ProfilerStep#N" \(3 ranges\)/);
    // the same three steps as the steady state: the same per-iteration figure
    const perIteration = (s: string) => /: ([\d.]+ [mµ]?s) per iteration/.exec(s)![1];
    expect(perIteration(r.out)).toBe(perIteration(d.out));
  });
  it('a name that matches nothing lists the names as printed', async () => {
    const r = await run(['analyze', '--range', 'nope', KINETO]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/available ranges include .*"ProfilerStep#N"/);
  });
});

describe('analyze --fail-if', () => {
  it('names the file of each failed gate and checks every file', async () => {
    const r = await run(['analyze', '--jobs', '1', '--fail-if', 'overlapShare < 0.2', STREAMS, GRAPH]);
    expect(r.code).toBe(3);
    expect(r.err).toContain(`gates passed on ${GRAPH}: overlapShare < 0.2 (device 0)`);
    expect(r.err).toContain(`moe-trace: ${STREAMS}: gate failed on device 0: overlapShare < 0.2 (overlapShare = 0)`);
  });
});
