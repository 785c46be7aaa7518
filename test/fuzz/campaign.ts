/**
 * Fuzz campaign (issue 7): real and synthetic nsys exports, mutated the ways files arrive broken
 * or hostile, each analysed in terminal, JSON and HTML form. Nothing may crash (exit 1 or a
 * throw), hang, exit other than 0/2, print more than one line on exit 2, change the input or
 * write next to it, or let trace text out of the HTML data block. Fixed seed, so a failing case
 * replays by number: MOE_TRACE_FUZZ_ONLY=<case> npm run test:long -- test/fuzz.
 * MOE_TRACE_FUZZ_CASES and MOE_TRACE_FUZZ_SEED widen or vary the campaign.
 *
 * Two files run it: analyze-fuzz.test.ts (`npm test`) takes the campaign's first cases and the
 * real binary's exit codes; analyze-fuzz.long.test.ts (`npm run test:long`) the whole campaign.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDirs, tempDir } from '../helpers/make-sqlite.js';
import { mutate, Rng, type Applied } from './mutate.js';
import { buildSeeds, type Seed } from './seeds.js';
import { checkForms, checkHtml, folderState, runForms, type KernelTimeFacts } from './run-case.js';
import { BIN, ensureBuilt } from './binary.js';

/** The whole campaign's size (npm run test:long); npm test runs its first cases only. */
export const FULL_CAMPAIGN = 1000;

const SEED = Number(process.env.MOE_TRACE_FUZZ_SEED ?? 20260607);
const ONLY = process.env.MOE_TRACE_FUZZ_ONLY === undefined ? null : Number(process.env.MOE_TRACE_FUZZ_ONLY);
/** per form; the largest seed analyses in well under a second */
const FORM_BOUND_MS = 10_000;

/** Flags each case is analysed with; bad ones must be exit 2 too, never a crash. */
const FLAG_SETS: readonly string[][] = [
  [], [], [], [], [], ['--include-transfers'], ['--device', '0'], ['--device', '3'],
  ['--window', '0:1ms'], ['--window', '1.5ms:1ms'], ['--window', 'x:y'], ['--range', 'expert 0'],
  ['--range', '/expert \\d+/'], ['--range', '/(/'], ['--require-kernels'],
];

/** Input names are shown in every report; some are crafted too. */
const FILE_NAMES = ['report.sqlite', 'report.sqlite', 'report.sqlite', '<img src=x onerror=alert(1)>.sqlite', 'exp\u202ert.sqlite', 'a b;$(id)`id`.sqlite', 'ü-名前.sqlite'];

interface Tally {
  cases: number;
  forms: number;
  crashes: number;
  exit0: number;
  exit2: number;
  messages: Map<string, number>;
  mutations: Map<string, number>;
  terminalControls: number;
  failures: string[];
  time?: string;
  cpuMs: Map<string, number>;
  nonFinite: Map<string, number>;
}

const tally: Tally = {
  cases: 0, forms: 0, crashes: 0, exit0: 0, exit2: 0, messages: new Map(), mutations: new Map(), terminalControls: 0, failures: [], cpuMs: new Map(), nonFinite: new Map(),
};

const bump = (m: Map<string, number>, k: string, by = 1): void => { m.set(k, (m.get(k) ?? 0) + by); };

function summary(): string {
  const byCount = (m: Map<string, number>): string[] => [...m].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([k, n]) => `  ${String(Math.round(n)).padStart(5)}  ${k}`);
  return [
    `fuzz (seed ${SEED}): ${tally.cases} cases, ${tally.forms} analyze runs, ${tally.crashes} crashes, ${tally.failures.length} failing cases (${tally.time ?? 'not run'})`,
    `exit 0: ${tally.exit0} runs, exit 2: ${tally.exit2} runs; terminal output carrying raw control/bidi characters from the trace: ${tally.terminalControls} cases`,
    `mutations applied:`, ...byCount(tally.mutations),
    `CPU ms per seed:`, ...byCount(tally.cpuMs),
    `terminal lines with NaN or Infinity (${tally.nonFinite.size}):`, ...byCount(tally.nonFinite),
    `distinct exit-2 messages (${tally.messages.size}):`, ...byCount(tally.messages),
  ].join('\n');
}

