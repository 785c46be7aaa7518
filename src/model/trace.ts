/**
 * The normalized, columnar in-memory model every reader fills and every analysis reads.
 *
 * All times are integer nanoseconds stored in Float64Array (exact below 2^53). Readers rebase
 * timestamps by `TraceMeta.timeOriginNs` only when raw values would not fit (see DESIGN.md), so
 * in the common case model times equal the nsys timeline's times.
 *
 * Strings (kernel names, API names, NVTX text) live once in `Trace.strings`; columns hold
 * indices into it. -1 in an index column means "not recorded".
 * Processes and threads are referred to by their index in `Trace.processes` / `Trace.threads`
 * (nsys globalPid/globalTid values exceed 2^53 and are kept as decimal strings there).
 */

/**
 * An id column (correlation ids, graph node ids): Int32Array when every value fits one, which
 * CUPTI's 32-bit correlation ids nearly always do, Float64Array otherwise (see narrowIds).
 */
export type IdColumn = Float64Array | IntColumn;

/**
 * An integer column (indices into the trace's tables, small ids, enum values): the narrowest
 * signed typed array that holds every value of it exactly, Int8Array, Int16Array or Int32Array
 * (model/columns.ts narrowInts). Readers fill Int32Array and narrow once a table is read; every
 * value reads back the same, and a million kernels keep about 16 MB less.
 */
export type IntColumn = Int8Array | Int16Array | Int32Array;

export interface KernelColumns {
  count: number;
  start: Float64Array;
  end: Float64Array;
  deviceId: IntColumn;
  streamId: IntColumn;
  correlationId: IdColumn;
  /** index into Trace.processes, -1 if unknown */
  process: IntColumn;
  /** index into Trace.strings */
  shortName: IntColumn;
  /**
   * index into Trace.launchConfigs: grid, block, registers and shared memory. A trace has a few
   * distinct launch configurations, so one index costs 4 bytes a kernel where nine columns cost 36.
   */
  launchConfig: IntColumn;
  /** CUDA graph node id when launched from a graph, -1 otherwise */
  graphNodeId: IdColumn;
  /**
   * index into Trace.strings of the kernel's full (demangled) name, e.g.
   * "void deep_ep::intranode::dispatch<8, 768>(...)" where shortName is "dispatch"; -1 where not
   * recorded. Optional: readers that record no such name leave it out (kernel classes then match
   * shortName alone). Kineto traces name kernels in full: their reader may fill both the same.
   */
  demangledName?: IntColumn;
}

/**
 * What a profiler recorded about the collective a kernel ran, sparse by kernel row: Kineto's
 * NCCL kernel args ("Collective name", "In msg nelems", "Out msg nelems", "dtype",
 * "Process Group Name", "Group size"). Optional on Trace; rows sorted by kernel.
 */
export interface KernelCollectives {
  count: number;
  /** row in Trace.kernels, ascending */
  kernel: Int32Array;
  /** index into Trace.strings of the collective's name ("all_to_allv", "allreduce", ...), -1 unknown */
  collective: Int32Array;
  /** elements in and out, NaN unknown */
  inNelems: Float64Array;
  outNelems: Float64Array;
  /** index into Trace.strings of the element type ("Float", "BFloat16"), -1 unknown */
  dtype: Int32Array;
  /** index into Trace.strings of the process group's name, -1 unknown */
  processGroup: Int32Array;
  /** ranks in the group, -1 unknown */
  groupSize: Int32Array;
}

/** How a kernel was launched; -1 in a field means "not recorded". */
export interface LaunchConfig {
  gridX: number; gridY: number; gridZ: number;
  blockX: number; blockY: number; blockZ: number;
  registersPerThread: number;
  staticSharedMemory: number;
  dynamicSharedMemory: number;
}

export interface RuntimeColumns {
  count: number;
  start: Float64Array;
  end: Float64Array;
  /** index into Trace.threads, -1 unknown; the call's process is its thread's (processOfThread) */
  thread: IntColumn;
  correlationId: IdColumn;
  /** index into Trace.strings of the normalized API name (no `_vNNNN` suffix) */
  name: IntColumn;
  /** 'runtime' (CUDA runtime API) or 'driver' (CUDA driver API) per row: 0 runtime, 1 driver */
  api: Uint8Array;
}

