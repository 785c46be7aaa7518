/**
 * The Kineto (PyTorch profiler) reader on tiny inline traces: each mapping the issue lists, the
 * exact reading of fractional-µs timestamps, the byte scanner over every chunk split, and bad
 * input. Real traces: kineto-corpus.test.ts and kineto-agreement.test.ts.
 */
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { readKinetoBuffer } from '../../src/readers/kineto/read.js';
import { KinetoBuilder } from '../../src/readers/kineto/build.js';
import { TraceScanner, withoutTrailingCommas } from '../../src/readers/kineto/scan.js';
import { nsOfMicros, slowNs } from '../../src/readers/kineto/time.js';
import { shortKernelName } from '../../src/readers/kineto/names.js';
import { callLinks } from '../../src/analyses/correlation.js';
import { blockingReasonOfName, isLaunchCall } from '../../src/analyses/blocking-calls.js';
import { buildReport } from '../../src/report/build.js';
import { InputError } from '../../src/errors.js';
import type { Trace } from '../../src/model/trace.js';

const PID = 4242;
const TID = 4243;

function kernel(ts: string, dur: string, corr: number, extra: Record<string, unknown> = {}): string {
  return `{"ph": "X", "cat": "kernel", "name": "void at::native::vectorized_elementwise_kernel<4, at::native::FillFunctor<float>, std::array<char*, 1ul> >(int, at::native::FillFunctor<float>, std::array<char*, 1ul>)", "pid": 0, "tid": 7,
    "ts": ${ts}, "dur": ${dur},
    "args": {"External id": 31, "queued": 0, "device": 0, "context": 1, "stream": ${(extra.stream as number) ?? 7}, "correlation": ${corr},
      "registers per thread": 16, "shared memory": 1024, "blocks per SM": 0.5, "warps per SM": 2.0, "grid": [66, 1, 1], "block": [128, 1, 1], "est. achieved occupancy %": 3}}`;
}
function runtime(name: string, ts: string, dur: string, corr: number): string {
  return `{"ph": "X", "cat": "cuda_runtime", "name": "${name}", "pid": ${PID}, "tid": ${TID}, "ts": ${ts}, "dur": ${dur}, "args": {"External id": 31, "cbid": 211, "correlation": ${corr}}}`;
}
function doc(events: string[], head = ''): string {
  return `{\n  "schemaVersion": 1,${head}\n  "traceEvents": [\n  ${events.join(',\n  ')}\n  ],\n  "traceName": "x.json"\n}`;
}
const H200 = `\n  "deviceProperties": [{"id": 0, "name": "NVIDIA H200", "totalGlobalMem": 150109880320, "computeMajor": 9, "computeMinor": 0,
    "maxThreadsPerBlock": 1024, "maxThreadsPerMultiprocessor": 2048, "regsPerBlock": 65536, "warpSize": 32, "sharedMemPerBlock": 49152,
    "numSms": 132, "regsPerMultiprocessor": 65536, "sharedMemPerBlockOptin": 232448, "sharedMemPerMultiprocessor": 233472}],
  "baseTimeNanoseconds": 1790857026000000000,`;
const META = [
  `{"name": "process_name", "ph": "M", "ts": 5327205126000.000, "pid": ${PID}, "tid": 0, "args": {"name": "python3"}}`,
  `{"name": "thread_name", "ph": "M", "ts": 5327205126000.000, "pid": ${PID}, "tid": ${TID}, "args": {"name": "thread ${TID} (python3)"}}`,
];

const read = (text: string | Buffer): Promise<Trace> => readKinetoBuffer(Buffer.isBuffer(text) ? text : Buffer.from(text), 'x.json');

