/**
 * The window analyses in a worker thread (report/aside.ts, MOE_TRACE_ANALYSIS_WORKERS=1): the
 * Report is the one-thread Report byte for byte, whether the worker answers, or dies at its start
 * (a copy of dist/ without the worker's loop module, as when its modules fail to load: the main
 * thread then runs the same analyses itself). And when the default starts one (asideChoice).
 */
import { cpSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { globalPid, removeTempDirs, tempDir, writeNsysExport } from '../helpers/make-sqlite.js';
import { asideBudget, asideChoice, asideProjection, type AsideConditions } from '../../src/report/aside.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const FILES = ['nsys-2025.3/sequential.sqlite', 'nsys-2025.3/torch-streams-sync.sqlite'];

type Analyze = (job: { file: string; options: object }) => unknown;
type Aside = { prototype: { answer: () => unknown }; start: (rows: number) => unknown };

afterAll(removeTempDirs);
afterEach(() => { delete process.env.MOE_TRACE_ANALYSIS_WORKERS; });

async function fromDist(dist: string): Promise<{ analyzeFile: Analyze; AsideAnalyses: Aside }> {
  const { analyzeFile } = await import(pathToFileURL(join(dist, 'parallel/analyze-file.js')).href) as { analyzeFile: Analyze };
  const { AsideAnalyses } = await import(pathToFileURL(join(dist, 'report/aside.js')).href) as { AsideAnalyses: Aside };
  return { analyzeFile, AsideAnalyses };
}

/** The Report's JSON with the worker off and on, and the worker's answers (null: it failed). */
async function both(dist: string, file: string): Promise<{ one: string; aside: string; answers: unknown[] }> {
  const { analyzeFile, AsideAnalyses } = await fromDist(dist);
  const answers: unknown[] = [];
  const answer = AsideAnalyses.prototype.answer;
  AsideAnalyses.prototype.answer = function (this: unknown) {
    const a = answer.call(this);
    answers.push(a);
    return a;
  };
  try {
    process.env.MOE_TRACE_ANALYSIS_WORKERS = '0';
    const one = JSON.stringify(analyzeFile({ file, options: {} }));
    process.env.MOE_TRACE_ANALYSIS_WORKERS = '1';
    const aside = JSON.stringify(analyzeFile({ file, options: {} }));
    return { one, aside, answers };
  } finally {
    AsideAnalyses.prototype.answer = answer;
  }
}

describe('window analyses in a worker thread', () => {
  it.each(FILES)('%s: the same Report as one thread', async (f) => {
    const { one, aside, answers } = await both(join(root, 'dist'), join(root, 'fixtures', f));
    expect(answers.length).toBeGreaterThan(0);
    expect(answers.every((a) => a !== null)).toBe(true);
    expect(aside).toBe(one);
  }, 60_000);

  it('two devices: a job each, to the same Report', async () => {
    const GPID = globalPid(4242);
    const kernel = (start: number, deviceId: number, streamId: number, correlationId: number) => ({
      start, end: start + 400 + (correlationId % 7) * 50, deviceId, contextId: 1, streamId, globalPid: GPID, correlationId,
      shortName: correlationId % 3 === 0 ? 'nccl_all_to_all' : 'gemm', demangledName: 'gemm(float*)',
      gridX: 64, gridY: 2, gridZ: 1, blockX: 128, blockY: 1, blockZ: 1, registersPerThread: 40, staticSharedMemory: 1024, dynamicSharedMemory: 2048,
    });
    const kernels = Array.from({ length: 60 }, (_, i) => kernel(1000 + 300 * i, i % 2, 7 + (i % 3), 100 + i));
    const file = writeNsysExport('2024.6', { kernels });
    const { one, aside, answers } = await both(join(root, 'dist'), file);
    expect(answers.length).toBe(2);
    expect(answers.every((a) => a !== null)).toBe(true);
    expect(JSON.parse(one).devices.length).toBe(2);
    expect(aside).toBe(one);
  }, 60_000);

  it('a worker that ends at its start: the main thread runs the analyses, to the same Report', async () => {
    const copy = tempDir();
    cpSync(join(root, 'dist'), join(copy, 'dist'), { recursive: true });
    cpSync(join(root, 'package.json'), join(copy, 'package.json'));
    for (const d of ['node_modules', 'src']) symlinkSync(join(root, d), join(copy, d));
    rmSync(join(copy, 'dist/report/aside-worker-loop.js'));
    const { one, aside, answers } = await both(join(copy, 'dist'), join(root, 'fixtures/nsys-2025.3/sequential.sqlite'));
    expect(answers).toEqual([null]);
    expect(aside).toBe(one);
  }, 60_000);
});

describe('the default choice of the window analyses\' worker', () => {
  const MiB = 1024 * 1024;
  // a million-kernel trace with a single stream's API calls (the sequential shape: ~134-146 MiB
  // live after the windows), on 16 cores
  const big: AsideConditions = { forced: undefined, mainThread: true, cores: 16, kernels: 1_000_000, rows: 3_300_000, rss: () => 140 * MiB };

  it('takes the worker for a big trace whose projected peak fits the memory target', () => {
    expect(asideProjection(big.kernels, big.rss())).toBeLessThanOrEqual(asideBudget(big.kernels));
    expect(asideChoice(big)).toBe(true);
    expect(asideChoice({ ...big, cores: 2 })).toBe(true);
  });

  it('not for a small trace, nor where the projection does not fit, on one core or in a worker thread', () => {
    expect(asideChoice({ ...big, kernels: 20_000, rows: 60_000, rss: () => 84 * MiB })).toBe(false);
    // torch-streams-sync: ~165 MiB live after the windows
    expect(asideChoice({ ...big, rss: () => 165 * MiB })).toBe(false);
    expect(asideChoice({ ...big, cores: 1 })).toBe(false);
    expect(asideChoice({ ...big, mainThread: false })).toBe(false);
  });

  it('MOE_TRACE_ANALYSIS_WORKERS=0 never, =1 always', () => {
    expect(asideChoice({ ...big, forced: '0' })).toBe(false);
    expect(asideChoice({ ...big, kernels: 10, rows: 30, rss: () => 80 * MiB, cores: 1, forced: '1' })).toBe(true);
  });

  it('a small trace starts no worker by default', async () => {
    const { analyzeFile, AsideAnalyses } = await fromDist(join(root, 'dist'));
    const start = AsideAnalyses.start;
    let started = 0;
    AsideAnalyses.start = (rows: number) => { started++; return start.call(AsideAnalyses, rows); };
    try {
      delete process.env.MOE_TRACE_ANALYSIS_WORKERS;
      analyzeFile({ file: join(root, 'fixtures', FILES[0]), options: {} });
      expect(started).toBe(0);
      process.env.MOE_TRACE_ANALYSIS_WORKERS = '1';
      analyzeFile({ file: join(root, 'fixtures', FILES[0]), options: {} });
      expect(started).toBe(1);
    } finally {
      AsideAnalyses.start = start;
    }
  }, 60_000);
});
