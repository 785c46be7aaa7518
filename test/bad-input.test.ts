/**
 * Every bad input gets one clear line on stderr, exit code 2, and leaves the input byte-for-byte
 * unchanged with nothing new next to it — through the real CLI, for `info` and `analyze`.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli.js';
import { removeTempDirs, tempDir, writeNsysExport, writeSqlite } from './helpers/make-sqlite.js';

afterAll(removeTempDirs);

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = ''; let stderr = '';
  const code = await main(argv, { stdout: (s) => { stdout += s; }, stderr: (s) => { stderr += s; } });
  return { code, stdout, stderr };
}

function snapshot(path: string): string {
  const dir = dirname(path);
  const files = readdirSync(dir).sort();
  const hash = existsSync(path) && statSync(path).isFile()
    ? createHash('sha256').update(readFileSync(path)).digest('hex') : 'none';
  return `${files.join(',')}|${hash}`;
}

const COMMANDS = ['info', 'analyze'] as const;

/** Runs both commands on the path; each must fail with exit 2 and exactly one line matching `message`. */
async function expectRejected(path: string, message: RegExp): Promise<void> {
  const before = snapshot(path);
  for (const cmd of COMMANDS) {
    const r = await run([cmd, path]);
    expect(r.stderr, `${cmd} stderr`).toMatch(message);
    expect(r.stderr.trimEnd().split('\n'), `${cmd} prints one line`).toHaveLength(1);
    expect(r.stderr.startsWith('moe-trace: ')).toBe(true);
    expect(r.code, `${cmd} exit code`).toBe(2);
    expect(r.stdout).toBe('');
  }
  expect(snapshot(path)).toBe(before);
}

const goodExport = (dir?: string, file?: string): string => writeNsysExport('2024.6', {
  kernels: Array.from({ length: 200 }, (_, i) => ({ start: i * 100, end: i * 100 + 50, streamId: 7 + (i % 4), shortName: `k${i % 7}`, demangledName: `kernel_${i}` })),
  runtime: [{ start: 1, end: 2, nameId: 'cudaLaunchKernel_v7000' }],
}, { dir, file });

