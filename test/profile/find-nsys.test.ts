import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EnvironmentError } from '../../src/errors.js';
import { findNsys, whichOnPath } from '../../src/profile/find-nsys.js';

const roots: string[] = [];
afterEach(() => { for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true }); });

/** A fake filesystem root; each path becomes an executable (or, with mode 0o644, a plain) file. */
function tree(files: Record<string, number> = {}): string {
  const root = mkdtempSync(join(tmpdir(), 'moe-trace-nsys-'));
  roots.push(root);
  for (const [rel, mode] of Object.entries(files)) {
    const p = join(root, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, '#!/bin/sh\n');
    chmodSync(p, mode);
  }
  return root;
}

describe('findNsys', () => {
  it('takes $NSYS first when it is an executable file', () => {
    const root = tree({ 'custom/nsys': 0o755, 'bin/nsys': 0o755 });
    expect(findNsys({ NSYS: join(root, 'custom/nsys'), PATH: join(root, 'bin') }, root))
      .toEqual({ path: join(root, 'custom/nsys'), source: 'NSYS' });
  });

  it('rejects an $NSYS that is not executable, naming it', () => {
    const root = tree({ 'custom/nsys': 0o644 });
    const bad = join(root, 'custom/nsys');
    expect(() => findNsys({ NSYS: bad }, root)).toThrow(EnvironmentError);
    expect(() => findNsys({ NSYS: bad }, root)).toThrow(`NSYS is set to ${bad}, which is not an executable file`);
  });

  it('then PATH, skipping directories without nsys and non-executable files', () => {
    const root = tree({ 'a/nsys': 0o644, 'b/nsys': 0o755, 'opt/nvidia/nsight-systems/2025.1.1/bin/nsys': 0o755 });
    const PATH = [join(root, 'empty'), join(root, 'a'), join(root, 'b')].join(':');
    expect(findNsys({ PATH }, root)).toEqual({ path: join(root, 'b/nsys'), source: 'PATH' });
  });

  it('then the newest /opt/nvidia/nsight-systems/*/bin/nsys (numeric version order)', () => {
    const root = tree({
      'opt/nvidia/nsight-systems/2024.6.2/bin/nsys': 0o755,
      'opt/nvidia/nsight-systems/2025.10.1/bin/nsys': 0o755,
      'opt/nvidia/nsight-systems/2025.3.1/bin/nsys': 0o755,
      'usr/local/cuda/bin/nsys': 0o755,
    });
    expect(findNsys({ PATH: '' }, root))
      .toEqual({ path: join(root, 'opt/nvidia/nsight-systems/2025.10.1/bin/nsys'), source: 'nsight-systems' });
  });

  it('then /usr/local/cuda/bin/nsys', () => {
    const root = tree({ 'usr/local/cuda/bin/nsys': 0o755, 'opt/nvidia/nsight-compute/2025.3.1/host/target-linux-x64/nsys': 0o755 });
    expect(findNsys({}, root)).toEqual({ path: join(root, 'usr/local/cuda/bin/nsys'), source: 'cuda' });
  });

  it("last the nsys bundled with Nsight Compute (how the H200 machine has it)", () => {
    const root = tree({ 'opt/nvidia/nsight-compute/2025.3.1/host/target-linux-x64/nsys': 0o755 });
    expect(findNsys({}, root)).toEqual({
      path: join(root, 'opt/nvidia/nsight-compute/2025.3.1/host/target-linux-x64/nsys'), source: 'nsight-compute',
    });
  });

  it('says where it looked and how to point at one when there is none', () => {
    const root = tree();
    let err: unknown;
    try { findNsys({ PATH: '/nonexistent' }, root); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(EnvironmentError);
    const msg = (err as Error).message;
    expect(msg).toContain('nsys (Nsight Systems) not found');
    expect(msg).toContain(join(root, 'opt/nvidia/nsight-systems/*/bin/nsys'));
    expect(msg).toContain(join(root, 'usr/local/cuda/bin/nsys'));
    expect(msg).toContain(join(root, 'opt/nvidia/nsight-compute/*/host/target-linux-x64/nsys'));
    expect(msg).toContain('set NSYS=/path/to/nsys');
  });
});

describe('whichOnPath', () => {
  it('returns the first executable match or null', () => {
    const root = tree({ 'x/tool': 0o755, 'y/tool': 0o755 });
    expect(whichOnPath('tool', `${join(root, 'x')}:${join(root, 'y')}`)).toBe(join(root, 'x/tool'));
    expect(whichOnPath('tool', undefined)).toBeNull();
    expect(whichOnPath('other', join(root, 'x'))).toBeNull();
  });
});
