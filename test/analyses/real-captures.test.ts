/**
 * The picture each mode of the bundled workload must show, measured by the analyzer on the real
 * H200 captures committed under fixtures/nsys-2025.3 (see fixtures/MANIFEST.md). The captures are
 * part of the repository, so a missing one is a failure, not a skip.
 */
import { describe, expect, it } from 'vitest';
import type { DeviceReport, Report } from '../../src/report/types.js';
import { fixtureReport } from '../helpers/fixture-reports.js';

/** Two independent capture campaigns of the same workload (see fixtures/MANIFEST.md). */
const DIRS = ['fixtures/nsys-2025.3', 'fixtures/nsys-2025.3-profile'];
const DIR = DIRS[0];
const EXPERTS = 64;
const ITERATIONS = 3;

const cache = new Map<string, Report>();
function report(name: string): Report {
  const file = name.includes('/') && !name.startsWith('tokens-64k/') ? `${name}.sqlite` : `${DIR}/${name}.sqlite`;
  let r = cache.get(file);
  if (!r) cache.set(file, (r = fixtureReport(file)));
  return r;
}
function gpu(name: string): DeviceReport {
  const r = report(name);
  expect(r.devices).toHaveLength(1);
  return r.devices[0];
}
function iterationTime(name: string): number {
  const it = gpu(name).nvtxRanges?.iterations;
  expect(it?.count).toBe(ITERATIONS);
  return it!.duration.median;
}
const streamSyncs = (d: DeviceReport): number => d.hostSyncs.byName.find((b) => b.name === 'cudaStreamSynchronize')?.count ?? 0;

describe.each(DIRS)('%s', (dir) => {
  describe('sequential', () => {
    it('runs on one stream, so no two streams ever overlap', () => {
      const d = gpu(`${dir}/sequential`);
      expect(d.streams).toHaveLength(1);
      expect(d.streamPairs.filter((p) => p.overlap > 0)).toHaveLength(0);
    });
    it('overlaps only where cuBLAS chains a split-K reduce onto its GEMM (under 1% of busy time)', () => {
      const d = gpu(`${dir}/sequential`);
      expect(d.overlap.overlapShare!).toBeLessThan(0.01);
      expect(d.overlap.maxConcurrency).toBeLessThanOrEqual(2);
    });
  });

  describe('streams-sync', () => {
    it('blocks the host once per expert per iteration, each after a 4-byte device-to-host copy', () => {
      const d = gpu(`${dir}/streams-sync`);
      // one per expert per iteration, as the NVTX table counts them (the end-of-run sync after the
      // last iteration waits for it but is not the loop's: it counts with --whole-trace)
      expect(streamSyncs(d)).toBe(EXPERTS * ITERATIONS);
      expect(d.hostSyncs.count).toBe(d.nvtxRanges!.iterations!.syncsPerIteration * ITERATIONS);
      const whole = fixtureReport(`${dir}/streams-sync.sqlite`, { wholeTrace: true }).devices[0];
      expect(streamSyncs(whole)).toBe(EXPERTS * ITERATIONS + 1);
      const afterCopy = d.hostSyncs.calls.filter((c) => c.name === 'cudaStreamSynchronize' && c.precedingCopy?.bytes === 4);
      expect(afterCopy).toHaveLength(EXPERTS * ITERATIONS);
      expect(afterCopy.every((c) => !c.precedingCopy!.pageable)).toBe(true);
      expect(d.nvtxRanges?.iterations?.syncsPerIteration).toBeGreaterThanOrEqual(EXPERTS);
    });
    it('uses a stream per expert and almost never overlaps', () => {
      const d = gpu(`${dir}/streams-sync`);
      expect(d.streams.length).toBeGreaterThanOrEqual(EXPERTS);
      expect(d.overlap.overlapShare!).toBeLessThan(0.02);
      expect(d.gaps.byClass['sync-stall'].count).toBeGreaterThanOrEqual(EXPERTS * ITERATIONS);
    });
  });

  describe('streams', () => {
    it('never reads back inside the loop', () => {
      expect(streamSyncs(gpu(`${dir}/streams`))).toBeLessThanOrEqual(1);
    });
    it('at the default shape still cannot overlap: kernels end before the next launch', () => {
      const d = gpu(`${dir}/streams`);
      expect(d.overlap.overlapShare!).toBeLessThan(0.02);
      expect(d.launch.launchBound).toBe(true);
    });
  });

  describe('grouped', () => {
    it('launches a handful of kernels per layer', () => {
      const d = gpu(`${dir}/grouped`);
      expect(d.nvtxRanges?.iterations?.kernelsPerIteration).toBeLessThanOrEqual(10);
      expect(d.overlap.kernelCount).toBeLessThanOrEqual(10 * ITERATIONS);
    });
    it('is the fastest mode, at least 5x faster than sequential per iteration', () => {
      const grouped = iterationTime(`${dir}/grouped`);
      for (const m of ['sequential', 'streams-sync', 'streams', 'graph']) expect(grouped).toBeLessThan(iterationTime(`${dir}/${m}`));
      expect(iterationTime(`${dir}/sequential`) / grouped).toBeGreaterThanOrEqual(5);
    });
  });

  describe('graph', () => {
    it('replays the streams loop with most kernel time overlapped', () => {
      const d = gpu(`${dir}/graph`);
      expect(d.overlap.overlapShare!).toBeGreaterThan(0.5);
    });
  });

  describe('saturated', () => {
    it('shows expert GEMMs whose waves >= 1: one fills every SM', () => {
      const fill = gpu(`${dir}/saturated`).smFill!;
      expect(fill.limits?.smCount).toBe(132);
      const gemms = fill.byName.filter((k) => k.medianBlocks === 132 && k.residentBlocksPerSm === 1);
      expect(gemms.length).toBeGreaterThan(0);
      expect(gemms.every((k) => (k.medianWaves ?? 0) >= 1)).toBe(true);
      expect(fill.fullTimeShare!).toBeGreaterThan(0.5);
    });
  });
});

describe('streams at 64k tokens', () => {
  it('with 64k tokens overlaps more than streams-sync, which still does not', () => {
    const streams = gpu('tokens-64k/streams');
    const sync = gpu('tokens-64k/streams-sync');
    expect(sync.overlap.overlapShare!).toBeLessThan(0.02);
    expect(streams.overlap.overlapShare!).toBeGreaterThan(sync.overlap.overlapShare! + 0.05);
    expect(streams.overlap.maxConcurrency).toBeGreaterThanOrEqual(2);
  });
});

describe('--range over some experts of streams-sync', () => {
  it('measures shares against the time the selected ranges cover, and counts the window, not iterations', () => {
    const r = fixtureReport(`${DIR}/streams-sync.sqlite`, { range: '/^expert 1[0-9]$/' });
    const d = r.devices[0];
    expect(d.window.source).toBe('range');
    expect(d.window.rangeInstances).toBe(10 * ITERATIONS);
    const covered = d.window.coveredDuration!;
    expect(covered).toBeLessThan(d.window.duration);
    expect(d.window.segments!.reduce((t, s) => t + s.end - s.start, 0)).toBe(covered);
    expect(d.overlap.utilization).toBeCloseTo(d.overlap.busy / covered, 12);
    const f = r.findings.find((x) => x.id === 'host-sync-stall')!;
    expect(f.costShare).toBeCloseTo(f.costNs / covered, 12);
    expect(f.title).not.toMatch(/per iteration/);
    expect(f.title).toMatch(/\d+ times in the window/);
  });
});
