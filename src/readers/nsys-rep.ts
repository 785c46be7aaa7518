/**
 * Nsight Systems reports (.nsys-rep, and .qdrep before 2021.2) are nsys's own format: only nsys
 * reads them. So a report is exported to SQLite by the nsys found exactly as `profile` finds it
 * (NSYS, PATH, /opt/nvidia/nsight-systems, the CUDA toolkit, Nsight Compute's copy), into a cache
 * outside the input's folder ($XDG_CACHE_HOME/moe-trace/nsys-exports, else ~/.cache/...), keyed by
 * the report's size, mtime and a hash of its first MB; the next read of the same report reuses
 * the export. Nothing is written beside the input: nsys works on a link to it inside the cache.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readSync, renameSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, extname, join, resolve } from 'node:path';
import { EnvironmentError, InputError } from '../errors.js';
import { findNsys, type NsysLocation } from '../profile/find-nsys.js';

export interface NsysRepOptions {
  /** environment to look in (NSYS, PATH, XDG_CACHE_HOME, HOME); default process.env */
  env?: NodeJS.ProcessEnv;
  /** root for nsys's install folders (tests build a fake tree) */
  root?: string;
  /** one status line at a time: "exporting ... with nsys ..." */
  onStatus?: (line: string) => void;
}

export interface ExportedReport {
  /** the SQLite export in the cache */
  sqlite: string;
  /** true when an earlier export was reused */
  cached: boolean;
  nsys: NsysLocation | null;
}

const HEAD_BYTES = 1 << 20;

export function isNsysReportPath(path: string): boolean {
  const ext = extname(path).toLowerCase();
  return ext === '.nsys-rep' || ext === '.qdrep';
}

/**
 * The nsys version that wrote a report, from its first line ("NVIDIA Tegra Profiler Report
 * 2024@4@2@133-..." → "2024.4.2.133"); null when the report does not say (.qdrep of 2020.3: "Report 1.").
 */
export function reportWriterVersion(path: string): string | null {
  const head = Buffer.alloc(128);
  const fd = openSync(path, 'r');
  let n: number;
  try {
    n = readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  const m = /^NVIDIA Tegra Profiler Report (\d{4})@(\d+)@(\d+)@(\d+)/.exec(head.toString('latin1', 0, n));
  return m ? `${m[1]}.${m[2]}.${m[3]}.${m[4]}` : null;
}

/** The command a user runs by hand where nsys is installed. */
export function exportCommand(path: string): string {
  const out = `${basename(path).replace(/\.(nsys-rep|qdrep)$/i, '')}.sqlite`;
  return `nsys export --type sqlite --output ${out} ${path}`;
}

export function exportCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CACHE_HOME;
  const base = xdg && xdg.startsWith('/') ? xdg : join(env.HOME || homedir(), '.cache');
  return join(base, 'moe-trace', 'nsys-exports');
}

/** size, mtime and the first MB of the report: a changed or replaced report gets a new key. */
export function exportCacheKey(path: string): string {
  const st = statSync(path);
  const head = Buffer.alloc(Math.min(HEAD_BYTES, st.size));
  const fd = openSync(path, 'r');
  try {
    readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  const h = createHash('sha256');
  h.update(`${st.size}\0${Math.trunc(st.mtimeMs)}\0`);
  h.update(head);
  return h.digest('hex').slice(0, 32);
}

function run(cmd: string, args: string[], cwd: string): Promise<{ code: number | null; out: string }> {
  return new Promise((done, fail) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const keep = (b: Buffer): void => { out = (out + b.toString()).slice(-8000); };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', fail);
    child.on('close', (code) => done({ code, out }));
  });
}

/** Exports the report (or finds its earlier export) and returns the SQLite file in the cache. */
export async function exportNsysReport(path: string, opts: NsysRepOptions = {}): Promise<ExportedReport> {
  const env = opts.env ?? process.env;
  const dir = exportCacheDir(env);
  const key = exportCacheKey(path);
  const sqlite = join(dir, `${key}.sqlite`);
  if (existsSync(sqlite)) {
    opts.onStatus?.(`reading the export of ${path} cached in ${sqlite}`);
    return { sqlite, cached: true, nsys: null };
  }
  let nsys: NsysLocation;
  try {
    nsys = findNsys(env, opts.root);
  } catch (e) {
    if (e instanceof EnvironmentError) {
      throw new InputError(`${path} is an Nsight Systems report, and reading it needs nsys, which is not installed here (looked at NSYS, PATH, /opt/nvidia/nsight-systems, /usr/local/cuda/bin, Nsight Compute); export it where nsys is and give moe-trace the .sqlite: ${exportCommand(path)}`);
    }
    throw e;
  }
  let work: string;
  try {
    mkdirSync(dir, { recursive: true });
    // nsys works on a link inside the cache, so whatever it writes lands there, not beside the input
    work = mkdtempSync(join(dir, `${key}.tmp-`));
  } catch (e) {
    throw new InputError(`cannot create the export cache ${dir} (${(e as NodeJS.ErrnoException).code ?? String(e)}) to read ${path}; set XDG_CACHE_HOME to a writable folder, or export it yourself: ${exportCommand(path)}`);
  }
  try {
    const ext = extname(path).toLowerCase();
    const link = join(work, `report${ext}`);
    symlinkSync(resolve(path), link);
    const out = join(work, 'report.sqlite');
    const started = Date.now();
    opts.onStatus?.(`exporting ${path} to SQLite with ${nsys.path} (once; cached in ${dir}) ...`);
    const r = await run(nsys.path, ['export', '--type', 'sqlite', '--force-overwrite', 'true', '--output', out, link], work);
    if (r.code !== 0 || !existsSync(out)) {
      const last = r.out.split('\n').map((l) => l.trim()).filter((l) => l !== '').slice(-1)[0] ?? 'no output';
      throw new InputError(`nsys (${nsys.path}) could not export ${path} (exit ${r.code ?? 'signal'}): ${last.slice(0, 200)}; is it a complete report? try \`${exportCommand(path)}\` by hand`);
    }
    renameSync(out, sqlite);
    opts.onStatus?.(`exported ${path} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return { sqlite, cached: false, nsys };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
