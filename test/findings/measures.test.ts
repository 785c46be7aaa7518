/**
 * Every finding carries its numbers as measures (named, with units) beside the prose, and the JSON
 * holds no -1 sentinel where "none" is meant: null.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildReport } from '../../src/report/build.js';
import { buildTrace } from '../../src/model/build.js';
import type { Finding, Report } from '../../src/report/types.js';
import { RULES } from '../../src/findings/index.js';
import { grouped, saturated, streamsSync, streamsTiny } from './scenarios.js';
import { fixtureReport } from '../helpers/fixture-reports.js';

// relative, as the other files name them: their Reports are shared (helpers/fixture-reports.ts)
const FIXTURES = 'fixtures/nsys-2025.3/';
const UNITS = ['ns', 'share', 'ratio', 'count', 'bytes', 'per-iteration'];

const reports: [string, Report][] = [
  ...readdirSync(FIXTURES).filter((f) => f.endsWith('.sqlite')).sort()
    .map((f): [string, Report] => [f, fixtureReport(join(FIXTURES, f))]),
  // measured whole, a whole-process capture's set-up fires allocation-in-loop and pageable-memcpy too
  ['torch-streams-sync whole', fixtureReport('fixtures/nsys-2025.3-whole/torch-streams-sync.sqlite', { wholeTrace: true })],
  ['streamsSync', buildReport(streamsSync())],
  ['streamsSync pageable', buildReport(streamsSync(8, 2, { pageable: true }))],
  ['streamsTiny', buildReport(streamsTiny())],
  ['saturated', buildReport(saturated())],
  ['grouped', buildReport(grouped())],
  ['no kernels', buildReport(buildTrace({ hasKernelTable: false }))],
];
const findings: [string, Finding][] = reports.flatMap(([name, r]) => r.findings.map((f): [string, Finding] => [name, f]));

describe('finding measures', () => {
  it('every finding has costNs and costShare first, then its own named numbers with a unit', () => {
    for (const [where, f] of findings) {
      const what = `${where}: ${f.id}`;
      expect(f.measures.slice(0, 2), what).toEqual([
        { name: 'costNs', value: f.costNs, unit: 'ns' }, { name: 'costShare', value: f.costShare, unit: 'share' },
      ]);
      expect(f.measures.length, what).toBeGreaterThan(2);
      expect(new Set(f.measures.map((m) => m.name)).size, `${what}: names are unique`).toBe(f.measures.length);
      for (const m of f.measures) {
        expect(UNITS, `${what}.${m.name}`).toContain(m.unit);
        if (m.value !== null) expect(Number.isFinite(m.value), `${what}.${m.name}`).toBe(true);
        if (m.value !== null && (m.unit === 'ns' || m.unit === 'count' || m.unit === 'bytes')) expect(m.value, `${what}.${m.name}`).toBeGreaterThanOrEqual(0);
        if (m.value !== null && m.unit === 'share') expect(m.value, `${what}.${m.name}`).toBeLessThanOrEqual(1);
      }
    }
  });

  it('the reports exercise most rules (so the test above reads their measures)', () => {
    const fired = new Set(findings.map(([, f]) => f.id));
    const rules = Object.keys(RULES).filter((id) => fired.has(id));
    expect(rules.length).toBeGreaterThanOrEqual(6);
    expect(fired.has('nothing-to-report')).toBe(true);
  });

  it('states a measure the title states: host-sync-stall counts the blocking calls it names', () => {
    const [, f] = findings.find(([w, x]) => w === 'streamsSync' && x.id === 'host-sync-stall')!;
    const m = Object.fromEntries(f.measures.map((x) => [x.name, x.value]));
    expect(m.stallTime).toBe(f.costNs);
    expect(m.culpritCallsPerIteration).toBe(8);
    expect(f.title).toContain('8 times per iteration');
  });
});

describe('no -1 sentinels in the JSON', () => {
  it('deviceId of a trace-wide finding, a gap without a next kernel, an unknown process are null', () => {
    const none = reports.find(([n]) => n === 'no kernels')![1];
    expect(none.findings[0].deviceId).toBeNull();
    for (const [name, r] of reports) {
      const json = JSON.stringify(r);
      for (const key of ['deviceId', 'nextKernel', 'process', 'processA', 'processB']) {
        expect(json.includes(`"${key}":-1`), `${name}: "${key}":-1`).toBe(false);
      }
    }
  });
});
