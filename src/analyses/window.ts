/**
 * The analysis window W of DESIGN.md: by default [first kernel start, last kernel end] on the
 * device; `--range TEXT` gives the union of the matching NVTX ranges' GPU projections on the
 * device (possibly several disjoint segments, e.g. one per forward pass); `--window START:END`
 * gives explicit trace times. With both, W is their intersection.
 */
import type { Trace } from '../model/trace.js';
import type { Window } from '../report/types.js';
import { InputError, NoGpuWorkInWindowError } from '../errors.js';
import { intersect, union, totalLength, upperBound, type IntervalSet } from '../model/intervals.js';
import { parseTime } from '../model/units.js';
import { runningDoubles } from '../model/columns.js';
import { nvtxRangeRows, projectNvtxSpans } from './nvtx-projection.js';
import { detectSteadyState, saysOnePass, type SteadyState } from './iterations.js';
import { nvtxFamilyName } from './nvtx-ranges.js';
import { familySpecKey } from '../model/nvtx-names.js';
import { distribution } from '../model/distribution.js';
import type { IterationTiming } from '../report/types.js';
import type { CallLinks } from './correlation.js';

export interface ResolvedWindow {
  /** W as disjoint segments (one, unless a --range matched several separate ranges) */
  segments: IntervalSet;
  window: Window;
  /** the steady-state iterations W is made of (source 'iterations'), with their host-side extents */
  steadyState?: SteadyState;
}

/** Per-iteration wall spans as the report gives them. */
export function iterationTiming(
  method: IterationTiming['method'], name: string, gpuStart: ArrayLike<number>, gpuEnd: ArrayLike<number>, found: number, leftOut: number, leftOutReason: string | null,
): IterationTiming {
  const spans = Float64Array.from({ length: gpuStart.length }, (_, i) => gpuEnd[i] - gpuStart[i]);
  const span = distribution(spans);
  const t: IterationTiming = { method, name, found, count: spans.length, leftOut, span, meanSpan: spans.length > 0 ? span.total / spans.length : 0 };
  if (leftOutReason) t.leftOutReason = leftOutReason;
  return t;
}

export interface WindowOptions {
  /** NVTX text, exact, or /regex/flags */
  range?: string;
  /** START:END, each side a number with an optional unit (model/units.ts; plain = ns); a side may be empty */
  window?: string;
  /** measure every kernel: no steady-state detection (the default window is then first kernel start to last kernel end) */
  wholeTrace?: boolean;
}

export { parseTime } from '../model/units.js';

export function parseWindowSpec(text: string): { start: number | null; end: number | null } {
  const parts = text.split(':');
  if (parts.length !== 2) throw new InputError(`--window "${text}" must be START:END, e.g. 12.5ms:20ms (plain numbers are ns)`);
  const start = parts[0].trim() === '' ? null : parseTime(parts[0]);
  const end = parts[1].trim() === '' ? null : parseTime(parts[1]);
  if (start !== null && end !== null && end <= start) {
    throw new InputError(`--window "${text}": END must be after START`);
  }
  return { start, end };
}

/** [first kernel start, last kernel end] of the device, or null when it ran no kernel. */
export function kernelSpan(trace: Trace, deviceId: number): [number, number] | null {
  const { kernels } = trace;
  // first start, last end
  const span = runningDoubles(Infinity, -Infinity);
  for (let i = 0; i < kernels.count; i++) {
    if (kernels.deviceId[i] !== deviceId) continue;
    if (kernels.start[i] < span[0]) span[0] = kernels.start[i];
    if (kernels.end[i] > span[1]) span[1] = kernels.end[i];
  }
  return span[0] <= span[1] ? [span[0], span[1]] : null;
}

/**
 * nvtx rows whose text equals `spec`, or matches it when written /regex/flags. A text with '#'
 * that no range has exactly is a family name as the tool prints it ("forward streams #",
 * "expert #"): the ranges whose texts are it with each '#' a number.
 */
export function matchNvtxRanges(trace: Trace, spec: string): Int32Array {
  const rows = matchNvtxRangesBy(trace, spec, false);
  return rows.length === 0 && !/^\/(.*)\/([a-z]*)$/s.test(spec) && spec.includes('#') ? matchNvtxRangesBy(trace, spec, true) : rows;
}

