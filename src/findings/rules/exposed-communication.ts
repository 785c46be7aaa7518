/**
 * exposed-communication (issue 17): communication (all-to-all dispatch/combine, all-reduce, ...)
 * ran while no compute kernel did. Its cost is the exposed time, |communication \ compute| within
 * the window, which is at most the communication kernels' own busy time (what it blames).
 */
import type { Finding } from '../../report/types.js';
import type { CommunicationReport, PhaseCommunication } from '../../report/communication.js';
import { formatCount, formatNs, formatPct } from '../../render/format.js';
import { hasExperts, measure, severityOfShare, withMeasures, type FindingContext } from '../context.js';

/** Below this share of the window, exposed communication is not worth a finding. */
const MIN_EXPOSED_SHARE = 0.01;
/** A communication kernel this much slower beside other kernels than alone competes for SMs. */
const SLOWDOWN = 1.2;

const phaseLabel = (p: PhaseCommunication): string =>
  `${p.phase === 'none' ? 'outside any phase range' : p.phase}${p.microBatch !== null ? ` (micro-batch ${p.microBatch})` : ''}`;

export function exposedCommunication(ctx: FindingContext): Finding | null {
  const c = ctx.device.communication;
  if (!c || c.busy <= 0 || c.exposed <= 0) return null;
  const share = c.exposedShare;
  if (share !== null && share < MIN_EXPOSED_SHARE) return null;
  const title = `Communication exposed for ${formatNs(c.exposed)} (${formatPct(share)} of the window): ` +
    `${formatPct(1 - (c.hiddenShare ?? 0))} of the ${formatNs(c.busy)} of communication ran with no compute kernel beside it`;
  const evidence: string[] = [];
  const top = c.kernels.filter((k) => k.exposed > 0).sort((a, b) => b.exposed - a.exposed).slice(0, 3);
  evidence.push(`Most exposed: ${top.map((k) => `${k.family} ${shortName(k.name)} × ${formatCount(k.count)}, ${formatNs(k.exposed)} of ${formatNs(k.time)}`).join('; ')}.`);
  const phases = c.byPhase.filter((p) => p.exposed > 0).sort((a, b) => b.exposed - a.exposed);
  if (phases.length > 0) {
    evidence.push(`By phase: ${phases.slice(0, 4).map((p) => `${phaseLabel(p)} ${formatNs(p.exposed)} exposed of ${formatNs(p.busy)}`).join('; ')}.`);
  }
  if (c.syncOnly > 0) evidence.push(`${formatNs(c.syncOnly)} of the communication time is sync kernels alone (barriers, signal waits): ranks waiting for each other.`);
  const slowed = c.contention.filter((e) => e.slowdown !== null && e.slowdown >= SLOWDOWN);
  if (slowed.length > 0) {
    const s = slowed[0];
    evidence.push(`${shortName(s.name)} runs ${s.slowdown!.toFixed(2)}x slower beside other kernels (median ${formatNs(s.overlapped.median ?? 0)}) than alone (${formatNs(s.alone.median ?? 0)}): it competes with compute for SMs.`);
  }
  evidence.push(`Compute kernels were busy ${formatNs(c.computeBusy)} of the window; communication hidden behind them: ${formatNs(c.hidden)} (hidden share ${formatPct(c.hiddenShare)}).`);
  return withMeasures({
    id: 'exposed-communication', severity: severityOfShare(share), deviceId: ctx.device.deviceId, title, evidence,
    costNs: c.exposed, costShare: share, fix: fixFor(c, slowed.length > 0, isMoe(ctx, c)),
  }, [
    measure('communicationBusy', c.busy, 'ns'),
    measure('exposed', c.exposed, 'ns'),
    measure('hidden', c.hidden, 'ns'),
    measure('hiddenShare', c.hiddenShare, 'share'),
    measure('computeBusy', c.computeBusy, 'ns'),
    measure('syncOnly', c.syncOnly, 'ns'),
  ]);
}

/** MoE phases: only an expert-parallel layer has them. */
const MOE_PHASES = new Set(['dispatch', 'combine', 'experts', 'shared-expert', 'router']);

/** Expert-parallel communication: the device has experts, or the ranges name MoE phases (dispatch, combine, ...). */
function isMoe(ctx: FindingContext, c: CommunicationReport): boolean {
  return hasExperts(ctx) || (c.phasesSeen ?? []).some((p) => MOE_PHASES.has(p)) || c.byPhase.some((p) => MOE_PHASES.has(p.phase));
}

function fixFor(c: CommunicationReport, slowed: boolean, moe: boolean): string {
  if (!moe) {
    // a dense model's collectives (DDP/FSDP all-reduce, all-gather): no experts, micro-batches or DeepEP to speak of
    return 'Overlap the collectives with compute: issue each one on its own stream as soon as its input is ready, so the following work runs beside it ' +
      '(DDP and FSDP do this for gradients by bucketing: a smaller bucket_cap_mb starts the first all-reduce earlier in the backward pass), and keep host syncs from separating them. ' +
      (slowed
        ? 'Give the communication kernels fewer SMs (NCCL_MAX_NCHANNELS / NCCL_MAX_CTAS) so compute keeps the rest while they overlap.'
        : 'If the communication kernels slow compute once overlapped, give them fewer SMs (NCCL_MAX_NCHANNELS / NCCL_MAX_CTAS).');
  }
  const parts: string[] = [];
  const microBatches = new Set(c.byPhase.map((p) => p.microBatch).filter((m) => m !== null));
  const a2a = c.byPhase.some((p) => (p.phase === 'dispatch' || p.phase === 'combine') && p.exposed > 0);
  if (microBatches.size <= 1) {
    parts.push(`Overlap it with the other micro-batch: split the batch in two and run one half's ${a2a ? 'dispatch/combine' : 'communication'} on its own stream beside the other half's expert GEMMs (two-batch overlap, as DeepEP's and SGLang's TBO do).`);
  } else {
    parts.push('The micro-batches do not yet hide each other\'s communication: check that each one\'s dispatch/combine is issued on the communication stream before the other\'s expert GEMMs, with no event wait or host sync between them.');
  }
  if (!(c.phasesSeen ?? []).includes('shared-expert')) {
    parts.push('Where the model has a shared expert, run it on a stream of its own during the dispatch and combine.');
  } else {
    parts.push('Run the shared expert on its own stream so it fills the dispatch and combine.');
  }
  parts.push(slowed
    ? 'Give the communication kernels fewer SMs (DeepEP num_sms, NCCL_MAX_NCHANNELS / NCCL_MAX_CTAS) so compute keeps the rest while they overlap.'
    : 'If the communication kernels slow compute once overlapped, give them fewer SMs (DeepEP num_sms, NCCL_MAX_NCHANNELS / NCCL_MAX_CTAS).');
  return parts.join(' ');
}

/** "ncclKernel_AllReduce_RING_LL_Sum_float(ncclDevComm*, ...)" → "ncclKernel_AllReduce_RING_LL_Sum_float". */
function shortName(name: string): string {
  const paren = name.indexOf('(');
  const s = paren > 0 ? name.slice(0, paren) : name;
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
