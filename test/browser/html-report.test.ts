import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeHtmlReport } from '../../src/render/html/index.js';
import { smallInput } from '../render/html/fixture.js';
import { haveChromium, itemCentre, launch, markCounts, networkRequests, skipReason, tooltipText, visit, type Session } from './harness.js';

const dir = mkdtempSync(join(tmpdir(), 'moe-trace-html-'));

describe.skipIf(!haveChromium)(`HTML report in Chromium${haveChromium ? '' : ` (skipped: ${skipReason})`}`, () => {
  let session: Session;
  beforeAll(async () => { session = await launch(); }, 60_000);
  afterAll(async () => { await session?.close(); rmSync(dir, { recursive: true, force: true }); });

  it('opens offline with no errors, no requests and no CSP violation, and draws every chart', async () => {
    const out = await writeHtmlReport([smallInput()], join(dir, 'small.html'));
    const v = await visit(session, out.path);
    expect(v.consoleErrors).toEqual([]);
    expect(v.pageErrors).toEqual([]);
    expect(v.cspViolations).toEqual([]);
    expect(networkRequests(v)).toEqual([]);
    expect(v.requests).toEqual([`file://${out.path}`]);
    const counts = await markCounts(v.page);
    // timeline: 4 kernels + 4 launches + 1 sync + 3 NVTX ranges, drawn in the detail and the overview
    expect(counts['t0-timeline'].marks).toBe(24);
    expect(counts['t0-gpu0-levels'].marks).toBe(3);
    expect(counts['t0-gpu0-occupancy'].marks).toBe(3);
    // only streams 7 and 13 overlapped: a 2 x 2 matrix without its diagonal
    expect(counts['t0-gpu0-pairs'].marks).toBe(2);
    expect(counts['t0-gpu0-gaps'].marks).toBe(2);
    // one line item per step point: n(t) changes at 0, 2, 4, 7, 9, 11, 19 and 25 µs into the window
    expect(counts['t0-gpu0-concurrency'].marks).toBe(8);
    expect(Object.values(counts).every((c) => c.errors === 0)).toBe(true);
    expect(await v.page.getAttribute('html', 'data-state')).toBe('ready');
    await v.page.close();
  }, 60_000);

  it('shows the right numbers in the tooltip of a known kernel', async () => {
    const out = await writeHtmlReport([smallInput()], join(dir, 'tooltip.html'));
    const v = await visit(session, out.path);
    // kernel 1: stream 13, [3000, 8000] in a window starting at 1000, launched inside "expert 1"
    const at = await itemCentre(v.page, 't0-timeline', { kind: 'kernel', kernel: 1 });
    expect(at).not.toBeNull();
    const text = await tooltipText(v.page, at!);
    expect(text).toContain('expert_gemm');
    expect(text).toMatch(/stream\s+13/);
    expect(text).toMatch(/start\s+2\.000 µs/);
    expect(text).toMatch(/duration\s+5\.000 µs/);
    expect(text).toMatch(/grid\s+32×2×1/);
    expect(text).toMatch(/NVTX range\s+expert 1/);
    await v.page.close();
  }, 60_000);

  it('zooms the detail timeline to the brushed interval of the overview', async () => {
    const out = await writeHtmlReport([smallInput()], join(dir, 'brush.html'));
    const v = await visit(session, out.path);
    type V = { signal(n: string): unknown; scale(n: string): { domain(): number[] }; _runtime: { scales: Record<string, unknown> } };
    const domain = (): Promise<number[]> => v.page.evaluate(() =>
      (window as unknown as { __moeTrace: { views: Record<string, V> } }).__moeTrace.views['t0-timeline'].scale('concat_0_x').domain());
    // it opens on the iterations the Report found (here the two "expert #" ranges: GPU 0 .. 7 µs, plus 1% either side)
    const first = await domain();
    expect(first[0]).toBe(0);
    expect(first[1]).toBeCloseTo(7.07, 3);
    // drag in the overview from the middle of kernel 0 (stream 7) to the middle of kernel 2 (stream 14), after a double-click clears the first view
    const from = await itemCentre(v.page, 't0-timeline', { kind: 'kernel', kernel: 0 }, 1);
    const to = await itemCentre(v.page, 't0-timeline', { kind: 'kernel', kernel: 2 }, 1);
    await v.page.mouse.dblclick(from!.x, from!.y);
    expect((await domain())[1]).toBeCloseTo(25, 3);
    await v.page.mouse.move(from!.x, from!.y);
    await v.page.mouse.down();
    await v.page.mouse.move(to!.x, from!.y, { steps: 5 });
    await v.page.mouse.up();
    const [brush, detail] = await v.page.evaluate(() => {
      const view = (window as unknown as { __moeTrace: { views: Record<string, V> } }).__moeTrace.views['t0-timeline'];
      return [view.signal('brush') as { start: number[] }, view.scale('concat_0_x').domain()];
    });
    // kernel 0 spans 0-4 µs and kernel 2 9-11 µs of the window: their middles are 2 and 10 µs (36 px per µs)
    expect(brush.start[0]).toBeCloseTo(2, 1);
    expect(brush.start[1]).toBeCloseTo(10, 1);
    expect(detail).toEqual(brush.start);
    await v.page.close();
  }, 60_000);
});
