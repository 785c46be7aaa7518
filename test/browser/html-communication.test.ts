import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeHtmlReport } from '../../src/render/html/index.js';
import { buildTrace } from '../../src/model/build.js';
import { buildReport } from '../../src/report/build.js';
import { communicationIntervals } from '../../src/analyses/communication-rows.js';
import { haveChromium, itemCentre, launch, markCounts, skipReason, tooltipText, visit, type Session } from './harness.js';

const dir = mkdtempSync(join(tmpdir(), 'moe-trace-html-comm-'));
const NCCL = 'ncclDevKernel_SendRecv(ncclDevComm*, unsigned long, ncclWork*)';
const GEMM = 'sm90_xmma_gemm_bf16bf16_bf16f32';

/** dispatch mb0 [0,3) µs alone, experts [3,8), combine [7,9) half under the experts' tail. */
function input() {
  const nvtx = [{ start: 0, end: 5, text: 'dispatch mb0' }, { start: 10, end: 15, text: 'experts mb0' }, { start: 20, end: 25, text: 'combine mb0' }];
  const runtime = [1, 2, 3].map((c) => ({ start: 10 * (c - 1) + 1, end: 10 * (c - 1) + 2, name: 'cudaLaunchKernel', correlationId: c }));
  const kernels = [
    { start: 1000, end: 4000, name: NCCL, streamId: 1, correlationId: 1 },
    { start: 4000, end: 9000, name: GEMM, streamId: 2, correlationId: 2 },
    { start: 8000, end: 10_000, name: NCCL, streamId: 1, correlationId: 3 },
  ];
  const trace = buildTrace({ nvtx, runtime, kernels });
  const report = buildReport(trace);
  return { report, trace, communication: communicationIntervals(report, trace) };
}

describe.skipIf(!haveChromium)(`communication on the HTML page in Chromium${haveChromium ? '' : ` (skipped: ${skipReason})`}`, () => {
  let session: Session;
  beforeAll(async () => { session = await launch(); }, 60_000);
  afterAll(async () => { await session?.close(); rmSync(dir, { recursive: true, force: true }); });

  it('draws the communication, compute and exposed rows and the per-phase chart, with tooltips', async () => {
    const i = input();
    expect(i.report.devices[0].communication).toMatchObject({ busy: 5000, exposed: 4000 });
    const out = await writeHtmlReport([i], join(dir, 'comm.html'));
    const v = await visit(session, out.path);
    expect(v.consoleErrors).toEqual([]);
    expect(v.pageErrors).toEqual([]);
    const counts = await markCounts(v.page);
    // per-phase chart: dispatch and combine, an exposed and a hidden bar each
    expect(counts['t0-gpu0-communication'].marks).toBe(4);
    expect(counts['t0-gpu0-communication'].errors).toBe(0);
    const at = await itemCentre(v.page, 't0-timeline', { kind: 'exposed' });
    expect(at).not.toBeNull();
    const text = await tooltipText(v.page, at!);
    expect(text).toContain('exposed communication (no compute beside it)');
    expect(text).toMatch(/duration\s+3\.000 µs/);
    await v.page.close();
  }, 60_000);
});
