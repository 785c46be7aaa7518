/**
 * PyTorch profiler (Kineto) trace events into the columnar Trace every analysis reads: the
 * Chrome trace-event form torch.profiler's export_chrome_trace writes (2021 legacy form to 2026,
 * CUDA and ROCm). What maps where:
 *
 * - `kernel` (legacy `Kernel`) → kernels: args.device / args.stream (legacy: pid, tid "stream 7"),
 *   grid, block, registers per thread, shared memory (static + dynamic: Kineto writes the sum),
 *   correlation (else the ac2g/async flow that ends on it).
 * - `cuda_runtime` (`Runtime`) / `cuda_driver` → CUDA API calls on their thread; ROCm traces put
 *   hip* calls there too.
 * - `gpu_memcpy` / `gpu_memset` (`Memcpy` / `Memset`) → copies and sets; kinds from the name
 *   ("Memcpy DtoH (Device -> Pageable)").
 * - `cuda_sync` → synchronization records.
 * - `user_annotation` → NVTX-like push/pop ranges on their thread (ProfilerStep#N, record_function).
 *   `gpu_user_annotation` is Kineto's GPU-side copy of the same ranges: counted, used as ranges
 *   only when a trace has no CPU-side annotations.
 * - `deviceProperties` → GPU descriptions (absent in older traces: said in a warning).
 * - `baseTimeNanoseconds` → sessionStartUtcNs (the UTC time of model time 0).
 * Everything else (cpu_op, python_function, ...) is counted per category and skipped unparsed.
 */
import { StringTable, LaunchConfigTable, emptyGpu, narrowIds } from '../../model/build.js';
import { narrowTrace } from '../../model/columns.js';
import {
  MemcpyKind, MemoryKind, type ApiCallTotal, type GpuInfo, type KernelColumns, type MemcpyColumns, type MemsetColumns,
  type NvtxColumns, type ProcessInfo, type RuntimeColumns, type SyncColumns, type ThreadInfo, type Trace, type TraceMeta,
  KernelCollectives,
} from '../../model/trace.js';
import { F64, I32, orderByStart, permute } from './columns.js';
import { F, parseJson, type EventFields } from './scan.js';
import { nsOfMicros, slowNs, wholeMicros } from './time.js';
import { shortKernelName } from './names.js';

export interface KinetoOptions {
  /** as ReadOptions.keepApiCall of the nsys reader: keep only these calls in runtime, count all in apiSummary */
  keepApiCall?: (name: string) => boolean;
  /** read synchronization records (cuda_sync events); default true */
  syncRecords?: boolean;
}

/** Whole µs beyond which times are rebased so that µs × 1000 stays exact as a double (2^53 ns ≈ 9.007e12 µs). */
const REBASE_ABOVE_US = 8e12;

const enum Kind { Skip, Kernel, Runtime, Driver, Memcpy, Memset, Sync, Annotation, GpuAnnotation, Flow, CpuOp }

const KIND_OF_CAT: Record<string, Kind> = {
  kernel: Kind.Kernel, Kernel: Kind.Kernel,
  cuda_runtime: Kind.Runtime, Runtime: Kind.Runtime,
  cuda_driver: Kind.Driver, Driver: Kind.Driver,
  gpu_memcpy: Kind.Memcpy, Memcpy: Kind.Memcpy,
  gpu_memset: Kind.Memset, Memset: Kind.Memset,
  cuda_sync: Kind.Sync,
  user_annotation: Kind.Annotation,
  gpu_user_annotation: Kind.GpuAnnotation,
  ac2g: Kind.Flow, async: Kind.Flow, async_cpu_to_gpu: Kind.Flow,
  cpu_op: Kind.CpuOp, Operator: Kind.CpuOp,
};


const PROFILER_STEP = Buffer.from('ProfilerStep#');

function same(a: Buffer, buf: Buffer, s: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (a[i] !== buf[s + i]) return false;
  return true;
}

/** A category seen in the trace: its name, what the reader does with it, how many events. */
interface CatEntry { bytes: Buffer; name: string; kind: Kind; count: number }

/** Categories by their bytes, so an event's category is known without making a string of it. */
class Categories {
  private readonly byHash = new Map<number, CatEntry[]>();
  readonly all: CatEntry[] = [];

  of(buf: Buffer, s: number, e: number): CatEntry {
    const n = e - s;
    const h = n === 0 ? 0 : (n << 20) ^ (buf[s] << 12) ^ (buf[e - 1] << 4) ^ buf[s + (n >> 1)];
    let list = this.byHash.get(h);
    if (list) {
      for (const c of list) if (c.bytes.length === n && same(c.bytes, buf, s, n)) return c;
    } else {
      this.byHash.set(h, (list = []));
    }
    const name = buf.toString('utf8', s, e);
    const entry: CatEntry = { bytes: Buffer.from(buf.subarray(s, e)), name, kind: KIND_OF_CAT[name] ?? Kind.Skip, count: 0 };
    list.push(entry);
    this.all.push(entry);
    return entry;
  }
}

