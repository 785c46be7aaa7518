import { configDefaults, defineConfig } from 'vitest/config';

// `npm test` leaves out the long runs (*.long.test.ts); `npm run test:long` runs only them.
const long = process.env.MOE_TRACE_LONG === '1';

export default defineConfig({
  test: long
    ? { include: ['test/**/*.long.test.ts'] }
    : { exclude: [...configDefaults.exclude, '**/*.long.test.ts'] },
});
