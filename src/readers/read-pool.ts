/**
 * Worker threads that decode ranges of a table's pages into shared typed columns, driven
 * synchronously: the reader is synchronous (better-sqlite3, one read transaction), so the main
 * thread posts a job to each worker and blocks in Atomics.wait until each has answered through
 * its MessagePort (receiveMessageOnPort needs no event loop). A worker answers every job, with
 * its result or its error; a worker that does not start in time, or any error, makes the caller
 * read on one thread instead. Jobs are posted without waiting for the workers to start: they
 * wait in the workers' ports meanwhile.
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
import { MessageChannel, type MessagePort, Worker, isMainThread } from 'node:worker_threads';
import { awaitAnswer, signalPosted } from '../model/sync-channel.js';

/** Cores from which the big tables are decoded in worker threads. */
export const MANY_CORES = 8;
/** Rows of a table from which it is worth the workers' start (~30 ms) and memory. */
export const PARALLEL_ROWS = 400_000;
/** Rows of the other tables (NVTX, memcpy, ...) from which they are read by a worker of their own beside the big ones. */
export const ASIDE_ROWS = 50_000;
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
  if (forcedWorkers()) {
    const n = Number(forced);
    return Number.isInteger(n) && n >= 0 ? Math.min(n, 16) : 0;
  }
  const cores = availableParallelism();
  // several files are analysed at once in worker threads (src/parallel), a core each: no more threads then
  if (!isMainThread || cores < MANY_CORES || rows < PARALLEL_ROWS) return 0;
  return Math.min(MAX_WORKERS, cores - 1);
}

/** Whether MOE_TRACE_READ_WORKERS says how many workers to use. */
function forcedWorkers(): boolean {
  const forced = process.env.MOE_TRACE_READ_WORKERS;
  return forced !== undefined && forced !== '';
}

function workerScript(): string | null {
  const path = fileURLToPath(new URL('./read-worker.js', import.meta.url));
  return import.meta.url.endsWith('.js') && existsSync(path) ? path : null;
}

interface PoolWorker { worker: Worker; port: MessagePort; flags: Int32Array; posted: number; ending: boolean }

/**
 * flags[0]: jobs posted (the main thread bumps it after posting); flags[1]: jobs answered (the
 * worker bumps it after answering); flags[2]: 1 once the worker runs, 2 once it has ended.
 */
export class ReadPool {
  private readonly workers: PoolWorker[] = [];
  /** workers for the ranges of a table (post, wait); those after them are for reads aside (postAside) */
  private ranges = 0;

  /** when the workers must have started by: one that has not by then makes its job fail */
  private deadline = 0;
  /** a worker did not answer: an answer may still come, so the pool must not be given another job */
  broken = false;
  /** the workers for ranges were given their last jobs (post's `last`): the pool takes no other table */
  ended = false;
  /** the aside worker was given its job */
  asideUsed = false;

  /**
   * `n` workers for ranges and `aside` more for reads beside them; null when threads cannot be
   * had. The workers start meanwhile (tens of ms each, on their own threads): jobs may be posted
   * at once and wait in their ports; a worker that fails to start, or has not within START_MS,
   * fails its job (answer).
   */
  static start(n: number, aside = 0): ReadPool | null {
    const script = workerScript();
    if (script === null || n <= 0) return null;
    const pool = new ReadPool();
    pool.ranges = n;
    pool.deadline = performance.now() + START_MS;
    try {
      for (let i = 0; i < n + aside; i++) {
        const { port1, port2 } = new MessageChannel();
        const flags = new Int32Array(new SharedArrayBuffer(12));
        const worker = new Worker(script, { workerData: { port: port2, flags }, transferList: [port2] });
        worker.unref();
        // a failure reaches the main thread through flags[2] (read-worker.ts); the event, after the read, is not news
        worker.on('error', () => {});
        pool.workers.push({ worker, port: port1, flags, posted: 0, ending: false });
      }
    } catch {
      // no thread to be had (a limit on threads or memory): one thread reads
      pool.close();
      return null;
    }
    return pool;
  }

  /** Workers for the ranges of a table. */
  get size(): number { return this.ranges; }

  /** Workers for reads aside. */
  get asideSize(): number { return this.workers.length - this.ranges; }

  /** `last`: the worker's last job; it ends once it has answered (its isolate's memory goes with it) */
  private postTo(w: PoolWorker, job: unknown, last: boolean): void {
    w.port.postMessage({ job, last });
    w.posted++;
    if (last) w.ending = true;
    signalPosted(w.flags, w.posted);
  }

