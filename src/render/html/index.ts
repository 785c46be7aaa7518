/**
 * The HTML renderer: one self-contained, offline page per analysis (one input) or comparison
 * (several inputs), plus the same charts as static SVG for READMEs and CI artifacts.
 */
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { EnvironmentError, InputError } from '../../errors.js';
import { comparison, type ComparedSummary } from './compare.js';
import { pageHtml, type PageData } from './page.js';
import { traceSection, type HtmlInput } from './sections.js';
import type { Chart } from './specs.js';
import { DEFAULT_LIMITS, type TimelineLimits } from './timeline.js';

export type { HtmlInput } from './sections.js';
export type { TimelineLimits } from './timeline.js';

export interface HtmlOptions {
  /** when the timeline aggregates and how much; defaults suit ~1M kernels in a few MB */
  limits?: Partial<TimelineLimits>;
  /** charts for static files (SVG): no hints about dragging and zooming */
  static?: boolean;
  /** for several inputs: what `compare` measured per input (time per iteration, speed-up) */
  compared?: ComparedSummary[];
}

export interface PageBuild {
  data: PageData;
  charts: Chart[];
}

export function buildPage(inputs: HtmlInput[], options: HtmlOptions = {}): PageBuild {
  if (inputs.length === 0) throw new InputError('The HTML report needs at least one trace.');
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const sections = inputs.map((input, i) => traceSection(input, i, limits, !options.static));
  const cmp = inputs.length > 1 ? comparison(inputs, options.compared) : null;
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

/**
 * Opens a file with the platform's opener, detached. Resolves to null when a browser was started,
 * or to one sentence saying why none was (no display, no opener, the opener found no browser):
 * the report is written either way, so this is a warning, not an error.
 */
export function openInBrowser(path: string, env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): Promise<string | null> {
  const abs = resolve(path);
  const yourself = `open ${abs} in a browser yourself`;
  const [cmd, args] = platform === 'darwin' ? ['open', [abs]]
    : platform === 'win32' ? ['cmd', ['/c', 'start', '""', abs]]
      : ['xdg-open', [abs]];
  if (platform !== 'darwin' && platform !== 'win32' && !env.DISPLAY && !env.WAYLAND_DISPLAY && !env.WSL_DISTRO_NAME && !env.BROWSER) {
    return Promise.resolve(`--open: no browser to open the report with (no DISPLAY or WAYLAND_DISPLAY, no BROWSER set); ${yourself}.`);
  }
  return new Promise((done) => {
    const child = spawn(cmd, args, { detached: true, stdio: 'ignore', env });
    let settled = false;
    const finish = (v: string | null): void => { if (!settled) { settled = true; done(v); } };
    child.once('error', (e) => finish(`--open: could not run ${cmd} (${e.message}); ${yourself}.`));
    // an opener that finds no browser exits non-zero at once; one that started a browser returns 0 or keeps running
    child.once('exit', (code) => finish(code === 0 || code === null ? null : `--open: ${cmd} found no browser to open the report (exit ${code}); ${yourself}.`));
    child.once('spawn', () => {
      child.unref();
      setTimeout(() => finish(null), 3_000).unref();
    });
  });
}

/**
 * File names for a page's charts, after the inputs: "t0-gpu0-levels" of run.sqlite is
 * "run-gpu0-levels"; comparison charts are "<first>-vs-<n>-more-compare-metrics". Inputs that share
 * a name get their position appended; characters a shell or a file system would trip on become _.
 */
export function staticChartNames(files: string[]): (chartId: string) => string {
  const stem = (f: string): string => basename(f, extname(f)).replace(/[^A-Za-z0-9._+-]+/g, '_').replace(/^[.-]+/, '') || 'trace';
  const stems = files.map(stem);
  const unique = stems.map((s, i) => (stems.indexOf(s) !== stems.lastIndexOf(s) ? `${s}-${i + 1}` : s));
  const pageStem = files.length === 1 ? unique[0] : `${unique[0]}-vs-${files.length - 1}-more`;
  return (id) => {
    const m = /^t(\d+)-(.*)$/.exec(id);
    return m && unique[Number(m[1])] !== undefined ? `${unique[Number(m[1])]}-${m[2]}` : `${pageStem}-${id}`;
  };
}

/**
 * Writes every chart of the page as DIR/<input name>-<chart>.svg with vega's headless renderer. PNG needs
 * the native `canvas` package, which moe-trace does not depend on.
 */
export async function writeStaticCharts(inputs: HtmlInput[], dir: string, format: 'svg' | 'png' = 'svg', options: HtmlOptions = {}): Promise<string[]> {
  if (format !== 'svg') {
    throw new EnvironmentError('PNG export needs the native "canvas" npm package, which moe-trace does not install; use --svg DIR instead.');
  }
  const [vega, vegaLite] = await Promise.all([import('vega'), import('vega-lite')]);
  const { charts } = buildPage(inputs, { ...options, static: true });
  const names = staticChartNames(inputs.map((i) => i.report.input.file));
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const chart of charts) {
    if (!chart.spec) continue;
    const compiled = vegaLite.compile(chart.spec as unknown as Parameters<typeof vegaLite.compile>[0]).spec;
    const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
    const svg = await view.toSVG();
    view.finalize();
    const path = join(dir, `${names(chart.id)}.svg`);
    await writeFile(path, svg, 'utf8');
    written.push(path);
  }
  return written;
}
