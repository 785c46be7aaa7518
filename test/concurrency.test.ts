/**
 * Concurrent use (issue 7): two analyses of one file at once, and analysis of an export that
 * another process is still writing — holding a lock, interrupted mid-write, growing byte by byte
 * or row by row. Every run must end by itself with exit 0 or 2 (one clear line), and never
 * change the input or leave files next to it. Separate processes, because SQLite locks are
 * per process and a crash must show as an exit code.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDirs } from './helpers/make-sqlite.js';
import { ensureBuilt, runBin } from './fuzz/binary.js';
import { folderState } from './fuzz/run-case.js';
import { appendingExport, exited, expectCleanEnd, growingExport, input, writer } from './concurrency-checks.js';

let built = false;
beforeAll(() => { built = ensureBuilt(); });
afterAll(removeTempDirs);

describe('concurrent use of one export', () => {
  it('two analyses of the same file at once give the same report and leave it untouched', async () => {
    expect(built).toBe(true);
    const file = input();
    const before = folderState(join(file, '..'));
    const [a, b] = await Promise.all([runBin(['analyze', '--json', file]), runBin(['analyze', '--json', file])]);
    expectCleanEnd(a, 'first'); expectCleanEnd(b, 'second');
    expect([a.code, b.code]).toEqual([0, 0]);
    expect(a.stdout).toBe(b.stdout);
    expect(JSON.parse(a.stdout).input.file).toBe(file);
    const alone = await runBin(['analyze', '--json', file]);
    expect(alone.stdout).toBe(a.stdout);
    expect(folderState(join(file, '..'))).toBe(before);
  }, 60_000);

  it('a file another process holds an exclusive lock on: exit 2 saying it is locked, after the busy timeout', async () => {
    const file = input();
    const pristine = folderState(join(file, '..'));
    const holder = await writer('exclusive', file);
    try {
      const during = folderState(join(file, '..'));
      const r = await runBin(['analyze', file]);
      expectCleanEnd(r, 'locked');
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(`moe-trace: ${file} is locked by another process (is nsys still exporting it?); wait for it to finish and try again\n`);
      expect(r.ms).toBeLessThan(20_000);
      expect(folderState(join(file, '..'))).toBe(during);
    } finally {
      holder.stdin!.end();
      await exited(holder);
    }
    expect(folderState(join(file, '..'))).toBe(pristine);
    const after = await runBin(['analyze', file]);
    expect(after.code).toBe(0);
  }, 60_000);

  it('a file with an uncommitted write in progress (reserved lock) still reads, as it was before the write', async () => {
    const file = input();
    const baseline = await runBin(['analyze', '--json', file]);
    expect(baseline.code).toBe(0);
    const holder = await writer('immediate', file);
    try {
      const r = await runBin(['analyze', '--json', file]);
      expectCleanEnd(r, 'reserved');
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(baseline.stdout);
    } finally {
      holder.stdin!.end();
      await exited(holder);
    }
  }, 60_000);

  it('a writer killed mid-transaction (hot journal next to the file): one clear line, journal and file left as they are', async () => {
    const file = input();
    const holder = await writer('die-mid-write', file);
    await exited(holder);
    const state = folderState(join(file, '..'));
    expect(readdirSync(join(file, '..'))).toContain('report.sqlite-journal');
    for (const args of [['analyze', file], ['analyze', '--json', file]]) {
      const r = await runBin(args);
      expectCleanEnd(r, 'hot journal');
      expect(r.stderr).toBe(`moe-trace: ${file} has an unfinished write (a hot -journal next to it): the program writing it was interrupted or is still running; wait for it to finish, or export the report again\n`);
    }
    expect(folderState(join(file, '..'))).toBe(state);
  }, 60_000);

  it('a file shorter than its header only while a writer commits is not called truncated: it reads once the lock is free', async () => {
    const file = input();
    const baseline = await runBin(['analyze', '--json', file]);
    const holder = await writer('short-while-locked', file);
    const r = await runBin(['analyze', '--json', file]);
    await exited(holder);
    expectCleanEnd(r, 'mid-commit');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(baseline.stdout);
  }, 60_000);

  // npm test: the copy in 6 writes, rows added for 1.5 s (at most 10 runs); concurrency.long.test.ts: 12 writes, 3 s, 20 runs
  it('an export still being copied in (growing byte by byte): each run ends cleanly, the finished file reads', () => growingExport(6), 120_000);

  it('an export gaining rows while it is analysed: each run ends cleanly and sees a consistent snapshot', () => appendingExport(1500, 10), 120_000);
});
