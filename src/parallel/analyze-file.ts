/** One input file to one Report: the unit of work of `analyze`, whether in-process or in a worker thread. */
import { InputError } from '../errors.js';
import type { Trace } from '../model/trace.js';
import { readNsysSqlite, type ReadOptions } from '../readers/nsys-sqlite.js';
import { readTrace, type ReadTraceOptions } from '../readers/read-trace.js';
import { isAnalysedApiCall } from '../analyses/api-calls.js';
import { buildReport, type ReportOptions } from '../report/build.js';
import type { Report } from '../report/types.js';

export interface FileJob {
  file: string;
  options: ReportOptions;
  /** exit 2 when the trace has no kernel table */
  requireKernels?: boolean;
  /** read through SQL only (see markSharedFiles) */
  noPages?: boolean;
}

/** An nsys SQLite export read for analysis, synchronously (`profile` reads its own captures so). */
export function readForAnalysis(file: string, requireKernels: boolean | undefined, read: ReadOptions = {}): Trace {
  return checked(readNsysSqlite(file, { keepApiCall: isAnalysedApiCall, syncRecords: false, ...read }), file, requireKernels);
}

/** Any input (SQLite export, .nsys-rep/.qdrep, Kineto JSON) read for analysis: what analyze and compare read. */
export async function readAnyForAnalysis(file: string, requireKernels: boolean | undefined, read: ReadTraceOptions = {}): Promise<Trace> {
  return checked(await readTrace(file, { keepApiCall: isAnalysedApiCall, syncRecords: false, ...read }), file, requireKernels);
}

function checked(trace: Trace, file: string, requireKernels: boolean | undefined): Trace {
  if (!trace.hasKernelTable && requireKernels) {
    throw new InputError(trace.meta.source.format === 'kineto'
      ? `${file} has no GPU records (no kernel or CUDA API events): the PyTorch profiler got no CUPTI data. Profile again with activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA], and not under nsys or another CUPTI profiler.`
      : `${file} has no CUDA kernel records: kernel tracing was off or unsupported (e.g. WSL). Capture again with \`nsys profile --trace=cuda\` on a native Linux GPU machine.`);
  }
  return trace;
}

export function analyzeFile(job: FileJob, read: ReadOptions = {}): Report {
  return buildReport(readForAnalysis(job.file, job.requireKernels, job.noPages ? { ...read, noPages: true } : read), job.options);
}

/** analyzeFile for any input format. */
export async function analyzeAnyFile(job: FileJob, read: ReadTraceOptions = {}): Promise<Report> {
  return buildReport(await readAnyForAnalysis(job.file, job.requireKernels, job.noPages ? { ...read, noPages: true } : read), job.options);
}
