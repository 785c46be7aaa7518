/**
 * SM fill: how many blocks of each kernel can be resident on one SM at once, which resource
 * binds, and how many "waves" the grid needs on the whole GPU. A kernel with waves >= 1 occupies
 * every SM, so a kernel on another stream can only run in its tail; that is the saturation
 * reason experts do not overlap even when nothing else stops them.
 *
 * The arithmetic follows NVIDIA's occupancy calculator (cuda_occupancy.h): warps are allocated per
 * block rounded up to whole warps; registers per warp rounded up to 256 and shared by 4 SM
 * sub-partitions; shared memory per block = static + dynamic + the 1 KB the driver reserves per
 * block from sm80 on, rounded up to the allocation granularity. The SM's shared memory is taken
 * at its maximum carveout (the driver default when a kernel needs it), so resident counts are an
 * upper bound and waves a lower bound: a kernel reported as filling the GPU really does.
 */
import type { GpuInfo, LaunchConfig, Trace } from '../model/trace.js';
import type { FillLimit, KernelFillSummary, SmFillReport, SmLimits } from '../report/types.js';

export type { FillLimit, KernelFillSummary, SmFillReport, SmLimits };

/** What the compute-capability table knows of an SM: the per-SM fields of SmLimits. */
type ArchRow = Pick<SmLimits, 'maxThreadsPerSm' | 'maxBlocksPerSm' | 'maxRegistersPerSm' | 'maxSharedMemoryPerSm'
  | 'reservedSharedMemoryPerBlock' | 'sharedMemoryAllocationUnit'>;

const KB = 1024;
/** CUDA C Programming Guide, "Technical Specifications per Compute Capability". */
const ARCH: Record<string, ArchRow> = {
  '7.0': { maxThreadsPerSm: 2048, maxBlocksPerSm: 32, maxRegistersPerSm: 65536, maxSharedMemoryPerSm: 96 * KB, reservedSharedMemoryPerBlock: 0, sharedMemoryAllocationUnit: 256 },
  '7.5': { maxThreadsPerSm: 1024, maxBlocksPerSm: 16, maxRegistersPerSm: 65536, maxSharedMemoryPerSm: 64 * KB, reservedSharedMemoryPerBlock: 0, sharedMemoryAllocationUnit: 256 },
  '8.0': { maxThreadsPerSm: 2048, maxBlocksPerSm: 32, maxRegistersPerSm: 65536, maxSharedMemoryPerSm: 164 * KB, reservedSharedMemoryPerBlock: KB, sharedMemoryAllocationUnit: 128 },
  '8.6': { maxThreadsPerSm: 1536, maxBlocksPerSm: 16, maxRegistersPerSm: 65536, maxSharedMemoryPerSm: 100 * KB, reservedSharedMemoryPerBlock: KB, sharedMemoryAllocationUnit: 128 },
  '8.9': { maxThreadsPerSm: 1536, maxBlocksPerSm: 24, maxRegistersPerSm: 65536, maxSharedMemoryPerSm: 100 * KB, reservedSharedMemoryPerBlock: KB, sharedMemoryAllocationUnit: 128 },
  '9.0': { maxThreadsPerSm: 2048, maxBlocksPerSm: 32, maxRegistersPerSm: 65536, maxSharedMemoryPerSm: 228 * KB, reservedSharedMemoryPerBlock: KB, sharedMemoryAllocationUnit: 128 },
  '10.0': { maxThreadsPerSm: 2048, maxBlocksPerSm: 32, maxRegistersPerSm: 65536, maxSharedMemoryPerSm: 228 * KB, reservedSharedMemoryPerBlock: KB, sharedMemoryAllocationUnit: 128 },
  '12.0': { maxThreadsPerSm: 1536, maxBlocksPerSm: 32, maxRegistersPerSm: 65536, maxSharedMemoryPerSm: 100 * KB, reservedSharedMemoryPerBlock: KB, sharedMemoryAllocationUnit: 128 },
};

/**
 * SM counts by product name, for old exports (2020.x) whose GPU table has no smCount.
 * Longest match wins, so "H100 PCIe" beats "H100".
 */
