/**
 * The small tables around the events: StringIds, processes, threads and GPU descriptions.
 * nsys globalPid/globalTid pack hwId|vmId|pid|tid into 64 bits and may pass 2^53, so SQL hands
 * over `globalTid >> 24` (the process key, always exact as a double) and `globalTid & 0xFFFFFF`
 * (the tid); decimal strings for the model are rebuilt from those with BigInt.
 */
import type Database from 'better-sqlite3';
import { StringTable, emptyGpu } from '../model/build.js';
import type { GpuInfo, ProcessInfo, ThreadInfo } from '../model/trace.js';
import { has, type NsysSchema } from './schema.js';

const API_VERSION_SUFFIX = /_v\d+$/;

/** Trace.strings, filled on demand from StringIds so the model holds only strings it uses. */
export class Strings {
  readonly table = new StringTable();
  private readonly stringIds = new Map<number, string>();
  private readonly cache = new Map<number, number>();
  private readonly apiCache = new Map<number, number>();
  missing = 0;

  constructor(db: Database.Database, schema: NsysSchema) {
    if (!has(schema, 'StringIds', 'id') || !has(schema, 'StringIds', 'value')) return;
    for (const [id, value] of db.prepare('SELECT id, value FROM StringIds').raw(true).iterate() as IterableIterator<[number, string | null]>) {
      if (value !== null) this.stringIds.set(id, String(value));
    }
  }

  intern(s: string): number { return this.table.intern(s); }

  /** Model index for a StringIds id; -1 when the id is NULL or missing from StringIds. */
  fromStringId(id: number): number {
    if (id === -1) return -1;
    let i = this.cache.get(id);
    if (i === undefined) {
      const s = this.stringIds.get(id);
      if (s === undefined) this.missing++;
      i = s === undefined ? -1 : this.table.intern(s);
      this.cache.set(id, i);
    }
    return i;
  }

  /** The CUDA API name of a StringIds id, without its `_vNNNN` version suffix; nothing is interned. */
  apiName(id: number): string | undefined {
    return this.stringIds.get(id)?.replace(API_VERSION_SUFFIX, '');
  }

  /** Like fromStringId, with the `_vNNNN` version suffix of CUDA API names removed. */
  apiNameFromStringId(id: number): number {
    let i = this.apiCache.get(id);
    if (i === undefined) {
      const s = this.apiName(id);
      if (s === undefined && id !== -1) this.missing++;
      i = s === undefined ? -1 : this.table.intern(s);
      this.apiCache.set(id, i);
    }
    return i;
  }

  /** Driver API entry points are `cu*` (cuLaunchKernel); runtime ones `cuda*`. */
  isDriverApi(index: number): boolean {
    const s = index >= 0 ? this.table.strings[index] : '';
    return s.startsWith('cu') && !s.startsWith('cuda');
  }

  value(id: number): string | undefined { return this.stringIds.get(id); }
}

function low24(key: number): number {
  return Number(BigInt.asUintN(24, BigInt(key)));
}

/** A Map key for a thread: a number while process key and tid fit side by side in a double. */
export function threadKey(pidKey: number, tid: number): number | string {
  const packed = pidKey * 16777216 + tid;
  return Number.isSafeInteger(packed) ? packed : `${pidKey}:${tid}`;
}

/**
 * Numbers [pidKey, tid] pairs in order of first use: pair t is keys[2t], keys[2t + 1]. A run of
 * rows on one thread (the usual order) costs one comparison each.
 */
export class ThreadNumbering {
  readonly keys: number[] = [];
  private readonly of = new Map<number | string, number>();
  private lastPid = NaN;
  private lastTid = NaN;
  private last = -1;

  id(pid: number, tid: number): number {
    if (pid === this.lastPid && tid === this.lastTid) return this.last;
    this.lastPid = pid;
    this.lastTid = tid;
    const key = threadKey(pid, tid);
    let t = this.of.get(key);
    if (t === undefined) {
      t = this.keys.length >> 1;
      this.of.set(key, t);
      this.keys.push(pid, tid);
    }
    this.last = t;
    return t;
  }
}