/** CUPTI copy kinds (ENUM_CUDA_MEMCPY_OPER): 1 HtoD, 2 DtoH, 8 DtoD, 10 PtoP, ... */
export const MemcpyKind = { HtoD: 1, DtoH: 2, HtoA: 3, AtoH: 4, AtoA: 5, AtoD: 6, DtoA: 7, DtoD: 8, HtoH: 9, PtoP: 10 } as const;
/**
 * Memory kinds as nsys stores them (ENUM_CUDA_MEM_KIND in every export that has it): 0-based,
 * unlike CUPTI's own CUpti_ActivityMemoryKind where 0 is "unknown".
 */
export const MemoryKind = { Pageable: 0, Pinned: 1, Device: 2, Array: 3, Managed: 4, DeviceStatic: 5, ManagedStatic: 6, Unknown: 7 } as const;

export interface MemcpyColumns {
  count: number;
  start: Float64Array;
  end: Float64Array;
  deviceId: IntColumn;
  contextId: IntColumn;
  streamId: IntColumn;
  correlationId: IdColumn;
  process: IntColumn;
  bytes: Float64Array;
  /** MemcpyKind value, -1 unknown */
  copyKind: IntColumn;
  /** MemoryKind value, -1 unknown */
  srcKind: IntColumn;
  dstKind: IntColumn;
}

export interface MemsetColumns {
  count: number;
  start: Float64Array;
  end: Float64Array;
  deviceId: IntColumn;
  contextId: IntColumn;
  streamId: IntColumn;
  correlationId: IdColumn;
  process: IntColumn;
  bytes: Float64Array;
  memKind: IntColumn;
}

/** CUPTI_ACTIVITY_KIND_SYNCHRONIZATION rows. syncType: 1 event sync, 2 stream wait event, 3 stream sync, 4 context sync. */
export interface SyncColumns {
  count: number;
  start: Float64Array;
  end: Float64Array;
  deviceId: IntColumn;
  contextId: IntColumn;
  /** -1 when not a stream sync */
  streamId: IntColumn;
  correlationId: IdColumn;
  process: IntColumn;
  syncType: IntColumn;
}

export interface NvtxColumns {
  count: number;
  start: Float64Array;
  /** NaN for instantaneous marks */
  end: Float64Array;
  /** index into Trace.strings; -1 if the range has no text */
  text: IntColumn;
  /** index into Trace.threads (the range's process: that thread's) */
  thread: IntColumn;
  /** nsys eventType: 34 mark, 59 push/pop, 60 start/end, 75 domain create, ... */
  eventType: IntColumn;
  domainId: IdColumn;
  /** integer payload when present (e.g. token count), NaN otherwise */
  payload: Float64Array;
}

export interface GpuInfo {
  deviceId: number;
  name: string;
  /** null when the trace does not say */
  smCount: number | null;
  computeCapability: { major: number; minor: number } | null;
  maxThreadsPerSm: number | null;
  maxBlocksPerSm: number | null;
  maxRegistersPerSm: number | null;
  maxRegistersPerBlock: number | null;
  maxSharedMemoryPerSm: number | null;
  maxSharedMemoryPerBlock: number | null;
  threadsPerWarp: number | null;
  /** bytes per second, null if unknown */
  memoryBandwidth: number | null;
  /** the SMs' (maximum) clock in Hz, null if unknown */
  clockRate: number | null;
  totalMemory: number | null;
  busLocation: string | null;
}

export interface ProcessInfo {
  /** nsys globalPid as a decimal string */
  globalPid: string;
  pid: number;
  name: string;
}

export interface ThreadInfo {
  /** nsys globalTid as a decimal string */
  globalTid: string;
  tid: number;
  name: string;
  /** index into Trace.processes */
  process: number;
}

export interface TableInfo {
  name: string;
  rows: number;
}

export interface TraceMeta {
  /** path as given by the user */
  file: string;
  fileSizeBytes: number;
  /** e.g. "2025.3.1.90-..." or null when the export does not record it */
  nsysVersion: string | null;
  /** export schema version, e.g. "3.20.3", or null */
  exportSchemaVersion: string | null;
  /** how the schema was recognised: which metadata table and GPU info shape */
  schemaShape: {
    metadataTable: 'META_DATA_EXPORT' | 'EXPORT_META_DATA' | null;
    gpuTable: 'TARGET_INFO_GPU' | 'TARGET_INFO_GPU_5COL' | 'TARGET_INFO_CUDA_GPU' | null;
    nvtxText: 'inline' | 'StringIds' | 'both' | null;
  };
  /** raw nsys timestamp subtracted from every time in the model (decimal string; "0" normally) */
  timeOriginNs: string;
  /** session start as UTC epoch ns (decimal string) when recorded */
  sessionStartUtcNs: string | null;
  tables: TableInfo[];
  /** what the reader dropped or repaired, one sentence each */
  warnings: string[];
  /**
   * The CUDA_* / PYTORCH_* / NCCL_* variables of the launched process's environment when nsys
   * recorded it (META_DATA_CAPTURE `PROCESS_n:ENVIRONMENT_VARIABLE`, written when nsys launched
   * the program); null when the export does not record one. Absent from traces built otherwise.
   */
  cudaEnvironment?: Record<string, string> | null;
  /** which input format was read and what wrote it */
  source: TraceSource;
}

