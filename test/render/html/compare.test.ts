/** The comparison block of a page of several traces: compare's figures and the iterations on one axis. */
import { describe, expect, it } from 'vitest';
import { compareReports, traceLabels } from '../../../src/commands/compare.js';
import { comparison } from '../../../src/render/html/compare.js';
import { fixtureReport, fixtureTrace } from '../../helpers/fixture-reports.js';

const FILES = ['sequential', 'streams-sync', 'grouped'].map((m) => `fixtures/nsys-2025.3/${m}.sqlite`);
const inputs = FILES.map((f) => ({ report: fixtureReport(f), trace: fixtureTrace(f) }));

describe('comparison', () => {
  it('takes the time per iteration and the speed-up from compare', () => {
    const c = compareReports(inputs.map((i) => i.report), traceLabels(FILES));
    const { table } = comparison(inputs, c.traces);
    const row = (name: string): string[] => table.rows.find((r) => r[0] === name)!.slice(1);
    expect(row('speed-up vs sequential.sqlite')).toEqual(c.traces.map((t) => `${t.speedup!.toFixed(2)}x`));
    expect(row('speed-up vs sequential.sqlite')).toEqual(['1.00x', '0.72x', '7.55x']);
    expect(row('time / iteration')).toEqual(['2.077 ms', '2.885 ms', '275.1 µs']);
    expect(row('iterations')).toEqual(['3', '3', '3']);
  });

  it('draws every measured iteration of each file on one time axis, from its first', () => {
    const { charts } = comparison(inputs);
    const spec = charts.find((c) => c.id === 'compare-iterations')!.spec as { data: { values: { file: string; iteration: number; start: number; end: number }[] } };
    const values = spec.data.values;
    expect(values.map((v) => v.file)).toEqual(FILES.flatMap((f) => [1, 2, 3].map(() => `${f.split('/').pop()} · GPU 0`)));
    for (const [t, input] of inputs.entries()) {
      const inst = input.report.devices[0].nvtxRanges!.iterations!.instances!;
      const mine = values.filter((v) => v.file.startsWith(FILES[t].split('/').pop()!));
      expect(mine[0].start).toBe(0);
      expect(mine.map((v) => Math.round((v.end - v.start) * 1e6))).toEqual(inst.map((x) => x.gpuEnd! - x.gpuStart!));
    }
  });
});
