/**
 * The diagnosis on real traces: the bundled workload's H200 captures (fixtures/nsys-<version>/)
 * must show the cause each mode was built to show, and every export of the public corpus
 * (../shared/nsys-corpus) must get findings or an explicit nothing-to-report, never an error.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Finding, Report } from '../../src/report/types.js';
import { fixtureReport } from '../helpers/fixture-reports.js';

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
  if (!r) reports.set(file, (r = fixtureReport(file)));
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
    // per expert: the host waits for its 4-byte count, then launches its GEMMs into an empty queue.
    // The wait is host-sync-stall's; the launching after it returns, launch-bound's (issue 13).
    expect(r.findings.slice(0, 2).map((f) => f.id)).toEqual(['launch-bound', 'host-sync-stall']);
    const top = r.findings[1];
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
    // the seed-style loop: launch overhead first, then the per-expert syncs, 128 per forward
    expect(r.findings.slice(0, 2).map((x) => x.id)).toEqual(['launch-bound', 'host-sync-stall']);
    expect(f.title).toMatch(/^The host blocks on cudaStreamSynchronize 128 times per iteration, each after a 4 B device-to-host copy \(a size read back, as boolean-mask indexing does\)/);
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
      // the per-expert loop is marked by NVTX expert ranges: the fix groups the experts
      expect(r.devices[0].experts?.count).toBeGreaterThanOrEqual(2);
      expect(f!.fix).toMatch(/run all experts as one grouped GEMM/);
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
  it.skipIf(!files.some((f) => f.includes('llama3')))('blames the per-layer cudaDeviceSynchronize of the llama3 export only for the time it blocks', () => {
    const r = report(join(CORPUS, files.find((f) => f.includes('llama3'))!));
    // the steady state: 63 tokens of 8 layers (the first token, the prefill, is left out as warm-up)
    expect(r.devices[0].window.iterations).toMatchObject({ method: 'nvtx', name: 'token_#_processing', found: 64, count: 63, leftOut: 1 });
    const d = r.devices[0];
    expect(d.hostSyncs.byName).toMatchObject([{ name: 'cudaDeviceSynchronize', count: 504 }]);
    // issue 13: the whole gaps were blamed on the syncs (646 ms for 1.6 ms of blocking); the host
    // blocks during 0.5 ms of idle time, and the GPU's idle time is the host not launching
    expect(d.gaps.byClass['sync-stall'].total).toBe(515_976);
    expect(d.gaps.byClass['sync-stall'].total).toBeLessThanOrEqual(d.hostSyncs.totalTime);
    expect(r.findings[0].id).toBe('launch-bound');
    expect(r.findings.map((f) => f.id)).not.toContain('host-sync-stall');
    const whole = fixtureReport(join(CORPUS, files.find((f) => f.includes('llama3'))!), { wholeTrace: true }).devices[0];
    expect(whole.gaps.byClass['sync-stall'].total).toBe(1_627_519);
  });
  it('advises nothing about experts or grouped GEMMs on exports that have no experts', () => {
    for (const name of files) {
      const r = report(join(CORPUS, name));
      for (const d of r.devices) expect(d.experts, name).toBeUndefined();
      for (const f of r.findings) expect(f.fix, `${name}: ${f.id}`).not.toMatch(/expert|grouped GEMM/i);
    }
  });
  it.skipIf(!files.some((f) => f.includes('kmeans')))('kmeans launches a kernel every 36 ms: the fix names the host work between launches, not launch overhead', () => {
    const f = report(join(CORPUS, files.find((x) => x.includes('kmeans'))!)).findings.find((x) => x.id === 'launch-bound')!;
    expect(f.fix).toMatch(/^The host issues a kernel only every 36\.34 ms, far more than a launch costs/);
  });
  it.skipIf(!files.some((f) => f.includes('kmeans')))('blames the kmeans syncs for the 198 ms they block, not the 1.8 s of gaps they touch', () => {
    const r = report(join(CORPUS, files.find((f) => f.includes('kmeans'))!));
    const f = r.findings.find((x) => x.id === 'host-sync-stall')!;
    expect(f.costNs).toBe(197_756_781);
    expect(f.costNs).toBeLessThanOrEqual(r.devices[0].hostSyncs.totalTime);
    expect(f.title).toMatch(/^The host blocks on cuStreamSynchronize /);
  });
});
