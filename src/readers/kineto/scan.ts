/**
 * A streaming byte scanner for Chrome trace-event JSON (what torch.profiler's export_chrome_trace
 * writes). It never holds the document as one string: bytes arrive in chunks, the scanner finds
 * where each element of the top-level `traceEvents` array begins and ends (string and escape
 * aware, nesting counted) and hands the event's bytes on; only events someone wants are turned
 * into a string and given to JSON.parse, V8's own parser. The other top-level members
 * (deviceProperties, baseTimeNanoseconds, ...) are small and are parsed whole.
 *
 * While it walks an event the scanner notes where the values of its own "ph", "cat", "ts", "dur",
 * "name", "pid", "tid", "id" and "args" keys lie (F), so the reader can drop an event by its category
 * without parsing it, read flow events without parsing them, and read the timestamps from their
 * text (JSON.parse would round "1712195495502094.565" to a double).
 *
 * Why not a streaming JSON parser: bench/RESULTS-kineto.md measures @streamparser/json against
 * this scanner; the scanner plus JSON.parse is several times faster, and that is what makes the
 * 30 MB/s target.
 */

export class TraceSyntaxError extends Error {
  constructor(message: string, readonly offset: number) {
    super(message);
    this.name = 'TraceSyntaxError';
  }
}

/** The event keys whose values the scanner locates (F.Ph ...): the ones a reader decides by. */
export const F = { Ph: 0, Cat: 1, Ts: 2, Dur: 3, Name: 4, Pid: 5, Tid: 6, Id: 7, Args: 8 } as const;
const FIELD_COUNT = 9;

/**
 * Positions, in the buffer passed to `onEvent`, of the values of an event's own keys (F):
 * start[k] .. end[k], the text inside the quotes for a string value (quoted[k] = 1), the number's
 * text otherwise; start[k] = -1 when the event has no such key (or its value is an object/array).
 */
export interface EventFields {
  start: Int32Array;
  end: Int32Array;
  quoted: Uint8Array;
}

/** Which F key the key text buf[s, e) is, -1 for none. */
function fieldOf(buf: Buffer, s: number, e: number): number {
  const n = e - s;
  const a = buf[s];
  if (n === 2) {
    const b = buf[s + 1];
    if (a === 0x70 && b === 0x68) return F.Ph; // ph
    if (a === 0x74 && b === 0x73) return F.Ts; // ts
    if (a === 0x69 && b === 0x64) return F.Id; // id
    return -1;
  }
  if (n === 3) {
    const b = buf[s + 1]; const c = buf[s + 2];
    if (a === 0x63 && b === 0x61 && c === 0x74) return F.Cat;
    if (a === 0x64 && b === 0x75 && c === 0x72) return F.Dur;
    if (a === 0x70 && b === 0x69 && c === 0x64) return F.Pid;
    if (a === 0x74 && b === 0x69 && c === 0x64) return F.Tid;
    return -1;
  }
  if (n === 4) {
    if (a === 0x6e && buf[s + 1] === 0x61 && buf[s + 2] === 0x6d && buf[s + 3] === 0x65) return F.Name;
    if (a === 0x61 && buf[s + 1] === 0x72 && buf[s + 2] === 0x67 && buf[s + 3] === 0x73) return F.Args;
  }
  return -1;
}

export interface ScanHandlers {
  /** one element of traceEvents, an object, at buf[start, end) */
  onEvent(buf: Buffer, start: number, end: number, f: EventFields): void;
  /** a top-level member other than traceEvents, parsed */
  onMember(key: string, value: unknown): void;
}

const QUOTE = 0x22, BACKSLASH = 0x5c, LBRACE = 0x7b, RBRACE = 0x7d, LBRACKET = 0x5b, RBRACKET = 0x5d;
const COMMA = 0x2c, COLON = 0x3a;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** Index of the closing quote of the string whose opening quote is at p, or -1 if the buffer ends first. */
function stringEnd(buf: Buffer, p: number, len: number): number {
  // short strings (keys, categories) in JS; long ones (kernel names) by memchr
  const stop = Math.min(len, p + 24);
  let q = p + 1;
  for (; q < stop; q++) {
    const c = buf[q];
    if (c === QUOTE) return q;
    if (c === BACKSLASH) q++;
  }
  if (q >= len) return -1;
  for (;;) {
    const e = buf.indexOf(QUOTE, q);
    if (e < 0 || e >= len) return -1;
    // escaped when an odd number of backslashes run up to it
    let b = e - 1;
    while (b > p && buf[b] === BACKSLASH) b--;
    if ((e - 1 - b) % 2 === 0) return e;
    q = e + 1;
  }
}

