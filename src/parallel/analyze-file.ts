/** One input file to one Report: the unit of work of `analyze`, whether in-process or in a worker thread. */
import { InputError } from '../errors.js';
import type { Trace } from '../model/trace.js';
import { readNsysSqlite, type ReadOptions } from '../readers/nsys-sqlite.js';
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

export function readForAnalysis(file: string, requireKernels: boolean | undefined, read: ReadOptions = {}): Trace {
  const trace = readNsysSqlite(file, { keepApiCall: isAnalysedApiCall, syncRecords: false, ...read });
  if (!trace.hasKernelTable && requireKernels) {
    throw new InputError(`${file} has no CUDA kernel records: kernel tracing was off or unsupported (e.g. WSL). Capture again with \`nsys profile --trace=cuda\` on a native Linux GPU machine.`);
  }
  return trace;
}

export function analyzeFile(job: FileJob, read: ReadOptions = {}): Report {
  return buildReport(readForAnalysis(job.file, job.requireKernels, job.noPages ? { ...read, noPages: true } : read), job.options);
}