async function runCase(i: number): Promise<void> {
  const cpu0 = process.cpuUsage();
  const r = new Rng(SEED ^ Math.imul(i + 1, 0x9e3779b1));
  // Half the cases start from a real export, half from a (cheaper) synthetic one.
  const pool = seeds.filter((x) => x.real === (i % 2 === 0));
  const seed = pool.length > 0 ? pool[(i >> 1) % pool.length] : seeds[i % seeds.length];
  const dir = join(work, `case-${i}`);
  mkdirSync(dir);
  const input = join(dir, r.pick(FILE_NAMES));
  copyFileSync(seed.path, input);
  let applied: Applied[] = [];
  let facts: KernelTimeFacts | null = null;
  try {
    ({ applied, kernelTimes: facts } = mutate(input, r, { bytes: r.chance(0.3) }));
  } catch (e) {
    tally.failures.push(`case ${i}: the mutation itself failed on ${seed.name}: ${(e as Error).message}`);
    return;
  }
  const flags = r.pick(FLAG_SETS);
  const before = folderState(dir);
  const results = await runForms(input, flags, join(work, `case-${i}.html`));
  const check = checkForms(results, input, join(work, `case-${i}.html`), facts, skeleton, FORM_BOUND_MS);
  if (folderState(dir) !== before) check.problems.push('the input changed or a file appeared next to it');
  tally.cases++;
  tally.forms += results.length;
  for (const res of results) {
    if (res.code === 0) tally.exit0++;
    if (res.code === 2) tally.exit2++;
  }
  for (const a of applied) bump(tally.mutations, a.name);
  for (const m of new Set(check.messages)) bump(tally.messages, m);
  if (check.crashed) tally.crashes++;
  if (check.terminalControls) tally.terminalControls++;
  if (check.nonFinite !== null) bump(tally.nonFinite, check.nonFinite.replace(/\d+(\.\d+)?/g, 'N'));
  if (check.problems.length > 0) {
    tally.failures.push(`case ${i} (${seed.name}, ${JSON.stringify(flags)}; ${applied.map((a) => `${a.name} ${a.detail}`).join('; ')}):\n    ${check.problems.join('\n    ')}`);
  }
  rmSync(dir, { recursive: true, force: true });
  rmSync(join(work, `case-${i}.html`), { force: true });
  const cpu = process.cpuUsage(cpu0);
  bump(tally.cpuMs, seed.name, (cpu.user + cpu.system) / 1000);
}

let seeds: Seed[] = [];
let work = '';
const skeleton: { value?: string } = {};

/**
 * Registers the campaign: `defaultCases` cases unless MOE_TRACE_FUZZ_CASES says otherwise, and,
 * with `binary`, the real binary's exit codes on a few broken files.
 */
export function fuzzCampaign(defaultCases: number, { binary }: { binary: boolean }): void {
  const CASES = Number(process.env.MOE_TRACE_FUZZ_CASES ?? defaultCases);
  beforeAll(async () => {
    seeds = buildSeeds();
    work = tempDir();
    // The fixed page around the data block, from an unmutated export: every case must match it.
    const dir = join(work, 'reference');
    mkdirSync(dir);
    const input = join(dir, 'report.sqlite');
    copyFileSync(seeds[0].path, input);
    const [, , html] = await runForms(input, [], join(work, 'reference.html'));
    expect(html.code, html.stderr).toBe(0);
    const check = checkHtml(readFileSync(join(work, 'reference.html'), 'utf8'), undefined);
    expect(check.problems).toEqual([]);
    skeleton.value = check.skeleton;
  }, 120_000);

  afterAll(() => {
    console.log(summary());
    removeTempDirs();
  });

  describe('fuzz: analyze on mutated exports', () => {
    it(`${ONLY === null ? CASES : 1} cases: no crash, no hang, exit 0 or 2 with one line, input untouched, HTML escaped`, async () => {
      const cases = ONLY === null ? Array.from({ length: CASES }, (_, i) => i) : [ONLY];
      const cpu0 = process.cpuUsage(); const t0 = performance.now();
      for (const i of cases) await runCase(i);
      const cpu = process.cpuUsage(cpu0);
      tally.time = `${((performance.now() - t0) / 1000).toFixed(1)} s wall, ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s CPU`;
      expect(tally.failures.slice(0, 20).join('\n')).toBe('');
      expect(tally.crashes).toBe(0);
      // trace strings reach the terminal only as visible escapes (src/cli.ts)
      expect(tally.terminalControls).toBe(0);
      expect(tally.cases).toBe(cases.length);
    }, 600_000);

    if (binary) it('the real binary: exit codes and stderr of a few broken files', () => {
      expect(ensureBuilt()).toBe(true);
      const bin = BIN;
      const r = new Rng(SEED);
      const dir = tempDir();
      const outcomes: number[] = [];
      for (let i = 0; i < 6; i++) {
        const input = join(dir, `bin-${i}.sqlite`);
        copyFileSync(seeds[i % seeds.length].path, input);
        // Half damaged bytes (exit 2 expected mostly), half SQL edits (mostly exit 0).
        const what = mutate(input, r, { bytes: i % 2 === 0 }).applied.map((a) => `${a.name} ${a.detail}`).join('; ');
        const before = folderState(dir);
        const t0 = performance.now();
        const p = spawnSync(process.execPath, [bin, 'analyze', '--json', input], { encoding: 'utf8', timeout: 30_000, cwd: dir, maxBuffer: 1 << 28 });
        expect(p.signal, `killed after ${Math.round(performance.now() - t0)} ms (hang?) on ${seeds[i % seeds.length].name}: ${what}`).toBeNull();
        expect([0, 2], `exit ${p.status}: ${p.stderr} on ${what}`).toContain(p.status);
        if (p.status === 2) expect(p.stderr.trimEnd().split('\n')).toHaveLength(1);
        if (p.status === 0) expect(() => JSON.parse(p.stdout)).not.toThrow();
        expect(folderState(dir)).toBe(before);
        outcomes.push(p.status ?? -1);
      }
      // a plain truncation is bad input for sure: the process must say so with exit 2
      const cut = join(dir, 'cut.sqlite');
      copyFileSync(seeds[0].path, cut);
      spawnSync('truncate', ['-s', '5000', cut]);
      const p = spawnSync(process.execPath, [bin, 'analyze', cut], { encoding: 'utf8', timeout: 30_000 });
      expect(p.status).toBe(2);
      expect(p.stderr).toMatch(/^moe-trace: .*cut\.sqlite is a truncated SQLite database .*\n$/);
      expect(outcomes).toHaveLength(6);
    }, 180_000);
  });
}
