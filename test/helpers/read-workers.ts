/** Reads with read workers forced (MOE_TRACE_READ_WORKERS), through dist/ (the worker script is compiled). */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dist = (p: string): Promise<Record<string, unknown>> => import(join(root, 'dist', p));
const R = 'CUPTI_ACTIVITY_KIND_RUNTIME';
const K = 'CUPTI_ACTIVITY_KIND_KERNEL';

type Analyze = (job: { file: string; options: object }, read?: { onTableRead?: (t: string, via: string) => void }) => unknown;

/** The Report as JSON, and how the API call and kernel tables were read, with `workers` read workers forced. */
export async function report(file: string, workers: number): Promise<{ json: string; via: string | undefined; kernelsVia: string | undefined }> {
  const { analyzeFile } = await dist('parallel/analyze-file.js') as { analyzeFile: Analyze };
  process.env.MOE_TRACE_READ_WORKERS = String(workers);
  const via: Record<string, string> = {};
  const r = analyzeFile({ file, options: {} }, { onTableRead: (t, v) => { via[t] = v; } });
  return { json: JSON.stringify(r), via: via[R], kernelsVia: via[K] };
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

