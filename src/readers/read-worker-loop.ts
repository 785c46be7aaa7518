/**
 * The read worker's loop (started by read-worker.ts): waits for a job, runs it (read-jobs.ts),
 * answers with the result or the error, and waits for the next; a null job, or the answer to a
 * job posted as the worker's last, ends it.
 *
 * After each job that wrote shared columns the worker collects its garbage in full (the
 * counting passes hold none, and their fill follows at once): the shared columns a job wrote stay
 * allocated as long as any thread holds a handle to them, and a job's handles, old by the time
 * it ends, would otherwise wait in this idle isolate for a major collection that never comes
 * (at a million kernels, the read's 48 MB of wide kernel columns held until the workers end).
 */
import { type MessagePort, workerData } from 'node:worker_threads';
import { answerOf, type ReadJob } from './read-jobs.js';
import { fullCollection } from '../model/memory.js';
import { nextJob, sendAnswer, signalRunning } from '../model/sync-channel.js';

const { port, flags } = workerData as { port: MessagePort; flags: Int32Array };

/** V8's full collection (model/memory.ts); nothing should V8 refuse it */
const collect = fullCollection() ?? ((): void => {});

signalRunning(flags);
let seen = 0;

/**
 * Waits for the next job and answers it: 'end' when no other will come, 'collect' after a job
 * that wrote shared columns (its handles to them are garbage now), else 'next'.
 */
function next(): 'next' | 'collect' | 'end' {
  const next = nextJob(port, flags, seen);
  seen = next.seen;
  const posted = next.message as { job: ReadJob; last: boolean } | null | undefined;
  if (posted === null || posted === undefined) return 'end';
  sendAnswer(port, flags, seen, answerOf(posted.job));
  if (posted.last) return 'end';
  // the counting passes hold no shared column: their next job follows at once, uncollected
  return posted.job.kind === 'runtimeCount' || posted.job.kind === 'rowCount' ? 'next' : 'collect';
}

// the job's handles are gone once next() returns
for (let n = next(); n !== 'end'; n = next()) if (n === 'collect') collect();
port.close();
