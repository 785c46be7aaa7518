/**
 * Kernel classes (issue 17): every kernel is communication, sync, expert GEMM, other compute or
 * memory, from its name (the full, demangled one when the trace has it) and, where the profiler
 * recorded them, its collective args (Kineto's NCCL "Collective name").
 *
 * Why not "name starts with nccl": DeepEP's dispatch/combine/notify_* kernels, pplx's all-to-all,
 * vLLM/SGLang/TensorRT-LLM custom all-reduce and PyTorch symmetric-memory kernels move tokens
 * between GPUs too, and a prefix test files them under compute, where they "hide" the very
 * communication they are. Sync kernels (barriers, signal waits) only wait for peers: counted as
 * compute they would make communication beside them look hidden, so they are their own class
 * and never hide anything.
 *
 * Patterns are tried in order, the first match wins: a --classes file's patterns before the
 * built-in ones, so a user can re-file any kernel. Pure: no I/O.
 */
import type { Trace } from '../model/trace.js';

export const KERNEL_CLASSES = ['communication', 'sync', 'expert-gemm', 'compute', 'memory'] as const;
export type KernelClass = (typeof KERNEL_CLASSES)[number];

/** Class codes in KernelClassification.classOf: the index in KERNEL_CLASSES. */
export const ClassCode = { communication: 0, sync: 1, 'expert-gemm': 2, compute: 3, memory: 4 } as const satisfies Record<KernelClass, number>;

export interface ClassPattern {
  class: KernelClass;
  /** what the pattern recognises, e.g. "NCCL", "DeepEP", "grouped GEMM" */
  family: string;
  pattern: RegExp;
  /** 'builtin', or the --classes file the pattern came from */
  source: string;
}

const p = (cls: KernelClass, family: string, pattern: RegExp): ClassPattern => ({ class: cls, family, pattern, source: 'builtin' });

/**
 * The built-in patterns, tested against the full kernel name (demangled, with namespaces and
 * template arguments) when the trace has it, else the short name.
 */
