/**
 * Analyses several files at once, one worker thread per job (default: one per core). Reports come
 * back in input order whatever order the workers finish in. The first failure stops every worker
 * and is raised as the same error class, so bad input still exits 2.
 */
import { existsSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { EnvironmentError, GateFailedError, InputError } from '../errors.js';
import type { Report } from '../report/types.js';
import { analyzeAnyFile, type FileJob } from './analyze-file.js';
import type { WorkerReply } from './worker.js';

export interface ParallelOptions {
  /** worker threads; default one per core, never more than the files */
  jobs?: number;
  /** called as files finish, and with each file's rows read */
  onProgress?: (p: { filesDone: number; files: number; rows: number; totalRows: number }) => void;
}

/** The compiled worker next to this module; absent when running from the TypeScript sources (tests). */
function workerScript(): string | null {
  const path = fileURLToPath(new URL('./worker.js', import.meta.url));
  return existsSync(path) && import.meta.url.endsWith('.js') ? path : null;
}

export function defaultJobs(): number {
  return availableParallelism();
}

/** Parses --jobs: a positive integer. */
export function parseJobs(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InputError(`--jobs expects a positive number of worker threads, got "${value}".`);
  return n;
}

function revive(error: { name: string; message: string; stack?: string }): Error {
  const Class = error.name === 'InputError' ? InputError : error.name === 'EnvironmentError' ? EnvironmentError
    : error.name === 'GateFailedError' ? GateFailedError : Error;
  const e = new Class(error.message);
  if (error.stack) e.stack = error.stack;
  return e;
}

/**
 * Jobs whose file another job also reads (the same file by any name) are read through SQL only.
 * Reading pages opens a second descriptor on the file, and POSIX drops every lock a process holds
 * on a file when any of its descriptors there closes: one thread finishing would drop the SQLite
 * read lock another thread relies on while a writer may be waiting.
 */
export function markSharedFiles(jobs: FileJob[]): FileJob[] {
  const keys = jobs.map((j) => {
    try {
      const st = statSync(j.file);
      return `${st.dev}:${st.ino}`;
    } catch {
      return null;
    }
  });
  const seen = new Map<string, number>();
  for (const k of keys) if (k !== null) seen.set(k, (seen.get(k) ?? 0) + 1);
  return jobs.map((j, i) => (keys[i] !== null && seen.get(keys[i]!)! > 1 ? { ...j, noPages: true } : j));
}

export async function analyzeFiles(allJobs: FileJob[], options: ParallelOptions = {}): Promise<Report[]> {
  return await run(allJobs, options, false) as Report[];
}

/**
 * analyzeFiles, but a file that is bad input (InputError: empty, not an export, no kernels with
 * --require-kernels ...) gives its error in its place and the others are still analysed: several
 * files with one bad one report the good ones and name the bad one. Anything else still stops all.
 */
export async function analyzeFilesSettled(allJobs: FileJob[], options: ParallelOptions = {}): Promise<(Report | InputError)[]> {
  return await run(allJobs, options, true);
}

async function run(allJobs: FileJob[], options: ParallelOptions, settle: boolean): Promise<(Report | InputError)[]> {
  const threads = Math.min(options.jobs ?? defaultJobs(), allJobs.length);
  const script = workerScript();
  if (threads <= 1 || script === null) {
    const out: (Report | InputError)[] = [];
    for (const j of allJobs) {
      try {
        out.push(await analyzeAnyFile(j));
      } catch (e) {
        if (!settle || !(e instanceof InputError)) throw e;
        out.push(e);
      }
    }
    return out;
  }
  const jobs = markSharedFiles(allJobs);

  const reports: (Report | InputError | undefined)[] = new Array(jobs.length);
  const rows = new Float64Array(jobs.length);
  const totals = new Float64Array(jobs.length);
  let next = 0;
  let done = 0;
  const report = (): void => {
    let r = 0; let t = 0;
    for (let i = 0; i < jobs.length; i++) { r += rows[i]; t += totals[i]; }
    options.onProgress?.({ filesDone: done, files: jobs.length, rows: r, totalRows: t });
  };
  const workers: Worker[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      let failed = false;
      const fail = (e: Error): void => { if (!failed) { failed = true; reject(e); } };
      const feed = (w: Worker): void => {
        if (next >= jobs.length) return;
        const id = next++;
        w.postMessage({ id, job: jobs[id] });
      };
      for (let t = 0; t < threads; t++) {
        const w = new Worker(script);
        workers.push(w);
        w.on('message', (m: WorkerReply) => {
          if ('progress' in m) { rows[m.id] = m.progress.rows; totals[m.id] = m.progress.total; report(); return; }
          if (!m.ok) {
            const e = revive(m.error);
            if (!settle || !(e instanceof InputError)) { fail(e); return; }
            reports[m.id] = e;
          } else {
            reports[m.id] = m.report;
          }
          done++;
          report();
          if (done === jobs.length) resolve();
          else feed(w);
        });
        w.on('error', (e) => fail(e));
        w.on('exit', (code) => { if (code !== 0 && done < jobs.length) fail(new Error(`worker thread exited with code ${code}`)); });
        feed(w);
      }
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return reports as (Report | InputError)[];
}
