/** The short terminal report of the fixtures that npm test leaves out (terminal-short.test.ts checks the sample). */
import { describe, expect, it } from 'vitest';
import { FIXTURES, inFastSample, shortReportSweep } from './terminal-short-fixtures.js';

describe('short terminal report, the fixtures npm test leaves out', () => {
  it('leaves out some fixtures', () => {
    expect(FIXTURES.filter((f) => !inFastSample(f)).length).toBeGreaterThan(0);
  });
  shortReportSweep((f) => !inFastSample(f));
});
