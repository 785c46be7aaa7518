/**
 * The combined summary across ranks: one row per (file, device), the slowest rank and how far the
 * ranks spread. Built only from fields of the Report JSON, so `analyze a b c` (in-process reports)
 * and `merge a.json b.json c.json` (reports read back from disk) give the same object.
 * Its JSON form is versioned like the Report: bump COMBINED_SCHEMA_VERSION on incompatible changes.
 */
import { GAP_CLASSES, type GapClass, type Report } from './types.js';
import { combineCommunication, rankCommunication, type CombinedCommunication, type RankCommunication } from './combined-communication.js';

function withCommunication(ranks: RankSummary[]): { communication?: CombinedCommunication } {
  const c = combineCommunication(ranks);
  return c ? { communication: c } : {};
}

export const COMBINED_SCHEMA_VERSION = 1;

/** One GPU of one input file: in a distributed job, one rank. */
export interface RankSummary {
  /** the input file as its report names it */
  file: string;
  deviceId: number;
  gpuName: string;
  kernelCount: number;
  /** |W| (the window's covered duration) */
  window: number;
  busy: number;
  kernelTime: number;
  overlapTime: number;
  /** null when busy = 0 */
  overlapShare: number | null;
  /** null when |W| = 0 */
  utilization: number | null;
  streams: number;
  /** GPU idle time in W by the class of its gaps */
  gapTime: Record<GapClass, number>;
  hostSyncs: number;
  /** GPU idle time in W overlapped by host syncs */
  hostSyncGpuIdle: number;
  /** launch latency median; null when no kernel's launch call was found */
  launchLatencyMedian: number | null;
  /** id of the finding that explains the most time on this device, null when none */
  topFinding: string | null;
  /** its communication (issue 17), when it ran any: exposed time and the collective sequence */
  communication?: RankCommunication;
}

/** min / median / max of one metric over the ranks; spread = max - min. */
export interface RankSpread {
  min: number;
  median: number;
  max: number;
  spread: number;
  /** spread / max; null when max is 0 */
  relativeSpread: number | null;
}

export interface CombinedSummary {
  schema: 'moe-trace/combined';
  schemaVersion: typeof COMBINED_SCHEMA_VERSION;
  /** input files in the order given */
  files: string[];
  /** files whose trace had no kernels in the window (no rank row) */
  filesWithoutKernels: string[];
  /** in file order, then by deviceId */
  ranks: RankSummary[];
  totals: {
    kernelCount: number;
    busy: number;
    kernelTime: number;
    overlapTime: number;
    /** Σ overlapTime / Σ busy; null when nothing ran */
    overlapShare: number | null;
    hostSyncs: number;
  };
  /**
   * The rank whose GPU work spans the longest window (ties: more busy time, then input order):
   * in a synchronous job the one every other rank waits for. null without ranks.
   */
  slowest: { rank: number; file: string; deviceId: number; window: number; behindMedian: number } | null;
  /** null fields' ranks are left out of a metric's spread; a metric no rank has is null */
  spread: {
    window: RankSpread | null;
    busy: RankSpread | null;
    kernelCount: RankSpread | null;
    utilization: RankSpread | null;
    overlapShare: RankSpread | null;
    hostSyncGpuIdle: RankSpread | null;
  };
  /** per-rank exposed communication and the rank the others waited for at each collective (issue 17) */
  communication?: CombinedCommunication;
}

