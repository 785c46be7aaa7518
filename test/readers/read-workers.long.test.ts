/**
 * Every nsys fixture whose API call table spans several leaf pages reads through worker threads
 * to one thread's Report (npm run test:long; the fast subset is read-workers.test.ts).
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, it } from 'vitest';
import { sameWithWorkers } from '../helpers/read-workers.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
afterEach(() => { delete process.env.MOE_TRACE_READ_WORKERS; });

const files = (dir: string): string[] => readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.sqlite')).map((f) => join(root, dir, f)).sort();

describe('API calls decoded in worker threads, every nsys fixture', () => {
  for (const f of files('fixtures').filter((f) => !f.includes('kineto'))) {
    it(f.slice(root.length), async () => { await sameWithWorkers(f, 3, false); }, 120_000);
  }
});
