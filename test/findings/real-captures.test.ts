/**
 * The diagnosis on real traces: the bundled workload's H200 captures (fixtures/nsys-<version>/)
 * must show the cause each mode was built to show, and every export of the public corpus
 * (../shared/nsys-corpus) must get findings or an explicit nothing-to-report, never an error.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readNsysSqlite } from '../../src/readers/nsys-sqlite.js';
import { buildReport } from '../../src/report/build.js';
import type { Finding, Report } from '../../src/report/types.js';

const FIXTURES = 'fixtures';
const CORPUS = '../shared/nsys-corpus';

/** Every capture of this name in the fixtures/nsys-<version> folders (one per nsys version). */
function captures(name: string): string[] {
  if (!existsSync(FIXTURES)) return [];
  return readdirSync(FIXTURES).filter((d) => d.startsWith('nsys-'))
    .map((d) => join(FIXTURES, d, `${name}.sqlite`)).filter((f) => existsSync(f));
}

const reports = new Map<string, Report>();
function report(file: string): Report {
  let r = reports.get(file);
  if (!r) reports.set(file, (r = buildReport(readNsysSqlite(file))));
  return r;
}

/** What a user reads must be usable: one line, numbers in it, evidence and a fix. */
function expectReadable(f: Finding): void {
  expect(f.title).not.toMatch(/\n/);
  expect(f.fix).not.toMatch(/\n/);
  expect(f.fix.length).toBeGreaterThan(20);
  if (f.id !== 'nothing-to-report') expect(f.title).toMatch(/\d/);
  expect(f.evidence.length).toBeGreaterThan(0);
  expect(Number.isFinite(f.costNs) && f.costNs >= 0).toBe(true);
}

const byMode = (mode: string, body: (file: string, r: Report) => void) => {
  const files = captures(mode);
  if (files.length === 0) {
    it.skip(`${mode}: no fixtures/nsys-*/${mode}.sqlite yet (captured by \`moe-trace profile --all\` on the H200)`, () => {});
  }
  for (const file of files) {
    it(`${mode}: ${file}`, () => body(file, report(file)));
  }
};

