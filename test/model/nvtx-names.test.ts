import { describe, expect, it } from 'vitest';
import { familySpecKey, nvtxFamilyName } from '../../src/model/nvtx-names.js';

describe('nvtxFamilyName', () => {
  it('replaces each number by "#", and a number written after a "#" by "#N"', () => {
    expect(nvtxFamilyName('expert 17')).toBe('expert #');
    expect(nvtxFamilyName('token_12_processing')).toBe('token_#_processing');
    // torch.profiler's step ranges: "ProfilerStep##" read as nothing a user typed
    expect(nvtxFamilyName('ProfilerStep#3')).toBe('ProfilerStep#N');
    expect(nvtxFamilyName('ProfilerStep#120')).toBe('ProfilerStep#N');
    expect(nvtxFamilyName('layer 2 expert 7')).toBe('layer # expert #');
    // no number: unchanged, literal '#' kept
    expect(nvtxFamilyName('## backward ##')).toBe('## backward ##');
    expect(nvtxFamilyName('Optimizer.step#SGD.step')).toBe('Optimizer.step#SGD.step');
  });
  it('leaves an expert range\'s weights clause out of its family', () => {
    expect(nvtxFamilyName('expert 7 weights=768x3072,3072x768:bf16')).toBe('expert #');
    expect(nvtxFamilyName('layer 0 expert 3 weights=4096x14336:fp8 shared')).toBe('layer # expert # shared');
    // not a clause: kept
    expect(nvtxFamilyName('weights=update 3')).toBe('weights=update #');
  });
  it('--range accepts the printed name, "#*", and the old "##"', () => {
    for (const spec of ['ProfilerStep#N', 'ProfilerStep#*', 'ProfilerStep##']) expect(familySpecKey(spec)).toBe('ProfilerStep#N');
    expect(familySpecKey('expert #')).toBe('expert #');
  });
});