function matchNvtxRangesBy(trace: Trace, spec: string, family: boolean): Int32Array {
  const rx = /^\/(.*)\/([a-z]*)$/s.exec(spec);
  let test: (s: string) => boolean;
  if (rx) {
    let re: RegExp;
    try {
      re = new RegExp(rx[1], rx[2]);
    } catch (e) {
      throw new InputError(`--range ${spec}: not a valid regular expression (${(e as Error).message})`);
    }
    test = (s) => re.test(s);
  } else if (family) {
    const key = familySpecKey(spec);
    test = (s) => nvtxFamilyName(s) === key;
  } else {
    test = (s) => s === spec;
  }
  const verdict = new Map<number, boolean>();
  const rows = nvtxRangeRows(trace);
  return rows.filter((row) => {
    const t = trace.nvtx.text[row];
    if (t < 0) return false;
    let v = verdict.get(t);
    if (v === undefined) verdict.set(t, (v = test(trace.strings[t] ?? '')));
    return v;
  });
}

/** The most frequent range names, by family ("expert #") as the tool prints them. */
function availableRangeNames(trace: Trace, limit = 8): string {
  const byText = new Map<number, number>();
  for (const row of nvtxRangeRows(trace)) {
    const t = trace.nvtx.text[row];
    if (t >= 0) byText.set(t, (byText.get(t) ?? 0) + 1);
  }
  if (byText.size === 0) return 'the trace has no NVTX ranges';
  const count = new Map<string, number>();
  for (const [t, n] of byText) {
    const f = nvtxFamilyName(trace.strings[t] ?? '');
    count.set(f, (count.get(f) ?? 0) + n);
  }
  const names = [...count.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, limit).map(([t]) => JSON.stringify(t));
  return `available ranges include ${names.join(', ')}${count.size > limit ? ` (${count.size} distinct)` : ''}`;
}

