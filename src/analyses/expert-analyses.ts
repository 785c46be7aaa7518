/**
 * The expert-level analyses of issue 15 for one device's window, as DeviceReport fields: the one
 * place buildReport calls them (keeps the shared files' edits to a line).
 */
import type { Trace } from '../model/trace.js';
import type { DeviceReport, Window } from '../report/types.js';
import { analyzeExperts } from './experts.js';
import { kernelContention } from './contention.js';

export function expertAnalyses(trace: Trace, deviceId: number, window: Window): Partial<DeviceReport> {
  const out: Partial<DeviceReport> = {};
  const experts = analyzeExperts(trace, deviceId, window);
  if (experts) out.experts = experts;
  const contention = kernelContention(trace, deviceId, window);
  out.contention = contention.entries;
  out.contentionSummary = contention.summary;
  return out;
}
