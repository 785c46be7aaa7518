/**
 * Big PyTorch profiler traces for bench/kineto.js: a real trace's events repeated until the JSON
 * reaches the size asked for. Copy k has every timestamp moved by k × (the trace's span + 1 ms) and
 * its correlation and flow ids moved past the previous copy's, so launches still link to their
 * kernels and the copies follow one another like profiler steps. Timestamps are shifted as text
 * (integer ns, BigInt), so their fractional digits stay what the profiler wrote. Written compact
 * (JSON.stringify per event, one per line): fewer bytes of whitespace than Kineto writes, so
 * MB/s here is the harder case.
 */
import { createWriteStream, readFileSync, statSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { createGzip } from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';

/** "5327205126987.277" → 5327205126987277n (ns); decimals beyond 3 are cut (the reader rounds). */
function nsOf(text) {
  const neg = text.startsWith('-');
  const [i, f = ''] = (neg ? text.slice(1) : text).split('.');
  const ns = BigInt(i || '0') * 1000n + BigInt((f + '000').slice(0, 3));
  return neg ? -ns : ns;
}

function textOf(ns, decimals) {
  const neg = ns < 0n;
  const a = neg ? -ns : ns;
  const whole = (a / 1000n).toString();
  const frac = (a % 1000n).toString().padStart(3, '0');
  return `${neg ? '-' : ''}${whole}${decimals ? `.${frac}` : ''}`;
}

/** Removes trailing commas before } or ] outside strings (the 2021 exporter wrote some). */
function withoutTrailingCommas(text) {
  return text.replace(/("(?:[^"\\]|\\.)*")|,(\s*[}\]])/g, (m, str, close) => (str !== undefined ? str : close));
}

export function loadSource(path) {
  let bytes = readFileSync(path);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipSync(bytes);
  // quote every "ts" so JSON.parse keeps its text
  const text = withoutTrailingCommas(bytes.toString('utf8')).replace(/"ts"(\s*):(\s*)(-?[0-9][0-9.eE+-]*)/g, '"ts"$1:$2"$3"');
  const doc = JSON.parse(text);
  const events = Array.isArray(doc) ? doc : doc.traceEvents;
  const meta = Array.isArray(doc) ? {} : Object.fromEntries(Object.entries(doc).filter(([k]) => k !== 'traceEvents'));
  let lo = null; let hi = null; let maxId = 0; let decimals = false;
  for (const e of events) {
    if (typeof e.ts !== 'string') continue;
    if (e.ts.includes('.')) decimals = true;
    const s = nsOf(e.ts);
    const d = typeof e.dur === 'number' ? BigInt(Math.round(e.dur * 1000)) : 0n;
    if (lo === null || s < lo) lo = s;
    if (hi === null || s + d > hi) hi = s + d;
    const c = e.args?.correlation;
    if (typeof c === 'number' && c > maxId) maxId = c;
    if (typeof e.id === 'number' && e.id > maxId) maxId = e.id;
  }
  return { meta, events, span: (hi ?? 0n) - (lo ?? 0n) + 1_000_000n, maxId: maxId + 1, decimals };
}

/**
 * Writes `out` (plain JSON) holding copies of the source's events until at least `minBytes`;
 * with `gz`, also out + '.gz'. Returns { bytes, copies, events }.
 */
export async function generateKineto(sourcePath, out, minBytes, gz = true) {
  const src = loadSource(sourcePath);
  const head = `{${Object.entries(src.meta).map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`).join(',\n')}${Object.keys(src.meta).length ? ',\n' : ''}"traceEvents": [\n`;
  const metadata = src.events.filter((e) => e.ph === 'M');
  const timed = src.events.filter((e) => e.ph !== 'M');
  let bytes = 0; let copies = 0; let events = 0;
  function* chunks() {
    let first = true;
    const emit = (e) => {
      const line = `${first ? '' : ',\n'}${JSON.stringify(e).replace(/"ts":"(-?[0-9.eE+-]+)"/, '"ts":$1')}`;
      first = false;
      bytes += Buffer.byteLength(line);
      events++;
      return line;
    };
    yield head;
    bytes += Buffer.byteLength(head);
    yield metadata.map(emit).join('');
    for (let k = 0; bytes < minBytes; k++) {
      copies++;
      const shift = src.span * BigInt(k);
      const idShift = src.maxId * k;
      const parts = [];
      for (const e of timed) {
        const c = { ...e };
        if (typeof c.ts === 'string') c.ts = textOf(nsOf(c.ts) + shift, src.decimals);
        if (typeof c.id === 'number' && (c.cat === 'ac2g' || c.cat === 'async' || c.cat === 'async_cpu_to_gpu')) c.id += idShift;
        if (c.args && typeof c.args.correlation === 'number') c.args = { ...c.args, correlation: c.args.correlation + idShift };
        parts.push(emit(c));
      }
      yield parts.join('');
    }
    yield '\n]}\n';
  }
  await pipeline(Readable.from(chunks()), createWriteStream(out));
  if (gz) await pipeline(Readable.from((function* () { yield readFileSync(out); })()), createGzip({ level: 6 }), createWriteStream(`${out}.gz`));
  return { bytes: statSync(out).size, gzBytes: gz ? statSync(`${out}.gz`).size : 0, copies, events };
}