/** Processes and threads in order of first use by an event, so the model lists only those that did something. */
export class Entities {
  readonly processes: ProcessInfo[] = [];
  readonly threads: ThreadInfo[] = [];
  private readonly processIndex = new Map<number, number>();
  private readonly threadIndex = new Map<number | string, number>();

  constructor(readonly strings: Strings) {}

  /** Index of the process with key globalPid >> 24. */
  process(pidKey: number): number {
    let i = this.processIndex.get(pidKey);
    if (i === undefined) {
      i = this.processes.length;
      const pid = low24(pidKey);
      this.processes.push({ globalPid: (BigInt(pidKey) << 24n).toString(), pid, name: `pid ${pid}` });
      this.processIndex.set(pidKey, i);
    }
    return i;
  }

  /** Index of the process with key globalPid >> 24 when some event has named it already; nothing is added. */
  knownProcess(pidKey: number): number | undefined {
    return this.processIndex.get(pidKey);
  }

  thread(pidKey: number, tid: number): number {
    const key = threadKey(pidKey, tid);
    let i = this.threadIndex.get(key);
    if (i === undefined) {
      i = this.threads.length;
      this.threads.push({
        globalTid: ((BigInt(pidKey) << 24n) + BigInt(tid)).toString(),
        tid, name: `tid ${tid}`, process: this.process(pidKey),
      });
      this.threadIndex.set(key, i);
    }
    return i;
  }

  /**
   * Names from PROCESSES and ThreadNames. Exports before 2022 have no PROCESSES table; there a
   * process is named after its main thread (tid = pid), which Linux names after the executable.
   */
  resolveNames(db: Database.Database, schema: NsysSchema): void {
    const threadNames = new Map<string, string>();
    if (has(schema, 'ThreadNames', 'globalTid') && has(schema, 'ThreadNames', 'nameId')) {
      const sql = 'SELECT globalTid >> 24, globalTid & 16777215, nameId FROM ThreadNames WHERE globalTid IS NOT NULL';
      for (const [pk, tid, nameId] of db.prepare(sql).raw(true).iterate() as IterableIterator<[number, number, number]>) {
        const name = this.strings.value(nameId);
        if (name !== undefined) threadNames.set(`${pk}:${tid}`, name);
      }
    }
    const processNames = new Map<number, string>();
    if (has(schema, 'PROCESSES', 'globalPid') && has(schema, 'PROCESSES', 'name')) {
      const sql = 'SELECT globalPid >> 24, name FROM PROCESSES WHERE globalPid IS NOT NULL AND name IS NOT NULL';
      for (const [pk, name] of db.prepare(sql).raw(true).iterate() as IterableIterator<[number, string]>) {
        processNames.set(pk, String(name));
      }
    }
    for (const p of this.processes) {
      const pk = Number(BigInt(p.globalPid) >> 24n);
      p.name = processNames.get(pk) ?? threadNames.get(`${pk}:${p.pid}`) ?? p.name;
    }
    for (const t of this.threads) {
      const pk = Number(BigInt(t.globalTid) >> 24n);
      t.name = threadNames.get(`${pk}:${t.tid}`) ?? t.name;
    }
  }
}

type Row = Record<string, unknown>;
const num = (v: unknown): number | null => (typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : null);
const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
const product = (a: number | null, b: number | null): number | null => (a === null || b === null ? null : a * b);

/** v × scale when v > 0 (exports write 0 for a clock they did not read), else null */
const positive = (v: number | null, scale: number): number | null => (v !== null && v > 0 ? v * scale : null);

/** 2021.2+ TARGET_INFO_GPU: one row per GPU, keyed by `id` (the deviceId of the activity tables). */
function fromTargetInfoGpu(r: Row): GpuInfo {
  const major = num(r.computeMajor); const minor = num(r.computeMinor);
  return {
    ...emptyGpu(num(r.id) ?? 0),
    name: str(r.name) ?? `GPU ${num(r.id) ?? 0}`,
    smCount: num(r.smCount),
    computeCapability: major === null || minor === null ? null : { major, minor },
    maxThreadsPerSm: product(num(r.maxWarpsPerSm), num(r.threadsPerWarp)),
    maxBlocksPerSm: num(r.maxBlocksPerSm),
    maxRegistersPerSm: num(r.maxRegistersPerSm),
    maxRegistersPerBlock: num(r.maxRegistersPerBlock),
    maxSharedMemoryPerSm: num(r.maxShmemPerSm),
    maxSharedMemoryPerBlock: num(r.maxShmemPerBlock),
    threadsPerWarp: num(r.threadsPerWarp),
    memoryBandwidth: num(r.memoryBandwidth),
    clockRate: positive(num(r.clockRate), 1),
    totalMemory: num(r.totalMemory),
    busLocation: str(r.busLocation),
  };
}

