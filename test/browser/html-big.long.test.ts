/** A million kernels and a comparison page, in the browser. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeHtmlReport } from '../../src/render/html/index.js';
import { bigReport, bigTrace } from '../render/html/big-fixture.js';
import { smallInput } from '../render/html/fixture.js';
import { haveChromium, launch, markCounts, networkRequests, skipReason, visit, type Session } from './harness.js';

const dir = mkdtempSync(join(tmpdir(), 'moe-trace-big-'));

describe.skipIf(!haveChromium)(`large and comparison pages in Chromium${haveChromium ? '' : ` (skipped: ${skipReason})`}`, () => {
  let session: Session;
  beforeAll(async () => { session = await launch(); }, 60_000);
  afterAll(async () => { await session?.close(); rmSync(dir, { recursive: true, force: true }); });

  it('renders a 1M-kernel trace from a page of at most 10 MB in a few seconds, saying it aggregated', async () => {
    const trace = bigTrace();
    const out = await writeHtmlReport([{ report: bigReport(trace), trace }], join(dir, 'big.html'));
    expect(out.aggregated).toBe(true);
    expect(out.bytes).toBeLessThan(10 * 1024 * 1024);
    const t0 = Date.now();
    const v = await visit(session, out.path, 60_000);
    const ms = Date.now() - t0;
    console.log(`1M kernels: page ${(out.bytes / 1e6).toFixed(2)} MB, rendered in ${ms} ms`);
    expect(ms).toBeLessThan(15_000);
    expect(v.consoleErrors).toEqual([]);
    expect(networkRequests(v)).toEqual([]);
    const counts = await markCounts(v.page);
    // the synthetic report lists no idle gaps, so only the gap histogram is empty
    for (const [id, c] of Object.entries(counts)) if (id !== 't0-gpu0-gaps') expect(c.marks, id).toBeGreaterThan(0);
    // the synthetic report lists no overlapping stream pair: a sentence instead of a 32 x 32 pale square
    expect(counts['t0-gpu0-pairs']).toBeUndefined();
    expect(await v.page.$eval('#chart-t0-gpu0-pairs', (e) => e.textContent)).toBe('GPU 0: no two streams overlapped — none of the 496 pairs of its 32 streams ever ran kernels at the same time.');
    // 3000 longest kernels + 2000 launch calls + 1000 syncs + 3000 NVTX ranges, plus bins, detail and overview
    expect(counts['t0-timeline'].marks).toBeLessThan(2 * (9_000 + 40 * 1_000));
    const notes = await v.page.$$eval('.moe-notes li, .moe-note', (els) => els.map((e) => e.textContent ?? ''));
    expect(notes.some((n) => n.startsWith('1,000,000 kernels: the 3,000 longest'))).toBe(true);
    await v.page.close();
  }, 180_000);

  it('compares two traces side by side on one time scale', async () => {
    const a = smallInput();
    const b = smallInput({ ...(await import('../render/html/fixture.js')).PLAIN, file: 'moe-grouped.sqlite' });
    const out = await writeHtmlReport([a, b], join(dir, 'compare.html'));
    const v = await visit(session, out.path);
    expect(v.consoleErrors).toEqual([]);
    expect(networkRequests(v)).toEqual([]);
    const counts = await markCounts(v.page);
    expect(counts['compare-metrics'].marks).toBe(4);
    // 4 kernels per trace
    expect(counts['compare-timelines'].marks).toBe(8);
    expect(counts['t1-timeline'].marks).toBe(24);
    const header = await v.page.$$eval('.moe-compare .moe-table tr:first-of-type th', (ths) => ths.map((t) => t.textContent));
    expect(header).toEqual(['metric', 'moe-small.sqlite · GPU 0', 'moe-grouped.sqlite · GPU 0']);
    const util = await v.page.$$eval('.moe-compare .moe-table tr', (trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent)).find((r) => r[0] === 'utilization'));
    expect(util).toEqual(['utilization', '60.0%', '60.0%']);
    await v.page.close();
  }, 60_000);
});