/** End (exclusive) of a number or literal starting at p; -1 when it runs to the end of the buffer. */
function scalarEnd(buf: Buffer, p: number, len: number): number {
  for (let q = p; q < len; q++) {
    const c = buf[q];
    if (c === COMMA || c === RBRACE || c === RBRACKET || isSpace(c)) return q;
  }
  return -1;
}

/**
 * End (exclusive) of the JSON value starting at p (not whitespace), -1 when the buffer ends
 * first. Counts nesting only; JSON.parse judges the rest.
 */
function valueEnd(buf: Buffer, p: number, len: number): number {
  const c = buf[p];
  if (c === QUOTE) {
    const q = stringEnd(buf, p, len);
    return q < 0 ? -1 : q + 1;
  }
  if (c !== LBRACE && c !== LBRACKET) return scalarEnd(buf, p, len);
  let depth = 0;
  for (let q = p; q < len; q++) {
    const d = buf[q];
    if (d === QUOTE) {
      q = stringEnd(buf, q, len);
      if (q < 0) return -1;
    } else if (d === LBRACE || d === LBRACKET) {
      depth++;
    } else if (d === RBRACE || d === RBRACKET) {
      if (--depth === 0) return q + 1;
    }
  }
  return -1;
}

function skipSpace(buf: Buffer, p: number, len: number): number {
  while (p < len && isSpace(buf[p])) p++;
  return p;
}

/**
 * Scans one event object starting at p ('{'); fills f; returns the end (exclusive) or -1 when
 * the buffer ends first.
 */
function scanEvent(buf: Buffer, p: number, len: number, f: EventFields): number {
  f.start.fill(-1);
  let depth = 0;
  // at depth 1, whether the next string is a key
  let keyNext = false;
  // the "args" object is open (its end is recorded when depth comes back to 1)
  let inArgs = false;
  for (let q = p; q < len; q++) {
    const c = buf[q];
    if (c === QUOTE) {
      const e = stringEnd(buf, q, len);
      if (e < 0) return -1;
      if (depth === 1 && keyNext) {
        keyNext = false;
        const which = fieldOf(buf, q + 1, e);
        if (which >= 0) {
          let v = skipSpace(buf, e + 1, len);
          if (v >= len) return -1;
          if (buf[v] !== COLON) throw new TraceSyntaxError('expected ":" after a key', v);
          v = skipSpace(buf, v + 1, len);
          if (v >= len) return -1;
          const d = buf[v];
          if (d === QUOTE) {
            const ve = stringEnd(buf, v, len);
            if (ve < 0) return -1;
            f.start[which] = v + 1; f.end[which] = ve; f.quoted[which] = 1;
            q = ve;
            continue;
          }
          if (d !== LBRACE && d !== LBRACKET) {
            const se = scalarEnd(buf, v, len);
            if (se < 0) return -1;
            f.start[which] = v; f.end[which] = se; f.quoted[which] = 0;
            q = se - 1;
            continue;
          }
          // an object or array: the generic walk takes it
          if (which === F.Args && d === LBRACE) { f.start[F.Args] = v; inArgs = true; }
          q = v - 1;
          continue;
        }
      }
      q = e;
    } else if (c === LBRACE || c === LBRACKET) {
      depth++;
      if (depth === 1) keyNext = true;
    } else if (c === RBRACE || c === RBRACKET) {
      if (--depth === 0) return q + 1;
      if (depth === 1 && inArgs) { f.end[F.Args] = q + 1; inArgs = false; }
    } else if (c === COMMA) {
      if (depth === 1) keyNext = true;
    }
  }
  return -1;
}

const enum State {
  /** before the document's first value */
  Start,
  /** in the top-level object, expecting a key (or '}') */
  Key,
  /** after a top-level member, expecting ',' or '}' */
  AfterMember,
  /** inside traceEvents, expecting an event, ',' or ']' */
  Events,
  Done,
}

/**
 * Feeds chunks through the scanner. `push` may be given any split of the bytes; elements that
 * straddle chunks are kept (only they) until their end arrives.
 */
export class TraceScanner {
  private state = State.Start;
  private rest: Buffer | null = null;
  /** bytes consumed before the start of `rest` (for error offsets) */
  private consumed = 0;
  /** the document is a bare array of events rather than {"traceEvents": [...]} */
  bareArray = false;
  sawTraceEvents = false;
  private readonly f: EventFields = { start: new Int32Array(FIELD_COUNT), end: new Int32Array(FIELD_COUNT), quoted: new Uint8Array(FIELD_COUNT) };

  constructor(private readonly h: ScanHandlers) {}

  push(chunk: Buffer): void {
    const buf = this.rest && this.rest.length > 0 ? Buffer.concat([this.rest, chunk]) : chunk;
    const keep = this.scan(buf, buf.length);
    this.consumed += keep;
    // copy: the chunk's memory may be reused by the stream
    this.rest = keep < buf.length ? Buffer.from(buf.subarray(keep)) : null;
  }

