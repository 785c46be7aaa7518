import { describe, expect, it } from 'vitest';
import { compileClassPatterns, parseClassesFile } from '../../src/analyses/classes-file.js';
import { classifyKernels } from '../../src/analyses/kernel-classes.js';
import { buildTrace } from '../../src/model/build.js';
import { InputError } from '../../src/errors.js';

describe('--classes FILE', () => {
  it('user patterns come before the built-in ones and can re-file any kernel', () => {
    const specs = parseClassesFile('my.json', JSON.stringify({
      classes: [
        { class: 'communication', pattern: 'my_a2a_\\w+', family: 'my all-to-all' },
        { class: 'compute', pattern: '/^ncclDevKernel_Broadcast/i' },
      ],
    }));
    expect(specs).toEqual([
      { class: 'communication', family: 'my all-to-all', source: 'my_a2a_\\w+', flags: '', file: 'my.json' },
      { class: 'compute', family: '/^ncclDevKernel_Broadcast/i', source: '^ncclDevKernel_Broadcast', flags: 'i', file: 'my.json' },
    ]);
    const t = buildTrace({ kernels: [
      { start: 0, end: 1, name: 'my_a2a_send' }, { start: 1, end: 2, name: 'ncclDevKernel_Broadcast_RING_LL' },
      { start: 2, end: 3, name: 'ncclDevKernel_AllReduce_Sum_f32_RING_LL' },
    ] });
    const c = classifyKernels(t, compileClassPatterns(specs));
    expect([0, 1, 2].map((i) => { const e = c.names[c.nameOf[i]]; return [e.class, e.family, e.source]; })).toEqual([
      ['communication', 'my all-to-all', 'my.json'],
      ['compute', '/^ncclDevKernel_Broadcast/i', 'my.json'],
      ['communication', 'NCCL', 'builtin'],
    ]);
  });

  it('takes a bare list too', () => {
    expect(parseClassesFile('a.json', '[{"class": "sync", "pattern": "wait_peer"}]')).toHaveLength(1);
  });

  it.each([
    ['not json', '{', /is not JSON/],
    ['no list', '{"patterns": []}', /no "classes" list/],
    ['bad class', '{"classes": [{"class": "network", "pattern": "x"}]}', /entry 1: "class" must be one of communication, sync, expert-gemm, compute, memory, got "network"/],
    ['no pattern', '{"classes": [{"class": "sync"}]}', /entry 1: "pattern" must be a non-empty string/],
    ['bad regex', '{"classes": [{"class": "sync", "pattern": "a("}]}', /is not a valid regular expression/],
    ['stateful flag', '{"classes": [{"class": "sync", "pattern": "/a/g"}]}', /flags g and y/],
    ['bad family', '{"classes": [{"class": "sync", "pattern": "a", "family": 3}]}', /"family" must be a string/],
  ])('%s: one clear InputError', (_, text, message) => {
    expect(() => parseClassesFile('bad.json', text)).toThrow(InputError);
    expect(() => parseClassesFile('bad.json', text)).toThrow(message);
  });
});
