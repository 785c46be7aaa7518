/** Number formatting shared by the terminal and HTML renderers. */

/** Formats integer nanoseconds with a unit that keeps 3-4 significant digits. */
export function formatNs(ns: number): string {
  if (!Number.isFinite(ns)) return '–';
  const a = Math.abs(ns);
  if (a < 1e3) return `${ns} ns`;
  if (a < 1e6) return `${trim(ns / 1e3)} µs`;
  if (a < 1e9) return `${trim(ns / 1e6)} ms`;
  return `${trim(ns / 1e9)} s`;
}

function trim(v: number): string {
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(1) : a >= 10 ? v.toFixed(2) : v.toFixed(3);
}

/** A fraction as a percentage; null → "n/a". */
export function formatPct(f: number | null, digits = 1): string {
  if (f === null || !Number.isFinite(f)) return 'n/a';
  return `${(f * 100).toFixed(digits)}%`;
}

/**
 * A ratio such as a speed-up: "26.22x", and two significant digits below 0.01 ("0.00073x", where
 * toFixed(2) printed "0.00x" for a trace 1,367 times slower).
 */
export function formatRatio(v: number): string {
  return `${v >= 0.01 || v === 0 ? v.toFixed(2) : v.toPrecision(2)}x`;
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

export function formatBytes(b: number): string {
  if (b < 1024) return `${b} B`;
  if (b < 1024 ** 2) return `${(b / 1024).toFixed(1)} KiB`;
  if (b < 1024 ** 3) return `${(b / 1024 ** 2).toFixed(1)} MiB`;
  return `${(b / 1024 ** 3).toFixed(2)} GiB`;
}

/** Renders rows as an aligned plain-text table; numeric-looking cells are right-aligned. */
export function textTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const isNum = header.map((_, i) => rows.length > 0 && rows.every((r) => /^[-+]?[\d.,]+\s*(%|ns|µs|ms|s|x|B|KiB|MiB|GiB)?$|^n\/a$|^–$/.test(r[i] ?? '')));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (isNum[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

// C0 controls but tab and newline, DEL, C1 controls, bidi embeddings/overrides/isolates and marks,
// line/paragraph separators: from a trace they could rewrite the user's terminal or reorder text.
const UNSAFE_FOR_TERMINAL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** Text safe to print on a terminal: unsafe characters become visible \uXXXX escapes. */
export function printable(text: string): string {
  return text.replace(UNSAFE_FOR_TERMINAL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** One printable line: newlines and tabs escaped too (for one-line error messages). */
export function printableLine(text: string): string {
  return printable(text).replace(/\n/g, '\\n').replace(/\t/g, '\\t');
}
