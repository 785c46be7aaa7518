/**
 * One fuzz case: `analyze` on one mutated export in its three forms (terminal, --json, --html)
 * through the in-process CLI, and every promise the tool makes about bad input checked on the
 * result. Returns problems as sentences instead of throwing, so one run reports all of them.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../src/cli.js';

export interface FormResult {
  form: 'terminal' | 'json' | 'html';
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
  /** a throw out of main(), which promises never to throw */
  thrown?: string;
}

export interface KernelTimeFacts { inverted: number; noTime: number }

export interface CaseCheck {
  problems: string[];
  crashed: boolean;
  /** the exit-2 line with the path and numbers generalised, for the tally of distinct messages */
  messages: string[];
  /** the terminal form wrote raw control or bidi-override characters taken from the trace */
  terminalControls: boolean;
  /** the terminal form printed NaN or Infinity: a number the analyses could not compute */
  nonFinite: string | null;
}

/** Each file in the case folder and its sha256: the input and anything that appeared next to it. */
export function folderState(dir: string): string {
  return readdirSync(dir).sort().map((f) => `${f}:${createHash('sha256').update(readFileSync(join(dir, f))).digest('hex')}`).join('\n');
}

async function runForm(form: FormResult['form'], argv: string[]): Promise<FormResult> {
  let stdout = ''; let stderr = '';
  const t0 = performance.now();
  try {
    const code = await main(argv, { stdout: (s) => { stdout += s; }, stderr: (s) => { stderr += s; } });
    return { form, code, stdout, stderr, ms: performance.now() - t0 };
  } catch (e) {
    return { form, code: -1, stdout, stderr, ms: performance.now() - t0, thrown: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
  }
}

export async function runForms(input: string, flags: string[], htmlOut: string): Promise<FormResult[]> {
  rmSync(htmlOut, { force: true });
  return [
    await runForm('terminal', ['analyze', ...flags, input]),
    await runForm('json', ['analyze', '--json', ...flags, input]),
    await runForm('html', ['analyze', '--html', htmlOut, ...flags, input]),
  ];
}

/** Generalises an error line so messages differing only in path or numbers count as one. */
export function messageKind(line: string, input: string): string {
  return line.split(input).join('FILE').replace(/\d+/g, 'N').slice(0, 200);
}

// C0 controls other than tab and newline, DEL, C1 controls, and the bidi embeddings/overrides/isolates.
const TERMINAL_UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

const DATA_OPEN = '<script type="application/json" id="moe-data">';

/** The page with its data block emptied: identical for every input when nothing escapes the block. */
export function pageSkeleton(html: string): { skeleton: string; data: string } | null {
  const a = html.indexOf(DATA_OPEN);
  if (a < 0) return null;
  const b = html.indexOf('</script>', a);
  return { skeleton: html.slice(0, a + DATA_OPEN.length) + html.slice(b), data: html.slice(a + DATA_OPEN.length, b) };
}

const EXPRESSION_KEYS = new Set(['expr', 'calculate', 'filter', 'test', 'update', 'signal', 'as']);

/** Trace text inside a Vega expression would be evaluated by the chart runtime, not shown. */
function expressionLeaks(value: unknown, key = ''): string[] {
  if (typeof value === 'string') return EXPRESSION_KEYS.has(key) && /alert|onerror|constructor|<script/i.test(value) ? [`${key}: ${value.slice(0, 80)}`] : [];
  if (Array.isArray(value)) return value.flatMap((v) => expressionLeaks(v, key));
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => expressionLeaks(v, k));
  return [];
}

export interface HtmlCheck { skeleton?: string; problems: string[] }

