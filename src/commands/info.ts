/** `moe-trace info FILE...`: what an export holds — versions, schema shape, tables, GPUs, processes, time span. */
import type { Command } from 'commander';
import type { CliIo } from '../cli.js';
import { processOfThread, type GpuInfo, type IntColumn, type TableInfo, type Trace, type TraceMeta } from '../model/trace.js';
import { readTrace } from '../readers/read-trace.js';
import { classifyKernels, refineExpertGemms, summarizeClasses, type TraceClassSummary } from '../analyses/kernel-classes.js';
import { innermostRangeTexts } from '../analyses/kernel-ranges.js';
import { compileClassPatterns, readClassesFile, type ClassPatternSpec } from '../analyses/classes-file.js';
import { formatBytes, formatCount, formatNs, textTable } from '../render/format.js';

export const INFO_SCHEMA_VERSION = 1;

export interface TraceInfo {
  schema: 'moe-trace/info';
  schemaVersion: number;
  file: string;
  fileSizeBytes: number;
  /** the input's format ('nsys-sqlite', 'nsys-rep', 'kineto') and what wrote it */
  source: TraceMeta['source'];
  nsysVersion: string | null;
  exportSchemaVersion: string | null;
  schemaShape: TraceMeta['schemaShape'];
  timeOriginNs: string;
  sessionStartUtcNs: string | null;
  hasKernelTable: boolean;
  counts: { kernels: number; runtime: number; memcpy: number; memset: number; sync: number; nvtx: number };
  /** first kernel start to last kernel end, in trace ns; null without kernels */
  kernelSpan: { start: number; end: number; duration: number } | null;
  devices: { deviceId: number; kernels: number; streams: number }[];
  gpus: GpuInfo[];
  processes: { pid: number; globalPid: string; name: string; threads: number; kernels: number; apiCalls: number }[];
  tables: TableInfo[];
  warnings: string[];
  /** what each kernel was classified as (issue 17; docs/kernel-classes.md), by class */
  kernelClasses?: TraceClassSummary[];
  /** the --classes file, when one was given */
  classesFile?: string;
}

/** The kernel classes as a report makes them: patterns, then GEMMs launched in expert ranges. */
function classesOf(trace: Trace, classes?: { file: string; patterns: ClassPatternSpec[] }): ReturnType<typeof classifyKernels> {
  const c = classifyKernels(trace, compileClassPatterns(classes?.patterns ?? []));
  refineExpertGemms(trace, c, (rows) => innermostRangeTexts(trace, rows));
  return c;
}

export function describeTrace(trace: Trace, classes?: { file: string; patterns: ClassPatternSpec[] }): TraceInfo {
  const k = trace.kernels;
  const processOf = processOfThread(trace);
  // each CUDA API call's process: its thread's
  const callProcess = Int32Array.from(trace.runtime.thread.subarray(0, trace.runtime.count), (t) => processOf[t + 1]);
  let start = Infinity; let end = -Infinity;
  const streams = new Map<number, Set<number>>();
  const perDevice = new Map<number, number>();
  for (let i = 0; i < k.count; i++) {
    if (k.start[i] < start) start = k.start[i];
    if (k.end[i] > end) end = k.end[i];
    const d = k.deviceId[i];
    perDevice.set(d, (perDevice.get(d) ?? 0) + 1);
    let s = streams.get(d);
    if (!s) streams.set(d, (s = new Set()));
    s.add(k.streamId[i]);
  }
  const count = (arr: IntColumn, n: number, p: number): number => {
    let c = 0;
    for (let i = 0; i < n; i++) if (arr[i] === p) c++;
    return c;
  };
  const m = trace.meta;
  return {
    schema: 'moe-trace/info', schemaVersion: INFO_SCHEMA_VERSION,
    file: m.file, fileSizeBytes: m.fileSizeBytes, source: m.source, nsysVersion: m.nsysVersion,
    exportSchemaVersion: m.exportSchemaVersion, schemaShape: m.schemaShape, timeOriginNs: m.timeOriginNs,
    sessionStartUtcNs: m.sessionStartUtcNs, hasKernelTable: trace.hasKernelTable,
    counts: {
      kernels: k.count, runtime: trace.runtime.count, memcpy: trace.memcpy.count,
      memset: trace.memset.count, sync: trace.sync.count, nvtx: trace.nvtx.count,
    },
    kernelSpan: k.count === 0 ? null : { start, end, duration: end - start },
    devices: [...perDevice].sort((a, b) => a[0] - b[0])
      .map(([deviceId, kernels]) => ({ deviceId, kernels, streams: streams.get(deviceId)?.size ?? 0 })),
    gpus: trace.gpus,
    processes: trace.processes.map((p, i) => ({
      pid: p.pid, globalPid: p.globalPid, name: p.name,
      threads: trace.threads.filter((t) => t.process === i).length,
      kernels: count(k.process, k.count, i),
      apiCalls: count(callProcess, trace.runtime.count, i),
    })),
    tables: m.tables, warnings: m.warnings,
    kernelClasses: summarizeClasses(trace, classesOf(trace, classes)),
    ...(classes ? { classesFile: classes.file } : {}),
  };
}

