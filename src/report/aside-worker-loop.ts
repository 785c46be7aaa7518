/**
 * The window analyses' worker loop (started by aside-worker.ts): waits for a device's job, runs
 * rangeAnalyses on the trace's shared columns, answers with its fields or the error, and waits
 * for the next; the last job (or a null one) ends it.
 */
import { type MessagePort, workerData } from 'node:worker_threads';
import { rangeAnalyses } from './range-analyses.js';
import { linksWithLookup } from '../analyses/correlation.js';
import type { AsideJob } from './aside.js';
import { nextJob, sendAnswer, signalRunning } from '../model/sync-channel.js';

const { port, flags } = workerData as { port: MessagePort; flags: Int32Array };

signalRunning(flags);
let seen = 0;

for (;;) {
  const next = nextJob(port, flags, seen);
  seen = next.seen;
  const job = next.message as AsideJob | null | undefined;
  if (job === null || job === undefined) break;
  let answer: { ok: unknown } | { error: string };
  try {
    const { trace, links, blocking, classes, deviceId, window, options } = job;
    const index = { trace, links: linksWithLookup(links), blocking };
    answer = { ok: rangeAnalyses(trace, deviceId, window, index, classes, options) };
  } catch (e) {
    answer = { error: e instanceof Error ? e.message : String(e) };
  }
  sendAnswer(port, flags, seen, answer);
  // its isolate, heap and scratch (~25 MB at a million kernels) gone while the main thread works on
  if (job.last) break;
}
port.close();
