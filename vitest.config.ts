/**
 * Two suites over one config:
 *   npm test           every *.test.ts but the long ones; ≤ 90 s on a loaded 2-core machine
 *   npm run test:long  the *.long.test.ts files (the whole fuzz campaign, million-kernel pages,
 *                      the CUDA build): `vitest run --mode long` (or MOE_TRACE_LONG=1 vitest run)
 * Both compile src/ to dist/ once first (test/setup/build.ts); no test compiles anything.
 * Timeouts are set for a machine that other jobs load: a test's own bound, where it has one,
 * is what it measures; these only catch a hang.
 */
import { defineConfig } from 'vitest/config';

const LONG = '**/*.long.test.ts';

export default defineConfig(({ mode }) => {
  const long = mode === 'long' || process.env.MOE_TRACE_LONG === '1';
  return {
  test: {
    include: long ? [`test/${LONG}`] : ['test/**/*.test.ts'],
    exclude: long ? ['**/node_modules/**'] : ['**/node_modules/**', LONG],
    globalSetup: ['test/setup/build.ts', 'test/setup/report-cache.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    teardownTimeout: 30_000,
    pool: 'forks',
    // vitest's default is one worker fewer than the cores: one, here. Two overlap the many tests
    // that wait on a child process (the CLI, Chromium, a writer holding a lock): 132 s → 92 s.
    maxWorkers: 2,
    // npm test: a worker keeps the modules it loaded from one test file to the next (no test
    // mocks modules or leaves globals changed): 40% less CPU, 92 s → 81 s. The long suite isolates.
    isolate: long,
    // dist/ (what the tests that need the compiled reader or worker script import) is plain
    // JavaScript: Node loads it, not vitest's module runner, which transformed it again per worker
    server: { deps: { external: [/\/dist\//] } },
  },
  };
});