interface KEvent {
  ph?: string; cat?: string; name?: unknown; pid?: unknown; tid?: unknown; id?: unknown; bp?: string;
  args?: Record<string, unknown>;
}

const num = (v: unknown): number | null => {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return null;
};

/** pid/tid as a key: numbers and numeric strings alike ("1441273664" = 1441273664). */
const idKey = (v: unknown): string => {
  const n = num(v);
  return n !== null ? String(n) : String(v);
};

/** "Memcpy HtoD (Pageable -> Device)" → copy kind and memory kinds; -1 when not said. */
const COPY_KINDS: Record<string, number> = {
  HtoD: MemcpyKind.HtoD, DtoH: MemcpyKind.DtoH, HtoA: MemcpyKind.HtoA, AtoH: MemcpyKind.AtoH, AtoA: MemcpyKind.AtoA,
  AtoD: MemcpyKind.AtoD, DtoA: MemcpyKind.DtoA, DtoD: MemcpyKind.DtoD, HtoH: MemcpyKind.HtoH, PtoP: MemcpyKind.PtoP,
};
const MEM_KINDS: Record<string, number> = {
  Pageable: MemoryKind.Pageable, Pinned: MemoryKind.Pinned, Device: MemoryKind.Device, Array: MemoryKind.Array,
  Managed: MemoryKind.Managed, 'Device Static': MemoryKind.DeviceStatic, 'Managed Static': MemoryKind.ManagedStatic,
};

export function copyKindsOfName(name: string, argKind?: unknown): { copyKind: number; src: number; dst: number } {
  const m = /\b(HtoD|DtoH|HtoA|AtoH|AtoA|AtoD|DtoA|DtoD|HtoH|PtoP)\b/.exec(name);
  const kindText = m ? m[1] : typeof argKind === 'string' ? argKind : '';
  const copyKind = COPY_KINDS[kindText] ?? -1;
  const p = /\(([^)]*?)\s*->\s*([^)]*?)\)/.exec(name);
  return { copyKind, src: p ? MEM_KINDS[p[1]] ?? -1 : -1, dst: p ? MEM_KINDS[p[2]] ?? -1 : -1 };
}

/** "Stream Sync" / "Event Sync" / "Context Sync" / "Stream Wait Event" → SyncColumns syncType. */
function syncTypeOfName(name: string): number {
  if (/wait/i.test(name)) return 2;
  if (/event/i.test(name)) return 1;
  if (/stream/i.test(name)) return 3;
  if (/context|device/i.test(name)) return 4;
  return -1;
}

interface Times { start: F64; end: F64 }
function rows<T extends Record<string, F64 | I32>>(extra: T): T & Times {
  return { start: new F64(), end: new F64(), ...extra };
}

/** A flow event (ac2g) kept in case a GPU record or an API call lacks its correlation arg. */
interface FlowRows { ts: F64; id: F64; where: I32 }

export class KinetoBuilder {
  private readonly strings = new StringTable();
  private readonly configs = new LaunchConfigTable();
  private originUs = NaN;
  private readonly cats = new Categories();
  private readonly noCat: CatEntry = { bytes: Buffer.alloc(0), name: '', kind: Kind.Skip, count: 0 };
  private readonly members: Record<string, unknown> = {};
  private readonly warnings: string[] = [];
  private readonly kern = rows({ device: new I32(), stream: new I32(), corr: new F64(), name: new I32(), config: new I32(), where: new I32(), node: new F64(), full: new I32() });
  /** NCCL kernel args (issue 17: kernel classes), sparse by kernel read order: Trace.collectives */
  private readonly coll = { row: new I32(64), name: new I32(64), inN: new F64(64), outN: new F64(64), dtype: new I32(64), pg: new I32(64), size: new I32(64) };
  private readonly fullNames = new Map<string, number>();
  private readonly rt = rows({ thread: new I32(), corr: new F64(), name: new I32(), api: new I32() });
  private readonly copy = rows({ device: new I32(), ctx: new I32(), stream: new I32(), corr: new F64(), bytes: new F64(), kind: new I32(), src: new I32(), dst: new I32(), where: new I32() });
  private readonly set = rows({ device: new I32(), ctx: new I32(), stream: new I32(), corr: new F64(), bytes: new F64(), mem: new I32(), where: new I32() });
  private readonly sync = rows({ device: new I32(), ctx: new I32(), stream: new I32(), corr: new F64(), type: new I32() });
  private readonly ann = rows({ thread: new I32(), text: new I32() });
  private readonly gpuAnn = rows({ device: new I32(), stream: new I32(), text: new I32() });
  private readonly flowEnd: FlowRows = { ts: new F64(), id: new F64(), where: new I32() };
  /** "pid|tid" of the GPU lane or CPU thread an event sits on, for matching flows */
  private readonly lanes = new Map<string, number>();
  private readonly threadIndex = new Map<string, number>();
  readonly threads: ThreadInfo[] = [];
  private readonly processIndex = new Map<string, number>();
  readonly processes: ProcessInfo[] = [];
  private readonly processNames = new Map<string, string>();
  private readonly threadNames = new Map<string, string>();
  private readonly apiTotals = new Map<number, ApiCallTotal>();
  private dropped = { noTime: 0, negative: 0, badJson: 0 };
  private zeroKernels = 0;
  private apiKeep = new Map<string, boolean>();
  private legacy = false;
  private readonly shortNames = new Map<string, number>();
  private hip = false;
  events = 0;

