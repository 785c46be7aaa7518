/** NVTX range names as the Report groups them; a leaf the analyses and the renderers share. */

/**
 * A range's family: its text with every number replaced by '#' ("expert 17" → "expert #"); a
 * number written after a '#' becomes "#N" (torch.profiler's "ProfilerStep#3" → "ProfilerStep#N",
 * not the unreadable "ProfilerStep##"). An expert range's weights clause is data, not part of its
 * name: "expert 7 weights=768x3072,3072x768:bf16" is of the family "expert #" (docs/metrics.md
 * "What-if replay"). The name is printed, written to the JSON, and accepted by --range as it is.
 */
export function nvtxFamilyName(text: string): string {
  return text.replace(WEIGHTS_CLAUSE, '').replace(/(#?)\d+/g, (_m, hash: string) => (hash ? '#N' : '#'));
}

/** The weights clause of an expert range's text (" weights=768x3072,3072x768:bf16"). */
export const WEIGHTS_CLAUSE = /\s*\bweights=\d+x\d+(?:,\d+x\d+)*:[A-Za-z0-9]+\b/i;

/**
 * A --range family spec as the family key: "ProfilerStep#N" as printed, and also "ProfilerStep#*"
 * and the "ProfilerStep##" of earlier versions.
 */
export function familySpecKey(spec: string): string {
  return spec.replace(/#[#*](?![A-Za-z0-9])/g, '#N');
}
