/**
 * default-stream-serialization: kernels on the legacy default (NULL) stream wait for all work on
 * blocking streams and block it in turn, so they cut every overlap window. nsys gives the NULL
 * stream streamId 7 (TARGET_INFO_CUDA_STREAM flag 3 "Null stream" in every export we checked,
 * 2020.5 to 2026.1); the model has no stream flags, so the rule uses that id and also requires
 * the behaviour: the other streams overlap each other, yet never the NULL stream.
 */
import type { Finding } from '../../report/types.js';
import { formatCount, formatNs, formatPct } from '../../render/format.js';
import { kernelRow, measure, plural, severityOfShare, shareOfWindow, withMeasures, type FindingContext } from '../context.js';
import { GAP_CLASSES, nextKernelCursor } from '../../analyses/launch-gaps.js';

const GPU_SIDE = GAP_CLASSES.indexOf('gpu-side');

export const LEGACY_DEFAULT_STREAM_ID = 7;

export function defaultStreamSerialization(ctx: FindingContext): Finding | null {
  const { trace, device } = ctx;
  const k = trace.kernels;
  const others = device.streams.filter((s) => s.kernelCount > 0 && s.streamId !== LEGACY_DEFAULT_STREAM_ID);
  if (others.length === 0) return null;
  let withNull = 0;
  let amongOthers = 0;
  for (const p of device.streamPairs) {
    if (p.a === LEGACY_DEFAULT_STREAM_ID || p.b === LEGACY_DEFAULT_STREAM_ID) withNull += p.overlap;
    else amongOthers += p.overlap;
  }
  // Concurrency happens elsewhere, so its absence around the NULL stream is the NULL stream's doing.
  // (tested before the window's kernels are walked: every test here only rules the finding out)
  if (withNull > 0 || amongOthers === 0) return null;
  const { kernels } = ctx;
  let nullCount = 0;
  let firstNull = NaN;
  let lastNull = NaN;
  for (let j = 0; j < kernels.count; j++) {
    const i = kernelRow(kernels, j);
    if (k.streamId[i] !== LEGACY_DEFAULT_STREAM_ID) continue;
    if (nullCount++ === 0) firstNull = k.start[i];
    lastNull = k.start[i];
  }
  if (nullCount < 2) return null;
  let interleaved = false;
  for (let j = 0; j < kernels.count && !interleaved; j++) {
    const i = kernelRow(kernels, j);
    interleaved = k.streamId[i] !== LEGACY_DEFAULT_STREAM_ID && k.start[i] > firstNull && k.start[i] < lastNull;
  }
  if (!interleaved) return null;
  // Idle time before NULL-stream kernels of the window that were already launched: the implicit wait.
  const { start: w0, end: w1 } = device.window;
  const isNull = (i: number): boolean =>
    i >= 0 && k.streamId[i] === LEGACY_DEFAULT_STREAM_ID && k.end[i] >= w0 && k.start[i] <= w1;
  const { idle, cls } = ctx.gaps;
  const nextKernel = nextKernelCursor(trace, device.deviceId);
  let waits = 0;
  let cost = 0;
  for (let g = 0; g < idle.count; g++) {
    if (cls[g] === GPU_SIDE && isNull(nextKernel(idle.end[g]))) { waits++; cost += idle.end[g] - idle.start[g]; }
  }
  const share = shareOfWindow(ctx, cost);
  const title = `${plural(nullCount, 'kernel')} run on the legacy default stream (stream ${LEGACY_DEFAULT_STREAM_ID}), which waits for and blocks the ${plural(others.length, 'other stream')}: none of them ever overlaps it`;
  const evidence = [
    `The other streams overlap each other for ${formatNs(amongOthers)} (summed over pairs) but the default stream for 0 ns.`,
    `${plural(waits, 'idle gap')} (${formatNs(cost)}, ${formatPct(share)} of the window) end with a default-stream kernel that was already launched.`,
    `Stream ${LEGACY_DEFAULT_STREAM_ID} is the NULL stream in nsys exports; its kernels fall between other streams' kernels from ${formatNs(firstNull)} to ${formatNs(lastNull)}; ${formatCount(nullCount)} of ${formatCount(kernels.count)} kernels.`,
  ];
  return withMeasures({
    id: 'default-stream-serialization', severity: severityOfShare(share), deviceId: device.deviceId, title, evidence,
    costNs: cost, costShare: share,
    fix: 'Launch this work on a created stream instead of stream 0, and create streams with cudaStreamNonBlocking (or compile with nvcc --default-stream per-thread) so they stop synchronizing with the legacy default stream.',
  }, [
    measure('defaultStreamKernels', nullCount, 'count'),
    measure('windowKernels', kernels.count, 'count'),
    measure('otherStreams', others.length, 'count'),
    measure('overlapAmongOtherStreams', amongOthers, 'ns'),
    measure('overlapWithDefaultStream', withNull, 'ns'),
    measure('implicitWaitGaps', waits, 'count'),
  ]);
}
