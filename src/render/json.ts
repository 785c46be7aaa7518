/**
 * JSON.stringify(value, null, 2), produced in pieces. A million-kernel report lists every gap;
 * at five million kernels its JSON passes V8's longest string (~512 MB) and JSON.stringify
 * throws "Invalid string length". Writing the long arrays element by element gives the same bytes
 * without ever holding them in one string.
 */

/** Arrays longer than this are written element by element; anything smaller in one piece. */
const LONG = 256;
/** Elements of a long array serialised together. */
const RUN = 1024;

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
    let sep = '\n';
    for (let i = 0; i < v.length;) {
      if (holdsLong(v[i], 3)) {
        yield `${sep}${inner}`;
        yield* pieces(v[i], inner);
        i++;
      } else {
        // a run of ordinary elements: one JSON.stringify for up to RUN of them, re-indented once
        let j = i + 1;
        while (j < v.length && j - i < RUN && !holdsLong(v[j], 3)) j++;
        const s = JSON.stringify(v.slice(i, j), null, 2);
        const body = s.slice(2, s.length - 2);
        yield sep + (indent === '' ? body : indent + body.replaceAll('\n', `\n${indent}`));
        i = j;
      }
      sep = ',\n';
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

/** Elements in the long arrays within `depth` levels of `v`. */
function longElements(v: unknown, depth: number): number {
  if (Array.isArray(v)) {
    let n = v.length > LONG ? v.length : 0;
    if (depth > 0) for (const x of v) if (typeof x === 'object' && x !== null) n += longElements(x, depth - 1);
    return n;
  }
  if (!isRecord(v) || depth === 0) return 0;
  let n = 0;
  for (const x of Object.values(v)) n += longElements(x, depth - 1);
  return n;
}

/**
 * The pieces of JSON.stringify(value, null, 2) + '\n', batched into strings of about `batch`
 * characters. Values whose long arrays hold at most `wholeBelow` elements in all (a million
 * gaps is ~100 MB of JSON) are one JSON.stringify, which is faster than going piece by piece.
 */
export function* jsonText(value: unknown, batch = 1 << 20, wholeBelow = 1_500_000): Generator<string> {
  if (longElements(value, 4) <= wholeBelow) {
    yield `${JSON.stringify(value, null, 2)}\n`;
    return;
  }
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
