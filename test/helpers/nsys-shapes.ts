/**
 * Column lists of the nsys export tables the reader uses, copied from real exports in
 * ../shared/nsys-corpus (`sqlite3 FILE .schema`, comments and REFERENCES clauses dropped).
 * Suffix = the nsys version the list was taken from. The 2020.3 shape is reconstructed: the
 * 2020.5 lists without TARGET_INFO_GPU, without RUNTIME.callchainId (MANIFEST.md: "missing in
 * 2020.3") and without the two optional per-SM columns at the end of TARGET_INFO_CUDA_GPU.
 */

const KERNEL_2020_5 =
  'start INTEGER NOT NULL, end INTEGER NOT NULL, deviceId INTEGER NOT NULL, '
  + 'contextId INTEGER NOT NULL, streamId INTEGER NOT NULL, correlationId INTEGER, '
  + 'globalPid INTEGER, demangledName INTEGER NOT NULL, shortName INTEGER NOT NULL, '
  + 'launchType INTEGER, cacheConfig INTEGER, registersPerThread INTEGER NOT NULL, '
  + 'gridX INTEGER NOT NULL, gridY INTEGER NOT NULL, gridZ INTEGER NOT NULL, '
  + 'blockX INTEGER NOT NULL, blockY INTEGER NOT NULL, blockZ INTEGER NOT NULL, '
  + 'staticSharedMemory INTEGER NOT NULL, dynamicSharedMemory INTEGER NOT NULL, '
  + 'localMemoryPerThread INTEGER NOT NULL, localMemoryTotal INTEGER NOT NULL, '
  + 'gridId INTEGER NOT NULL, sharedMemoryExecuted INTEGER, graphNodeId INTEGER, '
  + 'sharedMemoryLimitConfig INTEGER';
const RUNTIME_2020_5 =
  'start INTEGER NOT NULL, end INTEGER NOT NULL, eventClass INTEGER NOT NULL, globalTid INTEGER, '
  + 'correlationId INTEGER, nameId INTEGER NOT NULL, returnValue INTEGER NOT NULL, '
  + 'callchainId INTEGER';
const MEMCPY_2020_5 =
  'start INTEGER NOT NULL, end INTEGER NOT NULL, deviceId INTEGER NOT NULL, '
  + 'contextId INTEGER NOT NULL, streamId INTEGER NOT NULL, correlationId INTEGER, '
  + 'globalPid INTEGER, bytes INTEGER NOT NULL, copyKind INTEGER NOT NULL, deprecatedSrcId INTEGER, '
  + 'srcKind INTEGER, dstKind INTEGER, srcDeviceId INTEGER, srcContextId INTEGER, '
  + 'dstDeviceId INTEGER, dstContextId INTEGER, migrationCause INTEGER, graphNodeId INTEGER';
const SYNC_2020_5 =
  'start INTEGER NOT NULL, end INTEGER NOT NULL, deviceId INTEGER NOT NULL, '
  + 'contextId INTEGER NOT NULL, streamId INTEGER NOT NULL, correlationId INTEGER, '
  + 'globalPid INTEGER, syncType INTEGER NOT NULL, eventId INTEGER NOT NULL';
const STRING_IDS_2020_5 =
  'id INTEGER NOT NULL PRIMARY KEY, value TEXT NOT NULL';
const THREAD_NAMES_2020_5 =
  'nameId INTEGER NOT NULL, priority INTEGER, globalTid INTEGER';
const GPU_2020_5 =
  'vmId INTEGER NOT NULL, deviceId INTEGER NOT NULL, name TEXT, busLocation TEXT, '
  + 'isDiscrete INTEGER';
