/**
 * The Kineto reader and the nsys reader agree on the same workload: each mode of
 * fixtures/kineto-2.11 (and the EP dry run of fixtures/nsys-2025.3-ep1) was captured once under
 * nsys and once under torch.profiler, in two processes back to back (nsys and Kineto cannot both
 * hold CUPTI). Counts per iteration must match exactly: kernels, streams with kernels, host syncs.
 * Times may not: the tolerance on GPU busy per iteration is 2%, the run-to-run spread of these
 * forwards (two Kineto-only runs of `grouped` differed by 2.7% in latency, MANIFEST.md; busy
 * per iteration differs by at most 0.35% across these pairs). Overlap share within 0.5 points.
 * The same findings must fire; what each costs is not compared: its share of the window depends on
 * how fast the host launched under each profiler (the whole-window utilization differs).
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzedReport, fixtureReport } from '../helpers/fixture-reports.js';
import { disagreements } from '../helpers/agreement.js';

// relative, as the other files name them: their Reports are shared (helpers/fixture-reports.ts)
const FIX = 'fixtures';
const TOL = { busyRel: 0.02, overlapAbs: 0.005 };

describe('nsys export and Kineto trace of the same workload agree', () => {
  it.each([
    ['kineto-2.11/sequential', 904, 1, 131],
    ['kineto-2.11/streams-sync', 899, 33, 128],
    ['kineto-2.11/streams', 280, 33, 0],
    ['kineto-2.11/grouped', 33, 1, 0],
    ['nsys-2025.3-ep1/ep-serialized-rank0', 284, 1, 0],
    ['nsys-2025.3-ep1/ep-overlapped-rank0', 540, 2, 0],
    ['nsys-2025.3-ep1/ep-grouped-rank0', 35, 1, 0],
  ])('%s: %i kernels, %i streams, %i host syncs per iteration', async (stem, kernels, streams, syncs) => {
    const nsys = fixtureReport(join(FIX, `${stem}.sqlite`));
    const kineto = await analyzedReport(join(FIX, `${stem}.pt.trace.json.gz`));
    const { list, traces } = disagreements(nsys, kineto, TOL);
    expect(list).toEqual([]);
    // and the figures are the ones the fixtures hold, not merely equal
    expect([traces[1].kernelsPerIteration, traces[1].streams, traces[1].syncsPerIteration]).toEqual([kernels, streams, syncs]);
    expect(kineto.input.source?.format).toBe('kineto');
    expect(nsys.input.source?.format).toBe('nsys-sqlite');
  }, 60_000);

  it('the check can fail: a trace of another mode disagrees', async () => {
    const a = fixtureReport(join(FIX, 'kineto-2.11/streams.sqlite'));
    const b = await analyzedReport(join(FIX, 'kineto-2.11/streams-sync.pt.trace.json.gz'));
    expect(disagreements(a, b, TOL).list.map((d) => d.metric)).toEqual(['kernelsPerIteration', 'syncsPerIteration', 'busyPerIteration', 'findings']);
  }, 60_000);
});
