/**
 * The Report: the one object every renderer (terminal, JSON, HTML) reads. Its JSON form is the
 * versioned public schema documented in docs/report-schema.md. Bump REPORT_SCHEMA_VERSION on any
 * incompatible change and note the version a field was added in.
 *
 * All times are integer nanoseconds on the trace's timeline (see TraceMeta.timeOriginNs).
 */

export const REPORT_SCHEMA_VERSION = 1;

export interface Window {
  start: number;
  end: number;
  /** end - start */
  duration: number;
  /** how it was chosen */
  source: 'kernels' | 'range' | 'explicit';
  /** the --range text when source is 'range' */
  range?: string;
  /** number of NVTX range instances whose GPU projections make up the window (source 'range') */
  rangeInstances?: number;
}

export interface Distribution {
  count: number;
  total: number;
  min: number;
  median: number;
  p95: number;
  max: number;
}

/** Overlap metrics of DESIGN.md over the window, for one device (or one process on it). */
export interface OverlapMetrics {
  kernelCount: number;
  /** |{t in W : n(t) >= 1}| */
  busy: number;
  /** sum of (clipped) kernel durations */
  kernelTime: number;
  /** kernelTime / busy; 1 = never overlapped; null when busy = 0 */
  concurrency: number | null;
  /** |{t : n(t) >= 2}| / busy; null when busy = 0 */
  overlapShare: number | null;
  /** |{t : n(t) >= 2}| */
  overlapTime: number;
  /** busy / |W|; null when |W| = 0 */
  utilization: number | null;
  /** levelTime[k] = |{t in W : n(t) = k}|, k = 0..maxConcurrency */
  levelTime: number[];
  maxConcurrency: number;
}

export interface StreamStats {
  streamId: number;
  /** process index in Report.processes, or -1 */
  process: number;
  kernelCount: number;
  busy: number;
  /** busy / |W| */
  occupancy: number | null;
  /** busy / device busy */
  shareOfDeviceBusy: number | null;
  duration: Distribution;
  /** gaps between consecutive kernels on this stream (within W) */
  gaps: Distribution;
}

export interface StreamPairOverlap {
  a: number;
  b: number;
  overlap: number;
}

export type GapClass = 'sync-stall' | 'host-wait' | 'gpu-side' | 'unexplained';

export interface Gap {
  start: number;
  end: number;
  duration: number;
  class: GapClass;
  /** index (in the trace's kernel columns) of the first kernel after the gap, -1 if none */
  nextKernel: number;
  /** name of the blocking API call for sync-stall gaps */
  syncCall?: string;
}

export interface GapSummary {
  /** all gaps: count, total, median, p95, max */
  all: Distribution;
  byClass: Record<GapClass, { count: number; total: number }>;
  /** every gap, in time order (renderers may sample) */
  gaps: Gap[];
}

export interface LaunchStats {
  /** kernel start - end of its launch call, clipped at 0; only kernels with a matched call */
  latency: Distribution;
  /** time between consecutive launch-call starts on the same thread */
  interval: Distribution;
  /** kernels of the window whose launch call was found */
  matchedKernels: number;
  /** median kernel duration < median launch interval and host-wait dominates the gaps */
  launchBound: boolean;
}

export interface HostSync {
  /** normalized API name */
  name: string;
  start: number;
  end: number;
  duration: number;
  thread: number;
  /** why the call blocks: explicit sync, synchronous copy, pageable async copy, free, ... */
  reason: 'explicit' | 'sync-memcpy' | 'pageable-memcpy' | 'sync-memset' | 'free' | 'other';
  /** the device-to-host copy that preceded it on the same thread, if any */
  precedingCopy?: { bytes: number; copyKind: number; srcKind: number; dstKind: number; pageable: boolean };
  /** NVTX range the call sits in (innermost, same thread) */
  nvtxRange?: string;
  /** GPU idle time (within W) overlapped by this call */
  gpuIdle: number;
}

export interface HostSyncSummary {
  count: number;
  totalTime: number;
  /** GPU idle time in W overlapped by any host sync */
  gpuIdle: number;
  byName: { name: string; count: number; total: number }[];
  calls: HostSync[];
}

export interface ProcessBreakdown {
  process: number;
  overlap: OverlapMetrics;
  streamCount: number;
}

export interface DeviceReport {
  deviceId: number;
  gpuName: string;
  window: Window;
  overlap: OverlapMetrics;
  /** memcpy/memset on this device within W, reported apart from kernels */
  transfers: { memcpyCount: number; memcpyBusy: number; memsetCount: number; memsetBusy: number };
  streams: StreamStats[];
  streamPairs: StreamPairOverlap[];
  gaps: GapSummary;
  launch: LaunchStats;
  hostSyncs: HostSyncSummary;
  /** present when several processes share the device */
  processes?: ProcessBreakdown[];
}

export type Severity = 'high' | 'medium' | 'low' | 'info';

export interface Finding {
  id: string;
  severity: Severity;
  deviceId: number;
  /** one line, numbers included */
  title: string;
  /** supporting numbers, one short sentence each */
  evidence: string[];
  /** GPU time this finding explains, ns, and as a fraction of the window */
  costNs: number;
  costShare: number | null;
  /** what to do, one or two sentences */
  fix: string;
}

export interface Report {
  schema: 'moe-trace/report';
  schemaVersion: typeof REPORT_SCHEMA_VERSION;
  tool: { name: 'moe-trace'; version: string };
  input: {
    file: string;
    fileSizeBytes: number;
    nsysVersion: string | null;
    exportSchemaVersion: string | null;
    timeOriginNs: string;
    hasKernelTable: boolean;
  };
  /** what the reader dropped or repaired, and anything else the user should know */
  warnings: string[];
  /** headline, one line per device: "N streams, overlap share X%, GPU utilization Y%, Z host syncs" */
  headline: string[];
  findings: Finding[];
  devices: DeviceReport[];
  processes: { globalPid: string; pid: number; name: string }[];
  /** API calls by name when the trace has runtime records (also without kernels) */
  apiSummary: { name: string; count: number; total: number }[];
}