const CUDA_GPU_2020_5 =
  'vmId INTEGER NOT NULL, name TEXT NOT NULL, pciBusId TEXT, '
  + 'globalMemoryBandwidth INTEGER NOT NULL, globalMemorySize INTEGER NOT NULL, '
  + 'constantMemorySize INTEGER NOT NULL, l2CacheSize INTEGER NOT NULL, '
  + 'numThreadsPerWarp INTEGER NOT NULL, coreClockRate INTEGER NOT NULL, '
  + 'numMemcpyEngines INTEGER NOT NULL, numMultiprocessors INTEGER NOT NULL, '
  + 'maxIPC INTEGER NOT NULL, maxWarpsPerMultiprocessor INTEGER NOT NULL, '
  + 'maxBlocksPerMultiprocessor INTEGER NOT NULL, maxRegistersPerBlock INTEGER NOT NULL, '
  + 'maxSharedMemoryPerBlock INTEGER NOT NULL, maxThreadsPerBlock INTEGER NOT NULL, '
  + 'maxBlockDimX INTEGER NOT NULL, maxBlockDimY INTEGER NOT NULL, maxBlockDimZ INTEGER NOT NULL, '
  + 'maxGridDimX INTEGER NOT NULL, maxGridDimY INTEGER NOT NULL, maxGridDimZ INTEGER NOT NULL, '
  + 'computeCapabilityMajor INTEGER NOT NULL, computeCapabilityMinor INTEGER NOT NULL, '
  + 'deviceId INTEGER NOT NULL, pid INTEGER, maxSharedMemoryPerMultiprocessor INTEGER, '
  + 'maxRegistersPerMultiprocessor INTEGER';
const KERNEL_2022_4 =
  'start INTEGER NOT NULL, end INTEGER NOT NULL, deviceId INTEGER NOT NULL, '
  + 'contextId INTEGER NOT NULL, streamId INTEGER NOT NULL, correlationId INTEGER, '
  + 'globalPid INTEGER, demangledName INTEGER NOT NULL, shortName INTEGER NOT NULL, '
  + 'mangledName INTEGER, launchType INTEGER, cacheConfig INTEGER, '
  + 'registersPerThread INTEGER NOT NULL, gridX INTEGER NOT NULL, gridY INTEGER NOT NULL, '
  + 'gridZ INTEGER NOT NULL, blockX INTEGER NOT NULL, blockY INTEGER NOT NULL, '
  + 'blockZ INTEGER NOT NULL, staticSharedMemory INTEGER NOT NULL, '
  + 'dynamicSharedMemory INTEGER NOT NULL, localMemoryPerThread INTEGER NOT NULL, '
  + 'localMemoryTotal INTEGER NOT NULL, gridId INTEGER NOT NULL, sharedMemoryExecuted INTEGER, '
  + 'graphNodeId INTEGER, sharedMemoryLimitConfig INTEGER';
const MEMCPY_2022_4 =
  'start INTEGER NOT NULL, end INTEGER NOT NULL, deviceId INTEGER NOT NULL, '
  + 'contextId INTEGER NOT NULL, streamId INTEGER NOT NULL, correlationId INTEGER, '
  + 'globalPid INTEGER, bytes INTEGER NOT NULL, copyKind INTEGER NOT NULL, deprecatedSrcId INTEGER, '
  + 'srcKind INTEGER, dstKind INTEGER, srcDeviceId INTEGER, srcContextId INTEGER, '
  + 'dstDeviceId INTEGER, dstContextId INTEGER, migrationCause INTEGER, graphNodeId INTEGER, '
  + 'virtualAddress INTEGER';
