/**
 * The expert-level parts of a DeviceReport (issue 15): per-expert load, what overlap costs each
 * kernel (contention), what a fix would gain (what-if replay), why streams serialize and which
 * library call is the culprit. Re-exported by report/types.ts; documented in docs/report-schema.md
 * and docs/metrics.md. All times integer nanoseconds.
 */

/** One expert over the window: its instances are its NVTX ranges (or launch-order groups), one per iteration. */
export interface ExpertStats {
  /** the expert's number (from its NVTX text, else its position in the launch order) */
  expert: number;
  /** the NVTX text of its first instance, or "expert N" */
  name: string;
  /** instances in the window (one per iteration and layer) */
  instances: number;
  /** median tokens routed to it per instance (the NVTX payload), null when not recorded */
  tokens: number | null;
  /** kernels per instance, median */
  kernels: number;
  /** mean GPU time per instance: union of its kernels' time */
  gpuTime: number;
  /** median GPU projection span per instance, [first kernel start, last kernel end] */
  span: number;
  /** the streams its kernels ran on, ascending */
  streams: number[];
}

export interface ExpertStraggler {
  /** instance number of the experts (0 = each expert's first instance in the window) */
  iteration: number;
  expert: number;
  gpuTime: number;
  /** the median expert's GPU time in that iteration */
  medianGpuTime: number;
  /** last end of the straggler's kernels minus last end of the other experts' kernels (>0: the others waited for it) */
  lateBy: number;
}

export interface ExpertsReport {
  /** how experts were found: NVTX ranges ("expert 7"), per-stream groups, or repeated kernel-name blocks in launch order */
  source: 'nvtx' | 'streams' | 'launch-order';
  /** the NVTX family ("expert #") when source is nvtx */
  rangeName: string | null;
  count: number;
  /** by expert number */
  experts: ExpertStats[];
  /** max / mean of the experts' GPU time; null with fewer than two experts */
  imbalance: number | null;
  /** max / mean of the experts' tokens; null when tokens are not recorded */
  tokenImbalance: number | null;
  /** the expert with the most GPU time, per iteration */
  stragglers: ExpertStraggler[];
  /** the expert most often the straggler, null when none */
  straggler: number | null;
  /** sum over experts of GPU time in excess of the mean, per iteration: what perfect balance would save on one stream */
  imbalanceCostNs: number;
}

/** One kernel name and launch configuration: its duration alone vs while another kernel ran. */
export interface ContentionEntry {
  name: string;
  /** "gridX×gridY×gridZ / blockX×blockY×blockZ" */
  config: string;
  count: number;
  /**
   * kernels that ran with no other kernel for at least 99% of their time; `from` is 'reference'
   * when none did here and the median comes from another capture of the same work (compare), 'fit'
   * when it is the intercept of duration against time beside other kernels (see overlapCost)
   */
  alone: { count: number; median: number | null; from: 'here' | 'reference' | 'fit' | null };
  /** kernels that had another kernel beside them for at least half their time */
  overlapped: { count: number; median: number | null };
  /** overlapped.median / alone.median; null unless both are measured */
  slowdown: number | null;
  /** Σ over overlapped kernels of (duration − alone median): time overlap added to these kernels (may be negative) */
  addedNs: number;
  /** Σ over this group's kernels of the time another kernel ran beside them */
  overlapNs: number;
  /** when alone.from is 'fit': ns of duration each ns of company added (the fit's slope); slowdown and addedNs then count every kernel that had company */
  overlapCost?: number;
}

export interface ContentionSummary {
  /** kernel time − busy: GPU time saved by running kernels at once */
  gainedNs: number;
  /** Σ addedNs over groups with both alone and overlapped kernels */
  addedNs: number;
  /** gainedNs − addedNs: what overlap bought after paying for its slowdown */
  netNs: number;
  /** Σ overlapped durations / Σ their groups' alone medians, over groups with both; null when none */
  meanSlowdown: number | null;
}

export type WhatIfScenarioName = 'measured' | 'no-host-syncs' | 'free-launches' | 'perfect-overlap' | 'grouped';

/** the what-if scenarios beside 'measured', in the order they are shown */
export const WHAT_IF_SCENARIOS = ['no-host-syncs', 'free-launches', 'perfect-overlap', 'grouped'] as const satisfies readonly WhatIfScenarioName[];

export interface WhatIfScenario {
  scenario: WhatIfScenarioName;
  /** one sentence: what the replay changed */
  description: string;
  /** replayed span of the window divided by the iterations in it */
  projectedIterationNs: number;
  /** measured iteration − projected (positive = faster) */
  savingNs: number;
  /** projected / measured */
  ratio: number;
  /**
   * the same replay with this process's host time multiplied by each factor of HOST_TIME_FACTORS
   * (ascending; 1 = projectedIterationNs): the durations of the calls that do not block and the
   * host time between calls scale, blocking calls' waits and wake-ups and the launch latency do
   * not. What the fix gives on a host that takes `hostTimeFactor` times this one's time per call:
   * another process's host (`compare` reads it at the measured ratio, projectionAtHostTime).
   */
  hostSpeed?: { hostTimeFactor: number; projectedIterationNs: number }[];
}

