/**
 * vitest globalSetup: compiles src/ to dist/ once, before any test file runs. The tests that need
 * a separate process (the real `moe-trace` binary, worker threads, a read that may hang) run
 * dist/; no test compiles anything itself. A type error fails the run here, with tsc's output.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export default function build(): void {
  const tsc = `${ROOT}node_modules/typescript/bin/tsc`;
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) {
    throw new Error(`tsc -p tsconfig.json failed (exit ${r.status ?? r.signal}): the tests run the compiled dist/\n${r.stdout}${r.stderr}`);
  }
  if (process.env.MOE_TRACE_BUILD_TIME) console.log(`built dist/ in ${Math.round(performance.now() - t0)} ms`);
}
