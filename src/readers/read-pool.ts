/**
 * Worker threads that decode ranges of a table's pages into shared typed columns, driven
 * synchronously: the reader is synchronous (better-sqlite3, one read transaction), so the main
 * thread posts a job to each worker and blocks in Atomics.wait until each has answered through
 * its MessagePort (receiveMessageOnPort needs no event loop). A worker answers every job, with
 * its result or its error; a worker that does not start in time, or any error, makes the caller
 * read on one thread instead.
 *
 * The workers share the process's file descriptor of the export (read with pread, never closed
 * there: closing it would drop SQLite's POSIX lock) and the page layout the main thread computed.
 * Each costs about 8 MB (its V8 isolate) while it lives: the pool is made only for big tables on
 * machines with ≥ 8 cores (or when MOE_TRACE_READ_WORKERS asks, as the tests do), and closed as
 * soon as the table is read.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { MessageChannel, type MessagePort, Worker, isMainThread, receiveMessageOnPort } from 'node:worker_threads';

/** Cores from which the big tables are decoded in worker threads. */
export const MANY_CORES = 8;
/** Rows of a table from which it is worth the workers' start (~30 ms) and memory. */
export const PARALLEL_ROWS = 400_000;
/** Workers at most: each adds ~8 MB while it lives, and the main thread reads a range too. */
const MAX_WORKERS = 3;
/** How long a worker may take to start before the read goes on without workers. */
const START_MS = 10_000;

/** A job's failure in a worker: `unsupported` when it was PagesUnsupported (read another way). */
export class WorkerJobError extends Error {
  constructor(message: string, readonly unsupported: boolean) { super(message); }
}

/**
 * Workers to start for a table of `rows` rows: MOE_TRACE_READ_WORKERS (a number, 0 for none)
 * decides when set; else none below MANY_CORES cores or PARALLEL_ROWS rows; else up to
 * MAX_WORKERS, on the main thread only. 0 also when the compiled worker script is absent (running from the sources).
 */
export function workersFor(rows: number): number {
  if (workerScript() === null) return 0;
  const forced = process.env.MOE_TRACE_READ_WORKERS;
  if (forced !== undefined && forced !== '') {
    const n = Number(forced);
    return Number.isInteger(n) && n >= 0 ? Math.min(n, 16) : 0;
  }
  const cores = availableParallelism();
  // several files are analysed at once in worker threads (src/parallel), a core each: no more threads then
  if (!isMainThread || cores < MANY_CORES || rows < PARALLEL_ROWS) return 0;
  return Math.min(MAX_WORKERS, cores - 1);
}

function workerScript(): string | null {
  const path = fileURLToPath(new URL('./read-worker.js', import.meta.url));
  return import.meta.url.endsWith('.js') && existsSync(path) ? path : null;
}

interface PoolWorker { worker: Worker; port: MessagePort; flags: Int32Array; posted: number }

/**
 * flags[0]: jobs posted (the main thread bumps it after posting); flags[1]: jobs answered (the
 * worker bumps it after answering); flags[2]: 1 once the worker runs, 2 once it has ended.
 */
export class ReadPool {
  private readonly workers: PoolWorker[] = [];

  /** null when the workers could not all start in time (then none is left running). */
  static start(n: number): ReadPool | null {
    const script = workerScript();
    if (script === null || n <= 0) return null;
    const pool = new ReadPool();
    try {
      for (let i = 0; i < n; i++) {
        const { port1, port2 } = new MessageChannel();
        const flags = new Int32Array(new SharedArrayBuffer(12));
        const worker = new Worker(script, { workerData: { port: port2, flags }, transferList: [port2] });
        worker.unref();
        // a failure reaches the main thread through flags[2] (read-worker.ts); the event, after the read, is not news
        worker.on('error', () => {});
        pool.workers.push({ worker, port: port1, flags, posted: 0 });
      }
    } catch {
      // no thread to be had (a limit on threads or memory): one thread reads
      pool.close();
      return null;
    }
    const deadline = performance.now() + START_MS;
    for (const w of pool.workers) {
      while (Atomics.load(w.flags, 2) === 0) {
        const left = deadline - performance.now();
        if (left <= 0) break;
        Atomics.wait(w.flags, 2, 0, Math.min(left, 50));
      }
      // not started in time, or ended at once (its modules failed to load)
      if (Atomics.load(w.flags, 2) !== 1) { pool.close(); return null; }
    }
    return pool;
  }

  get size(): number { return this.workers.length; }

  /** Posts jobs[i] to worker i (jobs.length ≤ size); `wait` collects the answers. */
  post(jobs: unknown[]): void {
    jobs.forEach((job, i) => {
      const w = this.workers[i];
      w.port.postMessage(job);
      w.posted++;
      Atomics.store(w.flags, 0, w.posted);
      Atomics.notify(w.flags, 0);
    });
  }

  /** The answers of the jobs last posted to the first `n` workers; throws the first error. */
  wait<T>(n: number): T[] {
    const out: T[] = [];
    let error: WorkerJobError | null = null;
    for (let i = 0; i < n; i++) {
      const w = this.workers[i];
      for (;;) {
        const answered = Atomics.load(w.flags, 1);
        if (answered === w.posted) break;
        // a worker that ended without answering (flags[2] = 2, set as it exits) will not answer
        if (Atomics.load(w.flags, 2) === 2) break;
        Atomics.wait(w.flags, 1, answered, 100);
      }
      let m = receiveMessageOnPort(w.port);
      // the answer is posted before the flag is bumped; wait briefly should it still be in flight
      for (let spins = 0; m === undefined && spins < 1000; spins++) {
        Atomics.wait(w.flags, 1, w.posted, 1);
        m = receiveMessageOnPort(w.port);
      }
      const a = m?.message as { ok?: T; error?: string; unsupported?: boolean } | undefined;
      if (a === undefined) error ??= new WorkerJobError('a read worker did not answer', true);
      else if (a.error !== undefined) error ??= new WorkerJobError(a.error, a.unsupported === true);
      else out.push(a.ok as T);
    }
    if (error) throw error;
    return out;
  }

  close(): void {
    for (const w of this.workers) {
      w.port.postMessage(null);
      Atomics.store(w.flags, 0, w.posted + 1);
      Atomics.notify(w.flags, 0);
      w.port.close();
      void w.worker.terminate();
    }
    this.workers.length = 0;
  }
}

/**
 * The workers of one file's read: started by the first table big enough (workersFor), kept for
 * the next, closed by the reader when the file is read. Once they fail to start, none is tried again.
 */
export class ReadWorkers {
  private pool: ReadPool | null = null;
  private failed = false;

  /** The pool for a table of `rows` rows; null: read it on one thread. */
  forTable(rows: number): ReadPool | null {
    const n = workersFor(rows);
    if (n === 0 || this.failed) return null;
    if (this.pool !== null) return this.pool;
    this.pool = ReadPool.start(n);
    if (this.pool === null) this.failed = true;
    return this.pool;
  }

  close(): void {
    this.pool?.close();
    this.pool = null;
  }
}
