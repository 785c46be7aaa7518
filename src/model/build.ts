/**
 * Builds a Trace from plain row objects. Used by tests (tiny inline traces) and by tools that
 * synthesise traces; readers fill the typed arrays directly.
 */
import type {
  GpuInfo, IntColumn, KernelCollectives, KernelColumns, LaunchConfig, MemcpyColumns, MemsetColumns, NvtxColumns, ProcessInfo, RuntimeColumns,
  SyncColumns, ThreadInfo, Trace, TraceMeta,
} from './trace.js';

export interface KernelRow {
  start: number; end: number; deviceId?: number; streamId?: number;
  correlationId?: number; process?: number; name?: string;
  grid?: [number, number, number]; block?: [number, number, number];
  registersPerThread?: number; staticSharedMemory?: number; dynamicSharedMemory?: number;
  graphNodeId?: number;
  /** full name; sets KernelColumns.demangledName when any row has one */
  demangledName?: string;
  /** collective args (Trace.collectives) */
  collective?: { name?: string; inNelems?: number; outNelems?: number; dtype?: string; processGroup?: string; groupSize?: number };
}
/**
 * A CUDA API call. Its process is its thread's: give `thread`, or `process` alone for the first
 * thread of that process (made up, when the trace rows list no threads).
 */
export interface RuntimeRow {
  start: number; end: number; name: string; thread?: number; process?: number;
  correlationId?: number; api?: 'runtime' | 'driver';
}
export interface MemcpyRow {
  start: number; end: number; deviceId?: number; contextId?: number; streamId?: number;
  correlationId?: number; process?: number; bytes: number; copyKind: number;
  srcKind?: number; dstKind?: number;
}
export interface MemsetRow {
  start: number; end: number; deviceId?: number; contextId?: number; streamId?: number;
  correlationId?: number; process?: number; bytes: number; memKind?: number;
}
export interface SyncRow {
  start: number; end: number; deviceId?: number; contextId?: number; streamId?: number;
  correlationId?: number; process?: number; syncType: number;
}
export interface NvtxRow {
  start: number; end?: number; text?: string; thread?: number;
  eventType?: number; domainId?: number; payload?: number;
}
export interface TraceRows {
  kernels?: KernelRow[];
  runtime?: RuntimeRow[];
  memcpy?: MemcpyRow[];
  memset?: MemsetRow[];
  sync?: SyncRow[];
  nvtx?: NvtxRow[];
  gpus?: Partial<GpuInfo>[];
  processes?: ProcessInfo[];
  threads?: ThreadInfo[];
  hasKernelTable?: boolean;
  meta?: Partial<TraceMeta>;
}

export class StringTable {
  readonly strings: string[] = [];
  private readonly index = new Map<string, number>();
  constructor(initial: string[] = []) {
    for (const s of initial) this.intern(s);
  }
  intern(s: string): number {
    let i = this.index.get(s);
    if (i === undefined) {
      i = this.strings.length;
      this.strings.push(s);
      this.index.set(s, i);
    }
    return i;
  }
}

/** LaunchConfig's fields, in the order LaunchConfigTable.intern takes them. */
export const LAUNCH_FIELDS = ['gridX', 'gridY', 'gridZ', 'blockX', 'blockY', 'blockZ', 'registersPerThread',
  'staticSharedMemory', 'dynamicSharedMemory'] as const;

/**
 * Trace.launchConfigs being built: each distinct configuration once, in order of first intern.
 * Kernels of an MoE layer switch configuration nearly every launch, so a million kernels mean a
 * million lookups: an open-addressing table in typed arrays, where a Map keyed by the hash made
 * a heap number per lookup.
 */
export class LaunchConfigTable {
  readonly configs: LaunchConfig[] = [];
  /** the configurations' values, LAUNCH_FIELDS.length per configuration: compared without property lookups */
  private values = new Int32Array(LAUNCH_FIELDS.length * 16);
  /** configuration index + 1 per slot, 0 when empty; a configuration sits at hash & mask or after it */
  private slots = new Int32Array(64);
  private last = -1;
  private readonly scratch = new Int32Array(LAUNCH_FIELDS.length);

  private same(c: number, v: Int32Array): boolean {
    const at = c * v.length;
    for (let f = 0; f < v.length; f++) if (this.values[at + f] !== v[f]) return false;
    return true;
  }