const FORMAT_NAMES: Record<TraceMeta['source']['format'], string> = {
  'nsys-sqlite': 'Nsight Systems SQLite export',
  'nsys-rep': 'Nsight Systems report (read through its SQLite export)',
  kineto: 'PyTorch profiler trace (Kineto / Chrome trace JSON)',
};

const orNa = (v: number | null, f: (x: number) => string = String): string => (v === null ? 'n/a' : f(v));

export function renderInfo(info: TraceInfo): string {
  const out: string[] = [];
  const shape = info.schemaShape;
  const kineto = info.source.format === 'kineto';
  out.push(`${info.file} (${formatBytes(info.fileSizeBytes)})`);
  out.push(`format: ${FORMAT_NAMES[info.source.format]}; producer: ${info.source.producer}`);
  if (kineto) {
    out.push(`trace schema ${info.exportSchemaVersion ?? 'not recorded'}`);
    if (info.timeOriginNs !== '0') out.push(`times start at the earliest record, trace timestamp ${info.timeOriginNs} ns`);
  } else {
    out.push(`nsys ${info.nsysVersion ?? 'version not recorded (export before 2022.2)'}, export schema ${info.exportSchemaVersion ?? 'n/a'}`);
    out.push(`schema shape: metadata ${shape.metadataTable ?? 'none'}, GPU info ${shape.gpuTable ?? 'none'}, NVTX text ${shape.nvtxText ?? 'none'}`);
    if (info.timeOriginNs !== '0') out.push(`times are relative to raw nsys timestamp ${info.timeOriginNs} ns`);
  }
  const c = info.counts;
  if (info.kernelSpan) {
    const s = info.kernelSpan;
    const streams = info.devices.reduce((a, d) => a + d.streams, 0);
    out.push(`kernels: ${formatCount(c.kernels)} on ${streams} stream${streams === 1 ? '' : 's'}, from ${formatNs(s.start)} to ${formatNs(s.end)} (${formatNs(s.duration)})`);
  } else {
    out.push(info.hasKernelTable ? 'kernels: none' : 'kernels: no kernel table (CUDA kernel tracing was off or unsupported, e.g. under WSL)');
  }
  out.push(`CUDA API calls ${formatCount(c.runtime)}, memcpy ${formatCount(c.memcpy)}, memset ${formatCount(c.memset)}, synchronizations ${formatCount(c.sync)}, NVTX events ${formatCount(c.nvtx)}`);
  out.push('', 'GPUs');
  out.push(info.gpus.length === 0 ? '(none described)' : textTable(
    ['device', 'name', 'SMs', 'compute', 'threads/SM', 'blocks/SM', 'regs/SM', 'shmem/SM', 'memory'],
    info.gpus.map((g) => [
      String(g.deviceId), g.name, orNa(g.smCount),
      g.computeCapability ? `${g.computeCapability.major}.${g.computeCapability.minor}` : 'n/a',
      orNa(g.maxThreadsPerSm), orNa(g.maxBlocksPerSm), orNa(g.maxRegistersPerSm),
      orNa(g.maxSharedMemoryPerSm, formatBytes), orNa(g.totalMemory, formatBytes),
    ]),
  ));
  out.push('', 'Processes');
  out.push(info.processes.length === 0 ? '(none with CUDA or NVTX activity)' : textTable(
    ['pid', 'name', 'threads', 'kernels', 'API calls'],
    info.processes.map((p) => [String(p.pid), p.name, String(p.threads), formatCount(p.kernels), formatCount(p.apiCalls)]),
  ));
  if (kineto) {
    out.push('', `Event categories (${info.tables.length})`);
    out.push(textTable(['cat', 'events'], info.tables.map((t) => [t.name, formatCount(t.rows)])));
    out.push(...kernelClassLines(info));
    if (info.warnings.length > 0) out.push('', 'Warnings', ...info.warnings.map((w) => `- ${w}`));
    return `${out.join('\n')}\n`;
  }
  // The ENUM_* tables are nsys's constant lookup tables: counting them says nothing about the capture.
  const enums = info.tables.filter((t) => t.name.startsWith('ENUM_'));
  const data = info.tables.filter((t) => !t.name.startsWith('ENUM_'));
  out.push('', `Tables (${info.tables.length}${enums.length > 0 ? `, of which ${enums.length} ENUM_* lookup tables not listed` : ''})`);
  out.push(textTable(['table', 'rows'], data.map((t) => [t.name, formatCount(t.rows)])));
  out.push(...kernelClassLines(info));
  if (info.warnings.length > 0) out.push('', 'Warnings', ...info.warnings.map((w) => `- ${w}`));
  return `${out.join('\n')}\n`;
}

