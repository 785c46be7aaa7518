/**
 * Reports of the real H200 captures (fixtures/nsys-2025.3), opened in Chromium. npm test opens
 * three of them (html-fixtures.test.ts), npm run test:long the others (html-fixtures.long.test.ts).
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { communicationIntervals } from '../../src/analyses/communication-rows.js';
import { formatNs } from '../../src/render/format.js';
import { writeHtmlReport } from '../../src/render/html/index.js';
import { haveChromium, itemCentre, launch, markCounts, networkRequests, skipReason, tooltipText, visit, type Session } from './harness.js';
import { fixtureReport, fixtureTrace } from '../helpers/fixture-reports.js';

const FIXTURES = 'fixtures/nsys-2025.3';
const ALL = existsSync(FIXTURES) ? readdirSync(FIXTURES).filter((f) => f.endsWith('.sqlite')).sort() : [];
/** The three npm test opens: a CUDA graph, host syncs on many streams, and PyTorch's NVTX. */
export const QUICK = ['graph.sqlite', 'streams-sync.sqlite', 'torch-streams-sync.sqlite'];

/** Registers the browser test of each fixture that `pick` keeps. */
export function fixturePages(pick: (file: string) => boolean): void {
  const files = ALL.filter(pick);
  const dir = mkdtempSync(join(tmpdir(), 'moe-trace-fixtures-'));

  describe.skipIf(!haveChromium || files.length === 0)(`real fixture reports in Chromium${haveChromium ? '' : ` (skipped: ${skipReason})`}`, () => {
    let session: Session;
    beforeAll(async () => { session = await launch(); }, 60_000);
    afterAll(async () => { await session?.close(); rmSync(dir, { recursive: true, force: true }); });

    it.each(files)('%s: no errors, no requests, every chart drawn, tooltip of the longest kernel exact', async (file) => {
      const trace = fixtureTrace(join(FIXTURES, file));
      const report = fixtureReport(join(FIXTURES, file));
      const out = await writeHtmlReport([{ report, trace, communication: communicationIntervals(report, trace) }], join(dir, `${basename(file, '.sqlite')}.html`));
      const v = await visit(session, out.path);
      expect(v.consoleErrors).toEqual([]);
      expect(v.pageErrors).toEqual([]);
      expect(v.cspViolations).toEqual([]);
      expect(v.dialogs).toEqual([]);
      expect(networkRequests(v)).toEqual([]);
      const counts = await markCounts(v.page);
      for (const [id, c] of Object.entries(counts)) {
        const d = report.devices.find((x) => id.startsWith(`t0-gpu${x.deviceId}-`));
        // a trace whose GPU never idles has an empty gap histogram; every other chart must draw
        if (id.endsWith('-gaps') && d && d.gaps.all.count === 0) continue;
        expect(c.marks, id).toBeGreaterThan(0);
      }
      // the longest kernel is always drawn; its tooltip must show the trace's own numbers
      const k = trace.kernels;
      let longest = 0;
      for (let i = 1; i < k.count; i++) if (k.end[i] - k.start[i] > k.end[longest] - k.start[longest]) longest = i;
      const at = await itemCentre(v.page, 't0-timeline', { kind: 'kernel', kernel: longest });
      expect(at).not.toBeNull();
      const text = await tooltipText(v.page, at!);
      const w0 = Math.min(...report.devices.map((d) => d.window.start));
      expect(text).toContain(trace.strings[k.shortName[longest]]);
      expect(text).toMatch(new RegExp(`stream\\s+${k.streamId[longest]}\\b`));
      expect(text).toContain(`duration\t${formatNs(k.end[longest] - k.start[longest])}`);
      expect(text).toContain(`start\t${formatNs(k.start[longest] - w0)}`);
      const c = trace.launchConfigs[k.launchConfig[longest]];
      expect(text).toContain(`grid\t${c.gridX}×${c.gridY}×${c.gridZ}`);
      await v.page.close();
    }, 60_000);
  });
}
