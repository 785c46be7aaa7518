/**
 * Reads a PyTorch profiler (Kineto) trace: `.json` or gzip-compressed `.json.gz` (recognised by
 * its bytes, not its name). The file is streamed in 1 MB chunks through node:zlib and the byte
 * scanner (scan.ts); the document is never one JS string, so a 2 GB trace reads in memory
 * proportional to what the model keeps.
 */
import { closeSync, createReadStream, openSync, readSync, statSync } from 'node:fs';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import { InputError } from '../../errors.js';
import type { Trace } from '../../model/trace.js';
import { KinetoBuilder, type KinetoOptions } from './build.js';
import { TraceScanner, TraceSyntaxError } from './scan.js';

export interface KinetoReadOptions extends KinetoOptions {
  /** bytes of the file read so far, and the file's size */
  onProgress?: (bytesRead: number, totalBytes: number) => void;
}

const CHUNK = 1 << 20;

export function isGzip(head: Buffer): boolean {
  return head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
}

/** Streams `source` (decompressed bytes) through the scanner into a builder. */
export async function scanInto(source: AsyncIterable<Buffer>, builder: KinetoBuilder): Promise<TraceScanner> {
  const scanner = new TraceScanner({
    onEvent: (buf, s, e, f) => builder.onEvent(buf, s, e, f),
    onMember: (k, v) => builder.onMember(k, v),
  });
  for await (const chunk of source) scanner.push(chunk as Buffer);
  scanner.end();
  return scanner;
}

/** A trace from bytes in memory (tests, tiny inline traces). */
export async function readKinetoBuffer(bytes: Buffer, file = '<memory>', opts: KinetoOptions = {}): Promise<Trace> {
  const builder = new KinetoBuilder(opts);
  const gz = isGzip(bytes);
  let source: AsyncIterable<Buffer>;
  if (gz) {
    const z = createGunzip({ chunkSize: CHUNK });
    z.end(bytes);
    source = z;
  } else {
    source = (async function* one() { yield bytes; })();
  }
  await runScan(source, builder, file, gz);
  return builder.finish({ file, fileSizeBytes: bytes.length });
}

async function runScan(source: AsyncIterable<Buffer>, builder: KinetoBuilder, file: string, gz: boolean): Promise<void> {
  let scanner: TraceScanner;
  try {
    scanner = await scanInto(source, builder);
  } catch (e) {
    if (e instanceof TraceSyntaxError) {
      throw new InputError(`${file} is not a readable PyTorch profiler trace: ${e.message} at byte ${e.offset}${gz ? ' of the decompressed JSON' : ''}; export it again with prof.export_chrome_trace(...)`);
    }
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('Z_')) {
      throw new InputError(`${file} is a damaged or cut-short gzip file (${(e as Error).message}); copy it again, or give the uncompressed .json`);
    }
    throw e;
  }
  if (!scanner.sawTraceEvents) {
    throw new InputError(`${file} is JSON but not a Chrome/PyTorch profiler trace (no "traceEvents" array); give the file written by torch.profiler's export_chrome_trace`);
  }
}

export async function readKineto(path: string, opts: KinetoReadOptions = {}): Promise<Trace> {
  const size = statSync(path).size;
  const head = Buffer.alloc(2);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, head, 0, 2, 0);
  } finally {
    closeSync(fd);
  }
  const gz = isGzip(head);
  const builder = new KinetoBuilder(opts);
  const file: Readable = createReadStream(path, { highWaterMark: CHUNK });
  let read = 0;
  const onProgress = opts.onProgress;
  if (onProgress) file.on('data', (c) => { read += c.length; onProgress(read, size); });
  let source: Readable = file;
  if (gz) {
    const z = createGunzip({ chunkSize: CHUNK });
    file.on('error', (e) => z.destroy(e));
    source = file.pipe(z);
  }
  try {
    await runScan(source, builder, path, gz);
  } finally {
    file.destroy();
    source.destroy();
  }
  return builder.finish({ file: path, fileSizeBytes: size });
}
