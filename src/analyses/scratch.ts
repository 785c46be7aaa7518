/**
 * One Float64Array that the analyses of a device take in turn (stream gaps, op durations, gap
 * lengths, launch latencies, ...): each fills it, reduces it to a Distribution and lets it go,
 * so a million-kernel device allocates one million-element buffer instead of one per statistic.
 */
export class Scratch {
  private buffer: Float64Array;

  constructor(size = 0) {
    this.buffer = new Float64Array(size);
  }

  /** A buffer of at least n values, its contents whatever the previous user left. */
  take(n: number): Float64Array {
    if (this.buffer.length < n) this.buffer = new Float64Array(Math.max(n, Math.ceil(this.buffer.length * 1.5)));
    return this.buffer;
  }
}
