import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EnvironmentError, InputError } from '../../../src/errors.js';
import { buildPage, renderHtml, writeHtmlReport, writeStaticCharts } from '../../../src/render/html/index.js';
import { HOSTILE, PLAIN, smallInput } from './fixture.js';

const dir = mkdtempSync(join(tmpdir(), 'moe-trace-page-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const inlineScripts = (html: string): string[] => [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]);
const csp = (html: string): string => /http-equiv="Content-Security-Policy" content="([^"]*)"/.exec(html)![1];
const dataBlock = (html: string): unknown => JSON.parse(/<script type="application\/json" id="moe-data">([\s\S]*?)<\/script>/.exec(html)![1]);

describe('renderHtml', () => {
  const html = renderHtml([smallInput()]);

  it('allows exactly its own inline scripts and style, and nothing from the network', () => {
    const policy = csp(html);
    const scripts = inlineScripts(html);
    expect(scripts).toHaveLength(4);
    const hashes = scripts.map((s) => `'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`);
    expect(policy).toContain(`script-src ${hashes.join(' ')};`);
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)![1];
    expect(policy).toContain(`style-src 'sha256-${createHash('sha256').update(style, 'utf8').digest('base64')}';`);
    expect(policy).toMatch(/^default-src 'none'; /);
    expect(policy).not.toMatch(/unsafe-eval|unsafe-inline|https?:|\*/);
    expect(html).not.toMatch(/(src|href)=["']?(https?:)?\/\//);
  });

  it('carries the charts, headline and findings as data', () => {
    const data = dataBlock(html) as { traces: { title: string; headline: string[]; charts: { id: string }[]; findings: { id: string }[] }[]; comparison: unknown };
    expect(data.comparison).toBeNull();
    expect(data.traces[0].title).toBe('moe-small.sqlite');
    expect(data.traces[0].headline[0]).toMatch(/3 streams, overlap share 13\.3%, GPU utilization 60\.0%, 1 host sync$/);
    expect(data.traces[0].findings.map((f) => f.id)).toContain('host-sync-stall');
    expect(data.traces[0].charts.map((c) => c.id)).toEqual(['t0-timeline', 't0-gpu0-waterfall', 't0-gpu0-concurrency', 't0-gpu0-levels', 't0-gpu0-occupancy', 't0-gpu0-pairs', 't0-gpu0-gaps',
      // its expert NVTX ranges give the experts chart and the what-if bars (issue 15)
      't0-gpu0-experts', 't0-gpu0-what-if']);
  });

  it('never writes a trace string as markup', () => {
    const hostile = renderHtml([smallInput(HOSTILE)]);
    for (const s of Object.values(HOSTILE)) expect(hostile.includes(s), s).toBe(false);
    expect(hostile.match(/<script/g)).toHaveLength(5);
    expect(hostile.match(/<\/script>/g)).toHaveLength(5);
    // everything up to the inlined libraries: head, body markup and the data block
    const ours = hostile.slice(0, hostile.indexOf('<script>'));
    expect(/<img|<svg|<b>|\u2028|\u2029/.test(ours)).toBe(false);
    const data = dataBlock(hostile) as { traces: { title: string }[] };
    expect(data.traces[0].title).toBe(HOSTILE.file);
  });

  it('builds a comparison block for several traces', () => {
    const page = buildPage([smallInput(), smallInput({ ...PLAIN, file: 'other.sqlite' })]);
    expect(page.data.comparison!.table.header).toEqual(['metric', 'moe-small.sqlite · GPU 0', 'other.sqlite · GPU 0']);
    expect(page.data.comparison!.table.rows.find((r) => r[0] === 'overlap share')).toEqual(['overlap share', '13.3%', '13.3%']);
    expect(page.data.comparison!.table.rows.find((r) => r[0] === 'sync-stall idle')).toEqual(['sync-stall idle', '7.990 µs', '7.990 µs']);
    // measured vs projected (issue 15) after the iterations
    expect(page.charts.map((c) => c.id).slice(0, 5)).toEqual(['compare-iterations', 'compare-what-if', 'compare-metrics', 'compare-timelines', 't0-timeline']);
  });

  it('refuses an empty input list', () => {
    expect(() => renderHtml([])).toThrow(InputError);
  });
});

describe('writeHtmlReport', () => {
  it('creates the folder and reports the size it wrote', async () => {
    const out = await writeHtmlReport([smallInput()], join(dir, 'nested', 'r.html'));
    expect(out.path).toBe(join(dir, 'nested', 'r.html'));
    expect(out.bytes).toBe(readFileSync(out.path).length);
    expect(out.aggregated).toBe(false);
  });
});

describe('writeStaticCharts', () => {
  it('writes every chart as SVG with its marks drawn', async () => {
    const files = await writeStaticCharts([smallInput()], join(dir, 'svg'), 'svg');
    expect(readdirSync(join(dir, 'svg')).sort()).toEqual(['moe-small-gpu0-concurrency.svg', 'moe-small-gpu0-experts.svg', 'moe-small-gpu0-gaps.svg', 'moe-small-gpu0-levels.svg', 'moe-small-gpu0-occupancy.svg', 'moe-small-gpu0-pairs.svg', 'moe-small-gpu0-waterfall.svg', 'moe-small-gpu0-what-if.svg', 'moe-small-timeline.svg']);
    // a static file has nothing to drag
    expect(readFileSync(files.find((f) => f.endsWith('timeline.svg'))!, 'utf8')).not.toContain('Drag across');
    const levels = readFileSync(files.find((f) => f.endsWith('levels.svg'))!, 'utf8');
    expect(levels).toMatch(/^<svg/);
    // one bar per level, labelled with its exact time
    expect(levels.match(/aria-roledescription="bar"/g)).toHaveLength(3);
    expect(levels).toContain('time: 13.00 µs; share of window: 52.0%');
    expect(readFileSync(files.find((f) => f.endsWith('timeline.svg'))!, 'utf8')).toContain('expert 1');
  });

  it('escapes trace strings in the SVG text', async () => {
    const files = await writeStaticCharts([smallInput(HOSTILE)], join(dir, 'svg-hostile'), 'svg');
    const svg = readFileSync(files.find((f) => f.endsWith('timeline.svg'))!, 'utf8');
    expect(/<img|<script|<svg onload|<b>/.test(svg)).toBe(false);
    expect(svg).toContain('&lt;img src=x onerror=alert(1)&gt;');
  });

  it('names the files after the inputs, so charts of two runs do not overwrite each other', async () => {
    const { staticChartNames } = await import('../../../src/render/html/index.js');
    const one = staticChartNames(['/data/run a.sqlite']);
    expect([one('t0-timeline'), one('t0-gpu1-levels')]).toEqual(['run_a-timeline', 'run_a-gpu1-levels']);
    const two = staticChartNames(['a/x.sqlite', 'b/x.sqlite', 'c/<img>.sqlite']);
    expect([two('t0-timeline'), two('t1-timeline'), two('t2-timeline'), two('compare-metrics')])
      .toEqual(['x-1-timeline', 'x-2-timeline', '_img_-timeline', 'x-1-vs-2-more-compare-metrics']);
  });

  it('says PNG needs the canvas package', async () => {
    await expect(writeStaticCharts([smallInput()], join(dir, 'png'), 'png')).rejects.toThrow(EnvironmentError);
  });
});

describe('openInBrowser', () => {
  const linux = process.platform !== 'linux';
  it.skipIf(linux)('says there is no browser when there is no display', async () => {
    const { openInBrowser } = await import('../../../src/render/html/index.js');
    expect(await openInBrowser('/tmp/x.html', { PATH: process.env.PATH }, 'linux'))
      .toBe('--open: no browser to open the report with (no DISPLAY or WAYLAND_DISPLAY, no BROWSER set); open /tmp/x.html in a browser yourself.');
  });
  it.skipIf(linux)('says so in one line when the platform opener is missing', async () => {
    const { openInBrowser } = await import('../../../src/render/html/index.js');
    expect(await openInBrowser('/tmp/x.html', { PATH: '/nonexistent', DISPLAY: ':0' }, 'linux'))
      .toMatch(/^--open: could not run xdg-open \(.*ENOENT.*\); open \/tmp\/x\.html in a browser yourself\.$/);
  });
  it.skipIf(linux)('says so when the opener finds no browser', async () => {
    const { openInBrowser } = await import('../../../src/render/html/index.js');
    const bin = join(dir, 'bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'xdg-open'), '#!/bin/sh\necho "no method available for opening $1" >&2\nexit 3\n', { mode: 0o755 });
    expect(await openInBrowser('/tmp/x.html', { PATH: `${bin}:/usr/bin:/bin`, DISPLAY: ':0' }, 'linux'))
      .toBe('--open: xdg-open found no browser to open the report (exit 3); open /tmp/x.html in a browser yourself.');
    writeFileSync(join(bin, 'xdg-open'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    expect(await openInBrowser('/tmp/x.html', { PATH: `${bin}:/usr/bin:/bin`, DISPLAY: ':0' }, 'linux')).toBeNull();
  });
});
