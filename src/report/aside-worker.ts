/**
 * The window analyses' worker thread (report/aside.ts). This module imports nothing of the
 * analyses, so that the thread always says when it ends, even when their modules fail to load:
 * flags[2] = 2, for the main thread blocked in Atomics.wait, which cannot hear the worker's events.
 */
import { workerData } from 'node:worker_threads';

const { flags } = workerData as { flags: Int32Array };
process.on('exit', () => {
  Atomics.store(flags, 2, 2);
  Atomics.notify(flags, 1);
  Atomics.notify(flags, 2);
});
import('./aside-worker-loop.js').catch(() => process.exit(1));
