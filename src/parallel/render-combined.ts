/** Terminal and JSON forms of the combined summary across ranks (analyze of several files, merge). */
import type { CombinedSummary, RankSpread } from '../report/combined.js';
import type { Report } from '../report/types.js';
import { formatCount, formatNs, formatPct, textTable } from '../render/format.js';
import { combinedCommunicationLines } from '../render/communication-text.js';

export function renderCombinedTerminal(c: CombinedSummary): string {
  const out: string[] = [];
  const n = c.ranks.length;
  out.push(`Combined: ${c.files.length} file${c.files.length === 1 ? '' : 's'}, ${n} rank${n === 1 ? '' : 's'} (GPU per file), ` +
    `${formatCount(c.totals.kernelCount)} kernels, overlap share ${formatPct(c.totals.overlapShare)}, ${formatCount(c.totals.hostSyncs)} host syncs`);
  if (c.slowest) {
    const s = c.slowest;
    out.push(`Slowest rank: ${s.file} GPU ${s.deviceId}, window ${formatNs(s.window)} (${formatNs(s.behindMedian)} longer than the median rank)`);
  }
  const spread = (label: string, s: RankSpread | null, f: (v: number) => string): void => {
    if (s) out.push(`  ${label}: ${f(s.min)} .. ${f(s.max)} (median ${f(s.median)}, spread ${f(s.spread)}${s.relativeSpread !== null ? `, ${formatPct(s.relativeSpread)} of max` : ''})`);
  };
  out.push('Spread across ranks:');
  spread('window', c.spread.window, formatNs);
  spread('GPU busy', c.spread.busy, formatNs);
  spread('kernels', c.spread.kernelCount, formatCount);
  spread('utilization', c.spread.utilization, (v) => formatPct(v));
  spread('overlap share', c.spread.overlapShare, (v) => formatPct(v));
  spread('GPU idle in host syncs', c.spread.hostSyncGpuIdle, formatNs);
  out.push('', textTable(
    ['rank', 'file', 'GPU', 'kernels', 'window', 'busy', 'util', 'overlap', 'host syncs', 'sync idle', 'top finding'],
    c.ranks.map((r, i) => [
      String(i), r.file, String(r.deviceId), formatCount(r.kernelCount), formatNs(r.window), formatNs(r.busy),
      formatPct(r.utilization), formatPct(r.overlapShare), formatCount(r.hostSyncs), formatNs(r.hostSyncGpuIdle), r.topFinding ?? '–',
    ]),
  ));
  // issue 17: per-rank exposed communication, the rank the others waited for (src/render/communication-text.ts)
  out.push(...combinedCommunicationLines(c.communication, c.ranks));
  for (const f of c.filesWithoutKernels) out.push(`${f}: no kernels in the window`);
  return `${out.join('\n')}\n`;
}

/** `analyze --json` of several files: the reports wrapper ({schema: 'moe-trace/reports', reports}) plus the combined summary. */
export function reportsWithCombined(reports: Report[], combined: CombinedSummary): object {
  return { schema: 'moe-trace/reports', schemaVersion: reports[0]?.schemaVersion ?? 1, reports, combined };
}