describe('timestamps from their text', () => {
  const ns = (t: string, origin = 0): number => nsOfMicros(Buffer.from(t), 0, t.length, origin);
  it('reads µs with fractional ns exactly, where µs as a double does not', () => {
    expect(ns('5327205126987.277')).toBe(5327205126987277);
    // epoch µs with ns decimals (HTA's ns-resolution trace): a double holds them only to 0.25 µs
    expect(ns('1712195495502094.565', 1712195495000000)).toBe(502094565);
    expect(Math.round((1712195495502094.565 - 1712195495000000) * 1000)).toBe(502094500);
    expect(ns('1.5')).toBe(1500);
    expect(ns('2.083')).toBe(2083);
    expect(ns('7')).toBe(7000);
    expect(ns('0.0004')).toBe(0);
    expect(ns('0.0005')).toBe(1);
    expect(ns('-1.25')).toBe(-1250);
    expect(ns('1610366387140599', 1610366387000000)).toBe(140599000);
    expect(ns('1.5e3')).toBe(1500000);
    expect(ns('abc')).toBeNaN();
    expect(ns('')).toBeNaN();
  });
  it('falls back to exact decimal arithmetic beyond 2^53', () => {
    expect(slowNs('17121954955020945.651', 17121954955020000)).toBe(945651);
    expect(ns('17121954955020945.651', 17121954955020000)).toBe(945651);
  });
});

describe('kernel short names as nsys writes them', () => {
  it.each([
    ['void at::native::reduce_kernel<512, 1, at::native::ReduceOp<float, at::native::ArgMaxOps<float>, unsigned int, long, 4, 4> >(at::native::ReduceOp<float, at::native::ArgMaxOps<float>, unsigned int, long, 4, 4>)', 'reduce_kernel'],
    ['void (anonymous namespace)::softmax_warp_forward<float, float, float, 6, false, false>(float*, float const*, int, int, int, bool const*, int, bool)', 'softmax_warp_forward'],
    ['nvjet_sm90_tst_64x48_64x15_1x4_h_bz_NNT', 'nvjet_sm90_tst_64x48_64x15_1x4_h_bz_NNT'],
    ['ncclDevKernel_AllReduce_Sum_f32_RING_LL(ncclDevKernelArgsStorage<4096ul>)', 'ncclDevKernel_AllReduce_Sum_f32_RING_LL'],
    ['void at::native::unrolled_elementwise_kernel<at::native::direct_copy_kernel_cuda(at::TensorIteratorBase&)::{lambda()#3}::operator()() const::{lambda()#7}::operator()() const::{lambda(float)#1}, std::array<char*, 2ul>, 4, TrivialOffsetCalculator<1, unsigned int>, TrivialOffsetCalculator<1, unsigned int>, at::native::memory::LoadWithCast<1>, at::native::memory::StoreWithCast<1> >(int, at::native::direct_copy_kernel_cuda(at::TensorIteratorBase&)::{lambda()#3}::operator()() const::{lambda()#7}::operator()() const::{lambda(float)#1}, std::array<char*, 2ul>, TrivialOffsetCalculator<1, unsigned int>, TrivialOffsetCalculator<1, unsigned int>, at::native::memory::LoadWithCast<1>, at::native::memory::StoreWithCast<1>)', 'unrolled_elementwise_kernel'],
  ])('%s', (name, short) => {
    expect(shortKernelName(name)).toBe(short);
  });
});