/**
 * The input's format and producer: 'nsys-sqlite' (an export), 'nsys-rep' (a .nsys-rep/.qdrep
 * exported on the fly), 'kineto' (PyTorch profiler / Chrome trace JSON). `producer` is one line
 * for people: "nsys 2025.3.1.90", "PyTorch profiler (Kineto), trace schema 1, CUPTI 130001".
 */
export interface TraceSource {
  format: 'nsys-sqlite' | 'nsys-rep' | 'kineto';
  producer: string;
}

export interface ApiCallTotal {
  /** index into Trace.strings of the normalized API name */
  name: number;
  count: number;
  /** summed end - start, ns */
  total: number;
}

/**
 * How streams wait for each other (issue 15): each cudaEventRecord (CUPTI_ACTIVITY_KIND_CUDA_EVENT)
 * and each cudaStreamWaitEvent (synchronization records of type 2), with the eventSyncId nsys uses
 * to link a wait to the record it waits for (with eventId: a wait's record has the same pair).
 * Exports before CUDA_EVENT existed (2020.x) have waits without records.
 */
export interface CudaEventLinks {
  records: EventLinkColumns;
  waits: EventLinkColumns;
}

export interface EventLinkColumns {
  count: number;
  deviceId: Int32Array;
  /** the recording stream (records) or the waiting stream (waits) */
  streamId: Int32Array;
  /** of the cudaEventRecord / cudaStreamWaitEvent call */
  correlationId: Float64Array;
  /** index into Trace.processes, -1 unknown */
  process: Int32Array;
  eventId: Float64Array;
  /** NaN when not recorded */
  eventSyncId: Float64Array;
}

/** A stream as TARGET_INFO_CUDA_STREAM describes it. */
export interface StreamInfo {
  streamId: number;
  /** the OS pid of its process */
  pid: number;
  /** CUPTI stream type: the legacy default (NULL) stream serializes with every blocking stream */
  flag: 'default' | 'non-blocking' | 'null' | 'unknown';
  priority: number;
}

export interface Trace {
  meta: TraceMeta;
  /** stream waits and event records, when the reader read them (issue 15) */
  cudaEvents?: CudaEventLinks;
  /** stream descriptions, when the export has them */
  streamInfo?: StreamInfo[];
  strings: string[];
  kernels: KernelColumns;
  /** the distinct launch configurations of the kernels, in order of first appearance in the export */
  launchConfigs: LaunchConfig[];
  /** null when the export has no kernel table (CUDA kernel tracing off or unsupported) */
  hasKernelTable: boolean;
  /** collective args of communication kernels, when the trace records them (Kineto NCCL kernels) */
  collectives?: KernelCollectives;
  runtime: RuntimeColumns;
  /**
   * Every CUDA API call by name (index into strings), with count and total time, in order of
   * first call; absent when `runtime` holds every call. The reader may keep in `runtime` only
   * the calls the analyses read (readNsysSqlite's keepApiCall), while this counts them all.
   */
  apiSummary?: ApiCallTotal[];
  memcpy: MemcpyColumns;
  memset: MemsetColumns;
  sync: SyncColumns;
  nvtx: NvtxColumns;
  gpus: GpuInfo[];
  processes: ProcessInfo[];
  threads: ThreadInfo[];
}

/**
 * The process index of each thread, shifted by one so that thread -1 (unknown) has process -1:
 * CUDA API call i ran in process `processOfThread(trace)[trace.runtime.thread[i] + 1]`.
 */
export function processOfThread(trace: Pick<Trace, 'threads'>): Int32Array {
  const out = new Int32Array(trace.threads.length + 1);
  out[0] = -1;
  trace.threads.forEach((t, i) => { out[i + 1] = t.process; });
  return out;
}
