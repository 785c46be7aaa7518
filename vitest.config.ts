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
    globalSetup: ['test/setup/build.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    teardownTimeout: 30_000,
    // one CPU-heavy file per core: more only thrash on two cores
    pool: 'forks',
  },
  };
});
