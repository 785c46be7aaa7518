/**
 * One report, one time per iteration: the iteration line leads with the iterations' median GPU span,
 * the what-if "now" is the replayed window divided by its iterations (the time between iterations
 * included). On the public llama3 export they read 8.732 ms and 9.884 ms with nothing saying why;
 * each must now say what it is, and the period must be the same number in both places.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readTrace } from '../../src/readers/read-trace.js';
import { buildReport } from '../../src/report/build.js';
import { renderTerminal } from '../../src/render/terminal.js';
import { formatNs } from '../../src/render/format.js';

const LLAMA = '../shared/nsys-corpus/nsys2024.6.2_pytorch-llama3-inference-nvtx_sh1mwww_real_inference_simulation.sqlite';
const FILES = [LLAMA, 'fixtures/nsys-2025.3-whole/torch-grouped.sqlite', 'fixtures/kineto-2.11/grouped.sqlite'];

describe('per-iteration figures agree or say why they differ', () => {
  for (const file of FILES) {
    it.skipIf(!existsSync(file))(file, async () => {
      const report = buildReport(await readTrace(file));
      const text = renderTerminal(report).replace(/\n {2}/g, ' ');
      for (const d of report.devices) {
        const t = d.window.iterations!;
        const w = d.whatIf!;
        expect(d.window.source).toBe('iterations');
        expect(w.iterations).toBe(t.count);
        // the replay divides the window the iterations span
        expect(Math.abs(w.measuredIterationNs * w.iterations - d.window.duration)).toBeLessThanOrEqual(w.iterations);
        const now = formatNs(w.measuredIterationNs);
        const whatIf = text.split('\n').find((l) => l.includes('projected per iteration'))!;
        expect(whatIf).toContain(`(now ${now} = ${formatNs(d.window.duration)} ÷ ${t.count} iterations)`);
        const line = text.split('\n').find((l) => l.includes(' per iteration (median GPU span, first kernel to last;'))!;
        expect(line).toContain(`${formatNs(t.span.median)} per iteration`);
        if (formatNs(t.span.median) !== now) expect(line).toContain(`(${t.count} in ${formatNs(d.window.duration)}: one every ${now}, the time between them included)`);
      }
    }, 30_000);
  }
  it.skipIf(!existsSync(LLAMA))('llama3: 8.732 ms median span, one token every 9.884 ms', async () => {
    const text = renderTerminal(buildReport(await readTrace(LLAMA))).replace(/\n {2}/g, ' ');
    expect(text).toContain('GPU 0: 8.732 ms per iteration (median GPU span, first kernel to last; mean 8.725 ms, 8.538 ms .. 8.923 ms) over 63 iterations of "token_#_processing" (63 in 622.7 ms: one every 9.884 ms, the time between them included)');
    expect(text).toContain('projected per iteration (now 9.884 ms = 622.7 ms ÷ 63 iterations): no syncs 8.814 ms');
  }, 30_000);
});
