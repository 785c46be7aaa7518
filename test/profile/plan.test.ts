import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import {
  type ProfileRequest, cmakeConfigureArgs, nsysExportArgs, nsysProfileArgs, planCaptures, shellQuote,
} from '../../src/profile/plan.js';

const req = (over: Partial<ProfileRequest>): ProfileRequest => ({ workload: 'native', modes: [], all: false, workloadFlags: {}, ...over });

describe('planCaptures', () => {
  it('--all of the CUDA workload: five modes, then the saturated preset run in streams mode', () => {
    const caps = planCaptures(req({ all: true, workloadFlags: { iterations: '3', warmup: '2' } }));
    expect(caps.map((c) => c.name)).toEqual(['sequential', 'streams-sync', 'streams', 'grouped', 'graph', 'saturated']);
    expect(caps[1].argv).toEqual(['native-workload/build/moe-workload', '--mode', 'streams-sync', '--iterations', '3', '--warmup', '2']);
    expect(caps[5].argv).toEqual(['native-workload/build/moe-workload', '--mode', 'streams', '--preset', 'saturated', '--iterations', '3', '--warmup', '2']);
  });

  it('--workload all adds the PyTorch modes, named torch-*', () => {
    const caps = planCaptures(req({ all: true, workload: 'all' }));
    expect(caps.map((c) => c.name)).toEqual([
      'sequential', 'streams-sync', 'streams', 'grouped', 'graph', 'saturated',
      'torch-sequential', 'torch-streams-sync', 'torch-streams', 'torch-grouped',
    ]);
    expect(caps[9].argv).toEqual(['python3', 'native-workload/torch/switch_moe.py', '--mode', 'grouped']);
  });

  it('chosen modes keep their order; an explicit --preset suppresses the extra saturated capture', () => {
    expect(planCaptures(req({ modes: ['grouped', 'sequential'] })).map((c) => c.name)).toEqual(['grouped', 'sequential']);
    const caps = planCaptures(req({ all: true, workloadFlags: { preset: 'saturated' } }));
    expect(caps).toHaveLength(5);
    expect(caps[0].argv).toContain('saturated');
  });

  it('rejects unknown modes, flags the torch script lacks, and an empty request', () => {
    expect(() => planCaptures(req({ modes: ['fast'] }))).toThrow('unknown native mode "fast": choose from sequential, streams-sync, streams, grouped, graph.');
    expect(() => planCaptures(req({ workload: 'torch', modes: ['graph'] }))).toThrow(InputError);
    expect(() => planCaptures(req({ workload: 'torch', modes: ['grouped'], workloadFlags: { 'top-k': '2' } })))
      .toThrow('--top-k exists only in the CUDA workload');
    expect(() => planCaptures(req({}))).toThrow('say what to capture');
  });

  it("a user's own command is one capture named after the program, and excludes --mode", () => {
    expect(planCaptures(req({ command: ['/usr/bin/python3', 'train.py', '--x'] })))
      .toEqual([{ name: 'python3', workload: 'custom', argv: ['/usr/bin/python3', 'train.py', '--x'] }]);
    expect(() => planCaptures(req({ command: ['a.out'], modes: ['streams'] }))).toThrow(InputError);
  });
});

describe('command lines', () => {
  it('bundled workloads are captured over their cudaProfilerStart/Stop range only', () => {
    const [cap] = planCaptures(req({ modes: ['graph'] }));
    expect(nsysProfileArgs(cap, '/out/graph')).toEqual([
      'profile', '--trace=cuda,nvtx,osrt', '--cuda-graph-trace=node', '--sample=none', '--cpuctxsw=none',
      '--capture-range=cudaProfilerApi', '--capture-range-end=stop', '--force-overwrite', 'true',
      '-o', '/out/graph', 'native-workload/build/moe-workload', '--mode', 'graph',
    ]);
  });

  it("a user's program is captured whole", () => {
    const [cap] = planCaptures(req({ command: ['./app', 'arg'] }));
    const args = nsysProfileArgs(cap, '/o/app');
    expect(args).not.toContain('--capture-range=cudaProfilerApi');
    expect(args.slice(-4)).toEqual(['-o', '/o/app', './app', 'arg']);
  });

  it('export always overwrites (nsys otherwise keeps a stale .sqlite silently)', () => {
    expect(nsysExportArgs('/o/a.nsys-rep', '/o/a.sqlite')).toEqual(['export', '--type', 'sqlite', '--force-overwrite', 'true', '-o', '/o/a.sqlite', '/o/a.nsys-rep']);
    expect(cmakeConfigureArgs()).toEqual(['-S', 'native-workload', '-B', 'native-workload/build', '-G', 'Ninja', '-DCMAKE_BUILD_TYPE=Release']);
  });

  it('shellQuote leaves plain words alone and single-quotes the rest', () => {
    expect(shellQuote('--trace=cuda,nvtx,osrt')).toBe('--trace=cuda,nvtx,osrt');
    expect(shellQuote('a b')).toBe("'a b'");
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
    expect(shellQuote('$HOME')).toBe("'$HOME'");
  });
});
