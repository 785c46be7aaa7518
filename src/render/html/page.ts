/**
 * Assembles the single-file page: CSP, styles, the data block and the inline scripts. No trace
 * string is written as markup here: they all travel inside the JSON data block.
 */
import { cspHash, jsonForScript, libraryScripts, scriptSafe } from './assets.js';
import { CLIENT_SCRIPT } from './client.js';
import type { Chart } from './specs.js';
import type { Table, TraceSection } from './sections.js';

export interface PageData {
  aggregated: boolean;
  traces: TraceSection[];
  comparison: { table: Table; charts: Chart[] } | null;
}

const STYLE = `
:root { color-scheme: light; --fg: #1d1d1f; --muted: #666; --line: #ddd; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); margin: 0; background: #fafafa; }
header { background: #222; color: #fff; padding: 12px 24px; }
header h1 { font-size: 18px; margin: 0; }
main { padding: 8px 24px 48px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 12px 20px; margin: 16px 0; }
h2 { font-size: 17px; margin: 4px 0 8px; overflow-wrap: anywhere; unicode-bidi: isolate; }
.moe-meta { color: var(--muted); font-size: 12px; list-style: none; padding: 0; margin: 0 0 8px; }
.moe-headline { font-size: 15px; font-weight: 600; padding-left: 18px; }
.moe-finding { border-left: 4px solid #999; padding: 4px 12px; margin: 8px 0; background: #f6f6f6; }
.moe-finding h4 { margin: 2px 0; font-size: 14px; }
.moe-finding .sev { text-transform: uppercase; font-size: 11px; padding: 1px 6px; border-radius: 3px; background: #999; color: #fff; }
.sev-high { border-color: #c62828; } .sev-high .sev { background: #c62828; }
.sev-medium { border-color: #ef6c00; } .sev-medium .sev { background: #ef6c00; }
.sev-low { border-color: #1565c0; } .sev-low .sev { background: #1565c0; }
.moe-finding .fix { margin: 4px 0; }
.moe-finding .cost { font-weight: normal; color: var(--muted); }
.moe-summary { font-size: 13px; padding-left: 18px; margin: 4px 0 8px; }
.moe-warnings { color: #8a5a00; } .moe-notes, .moe-note { color: var(--muted); font-size: 13px; }
.moe-none { color: var(--muted); }
.moe-chart { margin: 16px 0; overflow-x: auto; }
.moe-table { border-collapse: collapse; margin: 12px 0; font-size: 13px; }
.moe-table caption { text-align: left; font-weight: 600; padding: 4px 0; }
.moe-table th, .moe-table td { border-bottom: 1px solid var(--line); padding: 3px 10px; text-align: right; white-space: nowrap; }
.moe-table th:first-child { text-align: left; max-width: 640px; white-space: normal; overflow-wrap: anywhere; unicode-bidi: isolate; }
.moe-table td.moe-none { text-align: left; white-space: normal; }
.moe-empty { color: var(--muted); font-style: italic; margin: 4px 0; }
.moe-error { color: #c62828; }
.moe-tooltip { position: absolute; display: none; pointer-events: none; z-index: 10; background: rgba(255,255,255,.96);
  border: 1px solid #aaa; border-radius: 4px; padding: 6px 8px; font-size: 12px; max-width: 520px; box-shadow: 2px 2px 6px rgba(0,0,0,.15); }
.moe-tooltip.visible { display: block; }
.moe-tooltip th { text-align: right; color: var(--muted); font-weight: normal; padding-right: 8px; vertical-align: top; }
.moe-tooltip td { overflow-wrap: anywhere; unicode-bidi: isolate; }
`;

export function pageHtml(data: PageData): string {
  const scripts = [...libraryScripts().map((s) => s.text), scriptSafe(CLIENT_SCRIPT)];
  // Vega draws on canvas and the page script only sets styles through CSSOM, so neither inline
  // style attributes nor eval are needed: the policy lists exactly our script and style hashes.
  const csp = [
    "default-src 'none'",
    `script-src ${scripts.map(cspHash).join(' ')}`,
    `style-src ${cspHash(STYLE)}`,
    'img-src data:',
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${csp}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="referrer" content="no-referrer">',
    '<title>moe-trace report</title>',
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    '<header><h1>moe-trace: kernel overlap report</h1></header>',
    '<main id="moe-main"><noscript><p>This report draws its text and charts with JavaScript; allow scripts for this file to see it.</p></noscript></main>',
    `<script type="application/json" id="moe-data">${jsonForScript(data)}</script>`,
    ...scripts.map((s) => `<script>${s}</script>`),
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
