/** The real `moe-trace` binary for the few tests that need a separate process and its exit code. */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = `${ROOT}bin/moe-trace.js`;

/** Whether dist/ holds the compiled CLI: vitest's globalSetup (test/setup/build.ts) builds it once per run. */
export function ensureBuilt(): boolean {
  return existsSync(`${ROOT}dist/cli.js`);
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