/** The written page keeps every trace string inside its JSON data block, escaped, and parseable. */
export function checkHtml(html: string, expectedSkeleton: string | undefined): HtmlCheck {
  const parts = pageSkeleton(html);
  if (!parts) return { problems: ['HTML page has no data block'] };
  const problems: string[] = [];
  if (expectedSkeleton !== undefined && parts.skeleton !== expectedSkeleton) problems.push('HTML outside the data block differs from the fixed page: trace content escaped the data block');
  if (/[<>&\u2028\u2029]/.test(parts.data)) problems.push('HTML data block holds a raw <, >, & or line separator');
  if ((html.match(/<script/gi) ?? []).length !== 5) problems.push(`HTML has ${(html.match(/<script/gi) ?? []).length} <script> tags, not 5`);
  let data: unknown;
  try {
    data = JSON.parse(parts.data);
  } catch (e) {
    problems.push(`HTML data block is not JSON: ${(e as Error).message.slice(0, 100)}`);
  }
  if (data !== undefined) problems.push(...expressionLeaks(data).map((l) => `trace text inside a Vega expression: ${l}`));
  return { skeleton: parts.skeleton, problems };
}

/** "12 kernels with end < start were ignored." as the reader words it */
function kernelWarning(n: number, what: string): string {
  return `${n === 1 ? '1 kernel' : `${n} kernels`} with ${what} ${n === 1 ? 'was' : 'were'} ignored.`;
}

export function checkForms(results: FormResult[], input: string, htmlOut: string, facts: KernelTimeFacts | null, skeleton: { value?: string }, boundMs: number): CaseCheck {
  const problems: string[] = [];
  const messages: string[] = [];
  let crashed = false;
  let terminalControls = false;
  let nonFinite: string | null = null;
  for (const r of results) {
    const at = `${r.form}:`;
    if (r.thrown !== undefined) { crashed = true; problems.push(`${at} main() threw ${r.thrown}`); continue; }
    if (r.code === 1 || /internal error/.test(r.stderr)) { crashed = true; problems.push(`${at} crash (exit ${r.code}): ${r.stderr.slice(0, 300)}`); }
    else if (r.code !== 0 && r.code !== 2) problems.push(`${at} exit code ${r.code}`);
    if (r.ms > boundMs) problems.push(`${at} took ${Math.round(r.ms)} ms (bound ${boundMs} ms)`);
    if (r.code === 2) {
      const lines = r.stderr.replace(/\n$/, '').split('\n');
      if (lines.length !== 1 || !r.stderr.startsWith('moe-trace: ')) problems.push(`${at} exit 2 with ${lines.length} stderr lines: ${JSON.stringify(r.stderr.slice(0, 300))}`);
      if (r.stdout !== '') problems.push(`${at} exit 2 but wrote ${r.stdout.length} chars to stdout`);
      messages.push(messageKind(lines[0], input));
    }
    if (r.code !== 0) continue;
    if (r.form === 'terminal' && TERMINAL_UNSAFE.test(r.stdout)) terminalControls = true;
    if (r.form === 'terminal') nonFinite = r.stdout.split('\n').find((l) => /\bNaN\b|Infinity/.test(l))?.slice(0, 160) ?? null;
    if (r.form === 'json') {
      let report: { warnings?: string[] }[] | undefined;
      try {
        report = JSON.parse(r.stdout) as { warnings?: string[] }[];
      } catch (e) {
        problems.push(`json: stdout is not JSON (${(e as Error).message.slice(0, 100)})`);
      }
      const warnings = (Array.isArray(report) ? report[0]?.warnings : (report as { warnings?: string[] } | undefined)?.warnings) ?? [];
      if (facts && facts.inverted > 0 && !warnings.includes(kernelWarning(facts.inverted, 'end < start'))) {
        problems.push(`json: ${facts.inverted} kernels end before they start but the warnings say ${JSON.stringify(warnings)}`);
      }
      if (facts && facts.noTime > 0 && !warnings.includes(kernelWarning(facts.noTime, 'no start or end time'))) {
        problems.push(`json: ${facts.noTime} kernels lack a time but the warnings say ${JSON.stringify(warnings)}`);
      }
    }
    if (r.form === 'html') {
      let html: string;
      try {
        html = readFileSync(htmlOut, 'utf8');
      } catch {
        problems.push('html: exit 0 but no page written');
        continue;
      }
      const h = checkHtml(html, skeleton.value);
      skeleton.value ??= h.skeleton;
      problems.push(...h.problems.map((p) => `html: ${p}`));
    }
  }
  return { problems, crashed, messages, terminalControls, nonFinite };
}