describe('findings on the workload\'s H200 captures', () => {
  byMode('streams-sync', (_file, r) => {
    const top = r.findings[0];
    expect(top.id).toBe('host-sync-stall');
    expectReadable(top);
    // one cudaStreamSynchronize per expert per iteration
    const d = r.devices[0];
    const experts = d.nvtxRanges!.families.find((f) => f.name === 'expert #')!;
    const iterations = d.nvtxRanges!.iterations!;
    const expertsPerIteration = experts.instances / iterations.count;
    expect(experts.syncsByName.cudaStreamSynchronize).toBe(experts.instances);
    expect(iterations.syncsPerIterationByName.cudaStreamSynchronize).toBe(expertsPerIteration);
    // every expert's sync follows its 4-byte count read-back; the one after the loop does not
    expect(top.title).toMatch(new RegExp(`^The host blocks on cudaStreamSynchronize ${expertsPerIteration} times per iteration, (each|mostly) after a 4 B device-to-host copy`));
    const inLoop = iterations.count * expertsPerIteration;
    expect(top.evidence.some((e) => new RegExp(`^${inLoop} of the \\d+ cudaStreamSynchronize calls follow a device-to-host copy \\(median 4 B\\)`).test(e))).toBe(true);
    expect(top.evidence).toContain(`1 cudaStreamSynchronize per "expert #" range (${experts.instances} ranges, ${expertsPerIteration} per iteration).`);
  });
  byMode('torch-streams-sync', (_file, r) => {
    // The user's loop: the syncs are there, but Python launch overhead costs even more.
    const f = r.findings.find((x) => x.id === 'host-sync-stall')!;
    expectReadable(f);
    const d = r.devices[0];
    const experts = d.nvtxRanges!.families.find((x) => x.name === 'expert #')!;
    const perExpert = experts.syncsByName.cudaStreamSynchronize / experts.instances;
    expect(Number.isInteger(perExpert) && perExpert >= 1).toBe(true);
    expect(f.title).toMatch(/^The host blocks on cudaStreamSynchronize \d+ times per iteration, (each|mostly) after a 4 B device-to-host copy/);
    expect(r.findings.map((x) => x.id)).toContain('launch-bound');
  });
  for (const mode of ['streams', 'torch-streams']) {
    byMode(mode, (_file, r) => {
      const f = r.findings.find((x) => x.id === 'launch-bound');
      expect(f, r.findings.map((x) => x.title).join('\n')).toBeDefined();
      expect(r.findings[0]).toBe(f);
      expectReadable(f!);
      expect(r.findings.map((x) => x.id)).not.toContain('host-sync-stall');
    });
  }
  byMode('saturated', (_file, r) => {
    const f = r.findings.find((x) => x.id === 'sm-saturated');
    expect(f, r.findings.map((x) => x.title).join('\n')).toBeDefined();
    expect(r.findings[0]).toBe(f);
    expectReadable(f!);
    expect(r.devices[0].smFill!.fullTimeShare).toBeGreaterThanOrEqual(0.5);
  });
  byMode('grouped', (_file, r) => {
    expect(r.findings.map((f) => f.id)).toEqual(['nothing-to-report']);
    r.findings.forEach(expectReadable);
  });
  byMode('torch-grouped', (_file, r) => {
    // One grouped GEMM per projection: no syncs, no saturation; what is left is Python launching
    // the routing glue, and the fix offered is a CUDA graph, not another grouped GEMM.
    const ids = r.findings.map((f) => f.id);
    expect(ids).not.toContain('host-sync-stall');
    expect(ids).not.toContain('sm-saturated');
    for (const f of r.findings) expectReadable(f);
    const lb = r.findings.find((f) => f.id === 'launch-bound');
    if (lb) expect(lb.fix).toMatch(/^Capture the iteration once as a CUDA graph/);
  });
  byMode('graph', (_file, r) => {
    // replayed from a CUDA graph: kernels overlap and no per-kernel launch finding applies
    const ids = r.findings.map((f) => f.id);
    for (const id of ['host-sync-stall', 'launch-bound', 'many-small-kernels', 'no-overlap-despite-streams']) expect(ids).not.toContain(id);
  });
});

describe('findings on the public nsys corpus', () => {
  const files = existsSync(CORPUS) ? readdirSync(CORPUS).filter((f) => f.endsWith('.sqlite')) : [];
  if (files.length === 0) it.skip(`no ${CORPUS} here (CI has it next to the checkout)`, () => {});
  for (const name of files) {
    it(name, () => {
      const r = report(join(CORPUS, name));
      expect(r.findings.length).toBeGreaterThan(0);
      r.findings.forEach(expectReadable);
      const nothing = r.findings.filter((f) => f.id === 'nothing-to-report');
      // nothing-to-report stands alone for its device
      for (const n of nothing) expect(r.findings.filter((f) => f.deviceId === n.deviceId)).toEqual([n]);
    });
  }
  it.skipIf(!files.some((f) => f.includes('no-kernel-table')))('says why a runtime-only export has nothing to report', () => {
    const r = report(join(CORPUS, files.find((f) => f.includes('no-kernel-table'))!));
    expect(r.findings.map((f) => f.id)).toEqual(['nothing-to-report']);
    expect(r.findings[0].title).toBe('Nothing to report: the export has no kernel records (only 33,482 CUDA API calls), so GPU overlap cannot be measured');
  });
  it.skipIf(!files.some((f) => f.includes('llama3')))('finds the per-layer cudaDeviceSynchronize of the llama3 inference export', () => {
    const r = report(join(CORPUS, files.find((f) => f.includes('llama3'))!));
    expect(r.findings[0].id).toBe('host-sync-stall');
    // the steady state: 63 tokens of 8 layers (the first token, the prefill, is left out as warm-up)
    expect(r.devices[0].window.iterations).toMatchObject({ method: 'nvtx', name: 'token_#_processing', found: 64, count: 63, leftOut: 1 });
    expect(r.findings[0].evidence[0]).toBe('504 blocking calls in the window: 504 × cudaDeviceSynchronize (8.623 ms).');
  });
});
