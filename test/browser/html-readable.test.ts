/**
 * What a reader sees on real captures (issue 16): NVTX rows named after their ranges, a legend
 * that keeps kernels apart from ranges, the stream-pair matrix only where streams overlapped (a
 * sentence otherwise), occupancy ticks that differ, kernel names that stay distinct, every table
 * of `--full`, the timeline opening on the iterations, charts as wide as the window.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeHtmlReport } from '../../src/render/html/index.js';
import { buildTimeline } from '../../src/render/html/timeline.js';
import { htmlInput } from '../../src/commands/analyze.js';
import { HTML_TABLES, reportTables } from '../../src/render/tables.js';
import { haveChromium, launch, markCounts, networkRequests, skipReason, visit, type Session } from './harness.js';
import { fixtureReport, fixtureTrace } from '../helpers/fixture-reports.js';

const dir = mkdtempSync(join(tmpdir(), 'moe-trace-readable-'));

/** Texts of the scenegraph items with a given role (axis-label, legend-label, ...) of one chart. */
function texts(page: Page, chartId: string, role: string): Promise<string[]> {
  return page.evaluate(([id, r]) => {
    type Node = { role?: string; marktype?: string; items?: Node[]; text?: string };
    const view = (window as unknown as { __moeTrace: { views: Record<string, { scenegraph(): { root: Node } }> } }).__moeTrace.views[id];
    const out: string[] = [];
    const walk = (n: Node): void => {
      if (n.marktype && n.role === r) { for (const it of n.items ?? []) out.push(String(it.text)); return; }
      for (const c of n.items ?? []) walk(c);
    };
    walk(view.scenegraph().root);
    return out;
  }, [chartId, role] as const);
}

function load(file: string) {
  return htmlInput(fixtureReport(file), fixtureTrace(file));
}

