/**
 * Drives Debian's Chromium with playwright-core, kept off the network, and records what a page
 * did: console errors, page errors, dialogs, requests and CSP violations.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.MOE_TRACE_CHROMIUM ?? '/usr/bin/chromium';
export const haveChromium = existsSync(CHROMIUM);
export const skipReason = `browser tests need Chromium at ${CHROMIUM} (apt-get install chromium, or set MOE_TRACE_CHROMIUM)`;

const FLAGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-default-apps', '--disable-extensions',
  '--metrics-recording-only', '--no-default-browser-check',
];

export interface Session {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launch(): Promise<Session> {
  const profile = mkdtempSync(join(tmpdir(), 'moe-trace-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1280, height: 900 }, offline: true,
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export interface Visit {
  page: Page;
  consoleErrors: string[];
  pageErrors: string[];
  dialogs: string[];
  /** every request the page made, by URL */
  requests: string[];
  cspViolations: string[];
}

/** Opens a file:// page and waits until its charts have rendered (or failed). */
export async function visit(session: Session, file: string, timeoutMs = 30_000): Promise<Visit> {
  const page = await session.context.newPage();
  const v: Visit = { page, consoleErrors: [], pageErrors: [], dialogs: [], requests: [], cspViolations: [] };
  page.on('console', (m) => { if (m.type() === 'error') v.consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => v.pageErrors.push(e.message));
  page.on('dialog', (d) => { v.dialogs.push(d.message()); void d.dismiss(); });
  page.on('request', (r) => v.requests.push(r.url()));
  await page.route('**/*', (route) => (route.request().url().startsWith('file://') ? route.continue() : route.abort()));
  await page.addInitScript(() => {
    const w = window as unknown as { __csp: string[] };
    w.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => w.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  await page.goto(pathToFileURL(file).href);
  await page.waitForFunction(() => (window as unknown as { __moeTrace?: { ready: boolean } }).__moeTrace?.ready === true, null, { timeout: timeoutMs });
  v.cspViolations = await page.evaluate(() => (window as unknown as { __csp: string[] }).__csp);
  return v;
}

export function networkRequests(v: Visit): string[] {
  return v.requests.filter((u) => !u.startsWith('file://'));
}

/** Mark items drawn by each chart view, found by walking the vega scenegraph. */
export async function markCounts(page: Page): Promise<Record<string, { marks: number; errors: number }>> {
  return page.evaluate(() => {
    type Node = { marktype?: string; items?: Node[]; role?: string };
    const state = (window as unknown as { __moeTrace: { views: Record<string, { scenegraph(): { root: Node } }>; errors: string[] } }).__moeTrace;
    const out: Record<string, { marks: number; errors: number }> = {};
    for (const [id, view] of Object.entries(state.views)) {
      let marks = 0;
      // Marks hold items; group items hold marks. Count the items of data marks only (not axes, legends, titles).
      const walk = (n: Node): void => {
        if (n.marktype !== undefined && n.marktype !== 'group') {
          if (n.role === 'mark') marks += (n.items ?? []).length;
          return;
        }
        for (const c of n.items ?? []) walk(c);
      };
      walk(view.scenegraph().root);
      out[id] = { marks, errors: state.errors.filter((e) => e.startsWith(id + ':')).length };
    }
    return out;
  });
}

/**
 * Page coordinates of the centre of the first mark item of a chart whose datum has the given
 * field values (item bounds are relative to their group; groups are summed up to the view).
 */
export async function itemCentre(page: Page, chartId: string, match: Record<string, unknown>, nth = 0): Promise<{ x: number; y: number } | null> {
  return page.evaluate(([id, want, skip]) => {
    type Item = { datum?: Record<string, unknown>; bounds?: { x1: number; x2: number; y1: number; y2: number }; x?: number; y?: number; mark?: Mark; items?: Mark[] };
    type Mark = { marktype?: string; role?: string; items?: Item[]; group?: Item };
    const view = (window as unknown as { __moeTrace: { views: Record<string, { scenegraph(): { root: Mark }; origin(): [number, number]; padding(): { left: number; top: number }; container(): HTMLElement }> } }).__moeTrace.views[id];
    let found: Item | null = null;
    let left = skip;
    const walk = (m: Mark): void => {
      for (const item of m.items ?? []) {
        if (found) return;
        if (m.marktype === 'group') { for (const c of item.items ?? []) walk(c); continue; }
        if (m.role === 'mark' && item.datum && Object.entries(want).every(([k, v]) => item.datum![k] === v) && left-- === 0) found = item;
      }
    };
    walk(view.scenegraph().root);
    if (!found) return null;
    const it = found as Item;
    let x = (it.bounds!.x1 + it.bounds!.x2) / 2;
    let y = (it.bounds!.y1 + it.bounds!.y2) / 2;
    // the root group sits at the view origin, which origin() already gives
    for (let g = it.mark?.group; g && g.mark?.group; g = g.mark.group) { x += g.x ?? 0; y += g.y ?? 0; }
    // vega hit-tests relative to origin + padding (measured: items sit `padding` px further in)
    const pad = view.padding();
    const ox = view.origin()[0] + pad.left;
    const oy = view.origin()[1] + pad.top;
    const canvas = (): DOMRect => view.container().querySelector('canvas')!.getBoundingClientRect();
    // bring the item into the viewport first: mouse events only reach what is on screen
    const top = canvas().top + oy + y;
    if (top < 0 || top > window.innerHeight) window.scrollBy(0, top - window.innerHeight / 2);
    const pageLeft = canvas().left + ox + x;
    if (pageLeft < 0 || pageLeft > window.innerWidth) window.scrollBy(pageLeft - window.innerWidth / 2, 0);
    return { x: canvas().left + ox + x, y: canvas().top + oy + y };
  }, [chartId, match, nth] as const);
}

export async function tooltipText(page: Page, at: { x: number; y: number }): Promise<string> {
  await page.mouse.move(at.x, at.y);
  await page.waitForSelector('#moe-tooltip.visible', { timeout: 5_000 });
  return page.$eval('#moe-tooltip', (e) => (e as HTMLElement).innerText);
}
