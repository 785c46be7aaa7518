/**
 * The page reader (readers/pages.ts) on damaged files: pages of a valid export overwritten
 * after it was written. Whatever the damage, a read from the pages must end as the SQL-only read
 * (noPages) does: the same Trace, or the same InputError; never another error; and the input
 * stays as it was.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, openSync, readSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import type { Trace } from '../../src/model/trace.js';
import { readNsysSqlite } from '../../src/readers/nsys-sqlite.js';
import { removeTempDirs, tempDir } from '../helpers/make-sqlite.js';
import { btreePages, buildFile, createTable, insertRows, sha256, stringIds } from '../helpers/page-files.js';

afterAll(removeTempDirs);

const K = 'CUPTI_ACTIVITY_KIND_KERNEL';
const N = 'NVTX_EVENTS';
const PAGE = 1024;

/** 300 kernels (13 leaf pages under one interior root) and NVTX ranges with 3 kB texts (overflow chains). */
const base = buildFile((db) => {
  stringIds(db, { 100: 'k' });
  createTable(db, K);
  insertRows(db, K, Array.from({ length: 300 }, (_, i) => ({ start: 10 * i, end: 10 * i + 5, correlationId: i, shortName: 100, deviceId: 0, streamId: 7 })));
  createTable(db, N);
  insertRows(db, N, Array.from({ length: 20 }, (_, i) => ({ start: 10 * i, end: 10 * i + 5, eventType: 59, text: `${i}:${'t'.repeat(3000)}` })));
}, { pageSize: PAGE });
const baseHash = sha256(base);
const pagesOf = (t: string, type: string): number[] => btreePages(base, t).filter((p) => p.pagetype === type).map((p) => p.pageno);
const kernelLeaf = pagesOf(K, 'leaf')[6];

/** A copy of the base file with page `pageno` passed through `damage`. */
function damaged(pageno: number, damage: (page: Buffer) => void): string {
  const f = join(tempDir(), 'damaged.sqlite');
  copyFileSync(base, f);
  const page = Buffer.alloc(PAGE);
  const fd = openSync(f, 'r+');
  try {
    readSync(fd, page, 0, PAGE, (pageno - 1) * PAGE);
    damage(page);
    writeSync(fd, page, 0, PAGE, (pageno - 1) * PAGE);
  } finally {
    closeSync(fd);
  }
  return f;
}

/** Deterministic garbage (a 31-bit LCG), so every run damages the same bytes. */
function garbage(seed: number): () => number {
  let s = seed;
  return () => { s = (s * 1103515245 + 12345) & 0x7fffffff; return s >>> 16 & 255; };
}

type Outcome = { trace: Trace } | { error: unknown };
function read(f: string, noPages: boolean): Outcome {
  try { return { trace: readNsysSqlite(f, { noPages }) }; } catch (error) { return { error }; }
}

/**
 * Reads `f` both ways and checks they end alike and the file is unchanged. Returns what the
 * SQL read gave: the kernel count, or the InputError's message.
 */
function bothEndAlike(f: string): number | string {
  const before = sha256(f);
  const sql = read(f, true);
  const pages = read(f, false);
  expect(sha256(f)).toBe(before);
  if ('error' in sql) {
    expect(sql.error).toBeInstanceOf(InputError);
    const e = 'error' in pages ? pages.error : new Error('the page read gave a Trace');
    expect(e).toBeInstanceOf(InputError);
    expect((e as Error).message).toBe((sql.error as Error).message);
    return (sql.error as Error).message;
  }
  if ('error' in pages) throw pages.error;
  expect(pages.trace).toEqual(sql.trace);
  return sql.trace.kernels.count;
}

