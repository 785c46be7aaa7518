/**
 * The read worker's loop (started by read-worker.ts): waits for a job, runs it (read-jobs.ts),
 * answers with the result or the error, and waits for the next; a null job ends it.
 */
import { type MessagePort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { answerOf, type ReadJob } from './read-jobs.js';

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
  port.postMessage(answerOf(job));
  Atomics.store(flags, 1, seen);
  Atomics.notify(flags, 1);
}
port.close();
