/**
 * The synchronous job channel between the main thread and one worker thread (the read workers,
 * readers/read-pool.ts; the window analyses' worker, report/aside.ts). The read and buildReport are
 * synchronous, so the main thread cannot take the worker's answer from an event: it blocks in
 * Atomics.wait on flags shared with the worker and takes the message off the port with
 * receiveMessageOnPort, which needs no event loop.
 *
 * flags (an Int32Array on shared memory): [0] jobs posted, [1] jobs answered, [2] the worker's
 * state: 0 starting, 1 running (set by the worker's loop), 2 ended (set as its thread exits, by
 * the worker's entry module, which imports nothing that could fail to load).
 */
import { type MessagePort, receiveMessageOnPort } from 'node:worker_threads';

/** Main thread: the worker may take job number `posted` (the message is on the port already). */
export function signalPosted(flags: Int32Array, posted: number): void {
  Atomics.store(flags, 0, posted);
  Atomics.notify(flags, 0);
}

/**
 * Main thread: the answer to job number `posted`, once the worker has given it; undefined when
 * the worker ended without answering, or had not started by `deadline` (performance.now()).
 */
export function awaitAnswer(port: MessagePort, flags: Int32Array, posted: number, deadline: number): unknown {
  for (;;) {
    const answered = Atomics.load(flags, 1);
    if (answered === posted) break;
    const state = Atomics.load(flags, 2);
    if (state === 2 || (state === 0 && performance.now() > deadline)) break;
    Atomics.wait(flags, 1, answered, 100);
  }
  let m = receiveMessageOnPort(port);
  // the answer is posted before the flag is bumped; wait briefly should it still be in flight
  for (let spins = 0; m === undefined && Atomics.load(flags, 1) === posted && spins < 1000; spins++) {
    Atomics.wait(flags, 1, posted, 1);
    m = receiveMessageOnPort(port);
  }
  return m?.message;
}

/** Worker: says it runs. */
export function signalRunning(flags: Int32Array): void {
  Atomics.store(flags, 2, 1);
  Atomics.notify(flags, 2);
}

/** Worker: blocks until the job after number `seen` is posted; that job's number and message (undefined: none came). */
export function nextJob(port: MessagePort, flags: Int32Array, seen: number): { seen: number; message: unknown } {
  Atomics.wait(flags, 0, seen);
  const now = Atomics.load(flags, 0);
  let m = receiveMessageOnPort(port);
  for (let spins = 0; m === undefined && spins < 1000; spins++) {
    Atomics.wait(flags, 0, now, 1);
    m = receiveMessageOnPort(port);
  }
  return { seen: now, message: m?.message };
}

/** Worker: answers job number `seen`. */
export function sendAnswer(port: MessagePort, flags: Int32Array, seen: number, answer: unknown): void {
  port.postMessage(answer);
  Atomics.store(flags, 1, seen);
  Atomics.notify(flags, 1);
}
