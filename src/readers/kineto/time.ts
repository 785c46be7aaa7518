/**
 * Kineto writes times in microseconds with the nanoseconds as decimals ("ts": 5327205126987.277).
 * A double cannot hold every such value, and µs × 1000 in floating point can land on the wrong
 * nanosecond, so times are read from their text: digits before the point are whole µs, the first
 * three after it are ns, a fourth rounds (half up). The result is an integer number of ns,
 * exact while |µs − originUs| × 1000 stays below 2^53 (the reader picks originUs so it does).
 */

const DOT = 0x2e, MINUS = 0x2d, PLUS = 0x2b, ZERO = 0x30, NINE = 0x39, E_LOWER = 0x65, E_UPPER = 0x45;

/**
 * Integer ns of the µs number written in buf[s, e), minus originUs whole µs; NaN when the text
 * is not a plain decimal number. Exponent forms ("1.5e+06") go through Number(): exact for
 * every value a profiler writes that way (integers of µs).
 */
export function nsOfMicros(buf: Buffer, s: number, e: number, originUs: number): number {
  let p = s;
  let neg = false;
  if (p < e && buf[p] === MINUS) { neg = true; p++; }
  const intStart = p;
  let us = 0;
  while (p < e) {
    const c = buf[p];
    if (c < ZERO || c > NINE) break;
    us = us * 10 + (c - ZERO);
    p++;
  }
  if (p === intStart && !(p < e && buf[p] === DOT)) return NaN;
  // beyond 2^53 the digits above were not summed exactly
  if (us > Number.MAX_SAFE_INTEGER) return slowNs(buf.toString('latin1', s, e), originUs);
  let frac = 0;
  let digits = 0;
  let roundUp = false;
  if (p < e && buf[p] === DOT) {
    p++;
    const fracStart = p;
    while (p < e) {
      const c = buf[p];
      if (c < ZERO || c > NINE) break;
      if (digits < 3) { frac = frac * 10 + (c - ZERO); digits++; } else if (p - fracStart === 3) roundUp = c >= ZERO + 5;
      p++;
    }
    if (p === fracStart && p === intStart + 1) return NaN;
  }
  if (p < e) {
    const c = buf[p];
    if (c === E_LOWER || c === E_UPPER) return slowNs(buf.toString('latin1', s, e), originUs);
    return NaN;
  }
  while (digits < 3) { frac *= 10; digits++; }
  if (roundUp) frac++;
  const signedUs = neg ? -us : us;
  const ns = (signedUs - originUs) * 1000 + (neg ? -frac : frac);
  return ns;
}

/** The same from a JS string (timestamps written as strings, exponents, very long integers). */
export function slowNs(text: string, originUs: number): number {
  const m = /^(-?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text.trim());
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) return NaN;
  const [, sign, intDigits, fracDigits = '', exp = '0'] = m;
  // shift the decimal point by the exponent, in text
  let digits = (intDigits || '0') + fracDigits;
  let point = (intDigits || '0').length + Number(exp);
  if (point < 0) { digits = '0'.repeat(-point) + digits; point = 0; }
  if (point > digits.length) digits += '0'.repeat(point - digits.length);
  const whole = BigInt(digits.slice(0, point) || '0');
  const rest = digits.slice(point);
  let ns = whole * 1000n + BigInt((rest.slice(0, 3) + '000').slice(0, 3));
  if (rest.length > 3 && rest.charCodeAt(3) >= ZERO + 5) ns += 1n;
  if (sign === '-') ns = -ns;
  return Number(ns - BigInt(originUs) * 1000n);
}

/** Whole µs of the integer part of a µs timestamp's text (the origin candidate); NaN if none. */
export function wholeMicros(buf: Buffer, s: number, e: number): number {
  let p = s;
  let neg = false;
  if (p < e && buf[p] === MINUS) { neg = true; p++; }
  if (p < e && buf[p] === PLUS) p++;
  let us = 0;
  const start = p;
  while (p < e && buf[p] >= ZERO && buf[p] <= NINE) { us = us * 10 + (buf[p] - ZERO); p++; }
  if (p === start) return NaN;
  if (p < e && (buf[p] === E_LOWER || buf[p] === E_UPPER)) return Math.trunc(Number(buf.toString('latin1', s, e)));
  return neg ? -us : us;
}
