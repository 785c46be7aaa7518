/** cost-bounds.test.ts's bound on every committed capture (38 files: too long for npm test). */
import { describe, it } from 'vitest';
import { readNsysSqlite } from '../../src/readers/nsys-sqlite.js';
import { buildReport } from '../../src/report/build.js';
import { expectBounded, fixtures } from './cost-bounds-check.js';

describe('every finding\'s cost is bounded by the time of what it blames, on every capture', () => {
  it.skipIf(fixtures.length === 0)(`on the ${fixtures.length} committed captures, by default and with --whole-trace`, () => {
    for (const file of fixtures) {
      expectBounded(buildReport(readNsysSqlite(file)));
      expectBounded(buildReport(readNsysSqlite(file), { wholeTrace: true }));
    }
  }, 300_000);
});
