/**
 * Worker-thread side of the parallel analysis: receives FileJobs, answers each with its Report or
 * with the error, so the main thread can raise the same class (InputError stays exit 2).
 */
import { parentPort } from 'node:worker_threads';
import { analyzeAnyFile, type FileJob } from './analyze-file.js';

export type WorkerRequest = { id: number; job: FileJob };
export type WorkerReply =
  | { id: number; ok: true; report: Awaited<ReturnType<typeof analyzeAnyFile>> }
  | { id: number; ok: false; error: { name: string; message: string; stack?: string } }
  | { id: number; progress: { rows: number; total: number } };

const port = parentPort;
if (port) {
  port.on('message', async ({ id, job }: WorkerRequest) => {
    try {
      const report = await analyzeAnyFile(job, {
        onProgress: (rows, total) => port.postMessage({ id, progress: { rows, total } } satisfies WorkerReply),
      });
      port.postMessage({ id, ok: true, report } satisfies WorkerReply);
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      port.postMessage({ id, ok: false, error: { name: err.name, message: err.message, stack: err.stack } } satisfies WorkerReply);
    }
  });
}
