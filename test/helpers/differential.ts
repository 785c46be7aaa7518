/**
 * Runs one transform (transforms.ts) of one export: the rewrite read from the pages and through
 * SQL gives the same Report, which is the original's (or the original's with what the transform
 * is known to change), and the kernels take the expected path.
 */
import { expect } from 'vitest';
import { InputError } from '../../src/errors.js';
import { analyzeFile, readForAnalysis } from '../../src/parallel/analyze-file.js';
import { buildReport } from '../../src/report/build.js';
import type { Report } from '../../src/report/types.js';
import { traceDiff } from './page-files.js';
import { mainTable, type Transform } from './transforms.js';

/** The Report as JSON, without what names the file itself. */
function comparable(r: Report, extraWarning?: RegExp): unknown {
  const j = JSON.parse(JSON.stringify(r)) as Report;
  j.input.file = '<file>';
  j.input.fileSizeBytes = 0;
  if (extraWarning) j.warnings = j.warnings.filter((w) => !extraWarning.test(w));
  return j;
}

function report(file: string, noPages: boolean, via: Record<string, string>): Report {
  return analyzeFile({ file, options: {} }, { noPages, onTableRead: (t, v) => { via[t] = v; } });
}

const originals = new Map<string, unknown>();

/**
 * `traces` (npm test): the read through SQL is held to the pages' whole Trace, every column and
 * warning, instead of to the pages' Report: a Report is built from its Trace alone, so this
 * implies the same Report, at half the cost (building Reports is most of this check's time).
 */
export function checkTransform(source: string, t: Transform, { traces = false } = {}): void {
  let original = originals.get(source);
  if (original === undefined) originals.set(source, (original = comparable(report(source, false, {}))));
  const file = t.apply(source);
  const via: Record<string, string> = {};
  if ('inputError' in t.expect) {
    for (const noPages of [false, true]) {
      let err: unknown;
      try { report(file, noPages, via); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(InputError);
      expect((err as Error).message).toMatch(t.expect.inputError);
    }
    return;
  }
  const extra = 'warning' in t.expect ? t.expect.warning : undefined;
  let pages: Report;
  if (traces) {
    const pagesTrace = readForAnalysis(file, undefined, { onTableRead: (tb, v) => { via[tb] = v; } });
    const sqlTrace = readForAnalysis(file, undefined, { noPages: true });
    // before the Report is built: the analyses may cut the Trace's arrays in place
    expect(traceDiff(pagesTrace, sqlTrace)).toEqual([]);
    pages = buildReport(pagesTrace, {});
    if (extra) expect(pages.warnings.filter((w) => extra.test(w))).toHaveLength(1);
  } else {
    pages = report(file, false, via);
    const sql = report(file, true, {});
    if (extra) {
      expect(pages.warnings.filter((w) => extra.test(w))).toHaveLength(1);
      expect(sql.warnings.filter((w) => extra.test(w))).toHaveLength(1);
    }
    expect(comparable(pages)).toEqual(comparable(sql));
  }
  expect(comparable(pages, extra)).toEqual(original);
  // the kernels (or, without them, the API calls) take the path the transform leaves them
  expect(via[mainTable(file)]).toBe(t.kernelsVia);
}
