/** bin/moe-trace.js as users run it: through its #! line (allocator and V8 options), which bench/ also uses. */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
// @ts-expect-error a plain JS module of bench/
import { binCommand, binNode } from '../../bench/launch.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('bin/moe-trace.js #! line', () => {
  it('runs the CLI with its node options and allocator variable, and bench/peak-hook.js reports its peak', () => {
    const { nodeArgs, env } = binNode(ROOT);
    expect(nodeArgs).toContain('--max-semi-space-size=4');
    expect(env.MALLOC_MMAP_THRESHOLD_).toBe('1048576');
    const cmd = binCommand(ROOT, ['--version'], fileURLToPath(new URL('../../bench/peak-hook.js', import.meta.url)));
    const r = spawnSync(cmd.file, cmd.args, { env: cmd.env, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    expect(r.stderr).toMatch(/^BENCH \{"maxRssKb":\d+,"exitCode":0\}$/m);
  });
});
