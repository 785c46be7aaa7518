/**
 * Columns moved onto shared memory, so that a worker thread reads the same columns the main
 * thread does instead of a copy of them (postMessage copies an ArrayBuffer's contents; it hands
 * on a SharedArrayBuffer). The read workers already fill the big tables' columns on shared
 * memory (readers/read-pool.ts); what the one-thread read, the narrowing and the index made on
 * ordinary buffers is copied here, once, in place: the object keeps its keys, and every value
 * reads back the same.
 */
import { fullCollection } from './memory.js';

/** Columns below this many bytes are left as they are (postMessage copies them: a few KB). */
const SHARE_BYTES = 64 * 1024;
/** Bytes copied between full collections: the replaced buffers are garbage, freed before the next copies add theirs. */
const COLLECT_EVERY = 24 * 1024 * 1024;

type Typed = Float64Array | Float32Array | Int32Array | Int16Array | Int8Array | Uint32Array | Uint16Array | Uint8Array;

function sharedCopy(v: Typed): Typed {
  const Ctor = v.constructor as new (b: SharedArrayBuffer) => Typed;
  const out = new Ctor(new SharedArrayBuffer(v.byteLength));
  out.set(v as never);
  return out;
}

function wantsCopy(v: unknown): v is Typed {
  return ArrayBuffer.isView(v) && !(v instanceof DataView) && !(v.buffer instanceof SharedArrayBuffer) &&
    v.byteLength >= SHARE_BYTES && !(v instanceof BigInt64Array) && !(v instanceof BigUint64Array);
}

/**
 * Replaces, in `roots` and the plain objects, arrays and Maps they hold, every typed array of
 * SHARE_BYTES or more that is not on shared memory by a copy on shared memory; `collect`: a
 * full collection after every COLLECT_EVERY bytes copied (a big trace: the copies and the
 * columns they replace never all count at once). Returns the bytes copied.
 */
export function shareColumns(roots: readonly object[], collect = false): number {
  const seen = new Set<object>();
  const gc = collect ? fullCollection() : null;
  let copied = 0;
  let sinceCollect = 0;
  const copy = (v: Typed): Typed => {
    const out = sharedCopy(v);
    copied += v.byteLength;
    sinceCollect += v.byteLength;
    return out;
  };
  const afterCopy = (): void => {
    if (gc !== null && sinceCollect >= COLLECT_EVERY) { gc(); sinceCollect = 0; }
  };
  const visit = (o: object): void => {
    if (seen.has(o) || ArrayBuffer.isView(o)) return;
    seen.add(o);
    if (o instanceof Map) {
      for (const [k, v] of o) {
        if (wantsCopy(v)) { o.set(k, copy(v)); afterCopy(); } else if (v !== null && typeof v === 'object') visit(v);
      }
      return;
    }
    if (Array.isArray(o)) {
      for (let i = 0; i < o.length; i++) {
        const v: unknown = o[i];
        if (v === null || typeof v !== 'object') continue;
        if (wantsCopy(v)) { o[i] = copy(v); afterCopy(); } else visit(v);
      }
      return;
    }
    const rec = o as Record<string, unknown>;
    for (const key of Object.keys(rec)) {
      const v = rec[key];
      if (v === null || typeof v !== 'object') continue;
      if (wantsCopy(v)) { rec[key] = copy(v); afterCopy(); } else visit(v);
    }
  };
  for (const r of roots) visit(r);
  if (gc !== null && sinceCollect > 0) gc();
  return copied;
}