/**
 * The host-time factors every scenario is replayed at (WhatIfScenario.hostSpeed): separate
 * processes of one program on one machine ran their hosts 0.5x to 2.4x apart (docs/metrics.md).
 */
export const HOST_TIME_FACTORS = [0.4, 0.5, 0.67, 0.8, 1, 1.25, 1.5, 2, 2.5] as const;

/**
 * A scenario's projection at a host-time factor: linear between the two grid points around it,
 * null outside the grid (or without one).
 */
export function projectionAtHostTime(grid: readonly { hostTimeFactor: number; projectedIterationNs: number }[] | undefined, factor: number): number | null {
  if (!grid || grid.length === 0 || !Number.isFinite(factor)) return null;
  for (let i = 0; i < grid.length; i++) {
    const b = grid[i];
    if (b.hostTimeFactor === factor) return b.projectedIterationNs;
    if (b.hostTimeFactor < factor) continue;
    if (i === 0) return null;
    const a = grid[i - 1];
    const w = (factor - a.hostTimeFactor) / (b.hostTimeFactor - a.hostTimeFactor);
    return Math.round(a.projectedIterationNs + w * (b.projectedIterationNs - a.projectedIterationNs));
  }
  return null;
}

export interface WhatIfReport {
  /** iterations the window holds (the replay's divisor) */
  iterations: number;
  /** how iterations were counted */
  iterationSource: string;
  /** measured span of the replayed part of the window / iterations */
  measuredIterationNs: number;
  /** the unchanged replay's error against the measurement: (replayed − measured) / measured */
  replayError: number;
  /** measured first: the unchanged replay; then each scenario (none when the replay missed by more than 10%) */
  scenarios: WhatIfScenario[];
  /** why scenarios are missing, when they are */
  note?: string;
  /**
   * scenarios the trace cannot support, with why and the span of what it allows: `grouped` when the
   * cost of expert GEMMs whose weights or token counts are unknown (between nothing and their
   * SM-time) moves the projection by more than 25% (lowNs → highNs per iteration)
   */
  notProjected?: { scenario: WhatIfScenarioName; reason: string; lowNs: number; highNs: number }[];
  /** the numbers the replay used, so a reader can check them */
  inputs: {
    hostCalls: number;
    gpuOps: number;
    eventWaits: number;
    /** median launch latency kept for every op, ns */
    launchLatencyNs: number;
    /** GPU-side cost per op in a graph replay (the free-launches scenario), ns */
    graphNodeNs: number;
    /** the window's shortest kernel: the fixed cost of any kernel, paid once per batched kernel (grouped) */
    kernelFixedCostNs: number;
    /**
     * how fast this process's host ran: per launch-type API name the replay walked at least 10
     * times, its median duration (ns), most calls first. Another process's host may run up to 2x
     * faster or slower (docs/metrics.md); `compare` sets the names both make side by side.
     */
    hostCallSpeed: { name: string; count: number; medianNs: number }[];
    /** the grouped scenario's roofline (when it was projected): which expert GEMMs were costed by their bytes */
    grouped?: {
      /** the GPU's memory bandwidth (trace), bytes/s; null when the trace does not record it */
      memoryBandwidth: number | null;
      /** the GPU's dense matrix-multiply peak (compute capability × SMs × clock), FLOP/s; null when unknown */
      peakFlops: number | null;
      /** expert GEMMs whose weights their NVTX range names (weights=RxC,...:dtype) */
      namedGemms: number;
      /** of those, the memory-bound ones: costed by their bytes at memoryBandwidth instead of their SM-time */
      memoryBoundGemms: number;
      /** bytes the memory-bound GEMMs move per iteration (weights, tokens in and out) */
      bytesPerIteration: number;
      /** expert GEMMs whose cost the trace cannot bound from below (weights or token counts unknown): costed by their SM-time */
      unknownGemms: number;
    };
  };
}

export type SerializationCause =
  | 'event-wait-chain' | 'legacy-default-stream' | 'blocking-call' | 'launch-bound' | 'sm-full' | 'max-connections-1';

export interface SerializationReason {
  cause: SerializationCause;
  /** one sentence with numbers: "stream 13 waits for stream 7 before each expert (64 waits an iteration)" */
  text: string;
  /** GPU idle (or serialized) time it explains within W, ns; an upper bound on what removing it saves */
  costNs: number;
  /** what the what-if scenario that removes this cause projects to save per iteration (no-host-syncs for blocking calls, free-launches for launch-bound), when replayed */
  projectedSavingNs?: number;
}

export interface Culprit {
  id: 'boolean-mask-indexing' | 'existing-grouped-gemm' | 'item-readback';
  /** kernel or API names that showed it */
  evidence: string[];
  /** per iteration, where iterations are known */
  perIteration: number | null;
  text: string;
}
