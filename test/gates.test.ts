import { describe, expect, it } from 'vitest';
import { enforceGates, evaluateGates, gateVariables, GATE_VARIABLES, parseGate } from '../src/gates.js';
import { GateFailedError, InputError } from '../src/errors.js';
import { REPORT_SCHEMA_VERSION, type DeviceReport, type Distribution, type Finding, type Report } from '../src/report/types.js';

const dist = (median: number, count = 10): Distribution => ({ count, total: median * count, min: median, median, p95: median, max: median });

function device(deviceId: number, overlapShare: number | null, syncsPerIteration: number | null): DeviceReport {
  return {
    deviceId, gpuName: 'H200',
    window: { start: 0, end: 1_000_000, duration: 1_000_000, source: 'kernels' },
    overlap: { kernelCount: 100, busy: 400_000, kernelTime: 410_000, concurrency: 1.025, overlapShare, overlapTime: 10_000, utilization: 0.4, levelTime: [600_000, 390_000, 10_000], maxConcurrency: 2 },
    transfers: { memcpyCount: 0, memcpyBusy: 0, memsetCount: 0, memsetBusy: 0 },
    streams: [], streamPairs: [],
    gaps: { all: dist(6000, 100), byClass: { 'sync-stall': { count: 60, total: 500_000 }, 'host-wait': { count: 40, total: 100_000 }, 'gpu-side': { count: 0, total: 0 }, unexplained: { count: 0, total: 0 }, 'event-wait': { count: 0, total: 0 } }, gaps: [] },
    launch: { latency: dist(3000), interval: dist(9000), matchedKernels: 100, launchBound: false },
    hostSyncs: { count: 128, totalTime: 500_000, gpuIdle: 480_000, byName: [], byReason: [], calls: [], omitted: 128 },
    nvtxRanges: syncsPerIteration === null ? undefined : {
      byName: [], families: [],
      iterations: { name: 'iteration #', count: 2, duration: dist(500_000, 2), kernelsPerIteration: 50, syncsPerIteration, syncsPerIterationByName: { cudaStreamSynchronize: syncsPerIteration }, busyPerIteration: 200_000 },
    },
  };
}

function report(devices: DeviceReport[], findings: Finding[] = []): Report {
  return {
    schema: 'moe-trace/report', schemaVersion: REPORT_SCHEMA_VERSION, tool: { name: 'moe-trace', version: 'test' },
    input: { file: 'x.sqlite', fileSizeBytes: 1, nsysVersion: null, exportSchemaVersion: null, timeOriginNs: '0', hasKernelTable: true },
    warnings: [], headline: [], findings, devices, processes: [], apiSummary: [],
  };
}

const finding = (id: string, costShare: number, deviceId = 0): Finding => ({
  id, severity: 'high', deviceId, title: id, evidence: [], costNs: costShare * 1e6, costShare, fix: '', measures: [],
});

describe('parseGate', () => {
  it('reads comparisons, units, && / || precedence, ! and parentheses', () => {
    expect(parseGate('overlapShare < 0.2')).toEqual({
      kind: 'cmp', op: '<', left: { kind: 'variable', name: 'overlapShare' }, right: { kind: 'number', value: 0.2, text: '0.2' },
    });
    expect(parseGate('iterationNs > 1.5ms')).toMatchObject({ right: { value: 1_500_000 } });
    // micro as us, µ (MICRO SIGN) or μ (GREEK SMALL LETTER MU), as --window reads it (model/units.ts)
    for (const u of ['us', '\u00b5s', '\u03bcs']) expect(parseGate(`iterationNs > 2${u}`)).toMatchObject({ right: { value: 2000 } });
    expect(parseGate('utilization >= 20%')).toMatchObject({ right: { value: 0.2 } });
    // && binds tighter than ||
    expect(parseGate('syncs > 0 || streams > 1 && overlapShare < 0.1')).toMatchObject({ kind: 'or', right: { kind: 'and' } });
    expect(parseGate('!(syncs > 0 || streams > 1) && overlapShare < 0.1')).toMatchObject({ kind: 'and', left: { kind: 'not', expr: { kind: 'or' } } });
    expect(parseGate('finding.host-sync-stall > 10%')).toMatchObject({ left: { kind: 'variable', name: 'finding.host-sync-stall' } });
  });
  it('rejects an unknown variable with the list of known ones', () => {
    expect(() => parseGate('overlap < 0.2')).toThrow(InputError);
    expect(() => parseGate('overlap < 0.2')).toThrow(/unknown variable "overlap"; known: windowNs, busyNs, .*syncsPerIteration/);
  });
  it('rejects broken syntax in one clear line', () => {
    expect(() => parseGate('overlapShare 0.2')).toThrow(/expected a comparison .* after "overlapShare"/);
    expect(() => parseGate('(syncs > 0')).toThrow(/missing "\)"/);
    expect(() => parseGate('syncs > 0 syncs')).toThrow(/unexpected "syncs"/);
    expect(() => parseGate('syncs > $3')).toThrow(/cannot read "\$3"/);
    expect(() => parseGate('  ')).toThrow(/empty expression/);
  });
  it('documents every variable it evaluates', () => {
    const vars = gateVariables(report([device(0, 0.1, 64)]), device(0, 0.1, 64));
    for (const name of vars.keys()) expect(Object.keys(GATE_VARIABLES)).toContain(name);
  });
});

describe('evaluateGates / enforceGates', () => {
  it('passes when no gate holds', () => {
    const r = report([device(0, 0.5, 0)]);
    const out = enforceGates(['overlapShare < 0.2', 'syncsPerIteration > 0'], r);
    expect(out.map((o) => o.failed)).toEqual([false, false]);
    expect(out[0].values).toEqual({ overlapShare: 0.5 });
  });
  it('fails with exit 3 and prints the values it saw, per device', () => {
    const r = report([device(0, 0.5, 0), device(1, 0.004, 64)]);
    let err: unknown;
    try { enforceGates(['overlapShare < 0.2 && syncsPerIteration > 0'], r); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(GateFailedError);
    expect((err as GateFailedError).exitCode).toBe(3);
    expect((err as Error).message).toBe('gate failed on device 1: overlapShare < 0.2 && syncsPerIteration > 0 (overlapShare = 0.004, syncsPerIteration = 64)');
  });
  it('evaluates finding.<id> as the finding\'s share of the window, 0 when absent', () => {
    const r = report([device(0, 0.5, 0)], [finding('host-sync-stall', 0.48), finding('launch-bound', 0.3, 1)]);
    const out = evaluateGates(['finding.host-sync-stall > 40%', 'finding.launch-bound > 0', 'findings == 1'], r);
    expect(out.map((o) => o.failed)).toEqual([true, false, true]);
    expect(out[1].values).toEqual({ 'finding.launch-bound': 0 });
  });
  it('says when a variable is not known for the trace instead of passing silently', () => {
    const r = report([device(0, 0.5, null)]);
    expect(() => enforceGates(['syncsPerIteration > 0'], r)).toThrow(/syncsPerIteration is not known for device 0 .*repeated NVTX ranges/);
    // short-circuit: the unknown side is never read
    expect(enforceGates(['syncs < 0 && syncsPerIteration > 0'], r)[0].failed).toBe(false);
  });
  it('refuses to gate a trace without devices', () => {
    expect(() => enforceGates(['syncs > 0'], report([]))).toThrow(/no GPU kernels/);
  });
});