describe('bad input: one line, exit 2, input unchanged', () => {
  it('missing file', async () => {
    const path = join(tempDir(), 'nope.sqlite');
    await expectRejected(path, /nope\.sqlite: no such file; check the path/);
    expect(existsSync(path)).toBe(false);
  });

  it('directory', async () => {
    const path = join(tempDir(), 'exports');
    mkdirSync(path);
    await expectRejected(path, /exports is a directory; give the \.sqlite file exported by nsys/);
  });

  it('not a regular file (a named pipe)', async () => {
    const path = join(tempDir(), 'report.sqlite');
    execFileSync('mkfifo', [path]);
    await expectRejected(path, /report\.sqlite is not a regular file; give the \.sqlite file exported by nsys/);
  });

  it('empty file', async () => {
    const path = join(tempDir(), 'report.sqlite');
    writeFileSync(path, '');
    await expectRejected(path, /report\.sqlite is empty \(0 bytes\); the export did not finish/);
  });

  it('not SQLite', async () => {
    const path = join(tempDir(), 'report.sqlite');
    writeFileSync(path, 'start,end\n1,2\n');
    await expectRejected(path, /report\.sqlite is not an SQLite database; give the \.sqlite file written by `nsys export --type sqlite/);
  });

  it('truncated SQLite', async () => {
    const path = goodExport();
    truncateSync(path, Math.floor(statSync(path).size / 2));
    await expectRejected(path, /report\.sqlite is a truncated SQLite database \(\d+ bytes, its header promises \d+\); copy or export it again/);
  });

  it('corrupt SQLite (pages overwritten, size intact)', async () => {
    const path = goodExport();
    const bytes = readFileSync(path);
    const pageSize = bytes.readUInt16BE(16);
    bytes.fill(0xab, pageSize);
    writeFileSync(path, bytes);
    await expectRejected(path, /report\.sqlite is a damaged SQLite database \(.+\); copy or export it again/);
  });

  it('SQLite that is not an nsys export', async () => {
    const path = writeSqlite([{ name: 'users', columns: 'id INTEGER, name TEXT', rows: [{ id: 1, name: 'ada' }] }]);
    await expectRejected(path, /report\.sqlite is an SQLite database but not an Nsight Systems export \(none of its 1 tables is StringIds, CUPTI_ACTIVITY_KIND_\* or TARGET_INFO_\*\)/);
  });

  it('SQLite without any table', async () => {
    const path = join(tempDir(), 'report.sqlite');
    const db = new Database(path);
    db.pragma('user_version = 7'); // writes the header page, so the file is not empty
    db.close();
    await expectRejected(path, /not an Nsight Systems export \(it has no tables\)/);
  });

  it.each(['report.nsys-rep', 'report.qdrep'])('%s without nsys: says how to export it', async (name) => {
    const path = join(tempDir(), name);
    writeFileSync(path, Buffer.from([0x4e, 0x56, 0x00, 0x01, 0x02, 0x03]));
    const quoted = path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    // no nsys on this machine (a stand-in on PATH: test/readers/nsys-rep.test.ts)
    const saved = { PATH: process.env.PATH, NSYS: process.env.NSYS };
    process.env.PATH = '/nonexistent'; delete process.env.NSYS;
    try {
      await expectRejected(path, new RegExp(`is an Nsight Systems report, and reading it needs nsys, which is not installed here .*; export it where nsys is and give moe-trace the \\.sqlite: nsys export --type sqlite --output report\\.sqlite ${quoted}$`, 'm'));
    } finally {
      process.env.PATH = saved.PATH;
      if (saved.NSYS !== undefined) process.env.NSYS = saved.NSYS;
    }
  });

  it('.qdstrm: an unfinished capture', async () => {
    const path = join(tempDir(), 'report.qdstrm');
    writeFileSync(path, Buffer.from('QDSTRM\u0000garbage'));
    await expectRejected(path, /report\.qdstrm is an unfinished Nsight Systems capture \(\.qdstrm\); nsys's importer \(QdstrmImporter\) must convert it to a \.nsys-rep first/);
  });

  it('locked database (another connection holds an exclusive lock)', async () => {
    const path = goodExport();
    const before = snapshot(path);
    const holder = new Database(path, { fileMustExist: true });
    try {
      holder.exec('BEGIN EXCLUSIVE');
      for (const cmd of COMMANDS) {
        const r = await run([cmd, path]);
        expect(r.stderr).toMatch(/report\.sqlite is locked by another process \(is nsys still exporting it\?\); wait for it to finish and try again\n$/);
        expect(r.code).toBe(2);
      }
      holder.exec('ROLLBACK');
    } finally {
      holder.close();
    }
    expect(snapshot(path)).toBe(before);
  });
});

describe('odd but readable input', () => {
  it('export without a kernel table: info says why; analyze exits 2 only with --require-kernels', async () => {
    const path = writeNsysExport('2024.6', { runtime: [{ start: 1, end: 5, nameId: 'cudaLaunchKernel_v7000' }] });
    const before = snapshot(path);
    const info = await run(['info', path]);
    expect(info.code).toBe(0);
    expect(info.stdout).toContain('kernels: no kernel table (CUDA kernel tracing was off or unsupported, e.g. under WSL)');
    expect(info.stdout).toContain('CUDA API calls 1,');
    const plain = await run(['analyze', path]);
    expect(plain.code).toBe(0);
    const strict = await run(['analyze', '--require-kernels', path]);
    expect(strict.code).toBe(2);
    expect(strict.stderr).toMatch(/no CUDA kernel records/);
    expect(strict.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(snapshot(path)).toBe(before);
  });

  it('rows with end < start: read, reported as a warning, exit 0', async () => {
    const path = writeNsysExport('2024.6', {
      kernels: [{ start: 10, end: 20, shortName: 'a', demangledName: 'a' }, { start: 30, end: 25, shortName: 'a', demangledName: 'a' }],
    });
    const before = snapshot(path);
    const info = await run(['info', '--json', path]);
    expect(info.code).toBe(0);
    const parsed = JSON.parse(info.stdout) as { counts: { kernels: number }; warnings: string[] };
    expect(parsed.counts.kernels).toBe(1);
    expect(parsed.warnings).toContain('1 kernel with end < start was ignored.');
    const analyze = await run(['analyze', path]);
    expect(analyze.code).toBe(0);
    expect(snapshot(path)).toBe(before);
  });
});
