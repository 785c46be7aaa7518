/** Names crafted to attack a report viewer must stay text (issue 7). */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeHtmlReport } from '../../src/render/html/index.js';
import { distinctNames, HTML_TABLES } from '../../src/render/tables.js';
import { HOSTILE, PLAIN, smallInput } from '../render/html/fixture.js';
import { haveChromium, itemCentre, launch, markCounts, networkRequests, skipReason, tooltipText, visit, type Session } from './harness.js';

const dir = mkdtempSync(join(tmpdir(), 'moe-trace-hostile-'));

describe.skipIf(!haveChromium)(`hostile names in Chromium${haveChromium ? '' : ` (skipped: ${skipReason})`}`, () => {
  let session: Session;
  beforeAll(async () => { session = await launch(); }, 60_000);
  afterAll(async () => { await session?.close(); rmSync(dir, { recursive: true, force: true }); });

  it('runs nothing, requests nothing and shows every name as text', async () => {
    const out = await writeHtmlReport([smallInput(HOSTILE)], join(dir, 'hostile.html'));
    const html = readFileSync(out.path, 'utf8');
    // the only <script> elements are ours: the data block and four inline scripts
    expect(html.match(/<script/g)).toHaveLength(5);
    const v = await visit(session, out.path);
    expect(v.dialogs).toEqual([]);
    expect(v.pageErrors).toEqual([]);
    expect(v.consoleErrors).toEqual([]);
    expect(v.cspViolations).toEqual([]);
    expect(networkRequests(v)).toEqual([]);
    const dom = await v.page.evaluate(() => ({
      scripts: document.scripts.length,
      images: document.images.length,
      svgs: document.querySelectorAll('svg').length,
      title: document.querySelector('.moe-trace h2')!.textContent,
      findings: document.querySelectorAll('.moe-finding').length,
      kernels: [...document.querySelectorAll('.moe-trace table[data-table="sm-fill"] tr th:first-child')].map((e) => e.textContent),
      docTitle: document.title,
    }));
    expect(dom).toMatchObject({ scripts: 5, images: 0, svgs: 0 });
    expect(dom.title).toBe(HOSTILE.file);
    expect(dom.docTitle).toBe(`moe-trace: ${HOSTILE.file}`);
    expect(dom.findings).toBeGreaterThan(0);
    expect(dom.kernels).toEqual(['kernel', ...distinctNames([HOSTILE.gemm, HOSTILE.gating], HTML_TABLES.maxName)]);
    const counts = await markCounts(v.page);
    expect(counts['t0-timeline'].marks).toBe(24);

    // tooltips are DOM too: kernel 2 is named like an <img> tag; kernel 0 ran inside the NVTX range
    // whose text holds U+2028, U+2029 and an RTL override
    const k2 = await tooltipText(v.page, (await itemCentre(v.page, 't0-timeline', { kind: 'kernel', kernel: 2 }))!);
    expect(k2).toContain(HOSTILE.gating);
    const k0 = await tooltipText(v.page, (await itemCentre(v.page, 't0-timeline', { kind: 'kernel', kernel: 0 }))!);
    expect(k0).toContain(HOSTILE.gemm);
    const expertCell = await v.page.$$eval('#moe-tooltip td', (tds) => tds.map((t) => t.textContent));
    expect(expertCell).toContain(HOSTILE.expert0);
    const layer = await tooltipText(v.page, (await itemCentre(v.page, 't0-timeline', { kind: 'nvtx', name: HOSTILE.layer }))!);
    expect(layer).toContain(HOSTILE.layer);
    expect(await v.page.evaluate(() => document.images.length + document.querySelectorAll('#moe-tooltip *:not(table,tbody,tr,th,td)').length)).toBe(0);
    expect(v.dialogs).toEqual([]);
    await v.page.close();
  }, 60_000);

  it('keeps control characters, lone surrogates and 1 MB names as (shortened) text', async () => {
    const names = {
      ...PLAIN,
      gemm: `gemm\u0000\u001b[31m\u0007\b${'x'.repeat(1 << 20)}`,
      gating: 'gate\ud800\udfff\udc00',
      expert0: '\u202Eright-to-left\u200F\u2066isolate',
      file: 'ctl\u0001\u007f.sqlite',
    };
    const out = await writeHtmlReport([smallInput(names)], join(dir, 'controls.html'));
    expect(out.bytes).toBeLessThan(2_000_000);
    const v = await visit(session, out.path);
    expect(v.dialogs).toEqual([]);
    expect(v.pageErrors).toEqual([]);
    expect(v.consoleErrors).toEqual([]);
    expect(networkRequests(v)).toEqual([]);
    const cells = await v.page.$$eval('.moe-trace table[data-table="sm-fill"] tr th:first-child', (ths) => ths.map((t) => t.textContent));
    expect(cells).toEqual(['kernel', ...distinctNames([names.gemm, names.gating], HTML_TABLES.maxName)]);
    expect(cells[1].startsWith(names.gemm.slice(0, 60))).toBe(true);
    expect(cells[1].length).toBe(HTML_TABLES.maxName);
    expect(await v.page.$eval('.moe-trace h2', (h) => h.textContent)).toBe(names.file);
    const tip = await tooltipText(v.page, (await itemCentre(v.page, 't0-timeline', { kind: 'kernel', kernel: 0 }))!);
    expect(tip).toContain(`(${names.gemm.length.toLocaleString('en-US')} characters)`);
    const expert = await v.page.$$eval('#moe-tooltip td', (tds) => tds.map((t) => t.textContent));
    expect(expert).toContain(names.expert0);
    await v.page.close();
  }, 60_000);
});