/** The rows one report contributes: one per device. */
export function rankSummaries(report: Report): RankSummary[] {
  return report.devices.map((d) => {
    const top = report.findings.filter((f) => f.deviceId === d.deviceId)
      .reduce<Report['findings'][number] | null>((best, f) => (best === null || f.costNs > best.costNs ? f : best), null);
    const gapTime = {} as Record<GapClass, number>;
    for (const c of GAP_CLASSES) gapTime[c] = d.gaps.byClass[c]?.total ?? 0;
    return {
      file: report.input.file,
      deviceId: d.deviceId,
      gpuName: d.gpuName,
      kernelCount: d.overlap.kernelCount,
      window: d.window.coveredDuration ?? d.window.duration,
      busy: d.overlap.busy,
      kernelTime: d.overlap.kernelTime,
      overlapTime: d.overlap.overlapTime,
      overlapShare: d.overlap.overlapShare,
      utilization: d.overlap.utilization,
      streams: d.streams.length,
      gapTime,
      hostSyncs: d.hostSyncs.count,
      hostSyncGpuIdle: d.hostSyncs.gpuIdle,
      launchLatencyMedian: d.launch.matchedKernels > 0 ? d.launch.latency.median : null,
      topFinding: top?.id ?? null,
      ...(rankCommunication(d.communication) ? { communication: rankCommunication(d.communication) } : {}),
    };
  });
}

function spreadOf(values: (number | null)[]): RankSpread | null {
  const v = values.filter((x): x is number => x !== null).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = v.length >> 1;
  const median = v.length % 2 === 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
  const min = v[0]; const max = v[v.length - 1];
  return { min, median, max, spread: max - min, relativeSpread: max === 0 ? null : (max - min) / max };
}

/** Combines rank rows (from reports or from earlier combined summaries) into one summary. */
export function combineRanks(files: string[], filesWithoutKernels: string[], ranks: RankSummary[]): CombinedSummary {
  const sum = (f: (r: RankSummary) => number): number => ranks.reduce((a, r) => a + f(r), 0);
  const busy = sum((r) => r.busy);
  const overlapTime = sum((r) => r.overlapTime);
  let slowest: CombinedSummary['slowest'] = null;
  const windows = spreadOf(ranks.map((r) => r.window));
  ranks.forEach((r, i) => {
    const s = slowest === null ? null : ranks[slowest.rank];
    if (s === null || r.window > s.window || (r.window === s.window && r.busy > s.busy)) {
      slowest = { rank: i, file: r.file, deviceId: r.deviceId, window: r.window, behindMedian: 0 };
    }
  });
  if (slowest !== null && windows !== null) {
    const s = slowest as NonNullable<CombinedSummary['slowest']>;
    s.behindMedian = s.window - windows.median;
  }
  return {
    schema: 'moe-trace/combined',
    schemaVersion: COMBINED_SCHEMA_VERSION,
    files,
    filesWithoutKernels,
    ranks,
    totals: {
      kernelCount: sum((r) => r.kernelCount),
      busy,
      kernelTime: sum((r) => r.kernelTime),
      overlapTime,
      overlapShare: busy === 0 ? null : overlapTime / busy,
      hostSyncs: sum((r) => r.hostSyncs),
    },
    slowest,
    spread: {
      window: windows,
      busy: spreadOf(ranks.map((r) => r.busy)),
      kernelCount: spreadOf(ranks.map((r) => r.kernelCount)),
      utilization: spreadOf(ranks.map((r) => r.utilization)),
      overlapShare: spreadOf(ranks.map((r) => r.overlapShare)),
      hostSyncGpuIdle: spreadOf(ranks.map((r) => r.hostSyncGpuIdle)),
    },
    ...withCommunication(ranks),
  };
}

/** The combined summary of reports, in the order given. */
export function buildCombined(reports: Report[]): CombinedSummary {
  return combineRanks(
    reports.map((r) => r.input.file),
    reports.filter((r) => r.devices.length === 0).map((r) => r.input.file),
    reports.flatMap(rankSummaries),
  );
}

/** Several combined summaries (e.g. one per node) as one, in the order given. */
export function mergeCombined(parts: CombinedSummary[]): CombinedSummary {
  return combineRanks(parts.flatMap((p) => p.files), parts.flatMap((p) => p.filesWithoutKernels), parts.flatMap((p) => p.ranks));
}