/** What each kernel was classified as (issue 17), for any input format. */
function kernelClassLines(info: TraceInfo): string[] {
  if (!info.kernelClasses || info.kernelClasses.length === 0) return [];
  return ['', `Kernel classes${info.classesFile ? ` (patterns from ${info.classesFile}, then built-in)` : ''}: docs/kernel-classes.md`,
    textTable(['class', 'kernels', 'time', 'names', 'largest: name (family)'], info.kernelClasses.map((c) => [
      c.class, formatCount(c.kernels), formatNs(c.time), formatCount(c.names),
      c.top.slice(0, 3).map((t) => `${t.name.replace(/\(.*$/s, '').slice(0, 48)} (${t.family}${t.source === 'builtin' || t.source === 'default' ? '' : `, ${t.source}`})`).join('; '),
    ]))];
}

export function registerInfo(program: Command, io: CliIo, setExit: (code: number) => void): void {
  program.command('info')
    .description('show what a trace holds: format and producer, versions, schema, tables or event categories, GPUs, processes, time span')
    .argument('<files...>', 'nsys SQLite exports (.sqlite), Nsight Systems reports (.nsys-rep/.qdrep) or PyTorch profiler traces (.json/.json.gz)')
    .option('--json', 'print as JSON (one object per file; an array for several files)')
    .option('--classes <file>', 'kernel class patterns (JSON) tried before the built-in ones (docs/kernel-classes.md)')
    .action(async (files: string[], flags: { json?: boolean; classes?: string }) => {
      const classes = flags.classes !== undefined ? readClassesFile(flags.classes) : undefined;
      const infos: TraceInfo[] = [];
      for (const f of files) infos.push(describeTrace(await readTrace(f, { nsysRep: { onStatus: (line) => io.stderr(`${line}\n`) } }), classes));
      if (flags.json) io.stdout(`${JSON.stringify(infos.length === 1 ? infos[0] : infos, null, 2)}\n`);
      else io.stdout(infos.map(renderInfo).join('\n'));
      setExit(0);
    });
}
