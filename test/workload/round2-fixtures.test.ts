/**
 * Reader-level facts of the round-2 H200 captures (fixtures/MANIFEST.md, "Round 2"), straight SQL
 * on the nsys exports and plain JSON on the Kineto traces, independent of src/: each capture holds
 * what native-workload/capture-round2.sh made it to hold. What the analyses must conclude from
 * them is tested with the analyses.
 */
import Database from 'better-sqlite3';
import { readFileSync, statSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';

const open = new Map<string, Database.Database>();
function db(path: string): Database.Database {
  let d = open.get(path);
  if (!d) open.set(path, (d = new Database(path, { readonly: true, fileMustExist: true })));
  return d;
}
afterAll(() => { for (const d of open.values()) d.close(); });

const one = (path: string, sql: string, ...args: unknown[]): number =>
  Number(Object.values(db(path).prepare(sql).get(...args) as object)[0]);
const NVTX = `SELECT start, end, globalTid, coalesce(text, (SELECT value FROM StringIds WHERE id = textId)) AS name,
  int64Value AS payload FROM NVTX_EVENTS WHERE eventType = 59`;
const RUNTIME = `SELECT r.start, r.end, r.globalTid, r.correlationId, s.value AS name
  FROM CUPTI_ACTIVITY_KIND_RUNTIME r JOIN StringIds s ON s.id = r.nameId`;

interface Range { start: number; end: number; globalTid: number; name: string; payload: number | null }
const ranges = (path: string, like: string): Range[] =>
  db(path).prepare(`SELECT * FROM (${NVTX}) WHERE name LIKE ? ORDER BY start`).all(like) as Range[];
/** kernels whose launch call started inside the range, on the range's thread (nsys' NVTX projection) */
const kernelsIn = (path: string, r: Range): number => one(path, `
  SELECT count(*) FROM CUPTI_ACTIVITY_KIND_KERNEL k JOIN (${RUNTIME}) rt ON rt.correlationId = k.correlationId
  WHERE rt.globalTid = ? AND rt.start >= ? AND rt.start <= ?`, r.globalTid, r.start, r.end);
const callsIn = (path: string, r: Range, call: string): number => one(path, `
  SELECT count(*) FROM (${RUNTIME}) WHERE name LIKE ? AND globalTid = ? AND start >= ? AND start <= ?`,
  `${call}%`, r.globalTid, r.start, r.end);
const rangesIn = (path: string, r: Range, like: string): number => one(path, `
  SELECT count(*) FROM (${NVTX}) WHERE name LIKE ? AND globalTid = ? AND start >= ? AND end <= ?`,
  like, r.globalTid, r.start, r.end);
const kernels = (path: string): number => one(path, 'SELECT count(*) FROM CUPTI_ACTIVITY_KIND_KERNEL');
const streams = (path: string): number => one(path, 'SELECT count(DISTINCT streamId) FROM CUPTI_ACTIVITY_KIND_KERNEL');
const calls = (path: string, call: string): number =>
  one(path, `SELECT count(*) FROM (${RUNTIME}) WHERE name LIKE ?`, `${call}%`);

// switch_moe.py, switch-base-64: a `sequential` forward launches 904 kernels and makes 130
// cudaStreamSynchronize (2 per expert for x[mask] and y[mask] = …, 2 for the expert list).
const SEQ_KERNELS = 904;

describe('whole-process captures (fixtures/nsys-2025.3-whole): nsys profile python switch_moe.py --user-script', () => {
  const DIR = 'fixtures/nsys-2025.3-whole';
  const cases = [
    { file: 'torch-sequential', label: 'seq', perForward: SEQ_KERNELS, syncs: 130, experts: 64, streams: 1 },
    { file: 'torch-streams-sync', label: 'streams-sync', perForward: 899, syncs: 128, experts: 64, streams: 33 },
    { file: 'torch-streams-sync-2', label: 'streams-sync', perForward: 899, syncs: 128, experts: 64, streams: 3 },
    { file: 'torch-grouped', label: 'grouped', perForward: 33, syncs: 0, experts: 0, streams: 1 },
  ];
  const WARMUP = 2;

  for (const c of cases) {
    const path = `${DIR}/${c.file}.sqlite`;
    describe(c.file, () => {
      it('holds 5 top-level `forward <mode> N` ranges, N = 0..4, and no other mode timed', () => {
        const fwd = ranges(path, 'forward %');
        expect(fwd.map((r) => r.name)).toEqual([0, 1, 2, 3, 4].map((i) => `forward ${c.label} ${i}`));
        for (const r of fwd) {
          expect(one(path, `SELECT count(*) FROM (${NVTX}) WHERE globalTid = ? AND start <= ? AND end >= ? AND name <> ?`,
            r.globalTid, r.start, r.end, r.name)).toBe(0);
        }
        // a user's script: no workload ranges, no cudaProfilerStart/Stop
        expect(ranges(path, 'mode %')).toHaveLength(0);
        expect(ranges(path, 'iteration %')).toHaveLength(0);
        expect(calls(path, 'cudaProfiler')).toBe(0);
      });

      it('each forward launches the same kernels, with the same host syncs and expert ranges', () => {
        for (const r of ranges(path, 'forward %')) {
          expect(kernelsIn(path, r)).toBe(c.perForward);
          expect(callsIn(path, r, 'cudaStreamSynchronize')).toBe(c.syncs);
          expect(rangesIn(path, r, 'expert %')).toBe(c.experts);
        }
        expect(streams(path)).toBe(c.streams);
      });

      it('the reference pass and the warm-up run inside the capture, before the first forward range', () => {
        const first = ranges(path, 'forward %')[0];
        const before = one(path, `SELECT count(*) FROM CUPTI_ACTIVITY_KIND_KERNEL k JOIN (${RUNTIME}) rt
          ON rt.correlationId = k.correlationId WHERE rt.start < ?`, first.start);
        // one unannotated `sequential` forward (the reference) + 2 unannotated warm-up forwards
        expect(before).toBe(SEQ_KERNELS + WARMUP * c.perForward);
        // model construction too: the weights' host-to-device copies (≥ 600 MB) before any kernel
        expect(one(path, `SELECT sum(bytes) FROM CUPTI_ACTIVITY_KIND_MEMCPY WHERE copyKind = 1
          AND start < (SELECT min(start) FROM CUPTI_ACTIVITY_KIND_KERNEL)`)).toBeGreaterThan(600e6);
        // and the 5 forwards hold only a small part of the capture's kernel span
        const span = one(path, 'SELECT max(end) - min(start) FROM CUPTI_ACTIVITY_KIND_KERNEL');
        const inForwards = ranges(path, 'forward %').reduce((s, r) => s + (r.end - r.start), 0);
        expect(inForwards / span).toBeLessThan(0.9);
        expect(kernels(path)).toBeGreaterThan(before + 5 * c.perForward - 1);
      });
    });
  }

  it('streams-sync --streams 2 puts the experts on two side streams; the default pool on 32', () => {
    expect(streams(`${DIR}/torch-streams-sync-2.sqlite`)).toBe(3);
    expect(streams(`${DIR}/torch-streams-sync.sqlite`)).toBe(33);
  });
});

interface KEvent { cat?: string; name?: string; ts?: number; dur?: number; args?: Record<string, unknown> }
interface KTrace { traceEvents: KEvent[]; deviceProperties?: { numSms: number; name: string }[] }
const kineto = new Map<string, KTrace>();
function trace(path: string): KTrace {
  let t = kineto.get(path);
  if (!t) kineto.set(path, (t = JSON.parse(gunzipSync(readFileSync(path)).toString('utf8')) as KTrace));
  return t;
}

describe('Kineto traces beside nsys exports (fixtures/kineto-2.11)', () => {
  const DIR = 'fixtures/kineto-2.11';
  const cases = [
    // gpuAnn: gpu_user_annotation events per forward. Kineto wrote one per stream for `streams`
    // (its ranges' kernels ran on 33 streams) but one for `streams-sync` (also 33 streams).
    { mode: 'sequential', label: 'seq', perStep: SEQ_KERNELS, syncs: 130, streams: 1, gpuAnn: 1 },
    { mode: 'streams-sync', label: 'streams-sync', perStep: 899, syncs: 128, streams: 33, gpuAnn: 1 },
    { mode: 'streams', label: 'streams', perStep: 280, syncs: 0, streams: 33, gpuAnn: 33 },
    { mode: 'grouped', label: 'grouped', perStep: 33, syncs: 0, streams: 1, gpuAnn: 1 },
  ];
  const STEPS = [2, 3, 4];

  for (const c of cases) {
    it(`${c.mode}: Kineto's ProfilerStep#2..4 and nsys' capture range hold the same kernels, streams and syncs`, () => {
      const t = trace(`${DIR}/${c.mode}.pt.trace.json.gz`);
      const ev = t.traceEvents;
      const steps = ev.filter((e) => e.cat === 'user_annotation' && e.name?.startsWith('ProfilerStep#'))
        .sort((a, b) => a.ts! - b.ts!);
      expect(steps.map((e) => e.name)).toEqual(STEPS.map((n) => `ProfilerStep#${n}`));
      const launchTs = new Map<unknown, number>();
      for (const e of ev) if ((e.cat === 'cuda_runtime' || e.cat === 'cuda_driver') && e.args?.correlation !== undefined) launchTs.set(e.args.correlation, e.ts!);
      const kern = ev.filter((e) => e.cat === 'kernel');
      const perStep = steps.map((s) => kern.filter((k) => {
        const at = launchTs.get(k.args!.correlation);
        return at !== undefined && at >= s.ts! && at <= s.ts! + s.dur!;
      }).length);
      const syncsPerStep = steps.map((s) => ev.filter((e) => e.cat === 'cuda_runtime' && e.name === 'cudaStreamSynchronize'
        && e.ts! >= s.ts! && e.ts! <= s.ts! + s.dur!).length);
      expect(perStep).toEqual(STEPS.map(() => c.perStep));
      expect(syncsPerStep).toEqual(STEPS.map(() => c.syncs));
      expect(new Set(kern.map((k) => `${k.args!.device}/${k.args!.stream}`)).size).toBe(c.streams);
      // the same forwards under their own names, as user_annotation (CPU) and gpu_user_annotation
      const names = STEPS.map((n) => `forward ${c.label} ${n}`);
      expect(ev.filter((e) => e.cat === 'user_annotation' && e.name?.startsWith('forward ')).map((e) => e.name).sort())
        .toEqual(names);
      expect(ev.filter((e) => e.cat === 'gpu_user_annotation' && e.name?.startsWith('forward ')).map((e) => e.name).sort())
        .toEqual(names.flatMap((n) => Array<string>(c.gpuAnn).fill(n)));
      expect(t.deviceProperties?.[0]).toMatchObject({ name: 'NVIDIA H200', numSms: 132 });

      const sq = `${DIR}/${c.mode}.sqlite`;
      const fwd = ranges(sq, 'forward %');
      expect(fwd.map((r) => r.name)).toEqual(STEPS.map((n) => `forward ${c.label} ${n}`));
      expect(fwd.map((r) => kernelsIn(sq, r))).toEqual(perStep);
      expect(fwd.map((r) => callsIn(sq, r, 'cudaStreamSynchronize'))).toEqual(syncsPerStep);
      expect(kernels(sq)).toBe(kern.length);
      expect(streams(sq)).toBe(c.streams);
    });

    it(`${c.mode}: the Kineto trace taken inside nsys has no GPU records (CUPTI has one subscriber)`, () => {
      const ev = trace(`${DIR}/${c.mode}.under-nsys.pt.trace.json.gz`).traceEvents;
      expect(ev.filter((e) => e.cat === 'kernel' || e.cat === 'cuda_runtime' || e.cat === 'gpu_memcpy')).toHaveLength(0);
      expect(ev.filter((e) => e.cat === 'cpu_op').length).toBeGreaterThan(0);
      expect(ev.filter((e) => e.name?.startsWith('ProfilerStep#')).map((e) => e.name).sort())
        .toEqual(STEPS.map((n) => `ProfilerStep#${n}`));
    });
  }

  it('the two tools demangle the same kernel differently (Itanium `{lambda()#3}` vs nsys `[lambda() (instance 3)]`)', () => {
    const names = new Set(trace(`${DIR}/sequential.pt.trace.json.gz`).traceEvents.filter((e) => e.cat === 'kernel').map((e) => e.name));
    const nsysNames = (db(`${DIR}/sequential.sqlite`).prepare(`SELECT DISTINCT s.value AS v FROM CUPTI_ACTIVITY_KIND_KERNEL k
      JOIN StringIds s ON s.id = k.demangledName`).all() as { v: string }[]).map((r) => r.v);
    expect(names.size).toBe(nsysNames.length);
    expect([...names].some((n) => n!.includes('{lambda()#3}'))).toBe(true);
    expect(nsysNames.some((n) => n.includes('[lambda() (instance 3)]'))).toBe(true);
    // names without templates or lambdas are spelled alike
    expect(names.has('nvjet_sm90_tst_64x48_64x15_1x4_h_bz_NNT')).toBe(nsysNames.includes('nvjet_sm90_tst_64x48_64x15_1x4_h_bz_NNT'));
  });
});

describe('zipf-skewed routing, native workload (fixtures/nsys-2025.3/zipf)', () => {
  const DIR = 'fixtures/nsys-2025.3/zipf';
  const ITER = 3;
  const CAPACITY = 512; // ceil(8 × 4096 / 64)

  /** per expert: tokens (the range payload) and the GPU time of the kernels launched in its ranges, per iteration */
  function experts(mode: string): { name: string; tokens: number; gpuNs: number }[] {
    return db(`${DIR}/${mode}.sqlite`).prepare(`
      SELECT e.name AS name, max(e.payload) AS tokens, coalesce(sum(k.end - k.start), 0) / ${ITER}.0 AS gpuNs
      FROM (${NVTX}) e LEFT JOIN (${RUNTIME}) rt ON rt.globalTid = e.globalTid AND rt.start BETWEEN e.start AND e.end
      LEFT JOIN CUPTI_ACTIVITY_KIND_KERNEL k ON k.correlationId = rt.correlationId
      WHERE e.name LIKE 'expert %' GROUP BY e.name`).all() as { name: string; tokens: number; gpuNs: number }[];
  }
  const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return (s[(s.length - 1) >> 1] + s[s.length >> 1]) / 2; };

  it('the NVTX payloads give the skew: max 512 tokens (the capacity), mean 63.6, max/mean 8.05, 24 dropped', () => {
    for (const mode of ['sequential', 'streams-sync', 'streams']) {
      const path = `${DIR}/${mode}.sqlite`;
      expect(ranges(path, 'iteration %')).toHaveLength(ITER);
      const e = ranges(path, 'expert %');
      expect(e).toHaveLength(64 * ITER);
      const perIter = e.slice(0, 64).map((r) => r.payload!);
      expect(Math.max(...perIter)).toBe(CAPACITY);
      expect(Math.min(...perIter)).toBe(13);
      const total = perIter.reduce((a, b) => a + b, 0);
      expect(total).toBe(4096 - 24);
      expect(Math.max(...perIter) / (total / 64)).toBeCloseTo(8.05, 2);
      expect(e[0].name).toBe('expert 0');
      expect(e[0].payload).toBe(CAPACITY); // the Zipf head: expert 0 gets the most tokens
    }
  });

  it('sequential and streams-sync: the most-loaded expert is the slowest (exact-size GEMMs)', () => {
    for (const mode of ['sequential', 'streams-sync']) {
      const ex = experts(mode);
      const slowest = ex.reduce((a, b) => (b.gpuNs > a.gpuNs ? b : a));
      expect(slowest.name).toBe('expert 0');
      expect(slowest.gpuNs / median(ex.map((x) => x.gpuNs))).toBeGreaterThan(1.3);
    }
    expect(calls(`${DIR}/streams-sync.sqlite`, 'cudaStreamSynchronize')).toBe(64 * ITER + 1);
  });

  it('streams: every expert runs its full capacity slice, so the skew costs no GPU time there', () => {
    const ex = experts('streams');
    const times = ex.map((x) => x.gpuNs);
    expect(Math.max(...times) / median(times)).toBeLessThan(1.1);
    expect(streams(`${DIR}/streams.sqlite`)).toBe(65);
  });

  it('grouped: no per-expert ranges, one stream, 4 kernels an iteration', () => {
    expect(ranges(`${DIR}/grouped.sqlite`, 'expert %')).toHaveLength(0);
    expect(kernels(`${DIR}/grouped.sqlite`)).toBe(4 * ITER);
    expect(streams(`${DIR}/grouped.sqlite`)).toBe(1);
  });
});

describe('round-2 fixtures stay small', () => {
  it('every file ≤ 3 MB', () => {
    const files = [
      ...['torch-sequential', 'torch-streams-sync', 'torch-streams-sync-2', 'torch-grouped'].map((f) => `fixtures/nsys-2025.3-whole/${f}.sqlite`),
      ...['sequential', 'streams-sync', 'streams', 'grouped'].flatMap((m) => [
        `fixtures/kineto-2.11/${m}.sqlite`, `fixtures/kineto-2.11/${m}.pt.trace.json.gz`, `fixtures/kineto-2.11/${m}.under-nsys.pt.trace.json.gz`,
        `fixtures/nsys-2025.3/zipf/${m}.sqlite`]),
    ];
    for (const f of files) expect(statSync(f).size, f).toBeLessThanOrEqual(3 * 1024 * 1024);
  });
});
