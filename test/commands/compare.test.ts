import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildReport } from '../../src/report/build.js';
import { compareReports, renderComparison, traceLabels } from '../../src/commands/compare.js';
import { main } from '../../src/cli.js';
import { grouped, streamsSync, US } from '../findings/scenarios.js';

describe('compareReports', () => {
  const c = compareReports([buildReport(streamsSync(8, 2)), buildReport(grouped(4))], ['streams-sync', 'grouped']);

  it('puts the headline numbers per iteration side by side with speed-ups against the first', () => {
    const [a, b] = c.traces;
    expect(a).toMatchObject({
      // the window is the two iterations' GPU spans (3..790 µs and 803..1590 µs): 787 µs each
      iterations: 2, iterationName: 'iteration #', windowSource: 'iterations', iterationTime: 787 * US, iterationTimeMean: 787 * US,
      iterationTimeFrom: 'span', windowPerIteration: 787 * US, busyPerIteration: 320 * US,
      overlapShare: 0, syncsPerIteration: 8, kernelsPerIteration: 8, streams: 8, speedup: 1,
    });
    expect(b).toMatchObject({
      iterations: 4, iterationTime: 499 * US, windowPerIteration: 499 * US, busyPerIteration: 497 * US, syncsPerIteration: 0, kernelsPerIteration: 3, streams: 1,
    });
    expect(b.speedup).toBeCloseTo(787 / 499, 12);
  });

  it('lists the findings present in some traces but not all', () => {
    expect(c.differingFindings).toEqual(['host-sync-stall', 'no-overlap-despite-streams']);
    expect(c.traces[0].findings['host-sync-stall']).toBeCloseTo(560 / 1574, 12); // 16 syncs block 35 µs of GPU idle time each
    expect(c.traces[1].findings).toEqual({});
  });

  it('renders one table and the differing findings', () => {
    const text = renderComparison(c);
    expect(text).toContain('speed-up vs streams-sync');
    expect(text.split('\n').find((l) => l.startsWith('speed-up'))).toMatch(/1\.00x\s+1\.58x$/);
    expect(text.split('\n').find((l) => l.startsWith('time / iteration (median)'))).toMatch(/787\.0 µs\s+499\.0 µs$/);
    expect(text.split('\n').find((l) => l.startsWith('host-sync-stall'))).toMatch(/35\.6%\s+–$/);
  });

  it('labels traces by file name, or by path when names clash', () => {
    expect(traceLabels(['a/x.sqlite', 'b/y.sqlite'])).toEqual(['x', 'y']);
    expect(traceLabels(['a/x.sqlite', 'b/x.sqlite'])).toEqual(['a/x.sqlite', 'b/x.sqlite']);
  });
});

describe('moe-trace compare (CLI)', () => {
  const corpus = '../shared/nsys-corpus';
  const a = `${corpus}/nsys2022.4.2_vectoradd-4streams_lianhang666-gpu4_report2.sqlite`;
  const b = `${corpus}/nsys2026.1.1_4streams_0x822a5b87-test-cuda_report2.sqlite`;
  it.skipIf(!existsSync(a) || !existsSync(b))('compares two real exports (needs ../shared/nsys-corpus)', async () => {
    let out = '';
    const code = await main(['compare', a, b, '--json'], { stdout: (s) => { out += s; }, stderr: () => {} });
    expect(code).toBe(0);
    const c = JSON.parse(out);
    expect(c.traces.map((t: { label: string }) => t.label)).toEqual([
      'nsys2022.4.2_vectoradd-4streams_lianhang666-gpu4_report2', 'nsys2026.1.1_4streams_0x822a5b87-test-cuda_report2',
    ]);
    expect(c.traces[0]).toMatchObject({ iterations: null, kernelsPerIteration: 200, streams: 4, speedup: 1 });
  });
  it('needs two files', async () => {
    let err = '';
    const code = await main(['compare', 'only.sqlite'], { stdout: () => {}, stderr: (s) => { err += s; } });
    expect(code).toBe(2);
    expect(err).toMatch(/compare needs at least two exports/);
  });
});

describe('compare --html', () => {
  it('writes one comparison page holding every trace, and leaves the inputs alone', async () => {
    const { mkdtempSync, readFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'moe-trace-cmp-'));
    try {
      const a = 'fixtures/nsys-2025.3/sequential.sqlite';
      const b = 'fixtures/nsys-2025.3/grouped.sqlite';
      const before = [readFileSync(a), readFileSync(b)];
      const out = join(dir, 'cmp.html');
      let err = '';
      const code = await main(['compare', a, b, '--html', out], { stdout: () => {}, stderr: (s) => { err += s; } });
      expect(code).toBe(0);
      expect(err).toMatch(/^wrote .*cmp\.html \([\d.]+ MB\)\n$/);
      const html = readFileSync(out, 'utf8');
      expect(html).toContain('"comparison":{"table"');
      expect(html).toContain('sequential.sqlite');
      expect(html).toContain('grouped.sqlite');
      expect(readFileSync(a).equals(before[0]) && readFileSync(b).equals(before[1])).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('compare on the new grouped kernel captures (PDL: kernels back to back inside each iteration)', () => {
  it('gives GPU busy per iteration on the basis of time per iteration: never more than it', async () => {
    const { readTrace } = await import('../../src/readers/read-trace.js');
    const files = ['fixtures/nsys-2025.3-grouped/grouped.sqlite', 'fixtures/nsys-2025.3-grouped/grouped-zipf.sqlite'];
    const reports = await Promise.all(files.map(async (f) => buildReport(await readTrace(f))));
    const c = compareReports(reports, traceLabels(files));
    for (const t of c.traces) {
      // the window ÷ iterations (225.1 µs on grouped-zipf) exceeded the median span (224.6 µs)
      expect(t.busyPerIteration).not.toBeNull();
      expect(t.busyPerIteration!).toBeLessThanOrEqual(t.iterationTime! + 1e-6);
      expect(t.busyPerIteration!).toBeGreaterThan(0.9 * t.iterationTime!);
    }
  });
});
