/**
 * JSON.stringify(value, null, 2), produced in pieces. A million-kernel report lists every gap;
 * at five million kernels its JSON passes V8's longest string (~512 MB) and JSON.stringify
 * throws "Invalid string length". Writing the long arrays element by element gives the same bytes
 * without ever holding them in one string.
 */

/** Arrays longer than this are written element by element; anything smaller in one piece. */
const LONG = 256;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && typeof (v as { toJSON?: unknown }).toJSON !== 'function';
}

/** True when `v` holds an array longer than LONG somewhere within `depth` levels. */
function holdsLong(v: unknown, depth: number): boolean {
  if (Array.isArray(v)) return v.length > LONG || (depth > 0 && v.some((x) => holdsLong(x, depth - 1)));
  if (isRecord(v)) return depth > 0 && Object.values(v).some((x) => holdsLong(x, depth - 1));
  return false;
}

function* pieces(v: unknown, indent: string): Generator<string> {
  if (!holdsLong(v, 4)) {
    const s = JSON.stringify(v, null, 2) ?? 'null';
    yield indent === '' ? s : s.replaceAll('\n', `\n${indent}`);
    return;
  }
  const inner = `${indent}  `;
  if (Array.isArray(v)) {
    yield '[';
    for (let i = 0; i < v.length; i++) {
      yield `${i === 0 ? '\n' : ',\n'}${inner}`;
      const x = v[i];
      yield* pieces(x === undefined || typeof x === 'function' || typeof x === 'symbol' ? null : x, inner);
    }
    yield `\n${indent}]`;
    return;
  }
  const rec = v as Record<string, unknown>;
  const keys = Object.keys(rec).filter((k) => rec[k] !== undefined && typeof rec[k] !== 'function' && typeof rec[k] !== 'symbol');
  yield '{';
  for (let i = 0; i < keys.length; i++) {
    yield `${i === 0 ? '\n' : ',\n'}${inner}${JSON.stringify(keys[i])}: `;
    yield* pieces(rec[keys[i]], inner);
  }
  yield `\n${indent}}`;
}

/** The pieces of JSON.stringify(value, null, 2) + '\n', batched into strings of about `batch` characters. */
export function* jsonText(value: unknown, batch = 1 << 20): Generator<string> {
  let buf: string[] = [];
  let size = 0;
  for (const p of pieces(value, '')) {
    buf.push(p);
    size += p.length;
    if (size >= batch) { yield buf.join(''); buf = []; size = 0; }
  }
  buf.push('\n');
  yield buf.join('');
}
