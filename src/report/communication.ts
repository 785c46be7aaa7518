/**
 * devices[].communication (issue 17; schema 1, added 2026-12): is the token dispatch/combine
 * (and every other collective) hidden behind compute? Types only; the analysis is
 * src/analyses/communication.ts, the definitions docs/metrics.md "Communication".
 * All times are ns on the trace's timeline, within the device's window W.
 */

import type { ContentionEntry } from './expert-types.js';
import type { IntervalSet } from '../model/intervals.js';

export type KernelClassName = 'communication' | 'sync' | 'expert-gemm' | 'compute' | 'memory';

/** One kernel name and how it was classified. */
export interface ClassifiedKernel {
  /** the kernel's short name */
  name: string;
  class: KernelClassName;
  /** what recognised it: "NCCL", "DeepEP", "grouped GEMM", "NCCL: all_to_allv", "other" */
  family: string;
  /** 'builtin', the --classes file, 'collective args' (Kineto NCCL args) or 'default' (no pattern matched: compute) */
  source: string;
  count: number;
  /** summed durations clipped to W */
  time: number;
}

/** A communication (or sync) kernel name with its exposure. */
export interface CommunicationKernel extends ClassifiedKernel {
  /** |union of these kernels' time \ compute time| */
  exposed: number;
  /** Σ bytes moved, when known for every operation (copies' sizes; Kineto NCCL args: input elements × element size) */
  messageBytes?: number;
  /** messageBytes / Σ whole durations, bytes per second (NCCL-tests' algbw); null when no time */
  algorithmBandwidth?: number | null;
  /** process groups named in the collective args */
  processGroups?: string[];
}

export interface ClassSummary {
  class: KernelClassName;
  /** kernels (operations for memory: memory-class kernels plus memcpy/memset) */
  count: number;
  /** summed clipped durations */
  time: number;
  /** |union| within W */
  busy: number;
  /** distinct kernel names */
  names: number;
  /** the names with the most time, at most CLASS_NAME_LIMIT */
  top: ClassifiedKernel[];
}

export interface PhaseCommunication {
  /** dispatch, combine, experts, shared-expert, router, attention, forward, backward, optimizer; 'none' for kernels outside any phase range */
  phase: string;
  /** from the range text ("dispatch mb1"); null when none names one */
  microBatch: number | null;
  /** communication and sync kernels launched in the phase */
  kernels: number;
  busy: number;
  exposed: number;
  /** 1 - exposed / busy; null when busy = 0 */
  hiddenShare: number | null;
}

/** The device's collective kernels in time order, for `merge` to line up the ranks' n-th collective. */
export interface CollectiveSequence {
  /** distinct names (family: collective, e.g. "NCCL: all_to_allv", or the short name) */
  names: string[];
  /**
   * per name: whether its operations are kernels that wait for the peers (a collective kernel
   * ends when the last rank's data is in), so their durations tell who arrived last; false for
   * copies a library issued (world size 1), which wait for no one
   */
  waitsForPeers: boolean[];
  /** per kernel: index into names */
  name: number[];
  start: number[];
  duration: number[];
  exposed: number[];
  /** kernels left out past the limit (0 when all are listed) */
  omitted: number;
}

export interface CommunicationReport {
  /** communication and sync kernels by name, most time first */
  kernels: CommunicationKernel[];
  kernelCount: number;
  /** |union of communication and sync kernels| in W */
  busy: number;
  /** |communication \ compute|: communication running while no compute kernel runs */
  exposed: number;
  /** busy - exposed */
  hidden: number;
  /** 1 - exposed / busy; null when busy = 0 */
  hiddenShare: number | null;
  /** exposed / |W|; null when |W| = 0 */
  exposedShare: number | null;
  /** of busy, the part where only sync kernels (barriers, signal waits) ran */
  syncOnly: number;
  /** |union of compute and expert-GEMM kernels| in W */
  computeBusy: number;
  byPhase: PhaseCommunication[];
  /** every phase the trace's ranges name (whether or not communication ran in it), e.g. a shared expert's; empty without communication */
  phasesSeen: string[];
  /** every class present, what was classified how */
  classes: ClassSummary[];
  /** the --classes file, when one was given */
  classesFile?: string;
  /** its patterns (tried before the built-in ones), so renderers classify kernels as the report did */
  classPatterns?: { class: KernelClassName; family: string; source: string; flags: string; file: string }[];
  collectives: CollectiveSequence;
  /**
   * communication and sync kernels alone vs beside other kernels, per name and launch
   * configuration: issue 15's contention analysis (src/analyses/contention.ts) applied to them
   */
  contention: ContentionEntry[];
}

/**
 * Not in the Report's JSON: what the HTML timeline draws as a GPU's three communication rows,
 * computed by src/analyses/communication-rows.ts and handed to the renderer beside the Report.
 * Unions clipped to the device's window, ns on the trace's timeline.
 */
export interface CommunicationIntervals {
  deviceId: number;
  communication: IntervalSet;
  compute: IntervalSet;
  /** communication while no compute kernel runs: communication minus compute */
  exposed: IntervalSet;
}