  constructor(private readonly opts: KinetoOptions = {}) {}

  onMember(key: string, value: unknown): void {
    this.members[key] = value;
  }

  private time(buf: Buffer, s: number, e: number): number {
    if (Number.isNaN(this.originUs)) {
      const us = wholeMicros(buf, s, e);
      if (Number.isNaN(us)) return NaN;
      this.originUs = Math.abs(us) > REBASE_ABOVE_US ? us - (us % 1e6) : 0;
    }
    return nsOfMicros(buf, s, e, this.originUs);
  }

  private timeOf(v: unknown): number {
    if (typeof v === 'string') {
      if (Number.isNaN(this.originUs)) this.originUs = 0;
      return slowNs(v, this.originUs);
    }
    if (typeof v === 'number' && Number.isFinite(v)) {
      if (Number.isNaN(this.originUs)) this.originUs = Math.abs(v) > REBASE_ABOVE_US ? Math.trunc(v) - (Math.trunc(v) % 1e6) : 0;
      return slowNs(String(v), this.originUs);
    }
    return NaN;
  }

  onEvent(buf: Buffer, s: number, e: number, f: EventFields): void {
    this.events++;
    const st = f.start; const en = f.end;
    const ph = st[F.Ph] >= 0 && en[F.Ph] === st[F.Ph] + 1 ? buf[st[F.Ph]] : 0;
    const cat = st[F.Cat] >= 0 ? this.cats.of(buf, st[F.Cat], en[F.Cat]) : this.noCat;
    cat.count++;
    if (ph === 0x4d /* M */) {
      const ev = this.parse(buf, s, e);
      if (ev) this.metadata(ev);
      return;
    }
    let kind = cat.kind;
    if (kind === Kind.CpuOp) {
      // before user_annotation existed (2021), ProfilerStep#N was an operator
      const ns = st[F.Name];
      if (ph !== 0x58 || ns < 0 || en[F.Name] - ns <= PROFILER_STEP.length || !same(PROFILER_STEP, buf, ns, PROFILER_STEP.length)) return;
      kind = Kind.Annotation;
    }
    if (kind === Kind.Skip) return;
    if (kind === Kind.Flow) {
      // flows only link records that lack a correlation arg: read from the scanner's positions, not parsed;
      // only the ends ('f', 't') are kept: the starts ('s') are never matched
      if (ph !== 0x66 /* f */ && ph !== 0x74 /* t */) return;
      if (st[F.Id] < 0 || st[F.Ts] < 0) return;
      const id = Number(buf.toString('latin1', st[F.Id], en[F.Id]));
      const ts = this.time(buf, st[F.Ts], en[F.Ts]);
      if (!Number.isFinite(id) || Number.isNaN(ts)) return;
      const rows = this.flowEnd;
      const pid = st[F.Pid] >= 0 ? idKey(buf.toString('latin1', st[F.Pid], en[F.Pid])) : '';
      const tid = st[F.Tid] >= 0 ? idKey(buf.toString('latin1', st[F.Tid], en[F.Tid])) : '';
      rows.ts.push(ts); rows.id.push(id); rows.where.push(this.laneOfKey(`${pid}|${tid}`));
      return;
    }
    if (ph !== 0x58 /* X */) return;
    if (st[F.Ts] < 0) { this.dropped.noTime++; return; }
    const start = this.time(buf, st[F.Ts], en[F.Ts]);
    const dur = st[F.Dur] >= 0 ? nsOfMicros(buf, st[F.Dur], en[F.Dur], 0) : 0;
    if (Number.isNaN(start) || Number.isNaN(dur)) { this.dropped.noTime++; return; }
    if (dur < 0) { this.dropped.negative++; return; }
    if (cat.name.charCodeAt(0) < 0x61 && (kind === Kind.Kernel || kind === Kind.Runtime || kind === Kind.Memcpy || kind === Kind.Memset)) this.legacy = true;
    const ev = this.lite(buf, s, e, f);
    if (!ev) return;
    this.add(kind, ev, start, start + dur);
  }

  /**
   * The event's name, pid, tid and args from the scanner's positions, parsing only the args
   * object: the whole event through JSON.parse when something is not plain (escapes, no args).
   */
  private lite(buf: Buffer, s: number, e: number, f: EventFields): KEvent | null {
    const st = f.start; const en = f.end;
    const ns = st[F.Name];
    if (ns < 0 || f.quoted[F.Name] !== 1) return this.parse(buf, s, e);
    for (let i = ns; i < en[F.Name]; i++) if (buf[i] === 0x5c) return this.parse(buf, s, e);
    const as = st[F.Args];
    let args: Record<string, unknown> = {};
    if (as >= 0) {
      try {
        args = parseJson(buf, as, en[F.Args]) as Record<string, unknown>;
      } catch {
        this.dropped.badJson++;
        return null;
      }
    }
    const value = (k: number): unknown => {
      if (st[k] < 0) return undefined;
      const t = buf.toString('latin1', st[k], en[k]);
      return f.quoted[k] === 1 ? t : Number(t);
    };
    return { name: buf.toString('utf8', ns, en[F.Name]), pid: value(F.Pid), tid: value(F.Tid), args };
  }

