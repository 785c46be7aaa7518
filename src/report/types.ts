/**
 * The Report: the one object every renderer (terminal, JSON, HTML) reads. Its JSON form is the
 * versioned public schema documented in docs/report-schema.md. Bump REPORT_SCHEMA_VERSION on any
 * incompatible change and note the version a field was added in.
 *
 * All times are integer nanoseconds on the trace's timeline (see TraceMeta.timeOriginNs).
 */

import type { CommunicationReport } from './communication.js';

export type { CommunicationReport } from './communication.js';

export const REPORT_SCHEMA_VERSION = 1;

export interface Window {
  start: number;
  end: number;
  /** end - start */
  duration: number;
  /**
   * how it was chosen: 'iterations' (the default when the steady-state iterations were found: see
   * `iterations`), 'kernels' (first kernel start to last kernel end: --whole-trace, or no iterations
   * found), 'range' (--range), 'explicit' (--window)
   */
  source: 'iterations' | 'kernels' | 'range' | 'explicit';
  /**
   * The iterations W is made of (source 'iterations', or 'range' when the range has several
   * instances): W is the union of their GPU spans. Added in schema 1.
   */
  iterations?: IterationTiming;
  /** the --range text when source is 'range' */
  range?: string;
  /** number of NVTX range instances whose GPU projections make up the window (source 'range') */
  rangeInstances?: number;
  /**
   * |W|: the time the window covers, the denominator of utilization and of every "% of W".
   * Equals duration unless --range selected several disjoint GPU projections. Always set by analyzeDevice.
   */
  coveredDuration?: number;
  /** W's disjoint pieces, present only when there are several (time between them is outside W) */
  segments?: { start: number; end: number }[];
}

export interface IterationTiming {
  /** how they were found: an NVTX range family, cudaProfilerStart/Stop pairs, the repeating kernel sequence, or --range's instances */
  method: 'nvtx' | 'profiler-range' | 'kernel-period' | 'range';
  /** "forward seq #", "cudaProfilerStart/Stop", "a repeating sequence of 33 kernels", or the --range text */
  name: string;
  /** iterations found, warm-up included */
  found: number;
  /** iterations measured (found - leftOut) */
  count: number;
  /** leading iterations left out as warm-up (they differ markedly from the rest) */
  leftOut: number;
  /** why they were left out; absent when none were */
  leftOutReason?: string;
  /** wall span of each measured iteration on the GPU (first operation start to last operation end): the time per iteration */
  span: Distribution;
  /** span.total / span.count */
  meanSpan: number;
  /**
   * host-side extent of each measured iteration, in time order (its NVTX or profiler range on the
   * thread that opened it); absent for kernel-period iterations
   */
  host?: { start: number[]; end: number[] };
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
  /** process index in Report.processes; null when unknown (was -1 before the schema said null) */
  process: number | null;
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
  /** processes of streams a and b (index in Report.processes; null when unknown), present when several processes share the device */
  processA?: number | null;
  processB?: number | null;
}

/** Why the GPU was idle (analyses/launch-gaps.ts says how each is decided), in the order every table and chart lists them. */
/** 'event-wait' (issue 15, last so the others keep their index): the next kernel waited on another stream's event (cudaStreamWaitEvent) */
export const GAP_CLASSES = ['sync-stall', 'host-wait', 'gpu-side', 'unexplained', 'event-wait'] as const;
export type GapClass = (typeof GAP_CLASSES)[number];

export interface Gap {
  start: number;
  end: number;
  duration: number;
  class: GapClass;
  /** index (in the trace's kernel columns) of the first kernel after the gap; null if none */
  nextKernel: number | null;
  /** name of the blocking API call for sync-stall gaps */
  syncCall?: string;
  /**
   * sync-stall gaps: the part of the gap the blocking calls overlap (ns), the only part blamed on
   * them; the rest of the gap (duration - blocked) is `rest`'s time. Added in schema 1.
   */
  blocked?: number;
  /** sync-stall gaps: the class of the time not blocked ('host-wait', 'event-wait' or 'gpu-side') */
  rest?: GapClass;
}

export interface GapSummary {
  /** all gaps: count, total, median, p95, max */
  all: Distribution;
  /**
   * count: the gaps of each class (a gap a blocking call overlaps is a sync-stall gap); total: the
   * idle time of each cause. A sync-stall gap's time splits: the part the blocking calls overlap is
   * sync-stall's, the rest host-wait's or gpu-side's. The totals add up to all.total.
   */
  byClass: Record<GapClass, { count: number; total: number }>;
  /** the longest gaps (at most 1000; ties: the earlier), in time order; all, byClass and histogram count every gap */
  gaps: Gap[];
  /** gaps left out of `gaps` (0 when it lists them all) */
  omitted?: number;
  /** every gap of positive length, by length bin and class, in bin then class order */
  histogram?: GapHistogramBin[];
}

