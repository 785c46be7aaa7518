/**
 * The short terminal report of each bundled fixture (nsys exports and PyTorch profiler traces):
 * at most 30 lines, none wider than the terminal. An nsys export's Report is the one the other
 * files share (helpers/fixture-reports.ts: readNsysSqlite's defaults, the same Report as analyze's
 * read, api-filter.test.ts), a Kineto trace's is read as analyze reads it. npm test checks a
 * sample (terminal-short.test.ts: every fixture of nsys-2025.3, -whole, -ep1, -grouped and
 * kineto-2.11, one of each other folder), npm run test:long the rest (terminal-short.long.test.ts).
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { renderTerminal } from '../../src/render/terminal.js';
import { analyzedReport, fixtureReport } from '../helpers/fixture-reports.js';

function sqliteFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sqliteFiles(p) : n.endsWith('.sqlite') || n.endsWith('.pt.trace.json.gz') ? [p] : [];
  }).sort();
}
export const FIXTURES = sqliteFiles('fixtures');

/** Folders npm test sweeps whole; of every other folder it takes the one file named in ONE_OF. */
const WHOLE_FOLDERS = ['nsys-2025.3', 'nsys-2025.3-whole', 'nsys-2025.3-ep1', 'nsys-2025.3-grouped', 'kineto-2.11'];
const ONE_OF: Record<string, string> = {
  'nsys-2025.3-inproc': 'fixtures/nsys-2025.3-inproc/64k.sqlite',
  'nsys-2025.3-profile': 'fixtures/nsys-2025.3-profile/streams-sync.sqlite',
  'nsys-2025.3-repeats': 'fixtures/nsys-2025.3-repeats/streams-sync-1.sqlite',
  'nsys-2025.3-weights': 'fixtures/nsys-2025.3-weights/streams-sync.sqlite',
};
/** The fixtures npm test checks: every folder is represented (a new folder is taken whole until it is listed). */
export function inFastSample(file: string): boolean {
  const folder = file.split('/')[1];
  if (WHOLE_FOLDERS.includes(folder)) return true;
  const one = ONE_OF[folder];
  return one === undefined || one === file;
}

/** Registers the short-report test of each fixture that `pick` keeps. */
export function shortReportSweep(pick: (file: string) => boolean): void {
  // one test per fixture: each reads and analyses one file, well inside the default timeout
  it.each(FIXTURES.filter(pick))('fits 30 lines of at most 100 (and 60) characters with the headline, time per iteration and every finding named: %s', async (f) => {
    const report = f.endsWith('.sqlite') ? fixtureReport(f) : await analyzedReport(f);
    for (const width of [100, 60]) {
      const text = renderTerminal(report, { width });
      const lines = text.trimEnd().split('\n');
      expect(lines.length, f).toBeLessThanOrEqual(30);
      for (const l of lines) expect([...l].length, `${f}: ${l}`).toBeLessThanOrEqual(width);
      const flat = text.replace(/\n\s*/g, ' ');
      for (const h of report.headline) expect(flat, f).toContain(h);
      if (report.devices.length > 0) expect(flat, f).toMatch(/per iteration|the whole window counts as one/);
      // each finding: its title and fix, or its id in the "+ N more" line
      for (const x of report.findings) expect(flat, f).toContain(`${x.id}`);
      expect(flat).toContain('fix: ');
    }
  });
}
