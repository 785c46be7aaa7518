/**
 * vitest globalSetup: a folder for this run's shared fixture Reports (test/helpers/fixture-reports.ts).
 * npm test's two workers each run many files; a capture's Report built in one is read back in the
 * other instead of built again. Made empty at the start of each run and removed at its end.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'moe-trace-test-reports-'));
  // the workers start after the global setup: they inherit it
  process.env.MOE_TRACE_TEST_REPORTS = dir;
  return () => rmSync(dir, { recursive: true, force: true });
}