const SM_COUNT_BY_NAME: [string, number][] = [
  ['H200', 132], ['H100 PCIe', 114], ['H100', 132], ['B200', 148], ['A100', 108], ['A10G', 80],
  ['A10', 72], ['L40S', 142], ['L40', 142], ['L4', 58], ['V100', 80], ['T4', 40],
  ['RTX 3080', 68], ['RTX 3090', 82], ['RTX 4090', 128], ['RTX 4080', 76], ['RTX 5090', 170],
];

function archRow(cc: { major: number; minor: number } | null): ArchRow | null {
  if (!cc) return null;
  const exact = ARCH[`${cc.major}.${cc.minor}`];
  if (exact) return exact;
  // A minor revision we have no row for (8.7, 10.3, 12.1): the closest lower minor of the same major.
  for (let minor = cc.minor - 1; minor >= 0; minor--) {
    const row = ARCH[`${cc.major}.${minor}`];
    if (row) return row;
  }
  return null;
}

function smCountFromName(name: string): number | null {
  let best: [string, number] | null = null;
  for (const entry of SM_COUNT_BY_NAME) {
    if (name.includes(entry[0]) && (!best || entry[0].length > best[0].length)) best = entry;
  }
  return best ? best[1] : null;
}

/** Merges the trace's GPU limits with the table; null when neither knows the architecture. */
export function smLimits(gpu: GpuInfo | undefined): SmLimits | null {
  if (!gpu) return null;
  const row = archRow(gpu.computeCapability);
  let fromTrace = 0;
  let fromTable = 0;
  const pick = (traceValue: number | null, tableValue: number | undefined): number | null => {
    if (traceValue !== null && traceValue > 0) { fromTrace++; return traceValue; }
    if (tableValue !== undefined) { fromTable++; return tableValue; }
    return null;
  };
  const maxThreadsPerSm = pick(gpu.maxThreadsPerSm, row?.maxThreadsPerSm);
  const maxBlocksPerSm = pick(gpu.maxBlocksPerSm, row?.maxBlocksPerSm);
  const maxRegistersPerSm = pick(gpu.maxRegistersPerSm, row?.maxRegistersPerSm);
  const maxSharedMemoryPerSm = pick(gpu.maxSharedMemoryPerSm, row?.maxSharedMemoryPerSm);
  if (maxThreadsPerSm === null || maxBlocksPerSm === null || maxRegistersPerSm === null || maxSharedMemoryPerSm === null) {
    return null;
  }
  let smCount = gpu.smCount !== null && gpu.smCount > 0 ? gpu.smCount : null;
  if (smCount === null) {
    smCount = smCountFromName(gpu.name);
    if (smCount !== null) fromTable++;
  } else {
    fromTrace++;
  }
  const major = gpu.computeCapability?.major ?? null;
  return {
    computeCapability: gpu.computeCapability ? `${gpu.computeCapability.major}.${gpu.computeCapability.minor}` : null,
    smCount,
    threadsPerWarp: gpu.threadsPerWarp ?? 32,
    maxThreadsPerSm,
    maxBlocksPerSm,
    maxRegistersPerSm,
    maxSharedMemoryPerSm,
    reservedSharedMemoryPerBlock: row?.reservedSharedMemoryPerBlock ?? (major !== null && major >= 8 ? KB : 0),
    sharedMemoryAllocationUnit: row?.sharedMemoryAllocationUnit ?? (major !== null && major >= 8 ? 128 : 256),
    registerAllocationUnit: 256,
    subPartitions: 4,
    source: fromTable === 0 ? 'trace' : fromTrace === 0 ? 'table' : 'trace+table',
  };
}

/** A kernel's launch configuration: what decides how many of its blocks fit on an SM. */
export type KernelShape = LaunchConfig;

export interface KernelFill {
  blocks: number;
  threadsPerBlock: number;
  /** blocks of this kernel that fit on one SM at once (at least 1: the kernel did run) */
  residentBlocksPerSm: number;
  /** the resource that sets residentBlocksPerSm (first of warps, registers, sharedMemory, blocks on a tie) */
  limit: FillLimit;
  /** blocks / (smCount × residentBlocksPerSm); null when the SM count is unknown */
  waves: number | null;
}

const roundUp = (x: number, unit: number): number => Math.ceil(x / unit) * unit;

