/**
 * What the analyses of one trace share: the API call behind each GPU operation and the API calls
 * that block the host. Both cost a pass over every table, so a report computes them once, here,
 * and hands them to each analysis (and to the findings, through their DeviceContext) as plain
 * values: nothing is cached behind the caller's back.
 */
import type { Trace } from '../model/trace.js';
import { callLinks, type CallLinks } from './correlation.js';
import { blockingIndex, type BlockingIndex } from './blocking-calls.js';

export interface TraceIndex {
  trace: Trace;
  /** each kernel's, memcpy's and memset's API call */
  links: CallLinks;
  /** which API calls block the host, and each thread's blocking calls */
  blocking: BlockingIndex;
}

export function indexTrace(trace: Trace): TraceIndex {
  const links = callLinks(trace);
  return { trace, links, blocking: blockingIndex(trace, links) };
}
