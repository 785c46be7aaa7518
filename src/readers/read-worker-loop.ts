/**
 * The read worker's loop (started by read-worker.ts): waits for a job, runs it (read-jobs.ts),
 * answers with the result or the error, and waits for the next; a null job ends it.
 */
import { type MessagePort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { PagesUnsupported } from './pages.js';
import { runJob, type ReadJob } from './read-jobs.js';

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
  const job = m?.message as ReadJob | null | undefined;
  if (job === null || job === undefined) break;
  let answer: { ok?: unknown; error?: string; unsupported?: boolean };
  try {
    answer = { ok: runJob(job) };
  } catch (e) {
    answer = { error: e instanceof Error ? (e.stack ?? e.message) : String(e), unsupported: e instanceof PagesUnsupported };
  }
  port.postMessage(answer);
  Atomics.store(flags, 1, seen);
  Atomics.notify(flags, 1);
}
port.close();