  private parse(buf: Buffer, s: number, e: number): KEvent | null {
    try {
      const v = parseJson(buf, s, e);
      return v !== null && typeof v === 'object' ? v as KEvent : null;
    } catch {
      this.dropped.badJson++;
      return null;
    }
  }

  private metadata(ev: KEvent): void {
    const name = typeof ev.args?.name === 'string' ? ev.args.name : null;
    if (name === null) return;
    if (ev.name === 'process_name') this.processNames.set(idKey(ev.pid), name);
    else if (ev.name === 'thread_name') this.threadNames.set(`${idKey(ev.pid)}|${idKey(ev.tid)}`, name);
  }

  private lane(pid: unknown, tid: unknown): number {
    return this.laneOfKey(`${idKey(pid)}|${idKey(tid)}`);
  }

  private laneOfKey(key: string): number {
    let i = this.lanes.get(key);
    if (i === undefined) this.lanes.set(key, (i = this.lanes.size));
    return i;
  }

  private processOf(pid: unknown): number {
    const key = idKey(pid);
    let p = this.processIndex.get(key);
    if (p === undefined) {
      p = this.processes.length;
      this.processIndex.set(key, p);
      const n = num(pid);
      this.processes.push({ globalPid: n !== null && Number.isInteger(n) ? String(n) : key, pid: n ?? -1, name: '' });
    }
    return p;
  }

  private threadOf(pid: unknown, tid: unknown): number {
    const key = `${idKey(pid)}|${idKey(tid)}`;
    let t = this.threadIndex.get(key);
    if (t === undefined) {
      const process = this.processOf(pid);
      t = this.threads.length;
      this.threadIndex.set(key, t);
      const p = num(pid); const n = num(tid);
      // nsys packs pid and tid into globalTid; here pid * 2^32 + tid, which no other thread shares
      const global = p !== null && n !== null && Number.isInteger(p) && Number.isInteger(n) && n >= 0
        ? (BigInt(p) * 4294967296n + BigInt(n)).toString() : key;
      this.threads.push({ globalTid: global, tid: n ?? -1, name: '', process });
    }
    return t;
  }