export const BUILTIN_PATTERNS: readonly ClassPattern[] = [
  // waits only: barriers and signal waits of DeepEP, PyTorch symmetric memory, NVSHMEM, custom all-reduce
  p('sync', 'barrier', /(?:^|[\s:_])barrier(?:_\w*)?(?:kernel)?\b|\bbarrier\w*kernel|\bwait_signal\w*|\bwait_flag\w*/i),
  // NCCL and RCCL collectives and point-to-point (ncclKernel_*, ncclDevKernel_*, ncclDevKernel_SendRecv)
  p('communication', 'NCCL', /(?:^|[\s:*&])nccl[A-Z_]/),
  p('communication', 'RCCL', /(?:^|[\s:])rccl\w*/i),
  // DeepEP: intranode/internode/low-latency dispatch and combine, their notify and cached-notify kernels
  p('communication', 'DeepEP', /deep_ep::(?:intranode|internode|internode_ll)::(?:\w*dispatch|\w*combine|notify_\w+|cached_notify\w*)/),
  // pplx-kernels all-to-all (pplx::dispatchKernel, pplx::combineKernel, internode ones)
  p('communication', 'pplx', /\bpplx::\w*(?:dispatch|combine|all_?to_?all)\w*/i),
  // vLLM / SGLang custom all-reduce, TensorRT-LLM all-reduce, PyTorch symmetric memory, NVSHMEM, MSCCL++, userbuffers
  p('communication', 'symmetric memory', /multimem_(?:all_reduce|all_gather|reduce_scatter|ld_reduce|st)\w*|symm_mem\w*|\bput_signal\w*/i),
  p('communication', 'custom all-reduce', /cross_device_reduce|(?:one|two)_?shot_?all_?reduce|allreduce_fusion|lamport\w*all_?reduce|customAllReduce|custom_all_reduce|all_reduce_kernel/i),
  p('communication', 'NVSHMEM', /nvshmem\w*/i),
  p('communication', 'MSCCL++', /mscclpp/i),
  p('communication', 'userbuffers', /userbuffers|kuserbuffers/i),
  p('communication', 'all-to-all', /\ball_?to_?all\w*|\ba2a_\w*/i),
  // grouped GEMMs: the experts' projections as one kernel
  p('compute', 'grouped GEMM setup', /prepare_grouped_gemm_data/),
  p('expert-gemm', 'grouped GEMM', /_grouped_mm|grouped_?gemm|GroupProblemShape|GroupedGemm|grouped_mm|MoeFCGemm|moe_?gemm|cutlass_moe|m_grouped|GemmType::Grouped/i),
  p('expert-gemm', 'Triton fused_moe', /fused_moe\w*kernel|fused_moe_kernel|fused_experts/i),
  // memory: kernels that only copy or fill (memcpy/memset operations are memory by table)
  p('memory', 'copy/fill', /^\[?(?:CUDA )?mem(?:cpy|set)\b|^Memcpy|^Memset/i),
];

export interface ClassifiedName {
  /** the short name (index into Trace.strings) */
  name: number;
  class: KernelClass;
  family: string;
  /** 'builtin', a --classes file, 'collective args' (Kineto), or 'default' (no pattern matched) */
  source: string;
}

export interface KernelClassification {
  /** per kernel row: ClassCode */
  classOf: Uint8Array;
  /** per kernel row: index into `names` */
  nameOf: Int32Array;
  /** distinct (full name, class) entries, in order of first kernel */
  names: ClassifiedName[];
}

const FAMILY_DEFAULT = 'other';

/**
 * Classifies every kernel of the trace. A kernel with collective args is communication whatever
 * its name; otherwise the first pattern matching its full name (or short name) decides, and a
 * kernel no pattern matches is compute.
 */
export function classifyKernels(trace: Trace, patterns: readonly ClassPattern[] = BUILTIN_PATTERNS): KernelClassification {
  const k = trace.kernels;
  const classOf = new Uint8Array(k.count);
  const nameOf = new Int32Array(k.count);
  const names: ClassifiedName[] = [];
  // one decision per distinct (short, full) pair: a trace has a few hundred kernel names
  const cache = new Map<number, number>();
  const collectiveRows = new Map<number, number>();
  const c = trace.collectives;
  if (c) for (let j = 0; j < c.count; j++) collectiveRows.set(c.kernel[j], j);
  const full = k.demangledName;
  const stringCount = trace.strings.length + 1;
  // the last (full name, entry) seen per short name, and each entry's class code: most kernels
  // take the fast way, two array reads, instead of a Map lookup by a key past 2^31
  const lastLong = new Int32Array(stringCount).fill(-2);
  const lastEntry = new Int32Array(stringCount);
  const codeOf: number[] = [];
  for (let i = 0; i < k.count; i++) {
    const short = k.shortName[i];
    const long = full && full[i] >= 0 ? full[i] : short;
    const j = collectiveRows.size > 0 ? collectiveRows.get(i) : undefined;
    if (j === undefined && short >= 0 && lastLong[short] === long) {
      const e = lastEntry[short];
      nameOf[i] = e;
      classOf[i] = codeOf[e];
      continue;
    }
    const key = j !== undefined ? -1 - (c!.collective[j] + 1) * stringCount - long : long * stringCount + short;
    let entry = cache.get(key);
    if (entry === undefined) {
      entry = names.length;
      if (j !== undefined) {
        const collective = c!.collective[j] >= 0 ? trace.strings[c!.collective[j]] : 'collective';
        names.push({ name: short, class: 'communication', family: `${familyOfName(trace.strings[long] ?? '', patterns) ?? 'NCCL'}: ${collective}`, source: 'collective args' });
      } else {
        names.push(classifyName(short, trace.strings[long] ?? '', trace.strings[short] ?? '', patterns));
      }
      cache.set(key, entry);
      codeOf[entry] = ClassCode[names[entry].class];
    }
    if (j === undefined && short >= 0) { lastLong[short] = long; lastEntry[short] = entry; }
    nameOf[i] = entry;
    classOf[i] = codeOf[entry];
  }
  return { classOf, nameOf, names };
}

function familyOfName(text: string, patterns: readonly ClassPattern[]): string | null {
  for (const pat of patterns) if (pat.class === 'communication' && pat.pattern.test(text)) return pat.family;
  return null;
}

function classifyName(name: number, full: string, short: string, patterns: readonly ClassPattern[]): ClassifiedName {
  for (const pat of patterns) {
    if (pat.pattern.test(full) || (full !== short && pat.pattern.test(short))) {
      return { name, class: pat.class, family: pat.family, source: pat.source };
    }
  }
  return { name, class: 'compute', family: FAMILY_DEFAULT, source: 'default' };
}

/** Whether a class's kernels can hide communication: they do work on the SMs (not sync, not memory, not communication). */
export function isComputeClass(code: number): boolean {
  return code === ClassCode['expert-gemm'] || code === ClassCode.compute;
}

/** Whether a class's kernels take part in communication (the collective itself, or waiting for peers). */
export function isCommunicationClass(code: number): boolean {
  return code === ClassCode.communication || code === ClassCode.sync;
}

export interface TraceClassSummary {
  class: KernelClass;
  kernels: number;
  /** summed kernel durations, ns */
  time: number;
  /** distinct short names */
  names: number;
  /** the names with the most time: name, family, source, kernels, time */
  top: { name: string; family: string; source: string; kernels: number; time: number }[];
}

/** What was classified how over the whole trace (every device, no window): `info` lists it. */
export function summarizeClasses(trace: Trace, c: KernelClassification, limit = 10): TraceClassSummary[] {
  const k = trace.kernels;
  const perEntry = new Float64Array(c.names.length * 2);
  for (let i = 0; i < k.count; i++) {
    perEntry[2 * c.nameOf[i]] += 1;
    perEntry[2 * c.nameOf[i] + 1] += k.end[i] - k.start[i];
  }
  return KERNEL_CLASSES.flatMap((cls) => {
    const rows = new Map<string, { name: string; family: string; source: string; kernels: number; time: number }>();
    c.names.forEach((e, n) => {
      if (e.class !== cls || perEntry[2 * n] === 0) return;
      const name = trace.strings[e.name] ?? '?';
      const key = `${name}\u0000${e.family}\u0000${e.source}`;
      const r = rows.get(key);
      if (r) { r.kernels += perEntry[2 * n]; r.time += perEntry[2 * n + 1]; } else rows.set(key, { name, family: e.family, source: e.source, kernels: perEntry[2 * n], time: perEntry[2 * n + 1] });
    });
    if (rows.size === 0) return [];
    const list = [...rows.values()].sort((a, b) => b.time - a.time || a.name.localeCompare(b.name));
    return [{
      class: cls, kernels: list.reduce((t, r) => t + r.kernels, 0), time: list.reduce((t, r) => t + r.time, 0),
      names: new Set(list.map((r) => r.name)).size, top: list.slice(0, limit),
    }];
  });
}

/** GEMM kernels by name: cuBLAS (nvjet, xmma, *gemm*), CUTLASS, PyTorch matmul paths. */
const GEMM_NAME = /gemm|nvjet|xmma|cutlass|cublas|matmul|splitKreduce|_mm_|\bmm_kernel/i;

/** A range text that names one expert or the experts phase: `expert 7`, `experts mb1`, `expert_ffn[...]`. */
const EXPERT_RANGE = /\bexperts?\b|expert[\s_]?(?:ffn|mlp|\d)|moe[\s_]?(?:mlp|ffn)/i;

/**
 * Per-expert GEMMs (a loop over experts, one cuBLAS GEMM each) carry no grouped-GEMM name: a
 * compute kernel named like a GEMM whose launch call sits in an NVTX / record_function range
 * naming an expert (the innermost range around the call, same thread) becomes `expert-gemm`,
 * family "GEMM in an expert range", source "NVTX range". Changes `c` in place; returns how many
 * kernels moved. `innermost` gives each kernel's innermost range text (string index, -1 none),
 * e.g. analyses/kernel-ranges.ts innermostRangeTexts over the call links.
 */
export function refineExpertGemms(trace: Trace, c: KernelClassification, innermost: (rows: Int32Array) => Int32Array): number {
  const { strings, nvtx } = trace;
  // only where some range names an expert
  let expertTexts = false;
  const seen = new Set<number>();
  for (let i = 0; i < nvtx.count && !expertTexts; i++) {
    const t = nvtx.text[i];
    if (t < 0 || seen.has(t)) continue;
    seen.add(t);
    if (EXPERT_RANGE.test(strings[t] ?? '')) expertTexts = true;
  }
  if (!expertTexts) return 0;
  // only kernels no pattern placed (not "grouped GEMM setup", not a --classes entry)
  const gemmEntry = c.names.map((e) => e.class === 'compute' && e.source === 'default' && GEMM_NAME.test(strings[e.name] ?? ''));
  if (!gemmEntry.some(Boolean)) return 0;
  let count = 0;
  for (let i = 0; i < c.nameOf.length; i++) if (gemmEntry[c.nameOf[i]]) count++;
  const rows = new Int32Array(count);
  for (let i = 0, j = 0; i < c.nameOf.length; i++) if (gemmEntry[c.nameOf[i]]) rows[j++] = i;
  const text = innermost(rows);
  const isExpert = new Map<number, boolean>();
  const moved = new Map<number, number>();
  let n = 0;
  for (let q = 0; q < rows.length; q++) {
    const i = rows[q];
    const t = text[q];
    if (t < 0) continue;
    let expert = isExpert.get(t);
    if (expert === undefined) isExpert.set(t, (expert = EXPERT_RANGE.test(strings[t] ?? '')));
    if (!expert) continue;
    const from = c.nameOf[i];
    let to = moved.get(from);
    if (to === undefined) {
      to = c.names.push({ name: c.names[from].name, class: 'expert-gemm', family: 'GEMM in an expert range', source: 'NVTX range' }) - 1;
      moved.set(from, to);
    }
    c.nameOf[i] = to;
    c.classOf[i] = ClassCode['expert-gemm'];
    n++;
  }
  return n;
}
