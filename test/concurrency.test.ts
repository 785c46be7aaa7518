/**
 * Concurrent use (issue 7): two analyses of one file at once, and analysis of an export that
 * another process is still writing — holding a lock, interrupted mid-write, growing byte by byte
 * or row by row. Every run must end by itself with exit 0 or 2 (one clear line), and never
 * change the input or leave files next to it. Separate processes, because SQLite locks are
 * per process and a crash must show as an exit code.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDirs, tempDir, writeNsysExport } from './helpers/make-sqlite.js';
import { ensureBuilt, ROOT, runBin, type Exit } from './fuzz/binary.js';
import { folderState } from './fuzz/run-case.js';

// a small real export (87 kernels): these runs are mostly process starts and locks, not analysis
const FIXTURE = join(ROOT, 'fixtures/nsys-2025.3/saturated.sqlite');

/** A real H200 export when the fixtures are there, else a synthetic one with a few kernels. */
function input(): string {
  const dir = tempDir();
  const path = join(dir, 'report.sqlite');
  if (existsSync(FIXTURE)) {
    copyFileSync(FIXTURE, path);
    return path;
  }
  return writeNsysExport('2024.6', {
    kernels: Array.from({ length: 300 }, (_, i) => ({ start: 1000 + i * 500, end: 1400 + i * 500, streamId: 13 + (i % 4), shortName: `k${i % 5}`, demangledName: `kernel_${i % 5}` })),
  }, { dir });
}

/** exit 0, or exit 2 with exactly one `moe-trace: ` line; never a crash or a kill. */
function expectCleanEnd(r: Exit, what: string): void {
  expect(r.signal, `${what}: killed after ${Math.round(r.ms)} ms`).toBeNull();
  expect([0, 2], `${what}: exit ${r.code}, stderr ${r.stderr}`).toContain(r.code);
  if (r.code === 2) {
    expect(r.stderr).toMatch(/^moe-trace: [^\n]+\n$/);
    expect(r.stdout).toBe('');
  } else {
    expect(r.stderr).toBe('');
  }
}

/**
 * A second process that opens the export the way a writer does. It prints "ready" once its
 * lock or write is in place, and finishes (rollback) when its stdin closes.
 */
