/**
 * The Reports of the captures the tests read, built once per test run. Every file that only needs
 * a capture's Report asks here: a worker keeps what it built or read (vitest.config.ts, isolate:
 * false: its modules live from one file to the next), and writes it to this run's folder
 * (test/setup/report-cache.ts) for the other worker to read back (v8.serialize: the Report exactly,
 * undefined and NaN included). A file that tests the read or the build itself (reader options,
 * workers, a rewrite of the file) builds its own.
 *
 * Keyed by the path as given (the Report holds it: input.file). The Reports are handed out as
 * copies (a test may change what it got); fixtureTrace's trace is shared within a worker: read it,
 * do not change it.
 */
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import type { Trace } from '../../src/model/trace.js';
import { readAnyForAnalysis } from '../../src/parallel/analyze-file.js';
import { readNsysSqlite } from '../../src/readers/nsys-sqlite.js';
import { readTrace } from '../../src/readers/read-trace.js';
import { buildReport, type ReportOptions } from '../../src/report/build.js';
import type { Report } from '../../src/report/types.js';

const traces = new Map<string, Trace>();
const anyTraces = new Map<string, Promise<Trace>>();
const reports = new Map<string, Report>();

/** readNsysSqlite(file), read once per worker. */
export function fixtureTrace(file: string): Trace {
  let t = traces.get(file);
  if (!t) traces.set(file, (t = readNsysSqlite(file)));
  return t;
}

/** buildReport(readNsysSqlite(file), options), built once per run. */
export function fixtureReport(file: string, options: ReportOptions = {}): Report {
  const key = `${process.cwd()}\0${file}\0${JSON.stringify(options)}`;
  const r = known(key) ?? keep(key, buildReport(fixtureTrace(file), options));
  return structuredClone(r);
}

/** buildReport of the file read as analyze reads it (readAnyForAnalysis: an nsys export or a Kineto trace), built once per run. */
export async function analyzedReport(file: string): Promise<Report> {
  const key = `${process.cwd()}\0${file}\0analyze`;
  const r = known(key) ?? keep(key, buildReport(await readAnyForAnalysis(file, false)));
  return structuredClone(r);
}

/** readTrace(file) (any format, readTrace's defaults), read once per worker. */
export function anyTrace(file: string): Promise<Trace> {
  let t = anyTraces.get(file);
  if (!t) anyTraces.set(file, (t = readTrace(file)));
  return t;
}

/** buildReport(await readTrace(file), options), built once per run. */
export async function anyReport(file: string, options: ReportOptions = {}): Promise<Report> {
  const key = `${process.cwd()}\0${file}\0readTrace\0${JSON.stringify(options)}`;
  const r = known(key) ?? keep(key, buildReport(await anyTrace(file), options));
  return structuredClone(r);
}

const folder = (): string | undefined => process.env.MOE_TRACE_TEST_REPORTS;
const pathOf = (dir: string, key: string): string => join(dir, `${createHash('sha256').update(key).digest('hex').slice(0, 32)}.v8`);

/** The Report under `key` this worker has, or the other wrote; undefined when neither. */
function known(key: string): Report | undefined {
  let r = reports.get(key);
  const dir = folder();
  if (!r && dir) {
    try {
      r = deserialize(readFileSync(pathOf(dir, key))) as Report;
      reports.set(key, r);
    } catch { /* not built yet */ }
  }
  return r;
}

/** Keeps a Report just built, and writes it for the other worker (whole or not at all: written aside, then renamed). */
function keep(key: string, r: Report): Report {
  reports.set(key, r);
  const dir = folder();
  if (dir) {
    const path = pathOf(dir, key);
    writeFileSync(`${path}.${process.pid}.part`, serialize(r));
    renameSync(`${path}.${process.pid}.part`, path);
  }
  return r;
}