  private add(kind: Kind, ev: KEvent, start: number, end: number): void {
    const a = ev.args ?? {};
    const name = typeof ev.name === 'string' ? ev.name : String(ev.name ?? '');
    switch (kind) {
      case Kind.Kernel: {
        const k = this.kern;
        k.start.push(start); k.end.push(end);
        if (end === start) this.zeroKernels++;
        k.device.push(this.deviceOf(a, ev));
        k.stream.push(this.streamOf(a, ev));
        k.corr.push(num(a.correlation) ?? -1);
        let short = this.shortNames.get(name);
        if (short === undefined) this.shortNames.set(name, (short = this.strings.intern(shortKernelName(name))));
        k.name.push(short);
        // the full name too: kernel classes match namespaces (deep_ep::intranode::dispatch<...>)
        let full = this.fullNames.get(name);
        if (full === undefined) this.fullNames.set(name, (full = this.strings.intern(name)));
        k.full.push(full);
        if (typeof a['Collective name'] === 'string') this.collective(k.start.n - 1, a);
        const grid = Array.isArray(a.grid) ? a.grid : [];
        const block = Array.isArray(a.block) ? a.block : [];
        const regs = num(a['registers per thread']);
        const smem = num(a['shared memory']);
        k.config.push(this.configs.intern([
          num(grid[0]) ?? -1, num(grid[1]) ?? -1, num(grid[2]) ?? -1, num(block[0]) ?? -1, num(block[1]) ?? -1, num(block[2]) ?? -1,
          regs ?? -1, smem ?? -1, smem === null ? -1 : 0,
        ]));
        k.where.push(this.lane(ev.pid, ev.tid));
        k.node.push(num(a['graph node id']) ?? -1);
        return;
      }
      case Kind.Runtime: case Kind.Driver: {
        if (name.startsWith('hip')) this.hip = true;
        const nameIdx = this.strings.intern(name);
        if (this.opts.keepApiCall) {
          let t = this.apiTotals.get(nameIdx);
          if (!t) this.apiTotals.set(nameIdx, (t = { name: nameIdx, count: 0, total: 0 }));
          t.count++; t.total += end - start;
          let keep = this.apiKeep.get(name);
          if (keep === undefined) this.apiKeep.set(name, (keep = this.opts.keepApiCall(name)));
          if (!keep) return;
        }
        const r = this.rt;
        r.start.push(start); r.end.push(end);
        r.thread.push(this.threadOf(ev.pid, ev.tid));
        r.corr.push(num(a.correlation) ?? -1);
        r.name.push(nameIdx);
        r.api.push(kind === Kind.Driver ? 1 : 0);
        return;
      }
      case Kind.Memcpy: {
        const c = this.copy;
        const kinds = copyKindsOfName(name, a.kind);
        c.start.push(start); c.end.push(end);
        c.device.push(this.deviceOf(a, ev)); c.ctx.push(num(a.context) ?? -1); c.stream.push(this.streamOf(a, ev));
        c.corr.push(num(a.correlation) ?? -1); c.bytes.push(num(a.bytes) ?? num(a.size) ?? 0);
        c.kind.push(kinds.copyKind); c.src.push(kinds.src); c.dst.push(kinds.dst);
        c.where.push(this.lane(ev.pid, ev.tid));
        return;
      }
      case Kind.Memset: {
        const c = this.set;
        const m = /\(([^)]*)\)/.exec(name);
        c.start.push(start); c.end.push(end);
        c.device.push(this.deviceOf(a, ev)); c.ctx.push(num(a.context) ?? -1); c.stream.push(this.streamOf(a, ev));
        c.corr.push(num(a.correlation) ?? -1); c.bytes.push(num(a.bytes) ?? 0);
        c.mem.push(m ? MEM_KINDS[m[1]] ?? -1 : -1);
        c.where.push(this.lane(ev.pid, ev.tid));
        return;
      }
      case Kind.Sync: {
        if (this.opts.syncRecords === false) return;
        const c = this.sync;
        const type = syncTypeOfName(name);
        c.start.push(start); c.end.push(end);
        c.device.push(this.deviceOf(a, ev)); c.ctx.push(num(a.context) ?? -1);
        c.stream.push(type === 3 || type === 2 ? this.streamOf(a, ev) : -1);
        c.corr.push(num(a.correlation) ?? -1); c.type.push(type);
        return;
      }
      case Kind.Annotation: {
        const c = this.ann;
        c.start.push(start); c.end.push(end);
        c.thread.push(this.threadOf(ev.pid, ev.tid));
        c.text.push(this.strings.intern(name));
        return;
      }
      case Kind.GpuAnnotation: {
        const c = this.gpuAnn;
        c.start.push(start); c.end.push(end);
        c.device.push(this.deviceOf(a, ev)); c.stream.push(this.streamOf(a, ev));
        c.text.push(this.strings.intern(name));
        return;
      }
      default:
    }
  }

  private deviceOf(a: Record<string, unknown>, ev: KEvent): number {
    return num(a.device) ?? num(ev.pid) ?? 0;
  }

  private streamOf(a: Record<string, unknown>, ev: KEvent): number {
    const s = num(a.stream);
    if (s !== null) return s;
    if (typeof ev.tid === 'string') {
      const m = /(\d+)\s*$/.exec(ev.tid);
      if (m) return Number(m[1]);
    }
    return num(ev.tid) ?? -1;
  }

  /** Correlation ids missing from args, from the flow that ends on the record (or starts on the call). */
  private fillFromFlows(rows: Times & { corr: F64; where: I32 }, flows: FlowRows): number {
    const corr = rows.corr;
    let missing = 0;
    for (let i = 0; i < rows.start.n; i++) if (corr.a[i] < 0) missing++;
    if (missing === 0 || flows.ts.n === 0) return missing;
    const byKey = new Map<string, number>();
    for (let j = 0; j < flows.ts.n; j++) byKey.set(`${flows.where.a[j]}|${flows.ts.a[j]}`, flows.id.a[j]);
    const where = rows.where;
    let filled = 0;
    for (let i = 0; i < rows.start.n; i++) {
      if (corr.a[i] >= 0) continue;
      const id = byKey.get(`${where.a[i]}|${rows.start.a[i]}`);
      if (id !== undefined) { corr.a[i] = id; filled++; }
    }
    return missing - filled;
  }

  finish(meta: Pick<TraceMeta, 'file' | 'fileSizeBytes'>): Trace {
    const w = this.warnings;
    const kernelsUnlinked = this.fillFromFlows(this.kern, this.flowEnd);
    this.fillFromFlows(this.copy, this.flowEnd);
    this.fillFromFlows(this.set, this.flowEnd);

    // the CPU process of the GPU records: the process of the call with the same correlation id
    const rtProcess = new Map<number, number>();
    const rx = this.rt;
    const cpuProcesses = new Set<number>();
    for (let i = 0; i < this.rt.start.n; i++) {
      const p = this.threads[rx.thread.a[i]].process;
      cpuProcesses.add(p);
      const c = rx.corr.a[i];
      if (c >= 0 && !rtProcess.has(c)) rtProcess.set(c, p);
    }
    const only = cpuProcesses.size === 1 ? [...cpuProcesses][0] : cpuProcesses.size === 0 && this.processes.length === 1 ? 0 : -1;
    const processOfCorr = (c: number): number => (cpuProcesses.size <= 1 ? only : rtProcess.get(c) ?? -1);

    const kernelOrder = orderByStart(this.kern.start.a, this.kern.end.a, this.kern.start.n);
    const kernels = this.kernelColumns(kernelOrder, processOfCorr);
    const collectives = this.coll.row.n > 0 ? this.collectiveColumns(kernelOrder) : undefined;
    const runtime = this.runtimeColumns();
    const memcpy = this.memcpyColumns(processOfCorr);
    const memset = this.memsetColumns(processOfCorr);
    const sync = this.syncColumns(processOfCorr);
    const nvtx = this.nvtxColumns();

    for (const p of this.processes) p.name = this.processNames.get(p.globalPid) ?? this.processNames.get(String(p.pid)) ?? p.name;
    for (const t of this.threads) {
      const p = this.processes[t.process];
      t.name = this.threadNames.get(`${p.globalPid}|${t.tid}`) ?? t.name;
    }

    const gpus = this.gpus(kernels, memcpy, memset);
    const d = this.dropped;
    if (d.noTime > 0) w.push(`${d.noTime} event${d.noTime === 1 ? '' : 's'} without a readable ts or dur ${d.noTime === 1 ? 'was' : 'were'} ignored.`);
    if (d.negative > 0) w.push(`${d.negative} event${d.negative === 1 ? '' : 's'} with a negative dur ${d.negative === 1 ? 'was' : 'were'} ignored.`);
    if (d.badJson > 0) w.push(`${d.badJson} event${d.badJson === 1 ? '' : 's'} that ${d.badJson === 1 ? 'is' : 'are'} not valid JSON ${d.badJson === 1 ? 'was' : 'were'} ignored.`);
    if (kernelsUnlinked > 0 && kernels.count > 0) {
      w.push(`${kernelsUnlinked} of ${kernels.count} kernels have no correlation id (no args.correlation and no flow event ending on them): their launch calls are unknown.`);
    }
    if (this.zeroKernels > 0) w.push(`${this.zeroKernels} kernel${this.zeroKernels === 1 ? ' has' : 's have'} a duration of 0 (the trace's timestamps are whole µs): they count as launched but add no GPU time.`);
    const counts = new Map<string, number>();
    for (const c of [...this.cats.all, this.noCat]) if (c.count > 0) counts.set(c.name, (counts.get(c.name) ?? 0) + c.count);
    const cpuOps = (counts.get('cpu_op') ?? 0) + (counts.get('Operator') ?? 0);
    const hasKernelTable = kernels.count > 0 || this.rt.start.n > 0 || memcpy.count > 0;
    if (!hasKernelTable) {
      w.push(cpuOps > 0
        ? 'The trace has CPU operators but no GPU records (no kernel, CUDA API or memcpy events): the profiler got no CUPTI data — another profiler (e.g. nsys) held CUPTI (CUPTI_ERROR_MULTIPLE_SUBSCRIBERS_NOT_SUPPORTED), or ProfilerActivity.CUDA was not requested.'
        : 'The trace has no GPU records (no kernel, CUDA API or memcpy events).');
    }
    const gpuAnns = this.gpuAnn.start.n;
    if (gpuAnns > 0 && this.ann.start.n === 0) {
      w.push(`The trace has ${gpuAnns} GPU-side annotations (gpu_user_annotation) but no CPU-side ones: they were read as ranges on the GPU, which no launch call sits in.`);
    }

    const schemaVersion = num(this.members.schemaVersion);
    const base = this.members.baseTimeNanoseconds;
    const origin = Number.isNaN(this.originUs) ? 0 : this.originUs;
    // Model time 0 is the earliest record kept, as in an nsys export's timeline: Kineto's own
    // times are µs since an arbitrary clock origin (5,327,205 s here), unreadable in a report.
    const cols = [kernels, runtime, memcpy, memset, sync, nvtx];
    let min = Infinity;
    for (const c of cols) if (c.count > 0 && c.start[0] < min) min = c.start[0];
    if (!Number.isFinite(min)) min = 0;
    if (min !== 0) {
      for (const c of cols) {
        for (let i = 0; i < c.count; i++) { c.start[i] -= min; c.end[i] -= min; }
      }
    }
    const timeOriginNs = (BigInt(origin) * 1000n + BigInt(min)).toString();
    const baseNs = typeof base === 'number' || typeof base === 'string' ? safeBigInt(base) : null;
    const tables = [...counts].sort((a, b) => b[1] - a[1]).map(([name, rows]) => ({ name: name === '' ? '(no cat)' : name, rows }));
    const fullMeta: TraceMeta = {
      file: meta.file, fileSizeBytes: meta.fileSizeBytes,
      nsysVersion: null, exportSchemaVersion: schemaVersion === null ? null : String(schemaVersion),
      schemaShape: { metadataTable: null, gpuTable: null, nvtxText: null },
      timeOriginNs,
      sessionStartUtcNs: baseNs === null ? null : (baseNs + BigInt(timeOriginNs)).toString(),
      tables,
      warnings: w,
      source: { format: 'kineto', producer: this.producer(schemaVersion) },
    };
    const apiSummary = this.opts.keepApiCall ? [...this.apiTotals.values()] : undefined;
    return narrowTrace({
      meta: fullMeta, strings: this.strings.strings, kernels, launchConfigs: this.configs.configs, hasKernelTable,
      runtime, ...(apiSummary ? { apiSummary } : {}), memcpy, memset, sync, nvtx, gpus,
      processes: this.processes, threads: this.threads, ...(collectives ? { collectives } : {}),
    });
  }

  private producer(schemaVersion: number | null): string {
    const m = this.members;
    const parts: string[] = [];
    if (this.legacy) parts.push('2021 legacy form');
    else if (schemaVersion !== null) parts.push(`trace schema ${schemaVersion}`);
    if (this.hip || m.roctracer_version !== undefined) parts.push('ROCm');
    if (m.cupti_version !== undefined) parts.push(`CUPTI ${String(m.cupti_version)}`);
    if (m.cuda_runtime_version !== undefined) parts.push(`CUDA runtime ${String(m.cuda_runtime_version)}`);
    const torch = m.pytorch_version ?? m.torch_version;
    return `PyTorch profiler (Kineto${torch !== undefined ? `, torch ${String(torch)}` : ''})${parts.length > 0 ? `, ${parts.join(', ')}` : ''}`;
  }

  private gpus(kernels: KernelColumns, memcpy: MemcpyColumns, memset: MemsetColumns): GpuInfo[] {
    const props = Array.isArray(this.members.deviceProperties) ? this.members.deviceProperties as Record<string, unknown>[] : [];
    const gpus: GpuInfo[] = props.filter((p) => p && typeof p === 'object').map((p) => {
      const id = num(p.id) ?? 0;
      const major = num(p.computeMajor); const minor = num(p.computeMinor);
      return {
        ...emptyGpu(id),
        name: typeof p.name === 'string' ? p.name : `GPU ${id}`,
        smCount: num(p.numSms),
        computeCapability: major !== null && minor !== null ? { major, minor } : null,
        maxThreadsPerSm: num(p.maxThreadsPerMultiprocessor),
        maxBlocksPerSm: num(p.maxBlocksPerMultiProcessor) ?? num(p.maxBlocksPerMultiprocessor),
        maxRegistersPerSm: num(p.regsPerMultiprocessor),
        maxRegistersPerBlock: num(p.regsPerBlock),
        maxSharedMemoryPerSm: num(p.sharedMemPerMultiprocessor) ?? num(p.maxSharedMemoryPerMultiProcessor),
        maxSharedMemoryPerBlock: num(p.sharedMemPerBlockOptin) ?? num(p.sharedMemPerBlock),
        threadsPerWarp: num(p.warpSize),
        totalMemory: num(p.totalGlobalMem),
      };
    });
    const described = new Set(gpus.map((g) => g.deviceId));
    const used = new Set<number>();
    for (const col of [kernels.deviceId, memcpy.deviceId, memset.deviceId]) for (const d of col) used.add(d);
    const missing = [...used].filter((d) => !described.has(d)).sort((a, b) => a - b);
    for (const d of missing) gpus.push(emptyGpu(d));
    if (missing.length > 0) {
      this.warnings.push(props.length === 0
        ? `The trace has no deviceProperties (PyTorch before 1.9 did not write them): the SM count and limits of GPU ${missing.join(', ')} are unknown.`
        : `GPU ${missing.join(', ')} ${missing.length === 1 ? 'has' : 'have'} activity but no entry in deviceProperties; SM count and limits unknown.`);
    }
    return gpus.sort((a, b) => a.deviceId - b.deviceId);
  }

  /** A kernel's NCCL args ("Collective name", "In msg nelems", "dtype", "Process Group Name", "Group size"). */
  private collective(row: number, a: Record<string, unknown>): void {
    const c = this.coll;
    const str = (v: unknown): number => (typeof v === 'string' && v !== '' ? this.strings.intern(v) : -1);
    c.row.push(row);
    c.name.push(str(a['Collective name']));
    c.inN.push(num(a['In msg nelems']) ?? NaN);
    c.outN.push(num(a['Out msg nelems']) ?? NaN);
    c.dtype.push(str(a.dtype));
    c.pg.push(str(a['Process Group Name']));
    c.size.push(num(a['Group size']) ?? -1);
  }

  /** Trace.collectives over the sorted kernel rows (`order` = kernelColumns' sort); called only when there are some. */
  private collectiveColumns(order: Uint32Array): KernelCollectives {
    const c = this.coll;
    const n = c.row.n;
    const rowOf = new Int32Array(order.length);
    for (let i = 0; i < order.length; i++) rowOf[order[i]] = i;
    const byRow = Array.from({ length: n }, (_, j) => j).sort((x, y) => rowOf[c.row.a[x]] - rowOf[c.row.a[y]]);
    const pick = <T extends Int32Array | Float64Array>(col: T, Ctor: new (n: number) => T): T => {
      const out = new Ctor(n);
      byRow.forEach((j, i) => { out[i] = col[j]; });
      return out;
    };
    return {
      count: n, kernel: Int32Array.from(byRow, (j) => rowOf[c.row.a[j]]), collective: pick(c.name.a, Int32Array),
      inNelems: pick(c.inN.a, Float64Array), outNelems: pick(c.outN.a, Float64Array), dtype: pick(c.dtype.a, Int32Array),
      processGroup: pick(c.pg.a, Int32Array), groupSize: pick(c.size.a, Int32Array),
    };
  }

  /** Trace.kernels in `o` = orderByStart order (computed once in finish, shared with collectiveColumns). */
  private kernelColumns(o: Uint32Array, processOfCorr: (c: number) => number): KernelColumns {
    const r = this.kern;
    const n = r.start.n;
    const corr = permute(r.corr.a, o);
    const process = new Int32Array(n);
    for (let i = 0; i < n; i++) process[i] = processOfCorr(corr[i]);
    return {
      count: n, start: permute(r.start.a, o), end: permute(r.end.a, o), deviceId: permute(r.device.a, o), streamId: permute(r.stream.a, o),
      correlationId: narrowIds(corr), process, shortName: permute(r.name.a, o), launchConfig: permute(r.config.a, o),
      graphNodeId: narrowIds(permute(r.node.a, o)), demangledName: permute(r.full.a, o),
    };
  }

  private runtimeColumns(): RuntimeColumns {
    const r = this.rt;
    const o = orderByStart(r.start.a, r.end.a, r.start.n);
    return {
      count: r.start.n, start: permute(r.start.a, o), end: permute(r.end.a, o), thread: permute(r.thread.a, o),
      correlationId: narrowIds(permute(r.corr.a, o)), name: permute(r.name.a, o), api: Uint8Array.from(permute(r.api.a, o)),
    };
  }

  private memcpyColumns(processOfCorr: (c: number) => number): MemcpyColumns {
    const r = this.copy;
    const o = orderByStart(r.start.a, r.end.a, r.start.n);
    const corr = permute(r.corr.a, o);
    return {
      count: r.start.n, start: permute(r.start.a, o), end: permute(r.end.a, o), deviceId: permute(r.device.a, o), contextId: permute(r.ctx.a, o),
      streamId: permute(r.stream.a, o), correlationId: corr, process: Int32Array.from(corr, processOfCorr),
      bytes: permute(r.bytes.a, o), copyKind: permute(r.kind.a, o), srcKind: permute(r.src.a, o), dstKind: permute(r.dst.a, o),
    };
  }

  private memsetColumns(processOfCorr: (c: number) => number): MemsetColumns {
    const r = this.set;
    const o = orderByStart(r.start.a, r.end.a, r.start.n);
    const corr = permute(r.corr.a, o);
    return {
      count: r.start.n, start: permute(r.start.a, o), end: permute(r.end.a, o), deviceId: permute(r.device.a, o), contextId: permute(r.ctx.a, o),
      streamId: permute(r.stream.a, o), correlationId: corr, process: Int32Array.from(corr, processOfCorr),
      bytes: permute(r.bytes.a, o), memKind: permute(r.mem.a, o),
    };
  }

  private syncColumns(processOfCorr: (c: number) => number): SyncColumns {
    const r = this.sync;
    const o = orderByStart(r.start.a, r.end.a, r.start.n);
    const corr = permute(r.corr.a, o);
    return {
      count: r.start.n, start: permute(r.start.a, o), end: permute(r.end.a, o), deviceId: permute(r.device.a, o), contextId: permute(r.ctx.a, o),
      streamId: permute(r.stream.a, o), correlationId: corr, process: Int32Array.from(corr, processOfCorr), syncType: permute(r.type.a, o),
    };
  }

  /** CPU-side annotations as push/pop ranges; GPU-side ones only when there are no CPU-side ones. */
  private nvtxColumns(): NvtxColumns {
    const useGpu = this.ann.start.n === 0 && this.gpuAnn.start.n > 0;
    const r = useGpu ? this.gpuAnn : this.ann;
    const n = r.start.n;
    const o = orderByStart(r.start.a, r.end.a, n);
    let thread: Int32Array;
    if (useGpu) {
      // a made-up thread per GPU stream: no launch call sits in these ranges
      thread = new Int32Array(n);
      const g = this.gpuAnn;
      for (let i = 0; i < n; i++) thread[i] = this.threadOf(`GPU ${g.device.a[o[i]]}`, `stream ${g.stream.a[o[i]]}`);
    } else {
      thread = permute(this.ann.thread.a, o);
    }
    return {
      count: n, start: permute(r.start.a, o), end: permute(r.end.a, o), text: permute(r.text.a, o), thread,
      eventType: new Int32Array(n).fill(59), domainId: new Int32Array(n), payload: new Float64Array(n).fill(NaN),
    };
  }
}

function safeBigInt(v: number | string): bigint | null {
  try {
    return typeof v === 'number' ? (Number.isInteger(v) ? BigInt(v) : null) : BigInt(v.trim());
  } catch {
    return null;
  }
}
