/**
 * bench/generate.js repeats a capture N times; every analysis of the result must be the
 * capture's, scaled: this is what makes the million-kernel benchmark measure real work.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error plain JavaScript module without types
import { generate } from '../../bench/generate.js';
import { readNsysSqlite } from '../../src/readers/nsys-sqlite.js';
import { buildReport } from '../../src/report/build.js';
import { GAP_CLASSES, type GapDetail } from '../../src/analyses/launch-gaps.js';
import { analyzeDeviceWindow, deviceWindows } from '../../src/analyses/device.js';
import { indexTrace } from '../../src/analyses/trace-index.js';
import type { DeviceReport, Report } from '../../src/report/types.js';
import { removeTempDirs, tempDir } from '../helpers/make-sqlite.js';

afterAll(removeTempDirs);

const SOURCE = fileURLToPath(new URL('../../fixtures/nsys-2025.3/sequential.sqlite', import.meta.url));
const N = 3;

describe.skipIf(!existsSync(SOURCE))('a generated export analyses as its source, scaled', () => {
  let info: { copies: number; origin: number; period: number; counts: Record<string, number>; synthesizedNvtx: boolean };
  let one: Report; let many: Report; let d1: DeviceReport; let dn: DeviceReport; let gapsN: GapDetail;
  beforeAll(() => {
    const out = join(tempDir(), 'x3.sqlite');
    info = generate({ source: SOURCE, out, copies: N });
    // the whole trace: N copies of a capture, each analysis scaled by N (the steady state would pick one copy's iterations)
    one = buildReport(readNsysSqlite(SOURCE), { wholeTrace: true });
    const traceN = readNsysSqlite(out);
    many = buildReport(traceN, { wholeTrace: true });
    // every gap (the report lists the longest 1000), as the analyses hand them to the findings
    const index = indexTrace(traceN);
    gapsN = analyzeDeviceWindow(index, deviceWindows(index, { wholeTrace: true })[0]).context.gaps;
    d1 = one.devices[0];
    dn = many.devices[0];
  });

  it('repeats every activity row N times and adds no NVTX to a capture that has some', () => {
    expect(info.copies).toBe(N);
    expect(info.synthesizedNvtx).toBe(false);
    expect(info.counts.CUPTI_ACTIVITY_KIND_KERNEL).toBe(747 * N);
    expect(many.apiSummary).toEqual(one.apiSummary.map((a) => ({ ...a, count: a.count * N, total: a.total * N })));
  });

  it('scales counts and times by N and keeps the shares', () => {
    const o1 = d1.overlap; const on = dn.overlap;
    expect([on.kernelCount, on.busy, on.kernelTime, on.overlapTime]).toEqual([o1.kernelCount * N, o1.busy * N, o1.kernelTime * N, o1.overlapTime * N]);
    expect(on.overlapShare).toBeCloseTo(o1.overlapShare!, 12);
    expect(on.concurrency).toBeCloseTo(o1.concurrency!, 12);
    expect(on.levelTime.slice(1)).toEqual(o1.levelTime.slice(1).map((t) => t * N));
    expect(dn.streams.map((s) => [s.streamId, s.kernelCount, s.busy])).toEqual(d1.streams.map((s) => [s.streamId, s.kernelCount * N, s.busy * N]));
    expect(dn.streamPairs).toEqual(d1.streamPairs.map((p) => ({ ...p, overlap: p.overlap * N })));
    const k1 = d1.kernelDuration!; const kn = dn.kernelDuration!;
    expect([kn.count, kn.total, kn.min, kn.median, kn.max]).toEqual([k1.count * N, k1.total * N, k1.min, k1.median, k1.max]);
    expect([dn.launch.matchedKernels, dn.launch.latency.total, dn.launch.latency.min, dn.launch.latency.max])
      .toEqual([d1.launch.matchedKernels * N, d1.launch.latency.total * N, d1.launch.latency.min, d1.launch.latency.max]);
    expect([dn.hostSyncs.count, dn.hostSyncs.totalTime]).toEqual([d1.hostSyncs.count * N, d1.hostSyncs.totalTime * N]);
    expect([dn.smFill!.kernelCount, dn.smFill!.kernelTime, dn.smFill!.fullKernelCount]).toEqual([d1.smFill!.kernelCount * N, d1.smFill!.kernelTime * N, d1.smFill!.fullKernelCount * N]);
    expect(dn.smFill!.fullTimeShare).toBeCloseTo(d1.smFill!.fullTimeShare!, 12);
  });

  it('has N times the gaps of each copy plus the N-1 gaps between copies', () => {
    expect(dn.gaps.all.count).toBe(d1.gaps.all.count * N + (N - 1));
    // the gaps inside each copy are the source's, class for class
    const copyOf = (t: number): number => Math.floor((t - info.origin) / info.period);
    const { idle, cls } = gapsN;
    const inner = Array.from({ length: idle.count }, (_, g) => g).filter((g) => copyOf(idle.start[g]) === copyOf(idle.end[g]));
    expect(inner.length).toBe(d1.gaps.all.count * N);
    GAP_CLASSES.forEach((c, i) => {
      expect(inner.filter((g) => cls[g] === i).length).toBe(d1.gaps.byClass[c].count * N);
    });
  });

  it('finds the NVTX ranges N times over', () => {
    const r1 = d1.nvtxRanges!.byName; const rn = dn.nvtxRanges!.byName;
    expect(rn.map((g) => [g.name, g.instances, g.kernelCount, g.syncs])).toEqual(r1.map((g) => [g.name, g.instances * N, g.kernelCount * N, g.syncs * N]));
    expect(dn.nvtxRanges!.iterations?.count).toBe(d1.nvtxRanges!.iterations!.count * N);
  });
});
