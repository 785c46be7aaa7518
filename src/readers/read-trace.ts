/**
 * The one way in: reads any input moe-trace takes into a Trace, picking the reader by the file's
 * content (its first bytes), then its name:
 * - an Nsight Systems SQLite export (`nsys export --type sqlite`) → readNsysSqlite;
 * - an Nsight Systems report (.nsys-rep / .qdrep) → exported by nsys into the cache → readNsysSqlite;
 * - a PyTorch profiler (Kineto) / Chrome trace, .json or .json.gz → readKineto.
 */
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { InputError } from '../errors.js';
import type { Trace } from '../model/trace.js';
import { nsysProducer, readNsysSqlite, type ReadOptions } from './nsys-sqlite.js';
import { exportNsysReport, isNsysReportPath, reportWriterVersion, type NsysRepOptions } from './nsys-rep.js';
import { readKineto } from './kineto/read.js';

export type InputFormat = 'nsys-sqlite' | 'nsys-rep' | 'kineto';

export interface ReadTraceOptions extends ReadOptions {
  /** how to find nsys and where to cache exports of .nsys-rep/.qdrep reports */
  nsysRep?: NsysRepOptions;
  /**
   * Progress of a Kineto read, in bytes of the file (SQLite reads report rows through
   * onProgress).
   */
  onBytes?: (bytesRead: number, totalBytes: number) => void;
}

const INPUTS = 'an nsys SQLite export (.sqlite), an Nsight Systems report (.nsys-rep/.qdrep) or a PyTorch profiler trace (.json/.json.gz)';

function looksLikeKinetoName(path: string): boolean {
  return /\.json(\.gz)?$/i.test(path);
}

/** The input's format from its first bytes (and name); null when it is none of the three. */
export function detectFormat(path: string): InputFormat | null {
  // only a regular file is sniffed: opening a named pipe blocks the whole process until a writer comes
  if (!statSync(path).isFile()) return null;
  const head = Buffer.alloc(64);
  let n: number;
  const fd = openSync(path, 'r');
  try {
    n = readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  const text = head.toString('latin1', 0, n);
  if (text.startsWith('SQLite format 3\u0000')) return 'nsys-sqlite';
  if (text.startsWith('NVIDIA Tegra Profiler Report') || (isNsysReportPath(path) && n > 0)) return 'nsys-rep';
  if (n >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'kineto';
  const first = text.replace(/^\ufeff|^\u00ef\u00bb\u00bf/, '').trimStart()[0];
  if (first === '{' || first === '[') return 'kineto';
  return null;
}

/** Reads the file at `path` with the reader its content calls for. Throws InputError for bad input (exit 2). */
export async function readTrace(path: string, opts: ReadTraceOptions = {}): Promise<Trace> {
  // missing, a directory, empty: the nsys reader's messages, unless the name says Kineto
  if (looksLikeKinetoName(path)) {
    if (!existsSync(path)) throw new InputError(`${path}: no such file; check the path (give ${INPUTS})`);
    const st = statSync(path);
    if (!st.isFile()) throw new InputError(`${path} is not a regular file; give ${INPUTS}`);
    if (st.size === 0) throw new InputError(`${path} is empty (0 bytes); the profiler did not finish writing it — export the trace again`);
  }
  let format: InputFormat | null = null;
  if (existsSync(path) && statSync(path).isFile() && statSync(path).size > 0) {
    try {
      format = detectFormat(path);
    } catch (e) {
      throw new InputError(`${path} cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)}); check that it is readable`);
    }
  }
  switch (format) {
    case 'kineto': {
      return readKineto(path, { keepApiCall: opts.keepApiCall, syncRecords: opts.syncRecords, onProgress: opts.onBytes });
    }
    case 'nsys-rep': {
      const exported = await exportNsysReport(path, opts.nsysRep);
      const trace = readNsysSqlite(exported.sqlite, opts);
      trace.meta.file = path;
      trace.meta.fileSizeBytes = statSync(path).size;
      // the export records the exporting nsys; the report's first line, the one that wrote it
      const writer = reportWriterVersion(path);
      const exporter = nsysProducer(trace.meta.nsysVersion);
      trace.meta.source = { format: 'nsys-rep', producer: writer ? `nsys ${writer} (exported by ${exporter})` : exporter };
      return trace;
    }
    default:
      // SQLite exports, and every problem with a path (openInput says what is wrong)
      return readNsysSqlite(path, opts);
  }
}
