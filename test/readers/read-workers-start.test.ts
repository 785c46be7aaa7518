/**
 * Read workers that never start: jobs are posted without waiting for the workers (read-pool.ts),
 * so a worker that dies while starting leaves its jobs unanswered; the read then goes on on one
 * thread (the kernels, the API calls and the tables read aside) and gives one thread's Report.
 * A copy of dist/ without the workers' loop module makes every worker end at its start, as a
 * worker whose modules fail to load does (read-worker.ts).
 */
import { cpSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { removeTempDirs, tempDir } from '../helpers/make-sqlite.js';
import { report } from '../helpers/read-workers.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
// a small capture whose API call, kernel and NVTX tables span 15, 14 and 3 leaf pages
const FILE = join(root, 'fixtures/nsys-2025.3/sequential.sqlite');

afterAll(removeTempDirs);
afterEach(() => { delete process.env.MOE_TRACE_READ_WORKERS; });

type Analyze = (job: { file: string; options: object }, read?: { onTableRead?: (t: string, via: string) => void }) => unknown;

describe('read workers that fail to start', () => {
  it('every worker ends at its start: one thread reads every table, to the same Report', async () => {
    const copy = tempDir();
    cpSync(join(root, 'dist'), join(copy, 'dist'), { recursive: true });
    cpSync(join(root, 'package.json'), join(copy, 'package.json'));
    // what dist/ reaches outside itself: its packages, and the sources its maps name
    for (const d of ['node_modules', 'src']) symlinkSync(join(root, d), join(copy, d));
    rmSync(join(copy, 'dist/readers/read-worker-loop.js'));
    const { analyzeFile } = await import(pathToFileURL(join(copy, 'dist/parallel/analyze-file.js')).href) as { analyzeFile: Analyze };
    process.env.MOE_TRACE_READ_WORKERS = '3';
    const via: Record<string, string> = {};
    const broken = JSON.stringify(analyzeFile({ file: FILE, options: {} }, { onTableRead: (t, v) => { via[t] ??= v; } }));
    expect(Object.values(via)).not.toContain('workers');
    expect(via).toMatchObject({ CUPTI_ACTIVITY_KIND_KERNEL: 'pages', CUPTI_ACTIVITY_KIND_RUNTIME: 'pages', NVTX_EVENTS: 'pages' });
    const one = await report(FILE, 0);
    // the input's path is the same file's; nothing else may differ
    expect(broken).toBe(one.json);
  }, 60_000);
});