export function kernelFill(k: KernelShape, limits: SmLimits): KernelFill {
  const blocks = k.gridX * k.gridY * k.gridZ;
  const threadsPerBlock = k.blockX * k.blockY * k.blockZ;
  const warpSize = limits.threadsPerWarp;
  const warpsPerBlock = Math.max(1, Math.ceil(threadsPerBlock / warpSize));
  const byWarps = Math.floor(Math.floor(limits.maxThreadsPerSm / warpSize) / warpsPerBlock);
  let byRegisters = Infinity;
  if (k.registersPerThread > 0) {
    const regsPerWarp = roundUp(k.registersPerThread * warpSize, limits.registerAllocationUnit);
    const regsPerSubPartition = limits.maxRegistersPerSm / limits.subPartitions;
    const warpsPerSm = Math.floor(regsPerSubPartition / regsPerWarp) * limits.subPartitions;
    byRegisters = Math.floor(warpsPerSm / warpsPerBlock);
  }
  let bySharedMemory = Infinity;
  const shared = Math.max(0, k.staticSharedMemory) + Math.max(0, k.dynamicSharedMemory);
  const sharedPerBlock = roundUp(shared + limits.reservedSharedMemoryPerBlock, limits.sharedMemoryAllocationUnit);
  if (sharedPerBlock > 0) bySharedMemory = Math.floor(limits.maxSharedMemoryPerSm / sharedPerBlock);
  const candidates: [FillLimit, number][] = [
    ['warps', byWarps], ['registers', byRegisters], ['sharedMemory', bySharedMemory], ['blocks', limits.maxBlocksPerSm],
  ];
  let [limit, resident] = candidates[0];
  for (const [name, value] of candidates) {
    if (value < resident) { limit = name; resident = value; }
  }
  // A limit of 0 means our limits are wrong for this GPU (the kernel ran); count one block.
  const residentBlocksPerSm = Math.max(1, resident);
  const waves = limits.smCount ? blocks / (limits.smCount * residentBlocksPerSm) : null;
  return { blocks, threadsPerBlock, residentBlocksPerSm, limit, waves };
}

export function kernelShapeAt(trace: Trace, i: number): KernelShape {
  return trace.launchConfigs[trace.kernels.launchConfig[i]];
}

interface LaunchConfigs {
  /** launch configuration of each listed kernel, as an index into `first` */
  id: Int32Array;
  /** one kernel index per distinct configuration (grid, block, registers, shared memory) */
  first: number[];
}

/** Groups the listed kernels by launch configuration, numbered in order of first appearance. */
function launchConfigs(trace: Trace, indices: ArrayLike<number>): LaunchConfigs {
  const config = trace.kernels.launchConfig;
  const local = new Int32Array(trace.launchConfigs.length).fill(-1);
  const first: number[] = [];
  const id = new Int32Array(indices.length);
  for (let j = 0; j < indices.length; j++) {
    const i = indices[j];
    const c = config[i];
    if (local[c] < 0) { local[c] = first.length; first.push(i); }
    id[j] = local[c];
  }
  return { id, first };
}

/** Waves of each listed kernel (NaN where unknown), aligned with `indices`. */
export function kernelWaves(trace: Trace, indices: ArrayLike<number>, limits: SmLimits | null, configs?: LaunchConfigs): Float64Array {
  const waves = new Float64Array(indices.length).fill(NaN);
  if (!limits || limits.smCount === null) return waves;
  const { id, first } = configs ?? launchConfigs(trace, indices);
  const perConfig = first.map((i) => kernelFill(kernelShapeAt(trace, i), limits).waves ?? NaN);
  for (let j = 0; j < indices.length; j++) waves[j] = perConfig[id[j]];
  return waves;
}

/** One kernel name's launch configurations, in order of first launch, with kernels and time each. */
class NameConfigs {
  /** a kernel row per configuration */
  readonly first: number[] = [];
  readonly count: number[] = [];
  readonly time: number[] = [];
  /** Trace.launchConfigs index → position in `first`, for the configurations seen so far */
  private readonly local = new Map<number, number>();
  private lastConfig = -1;
  private last = -1;

  constructor(private readonly k: Trace['kernels']) {}

  add(i: number, duration: number): void {
    const config = this.k.launchConfig[i];
    // a name's next kernel nearly always repeats its previous configuration: test that before the map
    let c = config === this.lastConfig ? this.last : (this.local.get(config) ?? -1);
    if (c < 0) {
      c = this.first.length;
      this.first.push(i);
      this.count.push(0);
      this.time.push(0);
      this.local.set(config, c);
    }
    this.count[c]++;
    this.time[c] += duration;
    this.last = c;
    this.lastConfig = config;
  }
}

