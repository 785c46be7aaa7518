/**
 * The window analyses' worker loop (started by aside-worker.ts): waits for a device's job, runs
 * windowAnalyses on the trace's shared columns, answers with its fields or the error, and waits
 * for the next; a null job ends it.
 */
import { type MessagePort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { windowAnalyses } from './window-analyses.js';
import { linksWithLookup } from '../analyses/correlation.js';
import type { AsideJob } from './aside.js';

const { port, flags } = workerData as { port: MessagePort; flags: Int32Array };

Atomics.store(flags, 2, 1);
Atomics.notify(flags, 2);
let seen = 0;

for (;;) {
  Atomics.wait(flags, 0, seen);
  seen = Atomics.load(flags, 0);
  let m = receiveMessageOnPort(port);
  for (let spins = 0; m === undefined && spins < 1000; spins++) {
    Atomics.wait(flags, 0, seen, 1);
    m = receiveMessageOnPort(port);
  }
  const job = m?.message as AsideJob | null | undefined;
  if (job === null || job === undefined) break;
  let answer: { ok: unknown } | { error: string };
  try {
    const { trace, links, blocking, classes, deviceId, window, options } = job;
    const index = { trace, links: linksWithLookup(links), blocking };
    answer = { ok: windowAnalyses(trace, deviceId, window, index, classes, options) };
  } catch (e) {
    answer = { error: e instanceof Error ? e.message : String(e) };
  }
  port.postMessage(answer);
  Atomics.store(flags, 1, seen);
  Atomics.notify(flags, 1);
}
port.close();