/** 2020.x TARGET_INFO_CUDA_GPU (CUPTI device record; bandwidth in kB/s, one row per device and process). */
function fromTargetInfoCudaGpu(r: Row): GpuInfo {
  const major = num(r.computeCapabilityMajor); const minor = num(r.computeCapabilityMinor);
  const kbps = num(r.globalMemoryBandwidth);
  return {
    ...emptyGpu(num(r.deviceId) ?? 0),
    name: str(r.name) ?? `GPU ${num(r.deviceId) ?? 0}`,
    smCount: num(r.numMultiprocessors),
    computeCapability: major === null || minor === null ? null : { major, minor },
    maxThreadsPerSm: product(num(r.maxWarpsPerMultiprocessor), num(r.numThreadsPerWarp)),
    maxBlocksPerSm: num(r.maxBlocksPerMultiprocessor),
    maxRegistersPerSm: num(r.maxRegistersPerMultiprocessor),
    maxRegistersPerBlock: num(r.maxRegistersPerBlock),
    maxSharedMemoryPerSm: num(r.maxSharedMemoryPerMultiprocessor),
    maxSharedMemoryPerBlock: num(r.maxSharedMemoryPerBlock),
    threadsPerWarp: num(r.numThreadsPerWarp),
    memoryBandwidth: kbps === null ? null : kbps * 1000,
    clockRate: positive(num(r.coreClockRate), 1000),
    totalMemory: num(r.globalMemorySize),
    busLocation: str(r.pciBusId),
  };
}

/**
 * GPU descriptions, merged from whichever tables the export has: the 2020.5 5-column
 * TARGET_INFO_GPU names GPUs while TARGET_INFO_CUDA_GPU holds their limits. In 2025+ exports
 * TARGET_INFO_CUDA_DEVICE gives the SM count CUDA saw (a MIG slice has fewer SMs than its GPU).
 */
export function readGpus(db: Database.Database, schema: NsysSchema): GpuInfo[] {
  const byId = new Map<number, GpuInfo>();
  const rows = (t: string): Row[] => (has(schema, t) ? db.prepare(`SELECT * FROM ${t}`).all() as Row[] : []);
  if (schema.gpuTable === 'TARGET_INFO_GPU') {
    for (const r of rows('TARGET_INFO_GPU')) {
      const g = fromTargetInfoGpu(r);
      if (!byId.has(g.deviceId)) byId.set(g.deviceId, g);
    }
  }
  for (const r of rows('TARGET_INFO_CUDA_GPU')) {
    const g = fromTargetInfoCudaGpu(r);
    if (!byId.has(g.deviceId)) byId.set(g.deviceId, g);
  }
  if (schema.gpuTable === 'TARGET_INFO_GPU_5COL') {
    for (const r of rows('TARGET_INFO_GPU')) {
      const id = num(r.deviceId) ?? 0;
      const g = byId.get(id) ?? emptyGpu(id);
      g.name = str(r.name) ?? g.name;
      g.busLocation = str(r.busLocation) ?? g.busLocation;
      byId.set(id, g);
    }
  }
  if (has(schema, 'TARGET_INFO_CUDA_DEVICE', 'numMultiprocessors')) {
    for (const r of rows('TARGET_INFO_CUDA_DEVICE')) {
      const g = byId.get(num(r.gpuId) ?? num(r.cudaId) ?? -1);
      const sms = num(r.numMultiprocessors);
      if (g && sms !== null) g.smCount = sms;
    }
  }
  return [...byId.values()].sort((a, b) => a.deviceId - b.deviceId);
}
