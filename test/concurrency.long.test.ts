/**
 * The concurrency checks that run the CLI again and again while a file grows, at their full
 * length (npm run test:long): the copy in 12 writes, rows added for 3 s (at most 20 runs).
 * concurrency.test.ts runs them shorter, and the other concurrent-use cases.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDirs } from './helpers/make-sqlite.js';
import { ensureBuilt } from './fuzz/binary.js';
import { appendingExport, growingExport } from './concurrency-checks.js';

let built = false;
beforeAll(() => { built = ensureBuilt(); });
afterAll(removeTempDirs);

describe('concurrent use of one export, at full length', () => {
  it('an export still being copied in (growing byte by byte): each run ends cleanly, the finished file reads', async () => {
    expect(built).toBe(true);
    await growingExport(12);
  }, 120_000);

  it('an export gaining rows while it is analysed: each run ends cleanly and sees a consistent snapshot', () => appendingExport(3000, 20), 120_000);
});
