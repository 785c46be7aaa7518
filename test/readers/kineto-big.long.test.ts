/**
 * A trace longer than a JavaScript string can be (V8: 2^29 - 24 characters, ~536 MB) reads: the
 * reader streams bytes through the scanner and never holds the document as one string. The
 * trace is made on the fly in 1 MB chunks (nothing written to disk): 600 MB of kernel, launch and
 * CPU-operator events.
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { KinetoBuilder } from '../../src/readers/kineto/build.js';
import { scanInto } from '../../src/readers/kineto/read.js';

const TARGET = 600e6;

/** Chunks of a Kineto-like trace of about TARGET bytes; `counts` tells how many of each were written. */
function* chunks(counts: { kernels: number; bytes: number }): Generator<Buffer> {
  const head = Buffer.from('{"schemaVersion": 1, "deviceProperties": [{"id": 0, "name": "NVIDIA H200", "numSms": 132}],\n"traceEvents": [\n');
  counts.bytes += head.length;
  yield head;
  const pad = 'x'.repeat(400);
  let i = 0;
  while (counts.bytes < TARGET) {
    const parts: string[] = [];
    let n = 0;
    while (n < 1 << 20) {
      const ts = `${1000000 + i * 10}.${String(i % 1000).padStart(3, '0')}`;
      const s = `${i === 0 ? '' : ',\n'}{"ph": "X", "cat": "cpu_op", "name": "aten::mm", "pid": 7, "tid": 7, "ts": ${ts}, "dur": 3.5, "args": {"Input dims": "${pad}"}},\n`
        + `{"ph": "X", "cat": "cuda_runtime", "name": "cudaLaunchKernel", "pid": 7, "tid": 7, "ts": ${ts}, "dur": 2.25, "args": {"correlation": ${i}}},\n`
        + `{"ph": "X", "cat": "kernel", "name": "void expert_gemm<128>(float*)", "pid": 0, "tid": 7, "ts": ${ts}, "dur": 1.001, "args": {"device": 0, "stream": ${7 + (i % 4)}, "correlation": ${i}, "grid": [1, 1, 1], "block": [128, 1, 1]}}`;
      parts.push(s);
      n += s.length;
      i++;
      counts.kernels++;
    }
    const b = Buffer.from(parts.join(''));
    counts.bytes += b.length;
    yield b;
  }
  const tail = Buffer.from('\n]}\n');
  counts.bytes += tail.length;
  yield tail;
}

describe('a trace longer than a JS string', () => {
  it('reads', async () => {
    const counts = { kernels: 0, bytes: 0 };
    const b = new KinetoBuilder();
    await scanInto(Readable.from(chunks(counts)), b);
    const t = b.finish({ file: 'big.json', fileSizeBytes: counts.bytes });
    expect(counts.bytes).toBeGreaterThan(2 ** 29);
    expect(t.kernels.count).toBe(counts.kernels);
    expect(t.runtime.count).toBe(counts.kernels);
    expect(t.kernels.end[0] - t.kernels.start[0]).toBe(1001);
  }, 600_000);
});
