/** NVTX range names as the Report groups them; a leaf the analyses and the renderers share. */

/** A range's family: its text with every number replaced by '#' ("expert 17" → "expert #"). */
export function nvtxFamilyName(text: string): string {
  return text.replace(/\d+/g, '#');
}
