import { describe, expect, it } from 'vitest';
import { buildTrace } from '../../src/model/build.js';
import { buildReport } from '../../src/report/build.js';
import { buildTimeline } from '../../src/render/html/timeline.js';
import { exposedByPhaseSpec } from '../../src/render/html/communication.js';
import { traceSection } from '../../src/render/html/sections.js';
import { readNsysSqlite } from '../../src/readers/nsys-sqlite.js';
import { communicationIntervals } from '../../src/analyses/communication-rows.js';

const NCCL = 'ncclDevKernel_SendRecv(ncclDevComm*, unsigned long, ncclWork*)';
const GEMM = 'sm90_xmma_gemm_bf16bf16_bf16f32';

describe('communication on the HTML timeline', () => {
  it('draws communication, compute and exposed communication as rows of their own', () => {
    const trace = buildTrace({ kernels: [
      { start: 0, end: 4000, name: NCCL, streamId: 1 },
      { start: 1000, end: 3000, name: GEMM, streamId: 2 },
      { start: 2500, end: 5000, name: GEMM, streamId: 3 },
      { start: 6000, end: 7000, name: 'barrier', demangledName: 'void deep_ep::intranode::barrier<8>(int **, int)', streamId: 1 },
    ] });
    const report = buildReport(trace);
    const tl = buildTimeline(report, trace, undefined, undefined, 1e3, communicationIntervals(report, trace));
    expect(tl.rows.slice(-3)).toEqual(['GPU 0 · communication', 'GPU 0 · compute', 'GPU 0 · exposed communication']);
    const rowMarks = (row: string) => tl.marks.filter((m) => m.row === row).map((m) => [m.start, m.end, m.kind]);
    expect(rowMarks('GPU 0 · communication')).toEqual([[0, 4, 'communication'], [6, 7, 'communication']]);
    expect(rowMarks('GPU 0 · compute')).toEqual([[1, 5, 'compute']]);
    // exposed: [0,1) before the GEMMs and the barrier [6,7)
    expect(rowMarks('GPU 0 · exposed communication')).toEqual([[0, 1, 'exposed'], [6, 7, 'exposed']]);
    expect(report.devices[0].communication).toMatchObject({ busy: 5000, exposed: 2000 });
  });

  it('no communication: no extra rows', () => {
    const trace = buildTrace({ kernels: [{ start: 0, end: 10, name: GEMM }] });
    const report = buildReport(trace);
    expect(communicationIntervals(report, trace)).toEqual([]);
    const tl = buildTimeline(report, trace, undefined, undefined, undefined, communicationIntervals(report, trace));
    expect(tl.rows.some((r) => r.includes('communication'))).toBe(false);
  });

  it('the EP dry run: the exposed row adds up to the report, and the page has the per-phase chart and tables', () => {
    const trace = readNsysSqlite('fixtures/nsys-2025.3-ep1/ep-overlapped-rank0.sqlite');
    const report = buildReport(trace);
    const tl = buildTimeline(report, trace, { maxMarks: 1e9, keepLongest: 0, bins: 10 }, undefined, 1e3, communicationIntervals(report, trace));
    const exposed = tl.marks.filter((m) => m.kind === 'exposed').reduce((t, m) => t + (m.end - m.start), 0);
    expect(exposed * 1e3).toBeCloseTo(report.devices[0].communication!.exposed, 3);
    expect(exposed * 1e3).toBeCloseTo(43680, 3);
    const spec = exposedByPhaseSpec(report.devices[0]) as { data: { values: { phase: string; part: string; us: number }[] } };
    expect(spec.data.values.filter((v) => v.part === 'exposed').map((v) => [v.phase, v.us])).toEqual([
      ['dispatch mb0', 11.456], ['dispatch mb1', 11.776], ['combine mb0', 10.272], ['combine mb1', 10.176],
    ]);
    const { section } = traceSection({ report, trace, communication: communicationIntervals(report, trace) }, 0);
    expect(section.charts.some((c) => c.kind === 'communication')).toBe(true);
    expect(section.tables.map((t) => t.caption)).toContain('GPU 0: communication by phase (from NVTX / record_function ranges around the launches)');
  });
});
