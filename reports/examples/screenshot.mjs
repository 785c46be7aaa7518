// Screenshots of a report's charts in headless Chromium (playwright-core + Debian's chromium):
//   node reports/examples/screenshot.mjs PAGE.html OUT.png [CHART-ID] [WIDTH]
// CHART-ID: e.g. t0-timeline (default: the whole page). Used for the README's pictures.
import { chromium } from 'playwright-core';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [page, out, chart, width = '1400'] = process.argv.slice(2);
if (!page || !out) {
  console.error('usage: node reports/examples/screenshot.mjs PAGE.html OUT.png [CHART-ID] [WIDTH]');
  process.exit(2);
}
const browser = await chromium.launch({ executablePath: process.env.MOE_TRACE_CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
try {
  const p = await browser.newPage({ viewport: { width: Number(width), height: 900 } });
  await p.goto(pathToFileURL(resolve(page)).href);
  await p.waitForFunction(() => window.__moeTrace?.ready === true, null, { timeout: 120_000 });
  if (chart) await (await p.$(`#chart-${chart}`)).screenshot({ path: out });
  else await p.screenshot({ path: out, fullPage: true });
} finally {
  await browser.close();
}
