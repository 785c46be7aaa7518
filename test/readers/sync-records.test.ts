/** analyze reads no CUPTI synchronization records (no analysis uses them); info and the full read do. */
import { describe, expect, it } from 'vitest';
import { readNsysSqlite } from '../../src/readers/nsys-sqlite.js';
import { readForAnalysis } from '../../src/parallel/analyze-file.js';
import { buildReport } from '../../src/report/build.js';

const FILE = 'fixtures/nsys-2025.3/streams-sync.sqlite';

describe('synchronization records', () => {
  const full = readNsysSqlite(FILE);
  const forAnalysis = readForAnalysis(FILE, false);

  it('are read by default, and left out of the read for analysis, both ways of reading', () => {
    expect(full.sync.count).toBeGreaterThan(100);
    expect(forAnalysis.sync.count).toBe(0);
    expect(readForAnalysis(FILE, false, { noPages: true }).sync.count).toBe(0);
  });

  it('change nothing in the report', () => {
    const withSync = readNsysSqlite(FILE, { keepApiCall: () => true });
    const without = readNsysSqlite(FILE, { keepApiCall: () => true, syncRecords: false });
    expect(JSON.stringify(buildReport(without))).toBe(JSON.stringify(buildReport(withSync)));
  });
});
