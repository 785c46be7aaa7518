/**
 * What concurrency.test.ts and concurrency.long.test.ts share: the input, the writer processes,
 * and the two checks that run the CLI again and again while a file grows (byte by byte, row by
 * row). npm test runs those for a shorter time (fewer runs); npm run test:long as long as before.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect } from 'vitest';
import { tempDir, writeNsysExport } from './helpers/make-sqlite.js';
import { ROOT, runBin, type Exit } from './fuzz/binary.js';

// a small real export (87 kernels): these runs are mostly process starts and locks, not analysis
const FIXTURE = join(ROOT, 'fixtures/nsys-2025.3/saturated.sqlite');

/** A real H200 export when the fixtures are there, else a synthetic one with a few kernels. */
export function input(): string {
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
export function expectCleanEnd(r: Exit, what: string): void {
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
export function writer(mode: 'exclusive' | 'immediate' | 'die-mid-write' | 'append-rows' | 'short-while-locked', path: string, appendMs = 3000): Promise<ChildProcess> {
  const script = `(() => {
    const Database = require('better-sqlite3');
    const [path, mode, appendMs] = process.argv.slice(1);
    const db = new Database(path, { timeout: 5000 });
    const insert = db.prepare('INSERT INTO CUPTI_ACTIVITY_KIND_KERNEL SELECT * FROM CUPTI_ACTIVITY_KIND_KERNEL ORDER BY rowid LIMIT 50');
    if (mode === 'append-rows') {
      // nsys-like: many small committed writes while readers come and go
      console.log('ready');
      const until = Date.now() + Number(appendMs);
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
  const child = spawn(process.execPath, ['-e', script, path, mode, String(appendMs)], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((ready, fail) => {
    child.stdout!.setEncoding('utf8').on('data', (s: string) => { if (s.includes('ready')) ready(child); });
    child.on('error', fail);
  });
}

export function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) done(child.exitCode);
    else child.on('exit', (code) => done(code));
  });
}

/** An export still being copied in, in `parts` writes 150 ms apart: each run ends cleanly, the finished file reads. */
export async function growingExport(parts: number): Promise<void> {
  const src = input();
  const dir = tempDir();
  const file = join(dir, 'report.sqlite');
  const size = statSync(src).size;
  const script = `
    const fs = require('node:fs');
    const [src, dst, parts] = process.argv.slice(1);
    const data = fs.readFileSync(src);
    const fd = fs.openSync(dst, 'w');
    let at = 0;
    const step = () => {
      const n = Math.min(Math.ceil(data.length / Number(parts)), data.length - at);
      fs.writeSync(fd, data, at, n, at);
      at += n;
      if (at < data.length) setTimeout(step, 150); else { fs.closeSync(fd); process.exit(0); }
    };
    step();
  `;
  const growing = spawn(process.execPath, ['-e', script, src, file, String(parts)], { stdio: 'ignore' });
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
}

/** An export gaining rows for `appendMs` while it is analysed (at most `maxRuns` runs): each run ends cleanly and sees a consistent snapshot. */
export async function appendingExport(appendMs: number, maxRuns: number): Promise<void> {
  const file = input();
  const rowsBefore = new Database(file, { readonly: true });
  const kernelsBefore = rowsBefore.prepare('SELECT COUNT(*) FROM CUPTI_ACTIVITY_KIND_KERNEL').pluck().get() as number;
  rowsBefore.close();
  const appender = await writer('append-rows', file, appendMs);
  const runs: Exit[] = [];
  while (appender.exitCode === null && runs.length < maxRuns) {
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
}
