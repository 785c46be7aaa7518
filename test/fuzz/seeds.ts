/**
 * The exports the fuzzer starts from: small synthetic MoE-shaped exports in each nsys schema
 * shape, plus the real exports (fixtures/ and ../shared/nsys-corpus) cut down to their first
 * rows so a thousand mutated copies analyse within the CI budget. Every seed is a file in a
 * temp dir; mutations work on copies of it.
 */
import { copyFileSync, existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { globalPid, globalTid, tempDir, writeNsysExport, type Row } from '../helpers/make-sqlite.js';
import type { NsysShape } from '../helpers/nsys-shapes.js';

export interface Seed {
  name: string;
  path: string;
  /** a real export (fixtures/ or the corpus), not one written by the test */
  real: boolean;
}

const CORPUS = fileURLToPath(new URL('../../../shared/nsys-corpus/', import.meta.url));
const FIXTURES = fileURLToPath(new URL('../../fixtures/', import.meta.url));

/** Rows kept per table when a real export is cut down: enough for every analysis to have work. */
const SLIM_ROWS = 150;

const PID = 4242;
const US = 1000;

/** One MoE layer step: per expert a launch on its own stream, a 4-byte DtoH copy and a stream sync. */
function moeContent(shape: NsysShape, experts: number): Parameters<typeof writeNsysExport>[1] {
  const kernels: Row[] = []; const runtime: Row[] = []; const memcpy: Row[] = [];
  const sync: Row[] = []; const nvtx: Row[] = []; const memset: Row[] = [];
  const tid = globalTid(PID, PID + 1);
  let corr = 1;
  const base = 1_000_000;
  for (let e = 0; e < experts; e++) {
    const t = base + e * 100 * US;
    const streamId = 13 + (e % 4);
    nvtx.push({ start: t, end: t + 90 * US, eventType: 59, text: `expert ${e}`, globalTid: tid, domainId: 0 });
    runtime.push({ start: t + US, end: t + 4 * US, eventClass: 0, globalTid: tid, correlationId: corr, nameId: 'cudaLaunchKernel_v7000' });
    kernels.push({
      start: t + 6 * US, end: t + 46 * US, deviceId: 0, contextId: 1, streamId, correlationId: corr++,
      globalPid: globalPid(PID), shortName: e % 2 ? 'gemm_expert' : 'gating_topk', demangledName: `void moe::gemm<${e}>(float*)`,
      gridX: 264, gridY: 1, gridZ: 1, blockX: 128, blockY: 1, blockZ: 1, registersPerThread: 96,
    });
    runtime.push({ start: t + 5 * US, end: t + 8 * US, eventClass: 0, globalTid: tid, correlationId: corr, nameId: 'cudaMemcpyAsync_v3020' });
    memcpy.push({
      start: t + 47 * US, end: t + 48 * US, deviceId: 0, contextId: 1, streamId, correlationId: corr++,
      globalPid: globalPid(PID), bytes: 4, copyKind: 2, srcKind: 3, dstKind: 1,
    });
    runtime.push({ start: t + 9 * US, end: t + 49 * US, eventClass: 0, globalTid: tid, correlationId: corr, nameId: 'cudaStreamSynchronize_v3020' });
    sync.push({ start: t + 9 * US, end: t + 49 * US, deviceId: 0, contextId: 1, streamId, correlationId: corr++, globalPid: globalPid(PID), syncType: 3 });
    if (e % 3 === 0) {
      memset.push({ start: t + 50 * US, end: t + 51 * US, deviceId: 0, contextId: 1, streamId, correlationId: corr++, globalPid: globalPid(PID), bytes: 1 << 20, memKind: 3 });
    }
  }
  nvtx.push({ start: base - US, end: base + experts * 100 * US, eventType: 59, text: 'moe layer', globalTid: tid, domainId: 0 });
  nvtx.push({ start: base + 5, eventType: 34, text: 'step 0', globalTid: tid, domainId: 0 });
  const gpu = shape === '2020.3'
    ? { cudaGpus: [{ deviceId: 0, name: 'NVIDIA H200', numMultiprocessors: 132, numThreadsPerWarp: 32, maxWarpsPerMultiprocessor: 64, computeCapabilityMajor: 9 }] }
    : shape === '2020.5'
      ? { gpus: [{ deviceId: 0, name: 'NVIDIA H200' }], cudaGpus: [{ deviceId: 0, name: 'NVIDIA H200', numMultiprocessors: 132 }] }
      : { gpus: [{ id: 0, name: 'NVIDIA H200', smCount: 132, threadsPerWarp: 32, maxWarpsPerSm: 64, maxBlocksPerSm: 32, computeMajor: 9, computeMinor: 0 }] };
  const hasTable = (t: string): boolean => shape === '2024.6' || shape === '2026.1' || !['NVTX_EVENTS', 'CUPTI_ACTIVITY_KIND_MEMSET'].includes(t);
  const hasMemcpy = shape !== '2024.6';
  return {
    kernels, runtime, sync,
    memcpy: hasMemcpy ? memcpy : undefined,
    memset: hasTable('CUPTI_ACTIVITY_KIND_MEMSET') ? memset : undefined,
    nvtx: hasTable('NVTX_EVENTS') ? nvtx : undefined,
    processes: ['2022.4', '2024.6', '2026.1'].includes(shape) ? [{ globalPid: globalPid(PID), pid: PID, name: 'python3' }] : undefined,
    threadNames: [{ nameId: 'python3', globalTid: globalTid(PID, PID) }, { nameId: 'pt_main_thread', globalTid: tid }],
    sessionStart: ['2022.4', '2024.6', '2026.1'].includes(shape) ? { utcEpochNs: 1_700_000_000_000_000_000n } : undefined,
    ...gpu,
  };
}

/** Deletes all but the first SLIM_ROWS rows of every table and compacts the file. */
function slim(path: string): void {
  const db = new Database(path);
  try {
    db.pragma('journal_mode = DELETE');
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").pluck().all() as string[];
    for (const t of tables) {
      // StringIds is looked up by id from the kept rows; keeping it whole keeps names resolvable.
      if (t === 'StringIds') continue;
      db.exec(`DELETE FROM "${t}" WHERE rowid NOT IN (SELECT rowid FROM "${t}" ORDER BY rowid LIMIT ${SLIM_ROWS})`);
    }
    db.exec('VACUUM');
  } finally {
    db.close();
  }
}

function realExports(): string[] {
  const found: string[] = [];
  const walk = (dir: string, depth: number): void => {
    if (!existsSync(dir) || depth > 3) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p, depth + 1);
      else if (e.isFile() && e.name.endsWith('.sqlite')) found.push(p);
    }
  };
  walk(FIXTURES, 0);
  walk(CORPUS, 0);
  return found.sort();
}

/** Builds every seed once into a fresh temp dir. */
export function buildSeeds(): Seed[] {
  const dir = tempDir();
  const seeds: Seed[] = [];
  const shapes: NsysShape[] = ['2020.3', '2020.5', '2022.4', '2024.6', '2026.1'];
  for (const shape of shapes) {
    const path = writeNsysExport(shape, moeContent(shape, shape === '2024.6' ? 24 : 8), { dir, file: `moe-${shape}.sqlite` });
    seeds.push({ name: `synthetic nsys ${shape}`, path, real: false });
  }
  for (const src of realExports()) {
    const path = join(dir, `real-${seeds.length}-${basename(src)}`);
    copyFileSync(src, path);
    // Small real files are mutated whole; big ones (H200 captures) are cut down first.
    if (statSync(path).size > 256 * 1024) slim(path);
    seeds.push({ name: basename(src), path, real: true });
  }
  return seeds;
}