describe('readKineto: the mapping', () => {
  const events = [
    ...META,
    `{"ph": "X", "cat": "user_annotation", "name": "ProfilerStep#2", "pid": ${PID}, "tid": ${TID}, "ts": 5327205126987.277, "dur": 100.000, "args": {"External id": 1}}`,
    `{"ph": "X", "cat": "user_annotation", "name": "ProfilerStep#3", "pid": ${PID}, "tid": ${TID}, "ts": 5327205127087.277, "dur": 100.000, "args": {"External id": 2}}`,
    runtime('cudaLaunchKernel', '5327205126990.001', '3.500', 11),
    kernel('5327205126995.123', '2.083', 11),
    runtime('cudaLaunchKernel', '5327205127090.001', '3.500', 12),
    kernel('5327205127095.124', '2.083', 12, { stream: 13 }),
    `{"ph": "X", "cat": "cuda_runtime", "name": "cudaMemcpyAsync", "pid": ${PID}, "tid": ${TID}, "ts": 5327205127000.000, "dur": 5.000, "args": {"correlation": 13}}`,
    `{"ph": "X", "cat": "gpu_memcpy", "name": "Memcpy DtoH (Device -> Pageable)", "pid": 0, "tid": 7, "ts": 5327205127001.500, "dur": 1.250, "args": {"device": 0, "context": 1, "stream": 7, "correlation": 13, "bytes": 4, "memory bandwidth (GB/s)": 0.003}}`,
    `{"ph": "X", "cat": "cuda_runtime", "name": "cudaStreamSynchronize", "pid": ${PID}, "tid": ${TID}, "ts": 5327205127005.000, "dur": 20.000, "args": {"correlation": 14}}`,
    `{"ph": "X", "cat": "gpu_memset", "name": "Memset (Device)", "pid": 0, "tid": 7, "ts": 5327205127130.000, "dur": 1.000, "args": {"device": 0, "context": 1, "stream": 7, "correlation": 15, "bytes": 64}}`,
    `{"ph": "X", "cat": "cuda_driver", "name": "cuLaunchKernel", "pid": ${PID}, "tid": ${TID}, "ts": 5327205127140.000, "dur": 2.000, "args": {"correlation": 16}}`,
    `{"ph": "X", "cat": "cuda_sync", "name": "Stream Sync", "pid": 0, "tid": 7, "ts": 5327205127006.000, "dur": 19.000, "args": {"device": 0, "stream": 7, "correlation": 14}}`,
    `{"ph": "X", "cat": "cpu_op", "name": "aten::fill_", "pid": ${PID}, "tid": ${TID}, "ts": 5327205126989.000, "dur": 5.000, "args": {"External id": 31}}`,
    `{"ph": "s", "id": 11, "pid": ${PID}, "tid": ${TID}, "ts": 5327205126990.001, "cat": "ac2g", "name": "ac2g"}`,
    `{"ph": "f", "id": 11, "pid": 0, "tid": 7, "ts": 5327205126995.123, "cat": "ac2g", "name": "ac2g", "bp": "e"}`,
  ];
  const text = doc(events, H200);

  it('kernels: device, stream, launch configuration, correlation, short name, exact times', async () => {
    const t = await read(text);
    const k = t.kernels;
    expect(k.count).toBe(2);
    // model time 0 is the earliest record (ProfilerStep#2 at ...987.277)
    expect(t.meta.timeOriginNs).toBe('5327205126987277');
    expect([...k.start]).toEqual([7846, 107847]);
    expect([...k.end]).toEqual([7846 + 2083, 107847 + 2083]);
    expect([...k.streamId]).toEqual([7, 13]);
    expect([...k.deviceId]).toEqual([0, 0]);
    expect([...k.correlationId]).toEqual([11, 12]);
    expect(t.strings[k.shortName[0]]).toBe('vectorized_elementwise_kernel');
    expect(t.launchConfigs[k.launchConfig[0]]).toEqual({
      gridX: 66, gridY: 1, gridZ: 1, blockX: 128, blockY: 1, blockZ: 1, registersPerThread: 16, staticSharedMemory: 1024, dynamicSharedMemory: 0,
    });
    expect(t.processes).toEqual([{ globalPid: String(PID), pid: PID, name: 'python3' }]);
    expect(t.threads[0]).toMatchObject({ tid: TID, name: `thread ${TID} (python3)`, process: 0 });
    expect([...k.process]).toEqual([0, 0]);
    expect(callLinks(t).kernelCall[0]).toBe(0);
  });

  it('API calls, copies, sets, sync records, GPUs, annotations, producer', async () => {
    const t = await read(text);
    const names = Array.from(t.runtime.name.subarray(0, t.runtime.count), (n) => t.strings[n]);
    expect(names).toEqual(['cudaLaunchKernel', 'cudaMemcpyAsync', 'cudaStreamSynchronize', 'cudaLaunchKernel', 'cuLaunchKernel']);
    expect([...t.runtime.api]).toEqual([0, 0, 0, 0, 1]);
    expect(t.memcpy.count).toBe(1);
    expect([t.memcpy.copyKind[0], t.memcpy.srcKind[0], t.memcpy.dstKind[0], t.memcpy.bytes[0]]).toEqual([2, 2, 0, 4]);
    expect(t.memcpy.end[0] - t.memcpy.start[0]).toBe(1250);
    expect([t.memset.count, t.memset.memKind[0], t.memset.bytes[0]]).toEqual([1, 2, 64]);
    expect([t.sync.count, t.sync.syncType[0], t.sync.streamId[0]]).toEqual([1, 3, 7]);
    expect(t.gpus).toHaveLength(1);
    expect(t.gpus[0]).toMatchObject({ deviceId: 0, name: 'NVIDIA H200', smCount: 132, computeCapability: { major: 9, minor: 0 }, maxSharedMemoryPerSm: 233472, maxRegistersPerSm: 65536 });
    expect(t.nvtx.count).toBe(2);
    expect(Array.from(t.nvtx.text.subarray(0, 2), (i) => t.strings[i])).toEqual(['ProfilerStep#2', 'ProfilerStep#3']);
    expect(t.meta.sessionStartUtcNs).toBe((1790857026000000000n + 5327205126987277n).toString());
    expect(t.meta.source).toEqual({ format: 'kineto', producer: 'PyTorch profiler (Kineto), trace schema 1' });
    expect(t.meta.tables.find((c) => c.name === 'cpu_op')).toEqual({ name: 'cpu_op', rows: 1 });
    expect(t.meta.warnings).toEqual([]);
  });

  it('ProfilerStep#N ranges are the iterations, and the host sync after the copy is found', async () => {
    // the whole capture: the sync sits between the two steps' GPU work, outside the steady state
    const r = buildReport(await read(text), { wholeTrace: true });
    const d = r.devices[0];
    expect(d.nvtxRanges?.iterations).toMatchObject({ name: 'ProfilerStep#N', count: 2, kernelsPerIteration: 1 });
    // the copy into pageable memory blocks, then the explicit sync
    expect(d.hostSyncs.calls.map((c) => [c.name, c.reason])).toEqual([['cudaMemcpyAsync', 'pageable-memcpy'], ['cudaStreamSynchronize', 'explicit']]);
    expect(r.input.source?.format).toBe('kineto');
  });

  it('keeps only the API calls asked for, counting all', async () => {
    const t = await readKinetoBuffer(Buffer.from(text), 'x.json', { keepApiCall: (n) => n !== 'cuLaunchKernel' });
    expect(t.runtime.count).toBe(4);
    expect(t.apiSummary?.map((a) => [t.strings[a.name], a.count])).toEqual([['cudaLaunchKernel', 2], ['cudaMemcpyAsync', 1], ['cudaStreamSynchronize', 1], ['cuLaunchKernel', 1]]);
  });

  it('reads the same from gzip, and from every split of the bytes into two chunks', async () => {
    const base = await read(text);
    const gz = await read(gzipSync(Buffer.from(text)));
    expect([...gz.kernels.start]).toEqual([...base.kernels.start]);
    const bytes = Buffer.from(text);
    for (let cut = 1; cut < bytes.length; cut += 7) {
      const b = new KinetoBuilder();
      const s = new TraceScanner({ onEvent: (buf, st, e, f) => b.onEvent(buf, st, e, f), onMember: (k, v) => b.onMember(k, v) });
      s.push(bytes.subarray(0, cut));
      s.push(bytes.subarray(cut));
      s.end();
      const t = b.finish({ file: 'x', fileSizeBytes: bytes.length });
      expect([t.kernels.count, t.runtime.count, t.nvtx.count, t.gpus[0].smCount, t.kernels.start[1]], `cut at ${cut}`)
        .toEqual([2, 5, 2, 132, base.kernels.start[1]]);
    }
  });
});

