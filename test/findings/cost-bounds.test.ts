/**
 * No finding's cost exceeds the time of what it blames (issue 13), on every committed capture and
 * every export of the public corpus: a cost is idle (or busy) time during which its cause was
 * active, so it is bounded by the window, by the idle time, and by the cause's own time (the
 * host's blocked time for host-sync-stall, the allocation calls' time for allocation-in-loop).
 */
import { describe, it } from 'vitest';
import { expectBounded, sqliteFiles } from './cost-bounds-check.js';
import { fixtureReport } from '../helpers/fixture-reports.js';

const corpus = sqliteFiles('../shared/nsys-corpus');

describe('every finding\'s cost is bounded by the time of what it blames', () => {
  // every committed capture: cost-bounds.long.test.ts (npm run test:long); the ones taken as users take them
  // (fixtures/nsys-2025.3-whole, by default and --whole-trace): whole-process.test.ts, on the Reports it builds
  it.skipIf(corpus.length === 0)('on the public corpus, by default and whole', () => {
    for (const file of corpus) {
      expectBounded(fixtureReport(file));
      expectBounded(fixtureReport(file, { wholeTrace: true }));
    }
  }, 60_000);
});
