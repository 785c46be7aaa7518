import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeHtmlReport } from '../../src/render/html/index.js';
import { smallInput } from '../render/html/fixture.js';
import { haveChromium, launch, markCounts, networkRequests, skipReason, visit, type Session } from './harness.js';

const dir = mkdtempSync(join(tmpdir(), 'moe-trace-html-'));

describe.skipIf(!haveChromium)(`HTML report in Chromium${haveChromium ? '' : ` (skipped: ${skipReason})`}`, () => {
  let session: Session;
  beforeAll(async () => { session = await launch(); }, 60_000);
  afterAll(async () => { await session?.close(); });

  it('renders the small trace', async () => {
    const out = await writeHtmlReport([smallInput()], join(dir, 'small.html'));
    const v = await visit(session, out.path);
    console.log(v.consoleErrors, v.pageErrors, v.cspViolations, networkRequests(v));
    console.log(await markCounts(v.page));
    await v.page.screenshot({ path: join(dir, 'small.png'), fullPage: true });
    console.log(dir);
  }, 60_000);
});
