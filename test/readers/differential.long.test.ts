/**
 * The differential battery, in full (npm run test:long): every real export we hold (fixtures/ and
 * ../shared/nsys-corpus) under every transform (transforms.ts: each page size 512-65536, reserved
 * bytes, auto-vacuum, ADD COLUMN, overflow chains, 2^53 times, a stale -wal, WITHOUT ROWID, a
 * column named rowid, UTF-16) reads, from the pages and through SQL, to the original's Report.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, it } from 'vitest';
import { removeTempDirs } from '../helpers/make-sqlite.js';
import { checkTransform } from '../helpers/differential.js';
import { allTransforms, hasShell } from '../helpers/transforms.js';

afterAll(removeTempDirs);

const root = fileURLToPath(new URL('../../', import.meta.url));
const sqliteFiles = (dir: string): string[] => (existsSync(dir)
  ? (readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.endsWith('.sqlite')).sort().map((f) => join(dir, f)) : []);
const files = [...sqliteFiles(join(root, 'fixtures')), ...sqliteFiles(join(root, '../shared/nsys-corpus'))];

for (const file of files) {
  describe(file.startsWith(root) ? file.slice(root.length) : file, () => {
    for (const t of allTransforms()) {
      const run = t.shell && !hasShell ? it.skip : it;
      run(`${t.name}${t.shell && !hasShell ? ' (skipped: needs the sqlite3 shell)' : ''}`, () => checkTransform(file, t), 300_000);
    }
  });
}