/**
 * d3's quantile(values, p) where values[c] is repeated count[c] times: blocks and waves depend only
 * on the launch configuration, so a name's million kernels are a few (value, count) pairs.
 * Same arithmetic as quantileSorted on the expanded sorted array.
 */
function weightedQuantile(values: number[], count: number[], p: number): number {
  const order = values.map((_, c) => c).sort((x, y) => values[x] - values[y]);
  let n = 0;
  for (const c of count) n += c;
  const rankValue = (r: number): number => {
    let seen = 0;
    for (const c of order) {
      seen += count[c];
      if (r < seen) return values[c];
    }
    return NaN;
  };
  if (n < 2) return rankValue(0);
  const i = (n - 1) * p;
  const i0 = Math.floor(i);
  const value0 = rankValue(i0);
  const value1 = rankValue(i0 + 1);
  return value0 + (value1 - value0) * (i - i0);
}

export function analyzeSmFill(trace: Trace, deviceId: number, window?: { start: number; end: number }): SmFillReport {
  const limits = smLimits(trace.gpus.find((g) => g.deviceId === deviceId));
  const k = trace.kernels;
  const lo = window?.start ?? -Infinity;
  const hi = window?.end ?? Infinity;
  // kernels by short name, names in order of first launch; the table is indexed by string index + 1
  const groupOf = new Int32Array(trace.strings.length + 1).fill(-1);
  const groupName: number[] = [];
  const groups: NameConfigs[] = [];
  let kernelCount = 0;
  for (let i = 0; i < k.count; i++) {
    if (k.deviceId[i] !== deviceId) continue;
    if (window && (k.end[i] <= window.start || k.start[i] >= window.end)) continue;
    kernelCount++;
    const name = k.shortName[i];
    let g = name + 1 >= 0 && name + 1 < groupOf.length ? groupOf[name + 1] : groupName.indexOf(name);
    if (g < 0) {
      g = groups.length;
      groups.push(new NameConfigs(k));
      groupName.push(name);
      if (name + 1 >= 0 && name + 1 < groupOf.length) groupOf[name + 1] = g;
    }
    groups[g].add(i, Math.max(0, Math.min(k.end[i], hi) - Math.max(k.start[i], lo)));
  }
  const wavesKnown = limits !== null && limits.smCount !== null;
  let kernelTime = 0;
  let fullKernelCount = 0;
  let fullKernelTime = 0;
  const byName: KernelFillSummary[] = [];
  // Times are summed per configuration, then per name: sums of integer ns, exact in any order.
  groups.forEach((configs, g) => {
    const fills = limits ? configs.first.map((i) => kernelFill(kernelShapeAt(trace, i), limits)) : null;
    let count = 0;
    let time = 0;
    let full = 0;
    let common = 0;
    configs.first.forEach((_, c) => {
      count += configs.count[c];
      time += configs.time[c];
      if (wavesKnown && fills![c].waves! >= 1) { full += configs.count[c]; fullKernelTime += configs.time[c]; }
      // the most frequent configuration; ties go to the one launched first
      if (configs.count[c] > configs.count[common]) common = c;
    });
    kernelTime += time;
    fullKernelCount += full;
    const fill = fills ? fills[common] : null;
    const blocks = configs.first.map((i) => { const c = kernelShapeAt(trace, i); return c.gridX * c.gridY * c.gridZ; });
    byName.push({
      name: trace.strings[groupName[g]] ?? `#${groupName[g]}`,
      count,
      kernelTime: time,
      medianBlocks: weightedQuantile(blocks, configs.count, 0.5),
      residentBlocksPerSm: fill?.residentBlocksPerSm ?? null,
      limit: fill?.limit ?? null,
      medianWaves: wavesKnown ? weightedQuantile(fills!.map((f) => f.waves!), configs.count, 0.5) : null,
      fullShare: wavesKnown ? full / count : null,
    });
  });
  byName.sort((a, b) => b.kernelTime - a.kernelTime || a.name.localeCompare(b.name));
  return {
    deviceId, limits, kernelCount, kernelTime, fullKernelCount, fullKernelTime,
    fullTimeShare: wavesKnown && kernelTime > 0 ? fullKernelTime / kernelTime : null,
    byName,
  };
}
