/**
 * pageable-memcpy: copies to or from pageable host memory. The driver stages them through a
 * pinned buffer, so even cudaMemcpyAsync blocks the host and cannot overlap kernels.
 */
import type { Finding } from '../../report/types.js';
import { MemcpyKind, MemoryKind } from '../../model/trace.js';
import { formatBytes, formatCount, formatNs, formatPct } from '../../render/format.js';
import { measure, plural, severityOfShare, shareOfWindow, withMeasures, type FindingContext } from '../context.js';

export function pageableMemcpy(ctx: FindingContext): Finding | null {
  const { trace, device } = ctx;
  const m = trace.memcpy;
  const { start: w0, end: w1 } = device.window;
  let count = 0;
  let toHost = 0;
  let bytes = 0;
  let time = 0;
  for (let i = 0; i < m.count; i++) {
    if (m.deviceId[i] !== device.deviceId || m.end[i] < w0 || m.start[i] > w1) continue;
    if (m.srcKind[i] !== MemoryKind.Pageable && m.dstKind[i] !== MemoryKind.Pageable) continue;
    count++;
    bytes += m.bytes[i];
    time += m.end[i] - m.start[i];
    if (m.copyKind[i] === MemcpyKind.DtoH) toHost++;
  }
  if (count === 0) return null;
  // every such call, from the exact totals (hostSyncs.calls lists only the costliest 1000)
  const why = device.hostSyncs.byReason.find((r) => r.reason === 'pageable-memcpy');
  const blockingCalls = why?.count ?? 0;
  const cost = why?.gpuIdle ?? 0;
  const share = shareOfWindow(ctx, cost);
  const title = `${plural(count, 'copy', 'copies')} ${count === 1 ? 'uses' : 'use'} pageable host memory (${formatBytes(bytes)} in total${toHost ? `, ${formatCount(toHost)} device-to-host` : ''}): the host blocks on ${count === 1 ? 'it and it cannot' : 'each and they cannot'} overlap kernels`;
  const evidence = [
    `${formatCount(count)} copies, ${formatBytes(bytes)}, ${formatNs(time)} of copy time on the GPU within the window.`,
  ];
  if (blockingCalls > 0) {
    evidence.push(cost > 0
      ? `${plural(blockingCalls, 'asynchronous copy call')} into pageable memory blocked the host; the GPU was idle ${formatNs(cost)} (${formatPct(share)} of the window) during them.`
      : `${plural(blockingCalls, 'asynchronous copy call')} into pageable memory blocked the host while the GPU still had work.`);
  }
  return withMeasures({
    id: 'pageable-memcpy', severity: severityOfShare(share), deviceId: device.deviceId, title, evidence,
    costNs: cost, costShare: share,
    fix: 'Use pinned host buffers (cudaMallocHost / cudaHostAlloc, or tensor.pin_memory() with .to(device, non_blocking=True)) so copies run asynchronously alongside kernels.',
  }, [
    measure('pageableCopies', count, 'count'),
    measure('deviceToHostCopies', toHost, 'count'),
    measure('bytes', bytes, 'bytes'),
    measure('copyTime', time, 'ns'),
    measure('blockingCopyCalls', blockingCalls, 'count'),
  ]);
}