  private static hash(v: Int32Array, at = 0): number {
    let h = 17;
    for (let f = 0; f < LAUNCH_FIELDS.length; f++) h = (Math.imul(h, 31) + v[at + f]) | 0;
    return h;
  }

  /** The slot of configuration values v: where it is, or the empty slot where it goes. */
  private slotOf(v: Int32Array): number {
    const mask = this.slots.length - 1;
    for (let slot = LaunchConfigTable.hash(v) & mask; ; slot = (slot + 1) & mask) {
      const c = this.slots[slot] - 1;
      if (c < 0 || this.same(c, v)) return slot;
    }
  }

  /**
   * Index of the configuration with the values `values` (LAUNCH_FIELDS order), added if new.
   * Values are stored as 32-bit integers (ToInt32, as the columns this table replaced stored them).
   */
  intern(values: ArrayLike<number>): number {
    const v = this.scratch;
    const n = v.length;
    for (let f = 0; f < n; f++) v[f] = values[f] | 0;
    // kernels come in runs of one configuration: try the last one first
    if (this.last >= 0 && this.same(this.last, v)) return this.last;
    const slot = this.slotOf(v);
    if (this.slots[slot] > 0) return (this.last = this.slots[slot] - 1);
    const c = this.configs.length;
    if ((c + 1) * n > this.values.length) {
      const grown = new Int32Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values.set(v, c * n);
    const config = {} as LaunchConfig;
    LAUNCH_FIELDS.forEach((f, j) => { config[f] = v[j]; });
    this.configs.push(config);
    this.slots[slot] = c + 1;
    // at most half full, so a lookup ends at an empty slot soon
    if (2 * this.configs.length > this.slots.length) this.rehash();
    return (this.last = c);
  }

  private rehash(): void {
    this.slots = new Int32Array(this.slots.length * 2);
    const n = LAUNCH_FIELDS.length;
    for (let c = 0; c < this.configs.length; c++) {
      this.slots[this.slotOf(this.values.subarray(c * n, (c + 1) * n))] = c + 1;
    }
  }
}

// id columns narrow and widen by model/columns.ts (technique 3 there)
import { narrowTrace } from './columns.js';
export { fitsInt32, narrowIds } from './columns.js';

/** The array type of id columns (IdColumn): readers start with Int32Array and widen when a value needs it. */
export type IdArray = new (n: number) => Float64Array | Int32Array;

type Wide<X> = X extends Float64Array ? X : X extends IntColumn ? Int32Array : X;
/**
 * A table's columns as readers and buildTrace fill them: every integer column an Int32Array, every
 * id column an Int32Array or a Float64Array; narrowed once filled (model/columns.ts narrowTable).
 */
export type Filling<T> = { [K in keyof T]: Wide<T[K]> };

export function emptyKernels(n = 0, Ids: IdArray = Float64Array): Filling<KernelColumns> {
  return {
    count: n, start: new Float64Array(n), end: new Float64Array(n), deviceId: new Int32Array(n),
    streamId: new Int32Array(n), correlationId: new Ids(n),
    process: new Int32Array(n), shortName: new Int32Array(n),
    launchConfig: new Int32Array(n), graphNodeId: new Ids(n),
  };
}
export function emptyRuntime(n = 0, Ids: IdArray = Float64Array): Filling<RuntimeColumns> {
  return {
    count: n, start: new Float64Array(n), end: new Float64Array(n), thread: new Int32Array(n),
    correlationId: new Ids(n), name: new Int32Array(n),
    api: new Uint8Array(n),
  };
}
export function emptyMemcpy(n = 0): Filling<MemcpyColumns> {
  return {
    count: n, start: new Float64Array(n), end: new Float64Array(n), deviceId: new Int32Array(n),
    contextId: new Int32Array(n), streamId: new Int32Array(n), correlationId: new Float64Array(n),
    process: new Int32Array(n), bytes: new Float64Array(n), copyKind: new Int32Array(n),
    srcKind: new Int32Array(n), dstKind: new Int32Array(n),
  };
}
export function emptyMemset(n = 0): Filling<MemsetColumns> {
  return {
    count: n, start: new Float64Array(n), end: new Float64Array(n), deviceId: new Int32Array(n),
    contextId: new Int32Array(n), streamId: new Int32Array(n), correlationId: new Float64Array(n),
    process: new Int32Array(n), bytes: new Float64Array(n), memKind: new Int32Array(n),
  };
}
export function emptySync(n = 0): Filling<SyncColumns> {
  return {
    count: n, start: new Float64Array(n), end: new Float64Array(n), deviceId: new Int32Array(n),
    contextId: new Int32Array(n), streamId: new Int32Array(n), correlationId: new Float64Array(n),
    process: new Int32Array(n), syncType: new Int32Array(n),
  };
}
export function emptyNvtx(n = 0, Ids: IdArray = Float64Array): Filling<NvtxColumns> {
  return {
    count: n, start: new Float64Array(n), end: new Float64Array(n), text: new Int32Array(n),
    thread: new Int32Array(n), eventType: new Int32Array(n),
    domainId: new Ids(n), payload: new Float64Array(n),
  };
}

export function emptyGpu(deviceId: number): GpuInfo {
  return {
    deviceId, name: `GPU ${deviceId}`, smCount: null, computeCapability: null, maxThreadsPerSm: null,
    maxBlocksPerSm: null, maxRegistersPerSm: null, maxRegistersPerBlock: null,
    maxSharedMemoryPerSm: null, maxSharedMemoryPerBlock: null, threadsPerWarp: null,
    memoryBandwidth: null, clockRate: null, totalMemory: null, busLocation: null,
  };
}

export function emptyMeta(file = '<memory>'): TraceMeta {
  return {
    file, fileSizeBytes: 0, nsysVersion: null, exportSchemaVersion: null,
    schemaShape: { metadataTable: null, gpuTable: null, nvtxText: null },
    timeOriginNs: '0', sessionStartUtcNs: null, tables: [], warnings: [],
    source: { format: 'nsys-sqlite', producer: 'nsys (version not recorded)' },
  };
}

/** The thread index of a call (RuntimeRow), adding a thread for its process when the rows list none. */
function threadOfCall(r: RuntimeRow, threads: ThreadInfo[], listed: boolean): number {
  if (r.thread !== undefined) {
    if (r.process !== undefined && threads[r.thread]?.process !== r.process) {
      throw new Error(`buildTrace: a call on thread ${r.thread} says process ${r.process}, but that thread belongs to process ${threads[r.thread]?.process}`);
    }
    return r.thread;
  }
  const process = r.process ?? 0;
  const t = threads.findIndex((th) => th.process === process);
  if (t >= 0) return t;
  if (listed) throw new Error(`buildTrace: a call of process ${process}, which no listed thread belongs to`);
  const id = threads.length + 1;
  return threads.push({ globalTid: String(id), tid: id, name: `tid ${id}`, process }) - 1;
}

/** Orders rows by start (then end) as readers do, so analyses may rely on sorted columns. */
function sorted<T extends { start: number; end?: number }>(rows: T[]): T[] {
  return [...rows].sort((a, b) => a.start - b.start || (a.end ?? a.start) - (b.end ?? b.start));
}

function collectivesOf(ks: KernelRow[], st: StringTable): KernelCollectives | undefined {
  const rows = ks.flatMap((k, i) => (k.collective ? [i] : []));
  if (rows.length === 0) return undefined;
  const str = (v: string | undefined): number => (v === undefined ? -1 : st.intern(v));
  const c = (i: number): NonNullable<KernelRow['collective']> => ks[i].collective!;
  return {
    count: rows.length,
    kernel: Int32Array.from(rows),
    collective: Int32Array.from(rows, (i) => str(c(i).name)),
    inNelems: Float64Array.from(rows, (i) => c(i).inNelems ?? NaN),
    outNelems: Float64Array.from(rows, (i) => c(i).outNelems ?? NaN),
    dtype: Int32Array.from(rows, (i) => str(c(i).dtype)),
    processGroup: Int32Array.from(rows, (i) => str(c(i).processGroup)),
    groupSize: Int32Array.from(rows, (i) => c(i).groupSize ?? -1),
  };
}

export function buildTrace(rows: TraceRows): Trace {
  const st = new StringTable();
  const ks = sorted(rows.kernels ?? []);
  const kernels = emptyKernels(ks.length);
  const launchConfigs = new LaunchConfigTable();
  ks.forEach((k, i) => {
    kernels.start[i] = k.start; kernels.end[i] = k.end;
    kernels.deviceId[i] = k.deviceId ?? 0;
    kernels.streamId[i] = k.streamId ?? 7; kernels.correlationId[i] = k.correlationId ?? -1;
    kernels.process[i] = k.process ?? 0;
    kernels.shortName[i] = st.intern(k.name ?? 'kernel');
    const g = k.grid ?? [1, 1, 1]; const b = k.block ?? [128, 1, 1];
    kernels.launchConfig[i] = launchConfigs.intern([...g, ...b, k.registersPerThread ?? 32,
      k.staticSharedMemory ?? 0, k.dynamicSharedMemory ?? 0]);
    kernels.graphNodeId[i] = k.graphNodeId ?? -1;
  });
  if (ks.some((k) => k.demangledName !== undefined)) {
    kernels.demangledName = Int32Array.from(ks, (k) => (k.demangledName === undefined ? -1 : st.intern(k.demangledName)));
  }
  const collectives = collectivesOf(ks, st);
  const rs = sorted(rows.runtime ?? []);
  const runtime = emptyRuntime(rs.length);
  const threads = rows.threads ? [...rows.threads] : [{ globalTid: '1', tid: 1, name: 'main', process: 0 }];
  rs.forEach((r, i) => {
    runtime.start[i] = r.start; runtime.end[i] = r.end; runtime.thread[i] = threadOfCall(r, threads, rows.threads !== undefined);
    runtime.correlationId[i] = r.correlationId ?? -1;
    runtime.name[i] = st.intern(r.name); runtime.api[i] = r.api === 'driver' ? 1 : 0;
  });
  const ms = sorted(rows.memcpy ?? []);
  const memcpy = emptyMemcpy(ms.length);
  ms.forEach((m, i) => {
    memcpy.start[i] = m.start; memcpy.end[i] = m.end; memcpy.deviceId[i] = m.deviceId ?? 0;
    memcpy.contextId[i] = m.contextId ?? 1; memcpy.streamId[i] = m.streamId ?? 7;
    memcpy.correlationId[i] = m.correlationId ?? -1; memcpy.process[i] = m.process ?? 0;
    memcpy.bytes[i] = m.bytes; memcpy.copyKind[i] = m.copyKind;
    memcpy.srcKind[i] = m.srcKind ?? -1; memcpy.dstKind[i] = m.dstKind ?? -1;
  });
  const ss = sorted(rows.memset ?? []);
  const memset = emptyMemset(ss.length);
  ss.forEach((m, i) => {
    memset.start[i] = m.start; memset.end[i] = m.end; memset.deviceId[i] = m.deviceId ?? 0;
    memset.contextId[i] = m.contextId ?? 1; memset.streamId[i] = m.streamId ?? 7;
    memset.correlationId[i] = m.correlationId ?? -1; memset.process[i] = m.process ?? 0;
    memset.bytes[i] = m.bytes; memset.memKind[i] = m.memKind ?? -1;
  });
  const ys = sorted(rows.sync ?? []);
  const sync = emptySync(ys.length);
  ys.forEach((y, i) => {
    sync.start[i] = y.start; sync.end[i] = y.end; sync.deviceId[i] = y.deviceId ?? 0;
    sync.contextId[i] = y.contextId ?? 1; sync.streamId[i] = y.streamId ?? -1;
    sync.correlationId[i] = y.correlationId ?? -1; sync.process[i] = y.process ?? 0;
    sync.syncType[i] = y.syncType;
  });
  const ns = sorted(rows.nvtx ?? []);
  const nvtx = emptyNvtx(ns.length);
  ns.forEach((n, i) => {
    nvtx.start[i] = n.start; nvtx.end[i] = n.end ?? NaN;
    nvtx.text[i] = n.text === undefined ? -1 : st.intern(n.text);
    nvtx.thread[i] = n.thread ?? 0;
    nvtx.eventType[i] = n.eventType ?? 59; nvtx.domainId[i] = n.domainId ?? 0;
    nvtx.payload[i] = n.payload ?? NaN;
  });
  const deviceIds = new Set<number>([...kernels.deviceId]);
  const gpus: GpuInfo[] = (rows.gpus ?? [...deviceIds].map((d) => ({ deviceId: d })))
    .map((g) => ({ ...emptyGpu(g.deviceId ?? 0), ...g }));
  return narrowTrace({
    meta: { ...emptyMeta(), ...rows.meta },
    strings: st.strings,
    kernels, launchConfigs: launchConfigs.configs, hasKernelTable: rows.hasKernelTable ?? true, runtime, memcpy, memset, sync, nvtx, gpus,
    ...(collectives ? { collectives } : {}),
    processes: rows.processes ?? [{ globalPid: '1', pid: 1, name: 'app' }],
    threads,
  });
}
