/** The real `moe-trace` binary for the few tests that need a separate process and its exit code. */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = `${ROOT}bin/moe-trace.js`;

/** `npm test` builds first; build here only when dist is missing or older than some source. */
export function ensureBuilt(): boolean {
  const built = `${ROOT}dist/cli.js`;
  const newestSource = Math.max(...readdirSync(`${ROOT}src`, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts')).map((f) => statSync(`${ROOT}src/${f}`).mtimeMs));
  if (!existsSync(built) || statSync(built).mtimeMs < newestSource) {
    // tsc emits even when some file has a type error; the tests judge the result
    spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: ROOT, stdio: 'ignore' });
  }
  return existsSync(built);
}

export interface Exit { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; ms: number }

/** Runs the binary without blocking, so several can run at once; killed after `timeoutMs`. */
export function runBin(args: string[], timeoutMs = 60_000): Promise<Exit> {
  return new Promise((done) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = ''; let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => { stdout += s; });
    child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, stdout, stderr, ms: performance.now() - t0 });
    });
  });
}