export interface GapHistogramBin {
  /** bin k holds gap lengths in [10^(k/4), 10^((k+1)/4)) ns: four bins per decade */
  bin: number;
  class: GapClass;
  count: number;
  /** idle time of these gaps, ns */
  total: number;
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
  /** every call, by API name, most host time first */
  byName: {
    name: string; count: number; total: number;
    /** GPU idle time in W overlapped by these calls, each counted (Σ of their calls' gpuIdle) */
    gpuIdle: number;
    /** calls that follow a device-to-host copy on their thread (HostSync.precedingCopy), and of those, copies into pageable memory */
    afterCopy: number;
    pageableCopies: number;
    /** lower median of those copies' bytes; null without any */
    copyBytesMedian: number | null;
    /** the innermost NVTX range texts the calls sit in, with how many calls each, in order of first appearance */
    nvtxRanges: { name: string; count: number }[];
  }[];
  /** every call, by why it blocks, most host time first */
  byReason: { reason: HostSync['reason']; count: number; total: number; gpuIdle: number }[];
  /**
   * at most HOST_SYNC_LIST_LIMIT (1000) calls, in start order: those overlapping the most GPU
   * idle time when there are more; the totals above count every call
   */
  calls: HostSync[];
  /** calls not listed in `calls` (count − calls.length) */
  omitted: number;
}

export interface ProcessBreakdown {
  /** index in Report.processes; null for kernels of no known process */
  process: number | null;
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
  /** durations of the device's kernels (clipped to W); added in schema 1 */
  kernelDuration?: Distribution;
  hostSyncs: HostSyncSummary;
  /** present when several processes share the device */
  processes?: ProcessBreakdown[];
  /** SM fill of the window's kernels (src/analyses/sm-fill.ts); added in schema 1 */
  smFill?: SmFillReport;
  /** NVTX ranges grouped by name with their GPU projection (src/analyses/nvtx-ranges.ts); added in schema 1 */
  nvtxRanges?: NvtxRangesReport;
  /** kernel classes and the overlap of communication with compute (src/analyses/communication.ts); added in schema 1 */
  communication?: CommunicationReport;
  /** per-expert load (src/analyses/experts.ts); absent when no experts are found; added in schema 1 (issue 15) */
  experts?: import('./expert-types.js').ExpertsReport;
  /** per kernel name and launch configuration: alone vs overlapped (src/analyses/contention.ts); added in schema 1 (issue 15) */
  contention?: import('./expert-types.js').ContentionEntry[];
  contentionSummary?: import('./expert-types.js').ContentionSummary;
  /** replayed scenarios: what removing syncs, launch cost, serialization or per-expert kernels would gain (src/analyses/what-if.ts); added in schema 1 (issue 15) */
  whatIf?: import('./expert-types.js').WhatIfReport;
  /** why streams serialize, named, most time first (src/analyses/serialization.ts); added in schema 1 (issue 15) */
  serialization?: import('./expert-types.js').SerializationReason[];
  /** library calls behind what the trace shows (src/analyses/culprits.ts); added in schema 1 (issue 15) */
  culprits?: import('./expert-types.js').Culprit[];
}

export type FillLimit = 'warps' | 'registers' | 'sharedMemory' | 'blocks';

/** Per-SM limits of one GPU, after merging what the trace says with the compute-capability table. */
export interface SmLimits {
  computeCapability: string | null;
  smCount: number | null;
  threadsPerWarp: number;
  maxThreadsPerSm: number;
  maxBlocksPerSm: number;
  maxRegistersPerSm: number;
  maxSharedMemoryPerSm: number;
  /** bytes the driver reserves per block (1024 from sm80 on) */
  reservedSharedMemoryPerBlock: number;
  sharedMemoryAllocationUnit: number;
  registerAllocationUnit: number;
  subPartitions: number;
  /** 'trace' when every value came from the trace, 'table' when none did */
  source: 'trace' | 'table' | 'trace+table';
}

export interface KernelFillSummary {
  name: string;
  count: number;
  /** sum of durations clipped to W */
  kernelTime: number;
  medianBlocks: number;
  /** of the kernel's most frequent launch configuration; null when the GPU's limits are unknown */
  residentBlocksPerSm: number | null;
  limit: FillLimit | null;
  medianWaves: number | null;
  /** fraction of launches with waves >= 1 (they fill every SM) */
  fullShare: number | null;
}