describe('readKineto: other shapes', () => {
  it('the 2021 legacy form: capitalised categories, tid "stream 7", epoch µs, trailing commas, no deviceProperties', async () => {
    const t = await read(`{"schemaVersion": 1, "traceEvents": [
      {"ph": "X", "cat": "Runtime", "name": "cudaLaunchKernel", "pid": 118664, "tid": "1441273664", "ts": 1610366387192129, "dur": 10, "args": {"cbid": 211, "correlation": 627, "external id": 874}},
      {"ph": "X", "cat": "Kernel", "name": "volta_scudnn_128x64_relu_medium_nn_v1", "pid": 0, "tid": "stream 7", "ts": 1610366388633137, "dur": 705,
        "args": {"queued": 0, "device": 0, "context": 1, "stream": 7, "correlation": 627, "external id": 883, "registers per thread": 128, "shared memory": 16384, "warps per SM": 156.8, "grid": [3136, 1, 1],
        }},
      {"ph": "X", "cat": "Kernel", "name": "k2", "pid": 0, "tid": "stream 9", "ts": 1610366388634137, "dur": 0, "args": {"device": 0, "correlation": 628}},
      {"ph": "X", "cat": "Operator", "name": "ProfilerStep#1", "pid": 118664, "tid": "1441273664", "ts": 1610366387190000, "dur": 5000000, "args": {}},
      {"name": "Record Window End", "ph": "i", "s": "g", "pid": "", "tid": "", "ts": 1610366392473637}
    ]}`);
    expect(t.kernels.count).toBe(2);
    expect([...t.kernels.streamId]).toEqual([7, 9]);
    expect(t.meta.timeOriginNs).toBe('1610366387190000000');
    expect(t.kernels.start[0]).toBe(1443137000);
    expect(t.launchConfigs[t.kernels.launchConfig[0]]).toMatchObject({ gridX: 3136, blockX: -1, registersPerThread: 128, staticSharedMemory: 16384 });
    expect(t.meta.source.producer).toBe('PyTorch profiler (Kineto), 2021 legacy form');
    expect(t.nvtx.count).toBe(1);
    expect(t.threads[0].tid).toBe(1441273664);
    expect(t.meta.warnings).toEqual([
      '1 kernel has a duration of 0 (the trace\'s timestamps are whole µs): they count as launched but add no GPU time.',
      'The trace has no deviceProperties (PyTorch before 1.9 did not write them): the SM count and limits of GPU 0 are unknown.',
    ].sort((a, b) => (a.startsWith('1 kernel') ? 1 : 0) - (b.startsWith('1 kernel') ? 1 : 0)));
  });

  it('links kernels without a correlation arg through their flow event', async () => {
    const t = await read(doc([
      `{"ph": "X", "cat": "cuda_runtime", "name": "cudaLaunchKernel", "pid": 1, "tid": 1, "ts": 100.5, "dur": 2, "args": {"correlation": 77}}`,
      `{"ph": "X", "cat": "kernel", "name": "k", "pid": 0, "tid": 7, "ts": 103.25, "dur": 1, "args": {"device": 0, "stream": 7}}`,
      `{"ph": "s", "id": 77, "pid": 1, "tid": 1, "ts": 100.5, "cat": "ac2g", "name": "ac2g"}`,
      `{"ph": "f", "id": 77, "pid": 0, "tid": 7, "ts": 103.25, "cat": "ac2g", "name": "ac2g", "bp": "e"}`,
    ]));
    expect(t.kernels.correlationId[0]).toBe(77);
    expect(callLinks(t).kernelCall[0]).toBe(0);
    expect(t.meta.warnings.some((w) => /no correlation id/.test(w))).toBe(false);
  });

  it('a CUDA graph launch: one correlation id fans out to many kernels, all linked to the launch', async () => {
    const t = await read(doc([
      `{"ph": "X", "cat": "cuda_runtime", "name": "cudaGraphLaunch", "pid": 1, "tid": 1, "ts": 10, "dur": 5, "args": {"correlation": 9}}`,
      ...[0, 1, 2].map((i) => `{"ph": "X", "cat": "kernel", "name": "expert_${i}", "pid": 0, "tid": ${7 + i}, "ts": ${20 + i}, "dur": 3, "args": {"device": 0, "stream": ${7 + i}, "correlation": 9, "graph node id": ${100 + i}}}`),
    ]));
    expect(Array.from(callLinks(t).kernelCall)).toEqual([0, 0, 0]);
    expect([...t.kernels.graphNodeId]).toEqual([100, 101, 102]);
    expect(isLaunchCall('cudaGraphLaunch')).toBe(true);
  });

  it('ROCm: hip* calls are launches and syncs', async () => {
    expect(blockingReasonOfName('hipStreamSynchronize')).toBe('explicit');
    expect(blockingReasonOfName('hipDeviceSynchronize')).toBe('explicit');
    expect(blockingReasonOfName('hipMemcpyWithStream')).toBe('sync-memcpy');
    expect(isLaunchCall('hipExtModuleLaunchKernel')).toBe(true);
    const t = await read(doc([
      `{"ph": "X", "cat": "cuda_runtime", "name": "hipLaunchKernel", "pid": 1, "tid": 1, "ts": 10, "dur": 5, "args": {"correlation": 9}}`,
      `{"ph": "X", "cat": "kernel", "name": "k", "pid": 2, "tid": 0, "ts": 20, "dur": 3, "args": {"device": 2, "stream": 0, "correlation": 9, "kind": "Dispatch Kernel"}}`,
      `{"ph": "X", "cat": "cuda_runtime", "name": "hipDeviceSynchronize", "pid": 1, "tid": 1, "ts": 16, "dur": 10, "args": {"correlation": 10}}`,
    ]));
    expect(t.meta.source.producer).toBe('PyTorch profiler (Kineto), trace schema 1, ROCm');
    expect(buildReport(t).devices[0].hostSyncs.count).toBe(1);
  });

  it('a trace taken while another profiler held CUPTI: no GPU records, said in a warning', async () => {
    const t = await read(doc([`{"ph": "X", "cat": "cpu_op", "name": "aten::mm", "pid": 1, "tid": 1, "ts": 10, "dur": 5, "args": {}}`]));
    expect(t.hasKernelTable).toBe(false);
    expect(t.meta.warnings[0]).toMatch(/no GPU records .*CUPTI_ERROR_MULTIPLE_SUBSCRIBERS_NOT_SUPPORTED/);
  });

  it('a bare array of events, with a byte order mark', async () => {
    const t = await read(`\ufeff[${kernel('1.5', '1', 3)}]`);
    expect(t.kernels.count).toBe(1);
  });

  it('repairs trailing commas only outside strings', () => {
    expect(withoutTrailingCommas('{"a": [1, 2,], "b": ",}",\n}')).toBe('{"a": [1, 2], "b": ",}"\n}');
  });
});