const GPU_2022_4 =
  'vmId INTEGER NOT NULL, id INTEGER NOT NULL, name TEXT, busLocation TEXT, isDiscrete INTEGER, '
  + 'l2CacheSize INTEGER, totalMemory INTEGER, memoryBandwidth INTEGER, clockRate INTEGER, '
  + 'smCount INTEGER, pwGpuId INTEGER, uuid TEXT, luid INTEGER, chipName TEXT, cuDevice INTEGER, '
  + 'ctxswDevPath TEXT, ctrlDevPath TEXT, revision INTEGER, nodeMask INTEGER, '
  + 'constantMemory INTEGER, maxIPC INTEGER, maxRegistersPerBlock INTEGER, maxShmemPerBlock INTEGER, '
  + 'maxShmemPerBlockOptin INTEGER, maxShmemPerSm INTEGER, maxRegistersPerSm INTEGER, '
  + 'threadsPerWarp INTEGER, asyncEngines INTEGER, maxWarpsPerSm INTEGER, maxBlocksPerSm INTEGER, '
  + 'maxThreadsPerBlock INTEGER, maxBlockDimX INTEGER, maxBlockDimY INTEGER, maxBlockDimZ INTEGER, '
  + 'maxGridDimX INTEGER, maxGridDimY INTEGER, maxGridDimZ INTEGER, computeMajor INTEGER, '
  + 'computeMinor INTEGER, smMajor INTEGER, smMinor INTEGER';
const PROCESSES_2022_4 =
  'globalPid INTEGER, pid INTEGER, name TEXT';
const META_2022_4 =
  'name TEXT NOT NULL, value TEXT';
const SESSION_START_2022_4 =
  'utcEpochNs INTEGER, utcTime TEXT, localTime TEXT';
const KERNEL_2024_6 =
  'start INTEGER NOT NULL, end INTEGER NOT NULL, deviceId INTEGER NOT NULL, '
  + 'contextId INTEGER NOT NULL, greenContextId INTEGER, streamId INTEGER NOT NULL, '
  + 'correlationId INTEGER, globalPid INTEGER, demangledName INTEGER NOT NULL, '
  + 'shortName INTEGER NOT NULL, mangledName INTEGER, launchType INTEGER, cacheConfig INTEGER, '
  + 'registersPerThread INTEGER NOT NULL, gridX INTEGER NOT NULL, gridY INTEGER NOT NULL, '
  + 'gridZ INTEGER NOT NULL, blockX INTEGER NOT NULL, blockY INTEGER NOT NULL, '
  + 'blockZ INTEGER NOT NULL, staticSharedMemory INTEGER NOT NULL, '
  + 'dynamicSharedMemory INTEGER NOT NULL, localMemoryPerThread INTEGER NOT NULL, '
  + 'localMemoryTotal INTEGER NOT NULL, gridId INTEGER NOT NULL, sharedMemoryExecuted INTEGER, '
  + 'graphNodeId INTEGER, sharedMemoryLimitConfig INTEGER';
const MEMSET_2024_6 =
  'start INTEGER NOT NULL, end INTEGER NOT NULL, deviceId INTEGER NOT NULL, '
  + 'contextId INTEGER NOT NULL, greenContextId INTEGER, streamId INTEGER NOT NULL, '
  + 'correlationId INTEGER, globalPid INTEGER, value INTEGER NOT NULL, bytes INTEGER NOT NULL, '
  + 'graphNodeId INTEGER, memKind INTEGER';
const SYNC_2024_6 =
  'start INTEGER NOT NULL, end INTEGER NOT NULL, deviceId INTEGER NOT NULL, '
  + 'contextId INTEGER NOT NULL, greenContextId INTEGER, streamId INTEGER NOT NULL, '
  + 'correlationId INTEGER, globalPid INTEGER, syncType INTEGER NOT NULL, eventId INTEGER NOT NULL';
const NVTX_2024_6 =
  'start INTEGER NOT NULL, end INTEGER, eventType INTEGER NOT NULL, rangeId INTEGER, '
  + 'category INTEGER, color INTEGER, text TEXT, globalTid INTEGER, endGlobalTid INTEGER, '
  + 'textId INTEGER, domainId INTEGER, uint64Value INTEGER, int64Value INTEGER, doubleValue REAL, '
  + 'uint32Value INTEGER, int32Value INTEGER, floatValue REAL, jsonTextId INTEGER, jsonText TEXT, '
  + 'binaryData TEXT';