  /** Call after the last chunk; throws if the document ended early. */
  end(): void {
    const left = this.rest ? skipSpace(this.rest, 0, this.rest.length) : 0;
    if (this.state === State.Done && (!this.rest || left === this.rest.length)) return;
    if (this.state === State.Start && !this.rest) throw new TraceSyntaxError('the file is empty', 0);
    throw new TraceSyntaxError('the JSON ends early (the file is cut short)', this.consumed + (this.rest?.length ?? 0));
  }

  /** Scans buf[0, len); returns how many bytes were fully consumed. */
  private scan(buf: Buffer, len: number): number {
    let p = 0;
    for (;;) {
      p = skipSpace(buf, p, len);
      if (p >= len) return p;
      const c = buf[p];
      switch (this.state) {
        case State.Start: {
          // a UTF-8 byte order mark
          if (c === 0xef && len - p >= 3 && buf[p + 1] === 0xbb && buf[p + 2] === 0xbf) { p += 3; continue; }
          if (c === 0xef && len - p < 3) return p;
          if (c === LBRACE) { this.state = State.Key; p++; continue; }
          if (c === LBRACKET) { this.state = State.Events; this.bareArray = true; this.sawTraceEvents = true; p++; continue; }
          throw new TraceSyntaxError('not JSON: expected "{" or "["', this.consumed + p);
        }
        case State.Key: {
          if (c === RBRACE) { this.state = State.Done; p++; continue; }
          if (c === COMMA) { p++; continue; }
          if (c !== QUOTE) throw new TraceSyntaxError('expected a key in the top-level object', this.consumed + p);
          const ke = stringEnd(buf, p, len);
          if (ke < 0) return p;
          const key = JSON.parse(buf.toString('utf8', p, ke + 1)) as string;
          let v = skipSpace(buf, ke + 1, len);
          if (v >= len) return p;
          if (buf[v] !== COLON) throw new TraceSyntaxError(`expected ":" after "${key}"`, this.consumed + v);
          v = skipSpace(buf, v + 1, len);
          if (v >= len) return p;
          if (key === 'traceEvents' && buf[v] === LBRACKET) {
            this.sawTraceEvents = true;
            this.state = State.Events;
            p = v + 1;
            continue;
          }
          const ve = valueEnd(buf, v, len);
          if (ve < 0) return p;
          this.h.onMember(key, parseJson(buf, v, ve, this.consumed));
          this.state = State.AfterMember;
          p = ve;
          continue;
        }
        case State.AfterMember: {
          if (c === COMMA) { this.state = State.Key; p++; continue; }
          if (c === RBRACE) { this.state = State.Done; p++; continue; }
          throw new TraceSyntaxError('expected "," or "}" in the top-level object', this.consumed + p);
        }
        case State.Events: {
          if (c === COMMA) { p++; continue; }
          if (c === RBRACKET) { this.state = this.bareArray ? State.Done : State.AfterMember; p++; continue; }
          if (c === LBRACE) {
            const e = scanEvent(buf, p, len, this.f);
            if (e < 0) return p;
            this.h.onEvent(buf, p, e, this.f);
            p = e;
            continue;
          }
          // something other than an object in traceEvents: skip it whole
          const e = valueEnd(buf, p, len);
          if (e < 0) return p;
          p = e;
          continue;
        }
        case State.Done:
          throw new TraceSyntaxError('unexpected text after the end of the JSON document', this.consumed + p);
      }
    }
  }
}

/** JSON.parse of buf[s, e), repairing the trailing commas some Kineto versions wrote ("grid": [1, 1, 1],\n }). */
export function parseJson(buf: Buffer, s: number, e: number, base = 0): unknown {
  const text = buf.toString('utf8', s, e);
  try {
    return JSON.parse(text);
  } catch (err) {
    const fixed = withoutTrailingCommas(text);
    if (fixed !== text) {
      try {
        return JSON.parse(fixed);
      } catch { /* fall through to the original error */ }
    }
    throw new TraceSyntaxError(`invalid JSON (${(err as Error).message})`, base + s);
  }
}

/** The text with every comma that directly precedes a '}' or ']' (outside strings) removed. */
export function withoutTrailingCommas(text: string): string {
  let out = '';
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === BACKSLASH) i++;
        else if (d === QUOTE) break;
      }
    } else if (c === COMMA) {
      let j = i + 1;
      while (j < text.length && isSpace(text.charCodeAt(j))) j++;
      const n = text.charCodeAt(j);
      if (n === RBRACE || n === RBRACKET) {
        out += text.slice(from, i);
        from = i + 1;
      }
    }
  }
  return from === 0 ? text : out + text.slice(from);
}