function writer(mode: 'exclusive' | 'immediate' | 'die-mid-write' | 'append-rows' | 'short-while-locked', path: string): Promise<ChildProcess> {
  const script = `(() => {
    const Database = require('better-sqlite3');
    const [path, mode] = process.argv.slice(1);
    const db = new Database(path, { timeout: 5000 });
    const insert = db.prepare('INSERT INTO CUPTI_ACTIVITY_KIND_KERNEL SELECT * FROM CUPTI_ACTIVITY_KIND_KERNEL ORDER BY rowid LIMIT 50');
    if (mode === 'append-rows') {
      // nsys-like: many small committed writes while readers come and go
      console.log('ready');
      const until = Date.now() + 3000;
      while (Date.now() < until) insert.run();
      db.close();
      process.exit(0);
    }
    if (mode === 'short-while-locked') {
      // nsys mid-commit: under its exclusive lock the file is briefly shorter than its header.
      // The data is read and the descriptor opened before locking: closing any descriptor of
      // the file would drop this process's POSIX locks.
      const fs = require('node:fs');
      const data = fs.readFileSync(path);
      const fd = fs.openSync(path, 'r+');
      db.exec('BEGIN EXCLUSIVE');
      fs.ftruncateSync(fd, data.length - 8192);
      console.log('ready');
      setTimeout(() => { fs.writeSync(fd, data, 0, data.length, 0); db.exec('ROLLBACK'); process.exit(0); }, 600);
      return;
    }
    if (mode === 'die-mid-write') db.pragma('cache_size = 1');
    db.exec(mode === 'exclusive' ? 'BEGIN EXCLUSIVE' : mode === 'immediate' ? 'BEGIN IMMEDIATE' : 'BEGIN');
    for (let i = 0; i < (mode === 'die-mid-write' ? 40 : 1); i++) insert.run();
    // a writer killed here leaves its -journal behind, "hot": the file holds half a transaction
    if (mode === 'die-mid-write') { console.log('ready'); process.kill(process.pid, 'SIGKILL'); }
    console.log('ready');
    process.stdin.resume();
    process.stdin.on('end', () => { db.exec('ROLLBACK'); db.close(); process.exit(0); });
    setTimeout(() => process.exit(3), 30000);
  })();`;
  const child = spawn(process.execPath, ['-e', script, path, mode], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((ready, fail) => {
    child.stdout!.setEncoding('utf8').on('data', (s: string) => { if (s.includes('ready')) ready(child); });
    child.on('error', fail);
  });
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) done(child.exitCode);
    else child.on('exit', (code) => done(code));
  });
}

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

  it('an export still being copied in (growing byte by byte): each run ends cleanly, the finished file reads', async () => {
    const src = input();
    const dir = tempDir();
    const file = join(dir, 'report.sqlite');
    const size = statSync(src).size;
    const script = `
      const fs = require('node:fs');
      const [src, dst] = process.argv.slice(1);
      const data = fs.readFileSync(src);
      const fd = fs.openSync(dst, 'w');
      let at = 0;
      const step = () => {
        const n = Math.min(Math.ceil(data.length / 12), data.length - at);
        fs.writeSync(fd, data, at, n, at);
        at += n;
        if (at < data.length) setTimeout(step, 150); else { fs.closeSync(fd); process.exit(0); }
      };
      step();
    `;
    const growing = spawn(process.execPath, ['-e', script, src, file], { stdio: 'ignore' });
    const runs: Exit[] = [];
    // runs start once the copy has begun: before, "no such file" is the right answer but not this case
    while (!existsSync(file) && growing.exitCode === null) await new Promise((r) => setTimeout(r, 5));
    while (growing.exitCode === null) {
      runs.push(await runBin(['analyze', file]));
    }
    await exited(growing);
    runs.forEach((r, i) => expectCleanEnd(r, `run ${i} while growing`));
    const partial = runs.filter((r) => r.code === 2).map((r) => r.stderr);
    for (const m of partial) expect(m).toMatch(/truncated SQLite database|damaged SQLite database|not an SQLite database|is empty|not an Nsight Systems export/);
    expect(statSync(file).size).toBe(size);
    const done = await runBin(['analyze', '--json', file]);
    expect(done.code).toBe(0);
    expect(readdirSync(dir)).toEqual(['report.sqlite']);
  }, 120_000);

  it('an export gaining rows while it is analysed: each run ends cleanly and sees a consistent snapshot', async () => {
    const file = input();
    const rowsBefore = new Database(file, { readonly: true });
    const kernelsBefore = rowsBefore.prepare('SELECT COUNT(*) FROM CUPTI_ACTIVITY_KIND_KERNEL').pluck().get() as number;
    rowsBefore.close();
    const appender = await writer('append-rows', file);
    const runs: Exit[] = [];
    while (appender.exitCode === null && runs.length < 20) {
      // --whole-trace: every kernel row counts (the default would measure the steady-state iterations only)
      runs.push(await runBin(['analyze', '--json', '--whole-trace', file]));
    }
    await exited(appender);
    expect(runs.length).toBeGreaterThan(0);
    runs.forEach((r, i) => expectCleanEnd(r, `run ${i} while rows are added`));
    for (const r of runs.filter((x) => x.code === 2)) expect(r.stderr).toMatch(/locked by another process/);
    // a snapshot holds the original rows plus whole batches of 50 copies, never half a batch
    for (const r of runs.filter((x) => x.code === 0)) {
      const kernels = (JSON.parse(r.stdout) as { devices: { overlap: { kernelCount: number } }[] }).devices
        .reduce((n, d) => n + d.overlap.kernelCount, 0);
      expect(kernels).toBeGreaterThanOrEqual(kernelsBefore);
      expect((kernels - kernelsBefore) % 50).toBe(0);
    }
    expect(readdirSync(join(file, '..'))).toEqual(['report.sqlite']);
  }, 120_000);
});
