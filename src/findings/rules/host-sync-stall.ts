/**
 * host-sync-stall: the host blocked on the GPU (explicit synchronize, synchronous or pageable
 * copy, cudaFree) while the GPU had nothing queued. Every such stall drains the queue, so no
 * stream can run ahead of it: the first cause of "per-expert streams don't overlap".
 *
 * Its cost is the GPU idle time the blocking calls overlap (the sync-stall part of the gaps,
 * launch-gaps.ts): never more than the time the host was blocked. The rest of those gaps is the
 * host launching after the call returned, which launch-bound counts. The title names the call
 * that blocks longest in total, how often per iteration, and what precedes it.
 */
import type { Finding, NvtxRangeGroup } from '../../report/types.js';
import { formatBytes, formatCount, formatNs, formatPct } from '../../render/format.js';
import { countPhrase, formatPerIteration, hasExperts, measure, plural, severityOfShare, shareOfWindow, withMeasures, type FindingContext } from '../context.js';
import { windowLength } from '../../analyses/window.js';
import { GAP_CLASSES } from '../../analyses/launch-gaps.js';
import { culpritOf } from '../../analyses/culprits.js';

const SYNC_STALL = GAP_CLASSES.indexOf('sync-stall');

/** Frees that synchronize the device: ordering streams with events does not remove them. */
const FREE_CALLS = /^(cudaFree|cuMemFree|cudaFreeHost|cuMemFreeHost)(_v\d+)?$/;

/** Below this share of the window a stall is noise (a final synchronize, a warm-up copy). */
const MIN_SHARE = 0.01;

export function hostSyncStall(ctx: FindingContext): Finding | null {
  const { device } = ctx;
  const stall = device.gaps.byClass['sync-stall'];
  const share = shareOfWindow(ctx, stall.total);
  if (stall.count === 0 || device.hostSyncs.count === 0 || share === null || share < MIN_SHARE) return null;
  const syncs = device.hostSyncs;
  const names = [...syncs.byName].sort((a, b) => b.count - a.count || a.name.localeCompare(b.name));
  // The call that blocks longest in total (a 30 µs cudaFree in a long gap is not the cause next to a thousand synchronizes).
  const culprit = [...syncs.byName].sort((a, b) => b.total - a.total || b.count - a.count || a.name.localeCompare(b.name))[0].name;
  const blockedBy = blockedIdleByCall(ctx);
  // every call of that name, from the exact totals (syncs.calls lists only the costliest 1000)
  const totals = syncs.byName.find((b) => b.name === culprit);
  const calls = { length: totals?.count ?? 0 };
  const perIteration = ctx.iterations ? ctx.iterations.syncsPerIterationByName[culprit] ?? null : null;
  const howOften = countPhrase(ctx, calls.length, 'times', perIteration);
  // a preceding copy is always a device-to-host one (host-syncs.ts)
  const copies = { length: totals?.afterCopy ?? 0 };
  const medianBytes = totals?.copyBytesMedian ?? 0;
  const afterCopy = copies.length >= calls.length / 2;
  // a copy of a few bytes right before the wait is a size or a flag read back (x[mask], nonzero(), .item())
  const readBack = medianBytes <= 8 ? ' (a size read back, as boolean-mask indexing does)' : '';
  const copyClause = afterCopy ? `, ${copies.length === calls.length ? 'each' : 'mostly'} after a ${formatBytes(medianBytes)} device-to-host copy${readBack}` : '';
  const title = `The host blocks on ${culprit} ${howOften}${copyClause}; the GPU idles until the next launch`;

  const evidence: string[] = [];
  evidence.push(`${plural(syncs.count, 'blocking call')} in the window: ${names.slice(0, 3).map((n) => `${formatCount(n.count)} × ${n.name} (${formatNs(n.total)})`).join(', ')}.`);
  const inStallGaps = stallGapTime(ctx);
  evidence.push(`The host was blocked during ${formatNs(stall.total)} of GPU idle time (${formatPct(share)} of the ${formatNs(windowLength(device.window))} window), in ${plural(stall.count, 'idle gap')}` +
    (inStallGaps > stall.total ? `; the other ${formatNs(inStallGaps - stall.total)} of those gaps came after the call returned (launching: host-wait)` : '') + '.');
  const own = blockedBy.get(culprit) ?? 0;
  if (own > 0 && own < stall.total) evidence.push(`${formatNs(own)} of it behind ${culprit}.`);
  evidence.push('The cost is an upper bound on what removing these waits saves: the work they wait for still has to run.');
  const group = innermostGroup(ctx, culprit, calls.length);
  if (group) {
    const ratio = (group.syncsByName[culprit] ?? 0) / group.instances;
    evidence.push(`${ratio === Math.round(ratio) ? formatCount(ratio) : ratio.toFixed(1)} ${culprit} per "${group.name}" range (${plural(group.instances, 'range')}${ctx.iterations ? `, ${formatPerIteration(group.instances / ctx.iterations.count)} per iteration` : ''}).`);
  }
  if (copies.length > 0) {
    const pageable = totals?.pageableCopies ?? 0;
    evidence.push(`${formatCount(copies.length)} of the ${formatCount(calls.length)} ${culprit} calls follow a device-to-host copy (median ${formatBytes(medianBytes)}${pageable ? `, ${formatCount(pageable)} into pageable memory` : ''}): the host reads a result back before it can launch more work.`);
  }
  const mask = culpritOf(device, 'boolean-mask-indexing');
  const moe = hasExperts(ctx);
  const fix = FREE_CALLS.test(culprit)
    ? `${culprit} waits for all work on the device before it frees: keep the buffers allocated across iterations (PyTorch's caching allocator does; do not call torch.cuda.empty_cache() in the loop), or free with cudaFreeAsync into a memory pool (cudaMallocAsync), which does not synchronize.`
    : mask && afterCopy && moe
    ? `The reads come from boolean-mask indexing (x[mask], nonzero: CUB DeviceSelect::Flagged kernels before each expert), which must learn each expert's token count on the host. Route on the GPU instead: sort tokens by expert once and slice fixed offsets, or run the experts as one torch._grouped_mm with device-side offsets.`
    : afterCopy && medianBytes <= 4096 && !moe
    ? `Stop reading small results back to the host inside the loop (.item(), .tolist(), a size for the next shape${mask ? ', or nonzero / boolean-mask indexing, which must learn the selected count' : ''}): keep them on the GPU and read them once after the last launch of the iteration, or use ops whose output size does not depend on the data.`
    : afterCopy && medianBytes <= 4096
    ? 'Stop reading per-expert results (token counts) back to the host inside the loop: copy all counts once per layer before launching the experts, or keep routing on the GPU with fixed-capacity expert slices or one grouped GEMM that takes device-side offsets.'
    : 'Move the blocking call out of the loop: order streams with cudaEventRecord + cudaStreamWaitEvent instead of synchronizing, and read results back once per iteration after the last launch.';
  return withMeasures({
    id: 'host-sync-stall', severity: severityOfShare(share), deviceId: device.deviceId, title, evidence,
    costNs: stall.total, costShare: share, fix,
  }, [
    measure('blockingCalls', syncs.count, 'count'),
    measure('stallGaps', stall.count, 'count'),
    measure('stallTime', stall.total, 'ns'),
    measure('windowLength', windowLength(device.window), 'ns'),
    measure('culpritCalls', calls.length, 'count'),
    ...(ctx.iterations ? [measure('culpritCallsPerIteration', perIteration ?? calls.length / ctx.iterations.count, 'per-iteration')] : []),
    measure('culpritCallsAfterCopy', copies.length, 'count'),
    measure('copyBytesMedian', copies.length > 0 ? medianBytes : null, 'bytes'),
  ]);
}

