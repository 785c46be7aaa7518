import { describe, expect, it } from 'vitest';
import { readNsysSqlite } from '../../src/readers/nsys-sqlite.js';
import { buildReport } from '../../src/report/build.js';
import { isAnalysedApiCall } from '../../src/analyses/api-calls.js';
import type { DeviceReport } from '../../src/report/types.js';

const cache = new Map<string, DeviceReport>();
function gpu(name: string): DeviceReport {
  let d = cache.get(name);
  if (!d) cache.set(name, (d = buildReport(readNsysSqlite(`fixtures/nsys-2025.3/${name}.sqlite`, { keepApiCall: isAnalysedApiCall, syncRecords: false })).devices[0]));
  return d;
}
const causes = (d: DeviceReport) => (d.serialization ?? []).map((s) => s.cause);
const culprits = (d: DeviceReport) => (d.culprits ?? []).map((c) => c.id);

describe('why streams serialize, named (real captures)', () => {
  it('streams-sync: the launches and the blocking calls first, and the event chain around each expert', () => {
    const d = gpu('streams-sync');
    // per expert the host waits (blocking-call, only while it blocks), then launches into an empty queue (issue 13)
    expect(causes(d).slice(0, 2)).toEqual(['launch-bound', 'blocking-call']);
    const chain = d.serialization!.find((s) => s.cause === 'event-wait-chain')!;
    expect(chain.text).toContain('64 streams wait for stream 13 before each expert');
    expect(chain.text).toContain('stream 13 waits for 64 streams');
    expect(culprits(d)).toContain('item-readback');
    expect(d.culprits!.find((c) => c.id === 'item-readback')!.perIteration).toBe(64);
  });
  it('streams: launch-bound first', () => {
    expect(causes(gpu('streams'))[0]).toBe('launch-bound');
  });
  it('saturated: SM-full first; gaps held by an event are event-wait, not gpu-side', () => {
    const d = gpu('saturated');
    expect(causes(d)[0]).toBe('sm-full');
    expect(d.gaps.byClass['event-wait'].count).toBeGreaterThan(0);
    const chain = d.serialization!.find((s) => s.cause === 'event-wait-chain')!;
    expect(chain.costNs).toBe(d.gaps.byClass['event-wait'].total);
  });
  it('torch streams-sync: names boolean-mask indexing and the legacy default stream', () => {
    const d = gpu('torch-streams-sync');
    expect(culprits(d)).toContain('boolean-mask-indexing');
    expect(d.culprits!.find((c) => c.id === 'boolean-mask-indexing')!.text).toMatch(/x\[mask\]/);
    expect(causes(d)).toContain('legacy-default-stream');
  });
  it('torch grouped: recognises the existing grouped GEMM', () => {
    expect(culprits(gpu('torch-grouped'))).toEqual(['existing-grouped-gemm']);
  });
  it('every reason costs at most the window', () => {
    for (const n of ['streams-sync', 'streams', 'saturated', 'torch-streams-sync']) {
      const d = gpu(n);
      for (const s of d.serialization!) expect(s.costNs).toBeLessThanOrEqual(d.window.coveredDuration ?? d.window.duration);
    }
  });
});

describe('fixes name the culprit (findings)', () => {
  const report = (name: string) => buildReport(readNsysSqlite(`fixtures/nsys-2025.3/${name}.sqlite`, { keepApiCall: isAnalysedApiCall, syncRecords: false }));
  it('torch streams-sync: the host-sync fix names boolean-mask indexing', () => {
    const f = report('torch-streams-sync').findings.find((x) => x.id === 'host-sync-stall')!;
    expect(f.fix).toMatch(/boolean-mask indexing \(x\[mask\], nonzero/);
  });
  it('torch grouped: no finding advises writing a grouped GEMM', () => {
    for (const f of report('torch-grouped').findings) expect(f.fix, f.id).not.toMatch(/one grouped GEMM|run all experts as one grouped GEMM/);
  });
});

describe('each cause tied to the replay of its removal', () => {
  it('streams-sync: the blocking calls\' projected saving is the no-host-syncs scenario\'s', () => {
    const d = gpu('streams-sync');
    const r = d.serialization!.find((s) => s.cause === 'blocking-call')!;
    const s = d.whatIf!.scenarios.find((x) => x.scenario === 'no-host-syncs')!;
    expect(r.projectedSavingNs).toBe(s.savingNs);
    expect(r.projectedSavingNs!).toBeGreaterThan(0.15 * d.whatIf!.measuredIterationNs);
    expect(r.text).toContain('Replayed without it:');
  });
});