describe('page reader on damaged pages', () => {
  const malformed = (f: string): string => `${f} is a damaged SQLite database (database disk image is malformed); copy or export it again`;

  it('the base file reads alike from the pages and through SQL', () => {
    expect(bothEndAlike(base)).toBe(300);
    expect(pagesOf(K, 'internal').length).toBe(1);
    expect(pagesOf(N, 'overflow').length).toBeGreaterThan(40);
  });

  it.each([1, 2, 3, 4, 5, 6, 7, 8])('a kernel leaf page all garbage (seed %i): the same InputError', (seed) => {
    const next = garbage(seed);
    const f = damaged(kernelLeaf, (p) => { for (let i = 0; i < PAGE; i++) p[i] = next(); });
    expect(bothEndAlike(f)).toBe(malformed(f));
  });

  it('a kernel leaf page of zeros: the same InputError', () => {
    const f = damaged(kernelLeaf, (p) => p.fill(0));
    expect(bothEndAlike(f)).toBe(malformed(f));
  });

  it.each([1, 2, 3, 4, 5, 6, 7, 8])('garbage after a kernel leaf page header (seed %i): the same InputError', (seed) => {
    const next = garbage(seed);
    const f = damaged(kernelLeaf, (p) => { for (let i = 8; i < PAGE; i++) p[i] = next(); });
    expect(bothEndAlike(f)).toBe(malformed(f));
  });

  // The cell pointers kept. Seeds 7, 9 and 12 give the last cell a huge rowid (MAX(rowid) ~10^14
  // for seed 9), which once made the SQL read step through empty rowid ranges for ever.
  it.each([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])('garbage in the cells of a kernel leaf page (seed %i): the same InputError', (seed) => {
    const next = garbage(seed);
    const f = damaged(kernelLeaf, (p) => { for (let i = 8 + 2 * p.readUInt16BE(3); i < PAGE; i++) p[i] = next(); });
    expect(bothEndAlike(f)).toBe(malformed(f));
  });

  it('garbage in an overflow page of an NVTX text: the same outcome', () => {
    const next = garbage(9);
    const f = damaged(pagesOf(N, 'overflow')[10], (p) => { for (let i = 0; i < PAGE; i++) p[i] = next(); });
    expect(bothEndAlike(f)).toBe(malformed(f));
  });

  it('garbage in the kernel b-tree root (an interior page): the same InputError', () => {
    const next = garbage(10);
    const f = damaged(pagesOf(K, 'internal')[0], (p) => { for (let i = 0; i < PAGE; i++) p[i] = next(); });
    expect(bothEndAlike(f)).toBe(malformed(f));
  });

  it('a changed value inside a record: both read the new value', () => {
    const f = damaged(kernelLeaf, (p) => {
      // cell 0: payload size (1 byte), rowid (2 bytes: rowids 128-16383), record header size (1 byte), serial types
      const cell = p.readUInt16BE(8);
      const headerSize = p[cell + 3];
      expect([p[cell] < 128, p[cell + 1] >= 128 && p[cell + 2] < 128, p[cell + 4], p[cell + 5]]).toEqual([true, true, 2, 2]);
      const endAt = cell + 3 + headerSize + 2;
      p.writeUInt16BE(p.readUInt16BE(endAt) + 8, endAt);
    });
    expect(bothEndAlike(f)).toBe(300);
    const t = readNsysSqlite(f);
    const row = t.kernels.end.findIndex((e, i) => e - t.kernels.start[i] === 13);
    expect([row, t.kernels.end[row] - t.kernels.start[row]]).toEqual([expect.any(Number), 13]);
    expect(t.kernels.end.filter((e, i) => e - t.kernels.start[i] === 5).length).toBe(299);
  });

  it('a payload size of ~10^12 bytes in a cell header: the same outcome, not a RangeError', () => {
    const f = damaged(kernelLeaf, (p) => {
      const last = p.readUInt16BE(8 + 2 * (p.readUInt16BE(3) - 1));
      // 103 + 2^30 * 1020: the local part is then the minimum (103 bytes on 1024-byte pages), which fits
      Buffer.from([159, 240, 128, 128, 128, 103]).copy(p, last);
    });
    // SQLite reads past the damaged cell without an error (observed: 299 kernels)
    expect(bothEndAlike(f)).toBe(299);
  });

  it('leaves the base file unchanged', () => {
    expect(sha256(base)).toBe(baseHash);
  });
});

describe('rowids far apart (a valid file)', () => {
  // bulk.ts's readColumns walks rowids in chunks of 65536 from MIN to MAX(rowid): 2^40 takes 16.7M
  // queries, and past 2^53 `lo += CHUNK` no longer moves. The read runs in a child process (from
  // dist/, which vitest's globalSetup built) so that a hang fails this test instead of blocking the run.
  const distReader = fileURLToPath(new URL('../../dist/readers/nsys-sqlite.js', import.meta.url));
  it.each([['noPages', true], ['pages', false]] as const)('%s: two kernels at rowids 1 and 2^40 read within 20 s', (_, noPages) => {
    expect(existsSync(distReader), 'dist/ is missing: vitest globalSetup (test/setup/build.ts) builds it').toBe(true);
    const f = buildFile((db) => {
      createTable(db, K);
      db.exec(`INSERT INTO ${K} (rowid, start, "end", deviceId, correlationId) VALUES (1, 10, 20, 0, 1), (${2 ** 40}, 30, 45, 0, 2)`);
    });
    const code = `import { readNsysSqlite } from ${JSON.stringify(pathToFileURL(distReader).href)};
      const k = readNsysSqlite(${JSON.stringify(f)}, { noPages: ${noPages} }).kernels;
      console.log(JSON.stringify([k.count, ...k.end.slice(0, k.count)]));`;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', code], { timeout: 20_000, encoding: 'utf8' });
    expect([run.signal, run.stdout.trim()]).toEqual([null, '[2,20,45]']);
  }, 30_000);
});

describe('inputs', () => {
  it('the base file is unchanged', () => {
    expect(sha256(base)).toBe(baseHash);
  });
});