/** Blocked GPU idle time (the sync-stall part of each gap) by the blocking call each gap names. */
function blockedIdleByCall(ctx: FindingContext): Map<string, number> {
  const { cls, stalls, names } = ctx.gaps;
  // sums in a typed column, a slot per name in order of first stall (a Map's number values would
  // be a new heap number per update: one per stall)
  const slotOfCall = new Map<number, number>();
  const slotOfName = new Map<string, number>();
  const order: string[] = [];
  let sums = new Float64Array(8);
  for (let s = 0; s < stalls.count; s++) {
    if (cls[stalls.gap[s]] !== SYNC_STALL) continue;
    let slot = slotOfCall.get(stalls.call[s]);
    if (slot === undefined) {
      const name = names[stalls.call[s]];
      slot = slotOfName.get(name);
      if (slot === undefined) {
        slot = order.length;
        slotOfName.set(name, slot);
        order.push(name);
        if (slot === sums.length) { const grown = new Float64Array(2 * slot); grown.set(sums); sums = grown; }
      }
      slotOfCall.set(stalls.call[s], slot);
    }
    sums[slot] += stalls.blocked[s];
  }
  const idle = new Map<string, number>();
  order.forEach((name, slot) => idle.set(name, sums[slot]));
  return idle;
}

/** The whole length of the sync-stall gaps (their blocked part and the rest). */
function stallGapTime(ctx: FindingContext): number {
  const { idle: set, cls, stalls } = ctx.gaps;
  let t = 0;
  for (let s = 0; s < stalls.count; s++) {
    const g = stalls.gap[s];
    if (cls[g] === SYNC_STALL) t += set.end[g] - set.start[g];
  }
  return t;
}

/** The most specific NVTX range group holding (almost) all calls of `name`: "expert #" rather than "iteration #". */
function innermostGroup(ctx: FindingContext, name: string, total: number): NvtxRangeGroup | null {
  if (!ctx.nvtx || total === 0) return null;
  const candidates = [...ctx.nvtx.families, ...ctx.nvtx.byName]
    .filter((g) => g.instances > 1 && (g.syncsByName[name] ?? 0) >= 0.9 * total);
  candidates.sort((a, b) => b.depth - a.depth || b.instances - a.instances);
  return candidates[0] ?? null;
}