const KERNEL_2026_1 =
  'start INTEGER NOT NULL, end INTEGER NOT NULL, deviceId INTEGER NOT NULL, '
  + 'contextId INTEGER NOT NULL, greenContextId INTEGER, streamId INTEGER NOT NULL, '
  + 'correlationId INTEGER, globalPid INTEGER, demangledName INTEGER NOT NULL, '
  + 'shortName INTEGER NOT NULL, mangledName INTEGER, launchType INTEGER, cacheConfig INTEGER, '
  + 'registersPerThread INTEGER NOT NULL, gridX INTEGER NOT NULL, gridY INTEGER NOT NULL, '
  + 'gridZ INTEGER NOT NULL, blockX INTEGER NOT NULL, blockY INTEGER NOT NULL, '
  + 'blockZ INTEGER NOT NULL, staticSharedMemory INTEGER NOT NULL, '
  + 'dynamicSharedMemory INTEGER NOT NULL, localMemoryPerThread INTEGER NOT NULL, '
  + 'localMemoryTotal INTEGER NOT NULL, gridId INTEGER NOT NULL, sharedMemoryExecuted INTEGER, '
  + 'graphNodeId INTEGER, sharedMemoryLimitConfig INTEGER, qmdBulkReleaseDone INTEGER, '
  + 'qmdPreexitDone INTEGER, qmdLastCtaDone INTEGER, graphId INTEGER, clusterX INTEGER, '
  + 'clusterY INTEGER, clusterZ INTEGER, clusterSchedulingPolicy INTEGER, '
  + 'maxPotentialClusterSize INTEGER, maxActiveClusters INTEGER, '
  + 'sharedMemoryRequestedPercentage INTEGER';
const MEMCPY_2026_1 =
  'start INTEGER NOT NULL, end INTEGER NOT NULL, deviceId INTEGER NOT NULL, '
  + 'contextId INTEGER NOT NULL, greenContextId INTEGER, streamId INTEGER NOT NULL, '
  + 'correlationId INTEGER, globalPid INTEGER, bytes INTEGER NOT NULL, copyKind INTEGER NOT NULL, '
  + 'deprecatedSrcId INTEGER, srcKind INTEGER, dstKind INTEGER, srcDeviceId INTEGER, '
  + 'srcContextId INTEGER, dstDeviceId INTEGER, dstContextId INTEGER, migrationCause INTEGER, '
  + 'graphNodeId INTEGER, virtualAddress INTEGER, copyCount INTEGER';
const SYNC_2026_1 =
  'start INTEGER NOT NULL, end INTEGER NOT NULL, deviceId INTEGER NOT NULL, '
  + 'contextId INTEGER NOT NULL, greenContextId INTEGER, streamId INTEGER NOT NULL, '
  + 'correlationId INTEGER, globalPid INTEGER, deprecatedSyncType INTEGER, '
  + 'syncType INTEGER NOT NULL, eventId INTEGER NOT NULL, eventSyncId INTEGER';
const CUDA_DEVICE_2026_1 =
  'gpuId INTEGER, cudaId INTEGER NOT NULL, pid INTEGER NOT NULL, uuid TEXT, '
  + 'numMultiprocessors INTEGER';
const SESSION_START_2026_1 =
  'utcEpochNs INTEGER, utcTime TEXT, localTime TEXT, systemClockNs INTEGER';

const withoutColumns = (cols: string, drop: string[]): string =>
  cols.split(', ').filter((c) => !drop.includes(c.split(' ')[0])).join(', ');

export type NsysShape = '2020.3' | '2020.5' | '2022.4' | '2024.6' | '2026.1';