  /**
   * Posts jobs[i] to worker i (jobs.length ≤ size); `wait` collects the answers. `last`: the
   * table's workers have no job after these (`ended`).
   */
  post(jobs: unknown[], last = false): void {
    jobs.forEach((job, i) => this.postTo(this.workers[i], job, last));
    if (last) this.ended = true;
  }

  /** Posts a job to aside worker `i` (< asideSize): its one job; `waitAside` collects its answer, and the worker ends once it has answered. */
  postAside(job: unknown, i = 0): void {
    this.postTo(this.workers[this.ranges + i], job, true);
    this.asideUsed = true;
  }

  /** The answers of the jobs last posted to the first `n` workers; throws the first error. */
  wait<T>(n: number): T[] {
    const out: T[] = [];
    let error: WorkerJobError | null = null;
    for (let i = 0; i < n; i++) {
      try {
        out.push(this.answer<T>(this.workers[i]));
      } catch (e) {
        if (!(e instanceof WorkerJobError)) throw e;
        error ??= e;
      }
    }
    if (error) throw error;
    return out;
  }

  /** The answer of the job last posted to aside worker `i`; throws its error. */
  waitAside<T>(i = 0): T {
    return this.answer<T>(this.workers[this.ranges + i]);
  }

  private answer<T>(w: PoolWorker): T {
    // a worker that ended without answering will not answer; one that has not started in time is not waited for
    const a = awaitAnswer(w.port, w.flags, w.posted, this.deadline) as { ok?: T; error?: string; unsupported?: boolean } | undefined;
    if (a === undefined) {
      this.broken = true;
      throw new WorkerJobError('a read worker did not answer', true);
    }
    if (a.error !== undefined) throw new WorkerJobError(a.error, a.unsupported === true);
    return a.ok as T;
  }

  close(): void {
    for (const w of this.workers) {
      if (!w.ending) {
        w.port.postMessage(null);
        signalPosted(w.flags, w.posted + 1);
      }
      w.port.close();
      void w.worker.terminate();
    }
    this.workers.length = 0;
  }
}

/** Bytes of a file below which no table of it can hold PARALLEL_ROWS rows (a row takes ≥ 32 bytes of its page). */
const PARALLEL_BYTES = PARALLEL_ROWS * 32;

/**
 * The workers of one file's read: started ahead while its tables are counted (`ahead`), or by
 * the first table big enough (workersFor, `forTable`, `aside`); kept for the next table; closed
 * by the reader when the big tables are read, or as soon as none calls for them. Once they
 * fail to start, none is tried again.
 */
export class ReadWorkers {
  private pool: ReadPool | null = null;
  private failed = false;

  /**
   * Starts the workers for a file of `bytes` bytes before its tables are counted, so that their
   * start overlaps the counting; when the machine calls for workers and the file is big enough
   * for a table to (else nothing). `needed` closes them again when no table does.
   */
  ahead(bytes: number): void {
    const n = workersFor(Number.POSITIVE_INFINITY);
    if (n === 0 || this.failed || this.pool !== null || (!forcedWorkers() && bytes < PARALLEL_BYTES)) return;
    this.pool = ReadPool.start(n, 1);
    if (this.pool === null) this.failed = true;
  }

  /** Closes the workers when no table of `rows` rows or fewer calls for them. */
  needed(rows: number): void {
    if (workersFor(rows) === 0) this.close();
  }

  /** The pool for a table of `rows` rows; null: read it on one thread. */
  forTable(rows: number): ReadPool | null {
    const n = workersFor(rows);
    if (n === 0 || this.failed) return null;
    if (this.pool !== null && !this.pool.ended) return this.pool.broken ? null : this.pool;
    // the workers of the tables before have ended (a second read of the file): new ones
    this.close();
    this.pool = ReadPool.start(n);
    if (this.pool === null) this.failed = true;
    return this.pool;
  }

  /**
   * The pool for big tables of up to `rows` rows (as forTable) with a worker more, for reading
   * `asideRows` rows of the other tables beside them (started here unless started ahead); null
   * when there are no workers for such tables or too few rows aside to be worth a thread (then
   * they are read on the main thread, after the big ones). Called before the first forTable.
   */
  aside(rows: number, asideRows: number): ReadPool | null {
    const n = workersFor(rows);
    if (n === 0 || this.failed || asideRows === 0) return null;
    if (!forcedWorkers() && asideRows < ASIDE_ROWS) return null;
    if (this.pool !== null && !this.pool.ended && !this.pool.asideUsed) return this.pool.asideSize > 0 && !this.pool.broken ? this.pool : null;
    this.close();
    this.pool = ReadPool.start(n, 1);
    if (this.pool === null) this.failed = true;
    return this.pool;
  }

  close(): void {
    this.pool?.close();
    this.pool = null;
  }
}
