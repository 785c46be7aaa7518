/**
 * Columns gathered through an index list: `out[j] = values[index[j]]`. A plain loop: typed
 * arrays' `from(list, mapFn)` goes through the iterator protocol and calls the function per
 * element, several times slower on a million rows, and its unoptimized calls box doubles.
 */
export function gatherF64(values: ArrayLike<number>, index: ArrayLike<number>, count = index.length): Float64Array<ArrayBuffer> {
  const out = new Float64Array(count);
  for (let j = 0; j < count; j++) out[j] = values[index[j]];
  return out;
}

export function gatherI32(values: ArrayLike<number>, index: ArrayLike<number>, count = index.length): Int32Array<ArrayBuffer> {
  const out = new Int32Array(count);
  for (let j = 0; j < count; j++) out[j] = values[index[j]];
  return out;
}