/** table name → column list, per shape. A shape lists every table the reader may read in that era. */
export const NSYS_SHAPES: Record<NsysShape, Record<string, string>> = {
  '2020.3': {
    CUPTI_ACTIVITY_KIND_KERNEL: KERNEL_2020_5,
    CUPTI_ACTIVITY_KIND_RUNTIME: withoutColumns(RUNTIME_2020_5, ['callchainId']),
    CUPTI_ACTIVITY_KIND_MEMCPY: MEMCPY_2020_5,
    CUPTI_ACTIVITY_KIND_SYNCHRONIZATION: SYNC_2020_5,
    StringIds: STRING_IDS_2020_5,
    ThreadNames: THREAD_NAMES_2020_5,
    TARGET_INFO_CUDA_GPU: withoutColumns(CUDA_GPU_2020_5, ['maxSharedMemoryPerMultiprocessor', 'maxRegistersPerMultiprocessor']),
  },
  '2020.5': {
    CUPTI_ACTIVITY_KIND_KERNEL: KERNEL_2020_5,
    CUPTI_ACTIVITY_KIND_RUNTIME: RUNTIME_2020_5,
    CUPTI_ACTIVITY_KIND_MEMCPY: MEMCPY_2020_5,
    CUPTI_ACTIVITY_KIND_SYNCHRONIZATION: SYNC_2020_5,
    StringIds: STRING_IDS_2020_5,
    ThreadNames: THREAD_NAMES_2020_5,
    TARGET_INFO_GPU: GPU_2020_5,
    TARGET_INFO_CUDA_GPU: CUDA_GPU_2020_5,
  },
  '2022.4': {
    CUPTI_ACTIVITY_KIND_KERNEL: KERNEL_2022_4,
    CUPTI_ACTIVITY_KIND_RUNTIME: RUNTIME_2020_5,
    CUPTI_ACTIVITY_KIND_MEMCPY: MEMCPY_2022_4,
    CUPTI_ACTIVITY_KIND_SYNCHRONIZATION: SYNC_2020_5,
    StringIds: STRING_IDS_2020_5,
    ThreadNames: THREAD_NAMES_2020_5,
    TARGET_INFO_GPU: GPU_2022_4,
    PROCESSES: PROCESSES_2022_4,
    EXPORT_META_DATA: META_2022_4,
    TARGET_INFO_SESSION_START_TIME: SESSION_START_2022_4,
  },
  '2024.6': {
    CUPTI_ACTIVITY_KIND_KERNEL: KERNEL_2024_6,
    CUPTI_ACTIVITY_KIND_RUNTIME: RUNTIME_2020_5,
    CUPTI_ACTIVITY_KIND_MEMSET: MEMSET_2024_6,
    CUPTI_ACTIVITY_KIND_SYNCHRONIZATION: SYNC_2024_6,
    NVTX_EVENTS: NVTX_2024_6,
    StringIds: STRING_IDS_2020_5,
    ThreadNames: THREAD_NAMES_2020_5,
    TARGET_INFO_GPU: GPU_2022_4,
    PROCESSES: PROCESSES_2022_4,
    META_DATA_EXPORT: META_2022_4,
    TARGET_INFO_SESSION_START_TIME: SESSION_START_2022_4,
  },
  '2026.1': {
    CUPTI_ACTIVITY_KIND_KERNEL: KERNEL_2026_1,
    CUPTI_ACTIVITY_KIND_RUNTIME: RUNTIME_2020_5,
    CUPTI_ACTIVITY_KIND_MEMCPY: MEMCPY_2026_1,
    CUPTI_ACTIVITY_KIND_SYNCHRONIZATION: SYNC_2026_1,
    StringIds: STRING_IDS_2020_5,
    ThreadNames: THREAD_NAMES_2020_5,
    TARGET_INFO_GPU: GPU_2022_4,
    TARGET_INFO_CUDA_DEVICE: CUDA_DEVICE_2026_1,
    PROCESSES: PROCESSES_2022_4,
    META_DATA_EXPORT: META_2022_4,
    TARGET_INFO_SESSION_START_TIME: SESSION_START_2026_1,
    // not in the 2026.1 corpus file (no NVTX, no memset there): the 2024.6 lists
    CUPTI_ACTIVITY_KIND_MEMSET: MEMSET_2024_6,
    NVTX_EVENTS: NVTX_2024_6,
  },
};