describe.skipIf(!haveChromium)(`readable HTML on real captures${haveChromium ? '' : ` (skipped: ${skipReason})`}`, () => {
  let session: Session;
  beforeAll(async () => { session = await launch(); }, 60_000);
  afterAll(async () => { await session?.close(); rmSync(dir, { recursive: true, force: true }); });

  it('whole-process capture: NVTX rows named by their ranges, kernels apart from ranges in the legend, opens on the iterations, full width', async () => {
    const input = load('fixtures/nsys-2025.3-whole/torch-streams-sync.sqlite');
    const out = await writeHtmlReport([input], join(dir, 'whole.html'));
    const v = await visit(session, out.path, 60_000);
    expect(v.pageErrors).toEqual([]);
    expect(v.consoleErrors).toEqual([]);
    expect(networkRequests(v)).toEqual([]);
    const rows = await texts(v.page, 't0-timeline', 'axis-label');
    const nvtxRows = rows.filter((r) => r.startsWith('NVTX'));
    expect(nvtxRows).toEqual(['NVTX forward streams-sync # +2', 'NVTX expert #', 'NVTX cub::DeviceSelect::Flagged +1']);
    expect(rows.some((r) => /tid \d+ · L\d/.test(r))).toBe(false);
    const legend = await texts(v.page, 't0-timeline', 'legend-label');
    expect(legend[0]).toBe('range: expert #');
    expect(legend.every((l) => /^(range|kernel): /.test(l) || l === 'other')).toBe(true);
    // CUB's own NVTX range is no expert: its kernels are keyed by their names
    expect(legend.filter((l) => l.includes('cub::'))).toEqual([]);
    expect(legend).toContain('kernel: DeviceSelectSweepKernel');
    // the first view is the 5 iterations, not the 710 ms window with model load and warm-up
    // (the window is the steady-state iterations; the timeline spans the whole capture around it)
    const w = input.report.devices[0].window;
    expect(w.source).toBe('iterations');
    const tl = buildTimeline(input.report, input.trace, undefined, input.expertOf);
    const axis = tl.axis;
    const focus = { start: tl.focus!.start * axis.unitNs + axis.originNs, end: tl.focus!.end * axis.unitNs + axis.originNs };
    expect(focus.start).toBeLessThan(w.start);
    expect(focus.end).toBeGreaterThan(w.end);
    expect(focus.end - focus.start).toBeLessThan(1.03 * (w.end - w.start));
    const domain = await v.page.evaluate(() => (window as unknown as { __moeTrace: { views: Record<string, { scale(n: string): { domain(): number[] } }> } })
      .__moeTrace.views['t0-timeline'].scale('concat_0_x').domain());
    expect(domain[0]).toBeCloseTo((focus.start - axis.originNs) / axis.unitNs, 6);
    expect(domain[1]).toBeCloseTo((focus.end - axis.originNs) / axis.unitNs, 6);
    expect(domain[1] - domain[0]).toBeLessThan(0.35 * axis.span);
    // the charts use the window's width (1280 px here), not a fixed 900 px
    const width = await v.page.$eval('#chart-t0-timeline canvas', (c) => c.getBoundingClientRect().width);
    expect(width).toBeGreaterThan(0.75 * 1280);
    expect(width).toBeLessThanOrEqual(1280);
    await v.page.close();
  }, 120_000);

  it('no overlap: a sentence instead of the pair matrix; occupancy ticks differ; every table of --full, names distinct', async () => {
    const input = load('fixtures/nsys-2025.3/torch-streams-sync.sqlite');
    const out = await writeHtmlReport([input], join(dir, 'serial.html'));
    const v = await visit(session, out.path, 60_000);
    expect(v.pageErrors).toEqual([]);
    const pairs = await v.page.$eval('#chart-t0-gpu0-pairs', (e) => ({ text: e.textContent, canvases: e.querySelectorAll('canvas').length }));
    expect(pairs.canvases).toBe(0);
    expect(pairs.text).toMatch(/^GPU 0: no two streams overlapped — none of the [\d,]+ pairs of its \d+ streams ever ran kernels at the same time\.$/);
    const ticks = (await texts(v.page, 't0-gpu0-occupancy', 'axis-label')).filter((t) => t.endsWith('%'));
    expect(ticks.length).toBeGreaterThanOrEqual(3);
    expect(new Set(ticks).size).toBe(ticks.length);
    // every table the terminal prints with --full is on the page, with the same rows
    const tables = await v.page.$$eval('table.moe-table', (ts) => ts.map((t) => ({
      key: t.getAttribute('data-table'), caption: t.querySelector('caption')!.textContent,
      first: [...t.querySelectorAll('tr')].map((r) => r.firstElementChild!.textContent),
    })));
    const want = reportTables(input.report, HTML_TABLES);
    expect(want.map((t) => t.key)).toEqual(expect.arrayContaining(['metrics', 'levels', 'streams', 'stream-pairs', 'gaps', 'launch', 'host-syncs', 'nvtx', 'sm-fill']));
    for (const t of want) {
      const got = tables.find((x) => x.caption === t.caption);
      expect(got, t.caption).toBeDefined();
      expect(got!.key).toBe(t.key);
      if (t.rows.length > 0) expect(got!.first.slice(1, 1 + t.rows.length)).toEqual(t.rows.map((r) => r[0]));
    }
    // SM-fill row names: as many distinct names on the page as kernels in the report
    const fill = tables.find((x) => x.key === 'sm-fill')!.first.slice(1).filter((n) => !n!.startsWith('…'));
    expect(new Set(fill).size).toBe(fill.length);
    await v.page.close();
  }, 120_000);

  it('overlap: the pair matrix shows only streams that overlapped', async () => {
    const input = load('fixtures/nsys-2025.3/graph.sqlite');
    const d = input.report.devices[0];
    const involved = new Set(d.streamPairs.filter((p) => p.overlap > 0).flatMap((p) => [p.a, p.b]));
    expect(involved.size).toBeGreaterThan(1);
    const out = await writeHtmlReport([input], join(dir, 'graph.html'));
    const v = await visit(session, out.path, 60_000);
    const labels = await texts(v.page, 't0-gpu0-pairs', 'axis-label');
    // each label twice (x and y axis), streams that overlapped only, at most the 32 with the most overlap
    const shown = new Set(labels);
    expect(shown.size).toBe(Math.min(32, involved.size));
    for (const l of shown) expect(involved.has(Number(l.replace('stream ', '')))).toBe(true);
    await v.page.close();
  }, 120_000);

  it('draws the waterfall of one iteration and, for several files, their iterations on one axis', async () => {
    const files = ['sequential', 'streams-sync', 'grouped'].map((m) => load(`fixtures/nsys-2025.3/${m}.sqlite`));
    const { compareReports, traceLabels } = await import('../../src/commands/compare.js');
    const compared = compareReports(files.map((f) => f.report), traceLabels(files.map((f) => f.report.input.file))).traces;
    const out = await writeHtmlReport(files, join(dir, 'compare.html'), { compared });
    const v = await visit(session, out.path, 60_000);
    expect(v.pageErrors).toEqual([]);
    expect(v.consoleErrors).toEqual([]);
    const counts = await markCounts(v.page);
    // 3 files x 3 iterations
    expect(counts['compare-iterations'].marks).toBe(9);
    const bars = await texts(v.page, 'compare-iterations', 'axis-label');
    expect(bars).toEqual(expect.arrayContaining(['sequential.sqlite · GPU 0', 'streams-sync.sqlite · GPU 0', 'grouped.sqlite · GPU 0']));
    // streams-sync's waterfall: its kernels, launches, syncs and idle bands are drawn
    expect(counts['t1-gpu0-waterfall'].marks).toBeGreaterThan(249 + 64);
    const speedup = await v.page.$$eval('.moe-compare table tr', (rows) => rows.map((r) => [...r.children].map((c) => c.textContent)).find((r) => r[0]!.startsWith('speed-up vs')));
    expect(speedup).toEqual(['speed-up vs sequential.sqlite', ...compared.map((t) => `${t.speedup!.toFixed(2)}x`)]);
    await v.page.close();
  }, 120_000);
});