describe('readKineto: bad input is one InputError line', () => {
  it.each([
    ['cut short', doc([kernel('1', '1', 1)]).slice(0, 120), /ends early \(the file is cut short\)/],
    ['not JSON', 'hello', /not JSON: expected "\{" or "\["/],
    ['JSON but not a trace', '{"a": 1}', /JSON but not a Chrome\/PyTorch profiler trace \(no "traceEvents" array\)/],
    ['text after the document', `${doc([])} x`, /unexpected text after the end/],
  ])('%s', async (_, text, message) => {
    const err = await read(text).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).not.toMatch(/\n/);
  });

  it('a damaged gzip', async () => {
    const gz = gzipSync(Buffer.from(doc([kernel('1', '1', 1)])));
    const err = await read(gz.subarray(0, gz.length - 20)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(/damaged or cut-short gzip|ends early/);
  });
});

describe('the byte scanner on strings', () => {
  it('escaped quotes and backslashes in long and short strings, keys inside args ignored', async () => {
    const long = `${'x'.repeat(40)}\\\\\\"${'y'.repeat(40)}\\\\`;
    const t = await read(doc([
      `{"ph": "X", "cat": "kernel", "name": "k<\\"q\\">${long}", "pid": 0, "tid": 7, "ts": 1.5, "dur": 2, "args": {"ts": 99, "name": "no", "stream": 7, "device": 0, "note": "${long}", "correlation": 4}}`,
      `{"ph": "X", "cat": "kernel", "name": "plain", "pid": 0, "tid": 7, "ts": 4, "dur": 1, "args": {"stream": 7, "device": 0, "correlation": 5}}`,
    ]));
    expect(t.kernels.count).toBe(2);
    expect([...t.kernels.start]).toEqual([0, 2500]);
    const name = JSON.parse(`"k<\\"q\\">${long}"`) as string;
    expect(name).toBe(`k<"q">${'x'.repeat(40)}\\"${'y'.repeat(40)}\\`);
    expect(t.strings[t.kernels.shortName[0]]).toBe(shortKernelName(name));
    expect(t.strings[t.kernels.shortName[1]]).toBe('plain');
  });
});
