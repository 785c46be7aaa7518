import { mkdtempSync, rmSync, symlinkSync, linkSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { markSharedFiles } from '../../src/parallel/analyze-files.js';
import { analyzeFile } from '../../src/parallel/analyze-file.js';

const A = resolve('fixtures/nsys-2025.3/streams.sqlite');
const B = resolve('fixtures/nsys-2025.3/grouped.sqlite');
const dir = mkdtempSync(join(tmpdir(), 'moe-shared-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('markSharedFiles', () => {
  it('reads through SQL only the files more than one job names, by any path', () => {
    const link = join(dir, 'link.sqlite'); symlinkSync(A, link);
    const hard = join(dir, 'hard.sqlite'); copyFileSync(B, join(dir, 'b.sqlite')); linkSync(join(dir, 'b.sqlite'), hard);
    const other = join(dir, 'copy.sqlite'); copyFileSync(A, other);
    const jobs = [A, link, join(dir, 'b.sqlite'), hard, other, join(dir, 'missing.sqlite')].map((file) => ({ file, options: {} }));
    expect(markSharedFiles(jobs).map((j) => j.noPages === true)).toEqual([true, true, true, true, false, false]);
  });

  it('a job read through SQL gives the same report', () => {
    const plain = analyzeFile({ file: A, options: {} });
    const sql = analyzeFile({ file: A, options: {}, noPages: true });
    expect(sql).toEqual(plain);
  });
});
