/**
 * The library call behind what the trace shows (issue 15), so a fix can name it:
 * - boolean-mask-indexing: CUB's DeviceSelect::Flagged kernels (PyTorch's `x[mask]`, `nonzero`,
 *   `masked_select`) before each expert: each must read the selected count back to the host;
 * - existing-grouped-gemm: a grouped GEMM already runs (`_grouped_mm`: `prepare_grouped_gemm_data`,
 *   CUTLASS grouped kernels): advise nothing of the kind;
 * - item-readback: small device-to-host copies each followed by a blocking call (`.item()`,
 *   `.tolist()`, `.cpu()` of a count).
 */
import type { Trace } from '../model/trace.js';
import type { Culprit } from '../report/expert-types.js';
import { MemcpyKind } from '../model/trace.js';
import { READBACK_MAX_BYTES } from './what-if.js';

const MASK_KERNELS = /DeviceSelect|DeviceCompact|nonzero/i;
const GROUPED_KERNELS = /grouped_mm|grouped_gemm|GroupedGemm|group_gemm|GemmGrouped|moe_gemm|fused_moe/i;

export function findCulprits(trace: Trace, deviceId: number, window: { start: number; end: number }, iterations: number | null): Culprit[] {
  const k = trace.kernels;
  const out: Culprit[] = [];
  const per = (n: number) => (iterations && iterations >= 1 ? n / iterations : null);
  // the window's kernels whose names match each pattern, by name in order of first kernel; one
  // pass for both, each name (a string index) tested once into a byte per string, not a Map
  // lookup per kernel and pattern
  const patterns = [MASK_KERNELS, GROUPED_KERNELS];
  const matches = new Uint8Array(trace.strings.length + 1);
  const hits = new Map<number, number>();
  for (let i = 0; i < k.count; i++) {
    if (k.deviceId[i] !== deviceId || k.end[i] < window.start || k.start[i] > window.end) continue;
    const name = k.shortName[i];
    // matches[name + 1]: 0 untested, else 1 + a bit per pattern
    const slot = name >= 0 && name < trace.strings.length ? name + 1 : 0;
    let m = matches[slot];
    if (m === 0) {
      m = 1;
      patterns.forEach((re, p) => { if (re.test(trace.strings[name] ?? '')) m |= 2 << p; });
      if (slot > 0) matches[slot] = m;
    }
    if (m > 1) hits.set(name, (hits.get(name) ?? 0) + 1);
  }
  const nameHits = (re: RegExp) => {
    const bit = 2 << patterns.indexOf(re);
    const byName = new Map<string, number>();
    for (const [name, n] of hits) {
      if (!(matches[name >= 0 && name < trace.strings.length ? name + 1 : 0] & bit)) continue;
      const text = trace.strings[name];
      byName.set(text, (byName.get(text) ?? 0) + n);
    }
    return byName;
  };
  const mask = nameHits(MASK_KERNELS);
  if (mask.size > 0) {
    const selects = Math.max(...mask.values());
    const p = per(selects);
    out.push({
      id: 'boolean-mask-indexing',
      evidence: [...mask.keys()],
      perIteration: p,
      text: `Boolean-mask indexing (x[mask], nonzero: CUB DeviceSelect::Flagged) runs ${p !== null ? `${+p.toFixed(1)} times an iteration` : `${selects} times`}; ` +
        'each one copies the selected count to the host and waits for it. Route tokens with a sort by expert and fixed offsets (torch.sort + index_select or torch._grouped_mm with offs) instead of a mask per expert.',
    });
  }
  const grouped = nameHits(GROUPED_KERNELS);
  if (grouped.size > 0) {
    const n = Math.max(...grouped.values());
    out.push({
      id: 'existing-grouped-gemm',
      evidence: [...grouped.keys()],
      perIteration: per(n),
      text: `A grouped GEMM already runs (${[...grouped.keys()].join(', ')}): the experts share kernels; look at the remaining small kernels and host gaps, not at batching.`,
    });
  }
  // small DtoH copies of the device, each followed on its thread by a blocking call
  const m = trace.memcpy;
  let readbacks = 0;
  for (let i = 0; i < m.count; i++) {
    if (m.deviceId[i] !== deviceId || m.copyKind[i] !== MemcpyKind.DtoH || m.bytes[i] > READBACK_MAX_BYTES) continue;
    if (m.start[i] < window.start || m.start[i] > window.end) continue;
    readbacks++;
  }
  const p = per(readbacks);
  // one read-back an iteration (the output) is no pattern
  if (p !== null ? p >= 2 : readbacks >= 4) {
    out.push({
      id: 'item-readback',
      evidence: [`${readbacks} device-to-host copies of ≤ ${READBACK_MAX_BYTES} bytes`],
      perIteration: p,
      text: `${p !== null ? `${+p.toFixed(1)} small device-to-host reads an iteration` : `${readbacks} small device-to-host reads`} (.item(), .tolist(), a count for the next shape): each stops the host until the GPU catches up.`,
    });
  }
  return out;
}

/** The device report's culprit of this id, if the trace showed it (findings name it in their fixes). */
export function culpritOf(device: { culprits?: Culprit[] }, id: Culprit['id']): Culprit | undefined {
  return device.culprits?.find((c) => c.id === id);
}
