/** Growable typed columns for a reader that does not know its row counts in advance. */

export class F64 {
  a: Float64Array;
  n = 0;
  constructor(cap = 1024) { this.a = new Float64Array(cap); }
  push(v: number): void {
    if (this.n === this.a.length) {
      const g = new Float64Array(this.a.length * 2);
      g.set(this.a);
      this.a = g;
    }
    this.a[this.n++] = v;
  }
}

export class I32 {
  a: Int32Array;
  n = 0;
  constructor(cap = 1024) { this.a = new Int32Array(cap); }
  push(v: number): void {
    if (this.n === this.a.length) {
      const g = new Int32Array(this.a.length * 2);
      g.set(this.a);
      this.a = g;
    }
    this.a[this.n++] = v;
  }
}

/** Row order by (start, end, then read order): readers hand the model sorted columns. */
export function orderByStart(start: Float64Array, end: Float64Array, n: number): Uint32Array {
  const order = new Uint32Array(n);
  let sorted = true;
  for (let i = 0; i < n; i++) {
    order[i] = i;
    if (i > 0 && (start[i] < start[i - 1] || (start[i] === start[i - 1] && end[i] < end[i - 1]))) sorted = false;
  }
  if (sorted) return order;
  return order.sort((x, y) => start[x] - start[y] || end[x] - end[y] || x - y);
}

/** col reordered by `order` into a new array of the same type, length order.length. */
export function permute<T extends Float64Array | Int32Array | Uint8Array>(col: T, order: Uint32Array): T {
  const Ctor = col.constructor as new (n: number) => T;
  const out = new Ctor(order.length);
  for (let i = 0; i < order.length; i++) out[i] = col[order[i]];
  return out;
}
