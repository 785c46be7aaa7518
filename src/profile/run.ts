/**
 * Runs a capture plan: checks the GPU, builds the bundled workload when a capture needs it, runs
 * `nsys profile` then `nsys export` for each capture, and reads the workload's printed latency.
 * Every environment problem is an EnvironmentError (exit 2) that says what to do.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { EnvironmentError } from '../errors.js';
import { findNsys, whichOnPath } from './find-nsys.js';
import { MESSAGES } from './messages.js';
import { type Capture, cmakeBuildArgs, cmakeConfigureArgs, nsysExportArgs, nsysProfileArgs, shellQuote } from './plan.js';

export interface RunContext {
  env: NodeJS.ProcessEnv;
  /** folder holding native-workload/ (the moe-trace package root); commands run here */
  packageRoot: string;
  /** filesystem root for the nsys search (tests use a fake tree) */
  fsRoot?: string;
  /** where the CUDA toolkit's nvcc is looked for when it is not on PATH */
  cudaBin?: string;
  progress: (line: string) => void;
}

export interface CaptureResult {
  capture: Capture;
  sqlite: string;
  log: string;
  /** median per-iteration latency the workload printed (RESULT line), null for other programs */
  latencyUs: number | null;
}

/** Runs argv to completion with stdout+stderr appended to logPath; resolves to the exit code. */
export function runLogged(argv: string[], cwd: string, env: NodeJS.ProcessEnv, logPath: string, append = false): Promise<number> {
  const fd = openSync(logPath, append ? 'a' : 'w');
  return new Promise<number>((done, fail) => {
    const child = spawn(argv[0], argv.slice(1), { cwd, env, stdio: ['ignore', fd, fd] });
    child.on('error', (e: NodeJS.ErrnoException) => {
      closeSync(fd);
      fail(new EnvironmentError(e.code === 'ENOENT' ? `${argv[0]} not found: ${argv.map(shellQuote).join(' ')} could not start.` : `${argv[0]} could not start: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      closeSync(fd);
      done(code ?? (signal ? 128 : 1));
    });
  });
}

function tail(path: string, lines = 5): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

export async function checkGpu(ctx: RunContext, outDir: string): Promise<void> {
  const smi = whichOnPath('nvidia-smi', ctx.env.PATH);
  if (!smi) throw new EnvironmentError(MESSAGES.noDriver);
  const code = await runLogged([smi, '-L'], ctx.packageRoot, ctx.env, join(outDir, 'gpu.log'));
  if (code !== 0) throw new EnvironmentError(`${MESSAGES.noGpu} It said: ${tail(join(outDir, 'gpu.log'), 2)}`);
}

/** Adds the folders where CMake/ninja (pip, next to python3) and nvcc (the CUDA toolkit) usually are. */
export function toolchainPath(env: NodeJS.ProcessEnv, cudaBin = '/usr/local/cuda/bin'): string {
  const extra: string[] = [];
  const python = whichOnPath('python3', env.PATH);
  if (python) extra.push(dirname(python));
  extra.push(cudaBin);
  return [env.PATH ?? '', ...extra].filter(Boolean).join(':');
}

export async function buildWorkload(ctx: RunContext, outDir: string): Promise<void> {
  const env = { ...ctx.env, PATH: toolchainPath(ctx.env, ctx.cudaBin) };
  if (!whichOnPath('cmake', env.PATH) || !whichOnPath('ninja', env.PATH)) throw new EnvironmentError(MESSAGES.noCmake);
  if (!whichOnPath('nvcc', env.PATH)) throw new EnvironmentError(MESSAGES.noNvcc);
  const log = join(outDir, 'build.log');
  ctx.progress('building the CUDA workload (cmake, nvcc, cuBLAS)');
  if (await runLogged(['cmake', ...cmakeConfigureArgs()], ctx.packageRoot, env, log) !== 0) {
    if (readFileSync(log, 'utf8').includes('needs cuBLAS')) throw new EnvironmentError(MESSAGES.noCublas);
    throw new EnvironmentError(`CMake configure of the workload failed: see ${log}\n${tail(log)}`);
  }
  if (await runLogged(['cmake', ...cmakeBuildArgs()], ctx.packageRoot, env, log, true) !== 0) {
    throw new EnvironmentError(`the workload build failed: see ${log}\n${tail(log)}`);
  }
}

/** What nsys left for outBase: the report, only the raw .qdstrm stream, or nothing. */
export function captureOutcome(outBase: string): 'report' | 'qdstrm-only' | 'nothing' {
  if (existsSync(`${outBase}.nsys-rep`)) return 'report';
  return existsSync(`${outBase}.qdstrm`) ? 'qdstrm-only' : 'nothing';
}

export function qdstrmOnlyMessage(outBase: string, nsysPath: string): string {
  return `nsys left only ${outBase}.qdstrm and no .nsys-rep: its importer (QdstrmImporter, next to ${nsysPath} ` +
    'or in the host folder of the same install) failed to turn the raw capture into a report. Missing library ' +
    'dependencies of the importer (e.g. libdw.so.1, libelf) are the usual cause: run the importer by hand to see which, ' +
    'install them or add their folder to LD_LIBRARY_PATH, then capture again.';
}

/** The median latency the bundled workloads print: "RESULT mode=M median_us=X ...". */
export function parseLatency(log: string, mode: string): number | null {
  for (const line of log.split('\n')) {
    const m = /^RESULT mode=(\S+) median_us=([\d.]+)/.exec(line);
    if (m && m[1] === mode) return Number(m[2]);
  }
  return null;
}

export async function runCaptures(captures: Capture[], outDir: string, ctx: RunContext): Promise<CaptureResult[]> {
  const out = resolve(outDir);
  mkdirSync(out, { recursive: true });
  const nsys = findNsys(ctx.env, ctx.fsRoot);
  ctx.progress(`nsys: ${nsys.path} (found via ${nsys.source})`);
  await checkGpu(ctx, out);
  if (captures.some((c) => c.workload === 'native')) await buildWorkload(ctx, out);
  const env = { ...ctx.env, PATH: toolchainPath(ctx.env, ctx.cudaBin) };
  const results: CaptureResult[] = [];
  for (const [i, capture] of captures.entries()) {
    const base = join(out, capture.name);
    const log = `${base}.log`;
    ctx.progress(`[${i + 1}/${captures.length}] capturing ${capture.name}: ${capture.argv.map(shellQuote).join(' ')}`);
    const code = await runLogged([nsys.path, ...nsysProfileArgs(capture, base)], ctx.packageRoot, env, log);
    if (code !== 0) throw new EnvironmentError(`capturing ${capture.name} failed (nsys exit ${code}): see ${log}\n${tail(log)}`);
    const outcome = captureOutcome(base);
    if (outcome === 'qdstrm-only') throw new EnvironmentError(qdstrmOnlyMessage(base, nsys.path));
    if (outcome === 'nothing') throw new EnvironmentError(`nsys left no report for ${capture.name}: see ${log}\n${tail(log)}`);
    const sqlite = `${base}.sqlite`;
    const exported = await runLogged([nsys.path, ...nsysExportArgs(`${base}.nsys-rep`, sqlite)], ctx.packageRoot, env, log, true);
    if (exported !== 0 || !existsSync(sqlite)) throw new EnvironmentError(`nsys export of ${capture.name} failed (exit ${exported}): see ${log}\n${tail(log)}`);
    const modeAt = capture.argv.indexOf('--mode');
    const latencyUs = capture.workload === 'custom' || modeAt < 0 ? null : parseLatency(readFileSync(log, 'utf8'), capture.argv[modeAt + 1]);
    results.push({ capture, sqlite, log, latencyUs });
  }
  return results;
}
