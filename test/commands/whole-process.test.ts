/**
 * Issue 13 on captures taken the way users take them (fixtures/nsys-2025.3-whole: `nsys profile
 * python switch_moe.py`, no capture range: import, model load, reference pass and warm-up, then 5
 * forwards in NVTX ranges `forward <label> N`). The defaults must measure the forwards: the same
 * numbers as --range over them, and compare's speed-ups from the time per iteration.
 */
import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { ReportOptions } from '../../src/report/build.js';
import type { Report } from '../../src/report/types.js';
import { compareReports } from '../../src/commands/compare.js';
import { main } from '../../src/cli.js';
import { expectBounded } from '../findings/cost-bounds-check.js';
import { fixtureReport } from '../helpers/fixture-reports.js';

const DIR = 'fixtures/nsys-2025.3-whole';
const CAPTURES: Record<string, string> = {
  'torch-sequential': 'forward seq #',
  'torch-streams-sync': 'forward streams-sync #',
  'torch-streams-sync-2': 'forward streams-sync #',
  'torch-grouped': 'forward grouped #',
};
const file = (name: string): string => `${DIR}/${name}.sqlite`;
const present = Object.keys(CAPTURES).every((n) => existsSync(file(n)));

/** Median CPU-side duration of the `forward ...` NVTX ranges, straight from SQLite (independent of our reader). */
function medianForwardNs(path: string): number {
  const db = new Database(path, { readonly: true });
  try {
    const rows = db.prepare(`SELECT n."end" - n.start AS d FROM NVTX_EVENTS n LEFT JOIN StringIds s ON s.id = n.textId
      WHERE COALESCE(n.text, s.value) LIKE 'forward %' AND n."end" IS NOT NULL ORDER BY d`).all() as { d: number }[];
    expect(rows.length).toBe(5);
    return rows[2].d;
  } finally {
    db.close();
  }
}

// each capture is read once (per test worker: helpers/fixture-reports.ts); its Reports (by default, --range, --whole-trace) are built from that Trace
const reports = new Map<string, Report>();
function report(name: string, options: ReportOptions = {}): Report {
  const key = `${name} ${JSON.stringify(options)}`;
  let r = reports.get(key);
  if (!r) reports.set(key, (r = fixtureReport(file(name), options)));
  return r;
}

describe.skipIf(!present)('whole-process captures: the steady state by default', () => {
  for (const [name, family] of Object.entries(CAPTURES)) {
    it(`${name}: measures the 5 forwards of "${family}", the same as --range over them`, () => {
      const d = report(name).devices[0];
      expect(d.window.source).toBe('iterations');
      expect(d.window.iterations).toMatchObject({ method: 'nvtx', name: family, found: 5, count: 5, leftOut: 0 });
      // --range takes the family name the tool prints ("forward seq #"), as a /regex/ does
      const ranged = report(name, { range: family }).devices[0];
      expect(ranged.window).toMatchObject({ source: 'range', rangeInstances: 5 });
      expect(report(name, { range: `/^${family.replace('#', '\\d+$')}/` }).devices[0].overlap).toEqual(ranged.overlap);
      expect(d.window.coveredDuration).toBe(ranged.window.coveredDuration);
      expect(d.overlap).toEqual(ranged.overlap);
      expect(d.hostSyncs.count).toBe(ranged.hostSyncs.count);
      // one count of host syncs: the headline's is the NVTX table's (issue 13: 640 vs 650)
      const it = d.nvtxRanges!.iterations!;
      expect(d.hostSyncs.count).toBe(it.syncsPerIteration * it.count);
      expect(ranged.hostSyncs.count).toBe(it.syncsPerIteration * it.count);
      expect(d.overlap.kernelCount).toBe(it.kernelsPerIteration * it.count);
      expect(d.gaps.byClass).toEqual(ranged.gaps.byClass);
      expect(d.window.iterations!.span).toEqual(ranged.window.iterations!.span);
      // the whole capture is another, much longer window
      const whole = report(name, { wholeTrace: true }).devices[0];
      expect(whole.window.source).toBe('kernels');
      expect(whole.overlap.kernelCount).toBeGreaterThan(d.overlap.kernelCount);
    }, 30_000);
  }

  // cost-bounds.test.ts's check (issue 13) on these captures, by default and measured whole (--whole-trace)
  it('every finding\'s cost is bounded by the time of what it blames, by default and measured whole (--whole-trace)', () => {
    for (const name of Object.keys(CAPTURES)) {
      expectBounded(report(name));
      expectBounded(report(name, { wholeTrace: true }));
    }
  }, 60_000);

  it('compare: speed-ups within 10% of the ratio of the median NVTX forward durations', () => {
    const names = Object.keys(CAPTURES);
    const c = compareReports(names.map((n) => report(n)), names);
    const base = medianForwardNs(file(names[0]));
    for (const [i, n] of names.entries()) {
      const want = base / medianForwardNs(file(n));
      const got = c.traces[i].speedup!;
      expect(Math.abs(got / want - 1), `${n}: speed-up ${got.toFixed(2)}x, NVTX ratio ${want.toFixed(2)}x`).toBeLessThan(0.1);
      // the time per iteration is the number analyze prints
      expect(c.traces[i].iterationTime).toBe(report(n).devices[0].window.iterations!.span.median);
    }
    // grouped is ~26x faster per forward than the sequential loop, not 0.84x (the whole-capture answer)
    expect(c.traces[3].speedup).toBeGreaterThan(20);
  }, 30_000);

  it('the CLI says what it measured, and --whole-trace measures everything', async () => {
    let out = '';
    let err = '';
    const io = { stdout: (s: string) => { out += s; }, stderr: (s: string) => { err += s; } };
    expect(await main(['compare', file('torch-sequential'), file('torch-grouped'), '--json'], io)).toBe(0);
    const c = JSON.parse(out);
    expect(c.traces.map((t: { windowSource: string }) => t.windowSource)).toEqual(['iterations', 'iterations']);
    out = ''; err = '';
    expect(await main(['analyze', file('torch-grouped')], io)).toBe(0);
    expect(err).toBe('');
    // under the file name, wrapped to the width (continuation lines indented by two spaces)
    const flat = (): string[] => out.replace(/\n {2}/g, ' ').split('\n');
    expect(flat()[1]).toBe('GPU 0: measuring the steady state, 5 iterations of NVTX range "forward grouped #"; --whole-trace measures the whole capture');
    expect(flat()[3]).toMatch(/^GPU 0: 1\.\d+ ms per iteration \(median GPU span, first kernel to last; mean 1\.\d+ ms, 1\.\d+ ms \.\. 1\.\d+ ms\) over 5 iterations of/);
    out = ''; err = '';
    expect(await main(['analyze', file('torch-grouped'), '--whole-trace'], io)).toBe(0);
    expect(flat()[1]).toBe('GPU 0: measuring the whole capture (first kernel to last kernel)');
  }, 30_000);
});
