/**
 * allocation-in-loop: device or pinned-host allocations inside the analysed window. cudaMalloc
 * costs tens of µs of CPU, and cudaFree synchronizes the whole device, so either one in a loop
 * empties the GPU's queue.
 */
import type { Finding } from '../../report/types.js';
import { overlapWith } from '../../model/intervals.js';
import { canonicalApiName } from '../../analyses/blocking-calls.js';
import { ALLOCATION_CALLS } from '../../analyses/api-calls.js';
import { formatCount, formatNs, formatPct } from '../../render/format.js';
import { countPhrase, kernelRow, measure, severityOfShare, shareOfWindow, withMeasures, type FindingContext } from '../context.js';

/**
 * Without iterations, a few calls are usually lazily created buffers; with them, a loop that
 * allocates does so at least once per iteration.
 */
const MIN_CALLS = 4;

export function allocationInLoop(ctx: FindingContext): Finding | null {
  const { trace, device } = ctx;
  const rt = trace.runtime;
  const { start: w0, end: w1 } = device.window;
  // With iterations (the steady state, or --range's instances) only the calls inside them count,
  // by their host-side extent: set-up and warm-up allocations are not the loop's.
  const host = device.window.iterations?.host ?? null;
  const iterations = device.window.iterations && host ? device.window.iterations.count : ctx.iterations?.count ?? null;
  const needed = iterations ? Math.max(2, iterations) : MIN_CALLS;
  // the reader counted every call by name: fewer allocation calls in the whole trace than the
  // finding needs in the window, and no call need be walked (millions, where allocations are few)
  if (trace.apiSummary && allocationCalls(trace) < needed) return null;
  let h = 0;
  const inIterations = (t: number): boolean => {
    if (!host) return true;
    while (h < host.end.length && host.end[h] <= t) h++;
    return h < host.end.length && host.start[h] <= t;
  };
  // Only threads that launched this device's kernels: another device's setup is not this loop.
  const threads = ctx.launchThreads ?? launchingThreads(ctx);
  // per API name (string index): 1 allocation, 0 not, -1 not looked at yet; one lookup per name, not per call
  const isAlloc = new Int8Array(trace.strings.length).fill(-1);
  let lastThread = NaN;
  let lastLaunching = false;
  const byName = new Map<string, { count: number; total: number }>();
  let count = 0;
  let time = 0;
  let idle = 0;
  for (let r = 0; r < rt.count; r++) {
    // the name first: one typed lookup rules out nearly every call (allocations are a few among
    // millions), before the window and thread tests (calls come in start order, so the iteration
    // cursor sees the allocations' starts in the order it saw every call's)
    const nameIdx = rt.name[r];
    let alloc = nameIdx >= 0 && nameIdx < isAlloc.length ? isAlloc[nameIdx] : -1;
    if (alloc < 0) {
      alloc = ALLOCATION_CALLS.has(canonicalApiName(trace.strings[nameIdx] ?? '')) ? 1 : 0;
      if (nameIdx >= 0 && nameIdx < isAlloc.length) isAlloc[nameIdx] = alloc;
    }
    if (!alloc) continue;
    if (host ? !inIterations(rt.start[r]) : rt.start[r] < w0 || rt.start[r] > w1) continue;
    if (rt.thread[r] !== lastThread) { lastThread = rt.thread[r]; lastLaunching = threads.has(lastThread); }
    if (!lastLaunching) continue;
    const name = canonicalApiName(trace.strings[rt.name[r]]);
    const d = rt.end[r] - rt.start[r];
    const entry = byName.get(name) ?? { count: 0, total: 0 };
    entry.count++; entry.total += d;
    byName.set(name, entry);
    count++;
    time += d;
    idle += overlapWith(ctx.idle, rt.start[r], rt.end[r]);
  }
  if (count < needed) return null;
  const share = shareOfWindow(ctx, idle);
  const names = [...byName.entries()].sort((a, b) => b[1].count - a[1].count);
  const phrase = countPhrase(ctx, count, 'times', iterations ? count / iterations : null);
  // "12 times in the window", "4 times per iteration": once is enough (it read "12 times in the window inside the window")
  const how = host ? phrase.replace(/ in the window$/, ' in the iterations') : phrase;
  const title = `${names.map(([n]) => n).slice(0, 3).join('/')} called ${how} (${formatNs(time)} of host time): allocation stalls the host${byName.has('cudaFree') || byName.has('cuMemFree') ? ' and cudaFree synchronizes the device' : ''}`;
  const evidence = [
    names.map(([n, s]) => `${formatCount(s.count)} × ${n} (${formatNs(s.total)})`).join(', ') + '.',
    `The GPU was idle ${formatNs(idle)} (${formatPct(share)} of the window) while these calls ran.`,
  ];
  return withMeasures({
    id: 'allocation-in-loop', severity: severityOfShare(share), deviceId: device.deviceId, title, evidence,
    costNs: idle, costShare: share,
    fix: 'Allocate the buffers once before the loop and reuse them; if sizes vary, use a caching allocator (PyTorch does this by default) or cudaMallocAsync with a memory pool.',
  }, [
    measure('allocationCalls', count, 'count'),
    measure('allocationTime', time, 'ns'),
    measure('gpuIdleDuringCalls', idle, 'ns'),
    ...(ctx.iterations ? [measure('allocationCallsPerIteration', count / ctx.iterations.count, 'per-iteration')] : []),
  ]);
}

/** The trace's allocation calls (ALLOCATION_CALLS), in all: from the reader's count of every call by name. */
function allocationCalls(trace: FindingContext['trace']): number {
  let n = 0;
  for (const a of trace.apiSummary ?? []) {
    if (ALLOCATION_CALLS.has(canonicalApiName(trace.strings[a.name] ?? ''))) n += a.count;
  }
  return n;
}

/** The threads whose calls launched the window's kernels, from the kernels (a context the analyses did not make). */
function launchingThreads(ctx: FindingContext): Set<number> {
  const rt = ctx.trace.runtime;
  const kernelCall = ctx.links.kernelCall;
  const threads = new Set<number>();
  let added = NaN;
  // the subset once: ctx.kernels is a getter (a call per kernel in the loop's test and body)
  const kernels = ctx.kernels;
  for (let j = 0; j < kernels.count; j++) {
    const i = kernelRow(kernels, j);
    if (kernelCall[i] >= 0 && rt.thread[kernelCall[i]] !== added) { added = rt.thread[kernelCall[i]]; threads.add(added); }
  }
  return threads;
}
