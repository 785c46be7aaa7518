/**
 * The intervals the HTML timeline draws as each GPU's communication rows (issue 17): its
 * communication, compute and exposed communication (unions, clipped to the window). The kernel
 * classes are those of the report: the built-in patterns plus the report's own --classes patterns
 * (communication.classPatterns), applied to the trace again.
 */
import type { Trace } from '../model/trace.js';
import type { Report } from '../report/types.js';
import type { CommunicationIntervals } from '../report/communication.js';
import { difference, union, upperBound } from '../model/intervals.js';
import { classifyKernels, isCommunicationClass, isComputeClass } from './kernel-classes.js';
import { compileClassPatterns } from './classes-file.js';
import { StreamingUnion } from './communication.js';
import { windowIntervals } from '../model/window-pieces.js';

/** For every device with communication, in the Report's device order; devices without communication get none. */
export function communicationIntervals(report: Report, trace: Trace): CommunicationIntervals[] {
  const devices = report.devices.filter((d) => (d.communication?.kernelCount ?? 0) > 0);
  if (devices.length === 0) return [];
  const classes = classifyKernels(trace, compileClassPatterns(devices[0].communication?.classPatterns ?? []));
  const k = trace.kernels;
  return devices.map((d) => {
    const w = windowIntervals(d.window);
    const cs: number[] = []; const ce: number[] = [];
    // compute kernels come in start order: their union is streamed, not a copy of every kernel
    const computeUnion = new StreamingUnion(true);
    // only the segments an interval can meet (a steady-state window has thousands)
    const clip = (s: number, e: number, each: (a: number, b: number) => void): void => {
      for (let g = upperBound(w.end, w.count, s); g < w.count && w.start[g] < e; g++) {
        const a = Math.max(s, w.start[g]); const b = Math.min(e, w.end[g]);
        if (b > a) each(a, b);
      }
    };
    const toComm = (a: number, b: number): void => { cs.push(a); ce.push(b); };
    const toCompute = (a: number, b: number): void => computeUnion.add(a, b);
    for (let i = 0; i < k.count; i++) {
      if (k.deviceId[i] !== d.deviceId) continue;
      const code = classes.classOf[i];
      if (isCommunicationClass(code)) clip(k.start[i], k.end[i], toComm);
      else if (isComputeClass(code)) clip(k.start[i], k.end[i], toCompute);
    }
    // the copies a communication library issued are in the report's collective sequence
    const seq = d.communication!.collectives;
    for (let j = 0; j < seq.start.length; j++) clip(seq.start[j], seq.start[j] + seq.duration[j], toComm);
    const communication = union(cs, ce, cs.length);
    const compute = computeUnion.finish().set;
    return { deviceId: d.deviceId, communication, compute, exposed: difference(communication, compute) };
  });
}
