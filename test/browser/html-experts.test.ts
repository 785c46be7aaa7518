import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeHtmlReport } from '../../src/render/html/index.js';
import { haveChromium, launch, markCounts, skipReason, visit, type Session } from './harness.js';
import { fixtureReport, fixtureTrace } from '../helpers/fixture-reports.js';

const dir = mkdtempSync(join(tmpdir(), 'moe-trace-html-experts-'));

describe.skipIf(!haveChromium)(`experts and what-if on the HTML page in Chromium${haveChromium ? '' : ` (skipped: ${skipReason})`}`, () => {
  let session: Session;
  beforeAll(async () => { session = await launch(); }, 60_000);
  afterAll(async () => { await session?.close(); rmSync(dir, { recursive: true, force: true }); });

  it('zipf sequential: one point per expert (tokens vs GPU time, the straggler marked) and a bar per what-if scenario', async () => {
    const trace = fixtureTrace('fixtures/nsys-2025.3/zipf/sequential.sqlite');
    const report = fixtureReport('fixtures/nsys-2025.3/zipf/sequential.sqlite');
    const d = report.devices[0];
    const out = await writeHtmlReport([{ report, trace }], join(dir, 'zipf.html'));
    const v = await visit(session, out.path);
    expect(v.consoleErrors).toEqual([]);
    expect(v.pageErrors).toEqual([]);
    const counts = await markCounts(v.page);
    expect(counts['t0-gpu0-experts']).toEqual({ marks: 64, errors: 0 });
    // measured in the trace + the unchanged replay + four scenarios
    expect(counts['t0-gpu0-what-if']).toEqual({ marks: 1 + d.whatIf!.scenarios.length, errors: 0 });
    // grouped not projected: the ranges name no weights; the chart's subtitle says so and what it would span
    expect(d.whatIf!.scenarios.map((s) => s.scenario)).toEqual(['measured', 'no-host-syncs', 'free-launches', 'perfect-overlap']);
    const html = await v.page.content();
    expect(html).toMatch(/grouped GEMM: not projected \(somewhere from [\d.]+ µs to [\d.]+ µs: the expert GEMMs' weights are unknown\)/);
    expect(html).toContain('the straggler of each iteration');
    await v.page.close();
  }, 120_000);
});

describe.skipIf(!haveChromium)(`compare page: measured vs projected in Chromium${haveChromium ? '' : ` (skipped: ${skipReason})`}`, () => {
  let session: Session;
  beforeAll(async () => { session = await launch(); }, 60_000);
  afterAll(async () => { await session?.close(); });
  it('draws each capture\'s measurement and projections', async () => {
    const inputs = ['streams-sync', 'streams'].map((n) => {
      const trace = fixtureTrace(`fixtures/nsys-2025.3/${n}.sqlite`);
      return { report: fixtureReport(`fixtures/nsys-2025.3/${n}.sqlite`), trace };
    });
    const out = await writeHtmlReport(inputs, join(dir, 'compare.html'));
    const v = await visit(session, out.path);
    expect(v.consoleErrors).toEqual([]);
    expect(v.pageErrors).toEqual([]);
    const counts = await markCounts(v.page);
    // two captures x (measured + 3 scenarios): grouped is not projected, their expert ranges name no weights
    expect(inputs.every((i) => i.report.devices[0].whatIf!.notProjected![0].scenario === 'grouped')).toBe(true);
    expect(counts['compare-what-if']).toEqual({ marks: 8, errors: 0 });
    await v.page.close();
  }, 120_000);
});
