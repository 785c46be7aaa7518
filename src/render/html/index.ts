/**
 * The HTML renderer: one self-contained, offline page per analysis (one input) or comparison
 * (several inputs), plus the same charts as static SVG for READMEs and CI artifacts.
 */
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { EnvironmentError, InputError } from '../../errors.js';
import { comparison } from './compare.js';
import { pageHtml, type PageData } from './page.js';
import { traceSection, type HtmlInput } from './sections.js';
import type { Chart } from './specs.js';
import { DEFAULT_LIMITS, type TimelineLimits } from './timeline.js';

export type { HtmlInput } from './sections.js';
export type { TimelineLimits } from './timeline.js';

export interface HtmlOptions {
  /** when the timeline aggregates and how much; defaults suit ~1M kernels in a few MB */
  limits?: Partial<TimelineLimits>;
}

export interface PageBuild {
  data: PageData;
  charts: Chart[];
}

export function buildPage(inputs: HtmlInput[], options: HtmlOptions = {}): PageBuild {
  if (inputs.length === 0) throw new InputError('The HTML report needs at least one trace.');
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const sections = inputs.map((input, i) => traceSection(input, i, limits));
  const cmp = inputs.length > 1 ? comparison(inputs) : null;
  const data: PageData = {
    aggregated: sections.some((s) => s.aggregated) || (cmp?.aggregated ?? false),
    traces: sections.map((s) => s.section),
    comparison: cmp ? { table: cmp.table, charts: cmp.charts } : null,
  };
  return { data, charts: [...(cmp?.charts ?? []), ...data.traces.flatMap((t) => t.charts)] };
}

/** The page as one string: one input = one report, several = a comparison page. */
export function renderHtml(inputs: HtmlInput[], options: HtmlOptions = {}): string {
  return pageHtml(buildPage(inputs, options).data);
}

export async function writeHtmlReport(inputs: HtmlInput[], outPath: string, options: HtmlOptions = {}): Promise<{ path: string; bytes: number; aggregated: boolean }> {
  const { data } = buildPage(inputs, options);
  const html = pageHtml(data);
  const path = resolve(outPath);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, html, 'utf8');
  return { path, bytes: Buffer.byteLength(html, 'utf8'), aggregated: data.aggregated };
}

/** Opens a file with the platform's opener, detached, without waiting for the browser. */
export function openInBrowser(path: string): Promise<void> {
  const abs = resolve(path);
  const [cmd, args] = process.platform === 'darwin' ? ['open', [abs]]
    : process.platform === 'win32' ? ['cmd', ['/c', 'start', '""', abs]]
      : ['xdg-open', [abs]];
  return new Promise((done, fail) => {
    const child = spawn(cmd, args, { detached: true, stdio: 'ignore' });
    child.once('error', (e) => fail(new EnvironmentError(`Could not open ${abs} with ${cmd} (${e.message}); open the file in a browser yourself.`)));
    child.once('spawn', () => { child.unref(); done(); });
  });
}

/**
 * Writes every chart of the page as DIR/<chart id>.svg with vega's headless renderer. PNG needs
 * the native `canvas` package, which moe-trace does not depend on.
 */
export async function writeStaticCharts(inputs: HtmlInput[], dir: string, format: 'svg' | 'png' = 'svg', options: HtmlOptions = {}): Promise<string[]> {
  if (format !== 'svg') {
    throw new EnvironmentError('PNG export needs the native "canvas" npm package, which moe-trace does not install; use --svg DIR instead.');
  }
  const [vega, vegaLite] = await Promise.all([import('vega'), import('vega-lite')]);
  const { charts } = buildPage(inputs, options);
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const chart of charts) {
    const compiled = vegaLite.compile(chart.spec as unknown as Parameters<typeof vegaLite.compile>[0]).spec;
    const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
    const svg = await view.toSVG();
    view.finalize();
    const path = join(dir, `${chart.id}.svg`);
    await writeFile(path, svg, 'utf8');
    written.push(path);
  }
  return written;
}
