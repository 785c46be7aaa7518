/**
 * Full garbage collections between the phases of a big analysis. A million-kernel trace leaves
 * each phase with tens of MB of dead columns (the read's wide columns, the device selection, a
 * step's scratch) that V8 frees at a time of its own choosing, often after the next phase has
 * made its own: the two then count at once, and the peak varied by ±10 MB from run to run. A
 * collection at the boundaries costs a few ms (the JS heap is small; the columns are array
 * buffers, freed without being traced) and makes the peak the live data's.
 *
 * V8 gives its collector to code only under --expose-gc; the flag, set at run time, gives it to
 * a new context (the Node.js idiom for this), from which it is taken once. Where V8 refuses,
 * nothing is collected and the figures stay the same: only memory depends on it.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { readFileSync, writeFileSync } from 'node:fs';

/** Rows (kernels and CUDA API calls) from which the phases of an analysis end in a collection. */
export const COLLECT_ROWS = 250_000;

let collector: (() => void) | null | undefined;

/** V8's full collection, or null when it cannot be had. */
export function fullCollection(): (() => void) | null {
  if (collector !== undefined) return collector;
  collector = null;
  try {
    const exposed = (globalThis as { gc?: unknown }).gc;
    if (typeof exposed === 'function') collector = exposed as () => void;
    else {
      setFlagsFromString('--expose-gc');
      const gc: unknown = runInNewContext('gc');
      if (typeof gc === 'function') collector = gc as () => void;
    }
  } catch {
    collector = null;
  }
  return collector;
}

/** A full collection at the end of a phase of the analysis of a trace of `rows` rows, when it is big (COLLECT_ROWS). */
export function endOfPhase(rows: number, label = ''): void {
  if (rows >= COLLECT_ROWS) {
    const peak = PHASE_PEAKS ? vm('VmHWM') : 0;
    fullCollection()?.();
    if (PHASE_PEAKS) phasePeak(label, peak);
  }
}

/** MOE_TRACE_PHASE_PEAKS=1 (a bench aid, Linux): each phase's peak RSS, wall and CPU time (the process's, GC threads included; since the previous phase, its collection included) on stderr, the peak counter reset after each. */
const PHASE_PEAKS = process.env.MOE_TRACE_PHASE_PEAKS === '1';

function vm(field: string): number {
  try {
    return Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(readFileSync('/proc/self/status', 'utf8'))?.[1]) / 1024;
  } catch {
    return 0;
  }
}

/** The process's CPU time (user + system) at the previous phase's end: the analyses run on one thread, so a phase's CPU is its own. */
let lastCpu = PHASE_PEAKS ? cpuMs() : 0;
let lastWall = performance.now();

function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

function phasePeak(label: string, peak: number): void {
  try {
    const cpu = cpuMs();
    const wall = performance.now();
    process.stderr.write(`PHASE ${label} peak ${peak.toFixed(1)} then ${vm('VmRSS').toFixed(1)} MiB, ${(wall - lastWall).toFixed(0)} ms wall, ${(cpu - lastCpu).toFixed(0)} ms CPU\n`);
    lastCpu = cpu;
    lastWall = wall;
    writeFileSync('/proc/self/clear_refs', '5');
  } catch {
    // not Linux: no figures
  }
}
