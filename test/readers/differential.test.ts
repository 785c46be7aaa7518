/**
 * The differential battery, fast subset (npm test): each kind of valid rewrite of a real export
 * (transforms.ts) reads from the pages to the original's whole Report, and through SQL to the
 * pages' whole Trace (so to the same Report; differential.ts, `traces`). The full
 * battery, every fixture and every transform, is differential.long.test.ts (npm run test:long).
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, it } from 'vitest';
import { removeTempDirs } from '../helpers/make-sqlite.js';
import { checkTransform } from '../helpers/differential.js';
import { fastTransforms, hasShell } from '../helpers/transforms.js';

afterAll(removeTempDirs);

const root = fileURLToPath(new URL('../../', import.meta.url));
// the seed's own shape: a host sync and a 4-byte copy per expert, NVTX, two processes' worth of tables
const SOURCE = join(root, 'fixtures/nsys-2025.3/torch-streams-sync.sqlite');

describe('differential: rewrites of torch-streams-sync.sqlite read as the original', () => {
  for (const t of fastTransforms()) {
    const run = t.shell && !hasShell ? it.skip : it;
    run(`${t.name}${t.shell && !hasShell ? ' (skipped: needs the sqlite3 shell, apt-get install sqlite3)' : ''}`, () => {
      checkTransform(SOURCE, t, { traces: true });
    }, 60_000);
  }
});
