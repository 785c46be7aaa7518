/**
 * Times a user writes (--window, --fail-if): a number with an optional unit, in ns. Micro is
 * written `us`, `µs` (U+00B5 MICRO SIGN, what most keyboards type) or `μs` (U+03BC GREEK SMALL
 * LETTER MU, what many fonts and copy-pastes give): all three mean 1000 ns.
 */
import { InputError } from '../errors.js';

export const TIME_UNIT_NS = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9 } as const;
export type TimeUnit = keyof typeof TIME_UNIT_NS;

/** The units as a regular-expression alternation, longest first (so `ms` is not read as `m` + `s`). */
export const TIME_UNIT_PATTERN = (Object.keys(TIME_UNIT_NS) as TimeUnit[]).sort((a, b) => b.length - a.length).join('|');

/** ns in one `unit`. */
export function timeUnitNs(unit: TimeUnit): number {
  return TIME_UNIT_NS[unit];
}

export function isTimeUnit(text: string): text is TimeUnit {
  return Object.hasOwn(TIME_UNIT_NS, text);
}

const TIME = new RegExp(`^\\s*(\\d+(?:\\.\\d*)?|\\.\\d+)(?:e([+-]?\\d+))?\\s*(${TIME_UNIT_PATTERN})?\\s*$`);

/** "12.5ms" → 12500000 (integer ns, rounded); plain numbers are ns. InputError when unreadable. */
export function parseTime(text: string): number {
  const m = TIME.exec(text);
  if (!m) throw new InputError(`cannot read time "${text}": use a number of ns or a number with a unit ns, us, ms or s (e.g. 12.5ms)`);
  const value = Number(m[1]) * 10 ** Number(m[2] ?? 0) * timeUnitNs((m[3] ?? 'ns') as TimeUnit);
  return Math.round(value);
}
