/**
 * Byte-level damage to an export, as SQLite itself would never write it: cut short at any
 * offset, bits flipped (sometimes in the 100-byte header), a page zeroed, junk appended.
 */
import { appendFileSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import type { Applied } from './mutate.js';
import type { Rng } from './rng.js';

export type ByteMutation = (path: string, r: Rng) => Applied;

const truncate: ByteMutation = (path, r) => {
  const size = readFileSync(path).length;
  const at = r.chance(0.3) ? r.int(Math.min(size, 4096)) : r.int(size);
  truncateSync(path, at);
  return { name: 'truncate', detail: `at ${at} of ${size}` };
};

const flipBytes: ByteMutation = (path, r) => {
  const buf = readFileSync(path);
  const n = 1 + r.int(16);
  const where: number[] = [];
  for (let i = 0; i < n; i++) {
    const at = r.chance(0.15) ? r.int(100) : r.int(buf.length);
    buf[at] ^= 1 + r.int(255);
    where.push(at);
  }
  writeFileSync(path, buf);
  return { name: 'flip-bytes', detail: `at ${where.join(',')}` };
};

const zeroPage: ByteMutation = (path, r) => {
  const buf = readFileSync(path);
  const raw = buf.readUInt16BE(16);
  const pageSize = raw === 1 ? 65536 : raw || 4096;
  const pages = Math.max(1, Math.floor(buf.length / pageSize));
  const page = r.int(pages);
  buf.fill(0, page * pageSize + (page === 0 ? 100 : 0), (page + 1) * pageSize);
  writeFileSync(path, buf);
  return { name: 'zero-page', detail: `page ${page + 1} of ${pages}` };
};

const appendGarbage: ByteMutation = (path, r) => {
  const n = 1 + r.int(20000);
  const junk = Buffer.alloc(n);
  for (let i = 0; i < n; i++) junk[i] = r.int(256);
  appendFileSync(path, junk);
  return { name: 'append-garbage', detail: `${n} bytes` };
};

export const BYTE_MUTATIONS: readonly ByteMutation[] = [truncate, flipBytes, zeroPage, appendGarbage];