/** `links`: the trace's call links (TraceIndex.links), for a --range; computed when not given. */
export function resolveWindow(trace: Trace, deviceId: number, options: WindowOptions = {}, links?: CallLinks): ResolvedWindow {
  const span = kernelSpan(trace, deviceId);
  let segments: IntervalSet | null = null;
  let window: Window;
  let steadyState: SteadyState | undefined;
  if (options.range !== undefined) {
    const rows = matchNvtxRanges(trace, options.range);
    if (rows.length === 0) {
      throw new InputError(`--range ${JSON.stringify(options.range)} matches no NVTX range; ${availableRangeNames(trace)}`);
    }
    const proj = projectNvtxSpans(trace, { deviceId, ranges: rows, links });
    const s: number[] = [];
    const e: number[] = [];
    for (let i = 0; i < proj.count; i++) {
      if (proj.opCount[i] > 0) { s.push(proj.gpuStart[i]); e.push(proj.gpuEnd[i]); }
    }
    if (s.length === 0) {
      throw new NoGpuWorkInWindowError(`--range ${JSON.stringify(options.range)} matches ${rows.length} NVTX range(s), but none launched GPU work on device ${deviceId}`, deviceId);
    }
    segments = union(s, e, s.length);
    if (segments.count === 0) {
      throw new NoGpuWorkInWindowError(`--range ${JSON.stringify(options.range)}: its GPU work has zero duration on device ${deviceId}`, deviceId);
    }
    window = { start: 0, end: 0, duration: 0, source: 'range', range: options.range, rangeInstances: s.length };
    // several instances of a range that names one pass ("forward seq #", "/step/") are iterations
    if (s.length > 1 && options.window === undefined && saysOnePass(options.range)) {
      const withWork: number[] = [];
      for (let i = 0; i < proj.count; i++) if (proj.opCount[i] > 0) withWork.push(i);
      withWork.sort((a, b) => proj.gpuStart[a] - proj.gpuStart[b]);
      window.iterations = iterationTiming('range', options.range, withWork.map((i) => proj.gpuStart[i]), withWork.map((i) => proj.gpuEnd[i]), s.length, 0, null);
      window.iterations.host = { start: withWork.map((i) => trace.nvtx.start[proj.range[i]]), end: withWork.map((i) => trace.nvtx.end[proj.range[i]]) };
    }
  } else if (options.window === undefined && !options.wholeTrace && (steadyState = detectSteadyState(trace, deviceId, links) ?? undefined)) {
    const ss = steadyState;
    segments = union(ss.gpuStart, ss.gpuEnd, ss.gpuStart.length);
    window = {
      start: 0, end: 0, duration: 0, source: 'iterations',
      iterations: iterationTiming(ss.method, ss.name, ss.gpuStart, ss.gpuEnd, ss.found, ss.leftOut, ss.leftOutReason),
    };
    if (ss.cpu) window.iterations!.host = { start: Array.from(ss.cpu.start), end: Array.from(ss.cpu.end) };
    if (segments.count === 0) {
      // every iteration's GPU work has zero length: nothing to measure there, so the whole trace
      segments = null;
      steadyState = undefined;
      window = { start: 0, end: 0, duration: 0, source: 'kernels' };
    }
  } else {
    window = { start: 0, end: 0, duration: 0, source: options.window !== undefined ? 'explicit' : 'kernels' };
  }
  if (options.window !== undefined) {
    const spec = parseWindowSpec(options.window);
    const lo = spec.start ?? segments?.start[0] ?? span?.[0];
    const hi = spec.end ?? (segments ? segments.end[segments.count - 1] : span?.[1]);
    if (lo === undefined || hi === undefined) {
      throw new InputError(`--window ${options.window}: device ${deviceId} ran no kernel, so both START and END are needed`);
    }
    if (hi <= lo) throw new InputError(`--window ${options.window}: END must be after START (START resolves to ${lo} ns)`);
    const explicit: IntervalSet = { count: 1, start: Float64Array.of(lo), end: Float64Array.of(hi) };
    segments = segments ? intersect(segments, explicit) : explicit;
    if (segments.count === 0) {
      throw new InputError(`--window ${options.window} does not overlap the GPU projection of --range ${JSON.stringify(options.range)}`);
    }
  }
  if (!segments) {
    if (!span) throw new InputError(`device ${deviceId} ran no kernel; devices with kernels: ${devicesWithKernels(trace).join(', ') || 'none'}`);
    // A lone zero-length kernel gives a zero-length W: kept as is, utilization is then null.
    segments = { count: 1, start: Float64Array.of(span[0]), end: Float64Array.of(span[1]) };
  }
  window.start = segments.start[0];
  window.end = segments.end[segments.count - 1];
  window.duration = window.end - window.start;
  window.coveredDuration = totalLength(segments);
  if (segments.count > 1) {
    window.segments = Array.from(segments.start, (s, i) => ({ start: s, end: segments!.end[i] }));
  }
  return steadyState ? { segments, window, steadyState } : { segments, window };
}

export function devicesWithKernels(trace: Trace): number[] {
  const ids = new Set<number>();
  for (let i = 0; i < trace.kernels.count; i++) ids.add(trace.kernels.deviceId[i]);
  return [...ids].sort((a, b) => a - b);
}

/** |W|: the time the window covers, the denominator of utilization and of every "% of the window". */
export function windowLength(w: { duration: number; coveredDuration?: number }): number {
  return w.coveredDuration ?? w.duration;
}

/**
 * upperBound(w.end, w.count, t), the first segment of W that ends after t, for times that mostly
 * come in order: kernels in start order meet a per-iteration window's thousands of segments one
 * after another, so the last answer (or the next) is the answer, not a binary search per kernel
 * (a fifth of the communication analysis). The same answer for any t, in order or not.
 */
export class SegmentCursor {
  private g = 0;
  constructor(private readonly w: IntervalSet) {}

  firstEndingAfter(t: number): number {
    const { end, count } = this.w;
    let g = this.g;
    // t went back: the answer is at or before g
    if (g > 0 && end[g - 1] > t) g = upperBound(end, g, t);
    // t went forward by a segment or more: one step, then a search of the rest
    else if (g < count && end[g] <= t) {
      g++;
      if (g < count && end[g] <= t) {
        let hi = count;
        while (g < hi) {
          const mid = (g + hi) >>> 1;
          if (end[mid] <= t) g = mid + 1; else hi = mid;
        }
      }
    }
    this.g = g;
    return g;
  }
}
