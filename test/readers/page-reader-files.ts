/**
 * The page reader (readers/pages.ts) on real exports: every fixture and every corpus export
 * reads to the same Trace from the pages as through SQL alone, with and without the analysed-
 * calls filter, and the big tables really take the page path. npm test reads the ten captures of
 * fixtures/nsys-2025.3 (pages-fixtures.test.ts); npm run test:long the other fixtures and the
 * corpus (pages-fixtures.long.test.ts).
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isAnalysedApiCall } from '../../src/analyses/api-calls.js';
import { readNsysSqlite } from '../../src/readers/nsys-sqlite.js';
import { readBothWays, sha256 } from '../helpers/page-files.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const fixtureDir = join(root, 'fixtures');
const corpusDir = join(root, '../shared/nsys-corpus');

function sqliteFiles(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.endsWith('.sqlite')).sort().map((f) => join(dir, f));
}

const allFixtures = sqliteFiles(fixtureDir);
const allCorpus = existsSync(corpusDir) ? sqliteFiles(corpusDir) : [];
/** The fixtures npm test reads: the ten captures at the top of fixtures/nsys-2025.3. */
const isQuick = (f: string): boolean => /^fixtures\/nsys-2025\.3\/[^/]+\.sqlite$/.test(f.slice(root.length));

const ACTIVITY = ['CUPTI_ACTIVITY_KIND_KERNEL', 'CUPTI_ACTIVITY_KIND_RUNTIME', 'CUPTI_ACTIVITY_KIND_MEMCPY',
  'CUPTI_ACTIVITY_KIND_MEMSET', 'CUPTI_ACTIVITY_KIND_SYNCHRONIZATION', 'NVTX_EVENTS'];

/** Every activity table the file holds is expected to be read from the pages. */
function expectedVia(tables: { name: string; rows: number }[]): Record<string, 'pages' | 'sql'> {
  const out: Record<string, 'pages' | 'sql'> = {};
  for (const t of tables) if (ACTIVITY.includes(t.name) && t.rows > 0) out[t.name] = 'pages';
  return out;
}

const rel = (f: string): string => f.slice(root.length);

/** Registers the differential read of the quick files (npm test) or of the others (test:long). */
export function pageReaderFiles(quick: boolean): void {
  const fixtures = allFixtures.filter((f) => isQuick(f) === quick);
  const corpus = quick ? [] : allCorpus;
  const hashes = new Map([...fixtures, ...corpus].map((f) => [f, sha256(f)]));

  describe('page reader on the fixtures', () => {
    it('finds the 60 fixtures', () => {
      expect(allFixtures.length).toBe(60);
    });

    it.each(fixtures.map((f) => [rel(f), f]))('%s: pages read = SQL read, kernels and API calls from the pages', (_, file) => {
      const all = readBothWays(file);
      expect(all.pages).toEqual(all.sql);
      expect(all.via).toEqual(expectedVia(all.sql.meta.tables));
      // the fast path is really taken for the two biggest tables of every fixture
      expect([all.via.CUPTI_ACTIVITY_KIND_KERNEL, all.via.CUPTI_ACTIVITY_KIND_RUNTIME]).toEqual(['pages', 'pages']);
      expect(Object.values(all.viaSql).every((v) => v === 'sql')).toBe(true);
      expect(all.sql.kernels.count).toBeGreaterThan(0);

      const some = readBothWays(file, { keepApiCall: isAnalysedApiCall });
      expect(some.pages).toEqual(some.sql);
      expect(some.via).toEqual(all.via);
      // the filter really dropped calls, so the filtered page path was exercised, not a no-op
      expect(some.sql.runtime.count).toBeLessThan(all.sql.runtime.count);
    });
  });

  if (!quick) describe.skipIf(corpus.length === 0)('page reader on the nsys corpus (../shared/nsys-corpus)', () => {
    it.each(corpus.map((f) => [f.slice(corpusDir.length + 1), f]))('%s: pages read = SQL read', (_, file) => {
      const all = readBothWays(file);
      expect(all.pages).toEqual(all.sql);
      expect(all.via).toEqual(expectedVia(all.sql.meta.tables));
      const some = readBothWays(file, { keepApiCall: isAnalysedApiCall });
      expect(some.pages).toEqual(some.sql);
      expect(some.via).toEqual(all.via);
    });

    it('observed: every corpus file reads its kernels (when it has them) and API calls from the pages', () => {
      // No corpus file falls back to SQL for these tables: all are rollback-journal UTF-8 files
      // whose API calls are stored in time order. The 2023.3 WSL export has no kernel table.
      const seen = corpus.map((f) => {
        const via: Record<string, string> = {};
        readNsysSqlite(f, { onTableRead: (t, v) => { via[t] = v; } });
        return [f.slice(corpusDir.length + 1).split('_')[0], via.CUPTI_ACTIVITY_KIND_KERNEL ?? 'none', via.CUPTI_ACTIVITY_KIND_RUNTIME];
      });
      expect(seen).toEqual([
        ['nsys2020.5.1', 'pages', 'pages'],
        ['nsys2022.4.2', 'pages', 'pages'],
        ['nsys2023.3.3', 'none', 'pages'],
        ['nsys2024.6.2', 'pages', 'pages'],
        ['nsys2026.1.1', 'pages', 'pages'],
      ]);
    });
  });

  describe('inputs', () => {
    it('are unchanged by all the reads above', () => {
      for (const [f, h] of hashes) expect([rel(f), sha256(f)]).toEqual([rel(f), h]);
    });
  });
}
