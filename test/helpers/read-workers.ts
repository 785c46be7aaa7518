/** Reads with read workers forced (MOE_TRACE_READ_WORKERS), through dist/ (the worker script is compiled). */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dist = (p: string): Promise<Record<string, unknown>> => import(join(root, 'dist', p));
const R = 'CUPTI_ACTIVITY_KIND_RUNTIME';
const K = 'CUPTI_ACTIVITY_KIND_KERNEL';

type Analyze = (job: { file: string; options: object }, read?: { onTableRead?: (t: string, via: string) => void }) => unknown;

type Read = { json: string; via: string | undefined; kernelsVia: string | undefined };
/** one thread's reads of the fixtures (never of files written by a test, which may change) */
const oneThread = new Map<string, Read>();

/** The Report as JSON, and how the API call and kernel tables were read, with `workers` read workers forced. */
export async function report(file: string, workers: number): Promise<Read> {
  const cached = workers === 0 && file.startsWith(join(root, 'fixtures')) ? oneThread.get(file) : undefined;
  if (cached) return cached;
  const { analyzeFile } = await dist('parallel/analyze-file.js') as { analyzeFile: Analyze };
  process.env.MOE_TRACE_READ_WORKERS = String(workers);
  const via: Record<string, string> = {};
  const r = analyzeFile({ file, options: {} }, { onTableRead: (t, v) => { via[t] = v; } });
  const out = { json: JSON.stringify(r), via: via[R], kernelsVia: via[K] };
  if (workers === 0 && file.startsWith(join(root, 'fixtures'))) oneThread.set(file, out);
  return out;
}

/**
 * Asserts that `file` reads through `n` workers to one thread's Report, and (`used`) that the
 * workers did read the API calls.
 */
export async function sameWithWorkers(file: string, n: number, used = true): Promise<void> {
  const one = await report(file, 0);
  expect(one.via).not.toBe('workers');
  expect(one.kernelsVia).not.toBe('workers');
  const many = await report(file, n);
  if (used) expect([many.via, many.kernelsVia]).toEqual(['workers', 'workers']);
  expect(many.json).toBe(one.json);
}