export interface SmFillReport {
  deviceId: number;
  limits: SmLimits | null;
  kernelCount: number;
  kernelTime: number;
  /** launches with waves >= 1 */
  fullKernelCount: number;
  fullKernelTime: number;
  /** fullKernelTime / kernelTime; null when waves are unknown (no SM count) or no kernel time */
  fullTimeShare: number | null;
  /** by kernel name, most kernel time first */
  byName: KernelFillSummary[];
}

/** Repeated NVTX ranges of one name (or one family: texts equal up to their numbers). */
export interface NvtxRangeGroup {
  /** the range text; for a family the text with each number replaced by '#' ("expert #") */
  name: string;
  /** distinct texts in the group (1 for an exact name, 64 for "expert #" over 64 experts) */
  distinctNames: number;
  instances: number;
  /** nesting depth on its thread (0 = top level), the smallest over instances */
  depth: number;
  /** CPU-side range durations (end - start) */
  duration: Distribution;
  /** per instance: GPU projection span, [first op start, last op end] */
  gpuSpan: Distribution;
  /** per instance: union of its kernels' time */
  gpuTime: Distribution;
  /** kernels projected into the group's instances, in total */
  kernelCount: number;
  /** share of the group's kernel busy time during which a kernel from outside the instance also ran; null without kernels */
  overlapWithOthers: number | null;
  /** blocking host syncs issued inside the instances (same thread) */
  syncs: number;
  /** the same, by API name */
  syncsByName: Record<string, number>;
}

export interface IterationSummary {
  /** the range name or family taken as one iteration, e.g. "iteration #" */
  name: string;
  count: number;
  /** GPU projection span of each iteration */
  duration: Distribution;
  kernelsPerIteration: number;
  syncsPerIteration: number;
  /** blocking host syncs per iteration, by API name */
  syncsPerIterationByName: Record<string, number>;
  /** GPU busy time inside each iteration's projection, median */
  busyPerIteration: number;
  /**
   * each iteration in time order (at most 10,000): its NVTX range on the host and its GPU
   * projection (null without GPU work), trace time; added in schema 1 for the charts
   */
  instances?: IterationInstance[];
}

export interface IterationInstance {
  /** the range's push and pop on the host */
  cpuStart: number;
  cpuEnd: number;
  /** first kernel start and last kernel end of its projection; null when it launched no GPU work */
  gpuStart: number | null;
  gpuEnd: number | null;
  kernels: number;
  syncs: number;
}

export interface NvtxRangesReport {
  /** ranges by exact text, most GPU time first */
  byName: NvtxRangeGroup[];
  /** families of two or more texts that differ only in their numbers */
  families: NvtxRangeGroup[];
  /** null when no repeated top-level range looks like an iteration */
  iterations: IterationSummary | null;
}

export type Severity = 'high' | 'medium' | 'low' | 'info';

/**
 * A number a finding rests on, named, so that a script reads it without parsing the evidence
 * sentences: e.g. {name: 'syncCount', value: 128, unit: 'count'}. `value` is null where the
 * number is undefined (a share of an empty window).
 */
export interface Measure {
  name: string;
  value: number | null;
  unit: MeasureUnit;
}

/** ns: nanoseconds; share: a fraction in [0, 1]; ratio: a quotient (may exceed 1); count; bytes; per-iteration: a count per iteration */
export type MeasureUnit = 'ns' | 'share' | 'ratio' | 'count' | 'bytes' | 'per-iteration';

export interface Finding {
  id: string;
  severity: Severity;
  /** the GPU; null for a finding about the whole trace (no device ran kernels) */
  deviceId: number | null;
  /** one line, numbers included */
  title: string;
  /** supporting numbers, one short sentence each */
  evidence: string[];
  /** GPU time this finding explains, ns, and as a fraction of the window */
  costNs: number;
  costShare: number | null;
  /** what to do, one or two sentences */
  fix: string;
  /** the numbers behind title and evidence, named and with units (costNs and costShare first) */
  measures: Measure[];
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
    /** the input's format and producer (absent in reports written before it existed) */
    source?: { format: 'nsys-sqlite' | 'nsys-rep' | 'kineto'; producer: string };
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

// The expert-level parts of a device report (issue 15): src/report/expert-types.ts.
export type {
  ContentionEntry, ContentionSummary, Culprit, ExpertStats, ExpertStraggler, ExpertsReport, SerializationCause, SerializationReason,
  WhatIfReport, WhatIfScenario, WhatIfScenarioName,
} from './expert-types.js';
