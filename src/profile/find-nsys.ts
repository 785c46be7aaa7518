/**
 * Finds the nsys executable the way a user would: the NSYS variable, PATH, Nsight Systems'
 * own install folders, the CUDA toolkit, and the copy Nsight Compute bundles. All paths are
 * taken under `root` so tests can build a fake tree.
 */
import { accessSync, constants, readdirSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { EnvironmentError } from '../errors.js';

export interface NsysLocation {
  path: string;
  /** how it was found, for the progress line */
  source: 'NSYS' | 'PATH' | 'nsight-systems' | 'cuda' | 'nsight-compute';
}

export function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Finds an executable by name on a PATH string. */
export function whichOnPath(name: string, pathVar: string | undefined): string | null {
  for (const dir of (pathVar ?? '').split(delimiter)) {
    if (dir && isExecutableFile(join(dir, name))) return join(dir, name);
  }
  return null;
}

/** Sub-folders of dir, newest version first ("2025.3.1" after "2024.6.2"), [] if dir is missing. */
function versionDirs(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const key = (s: string): number[] => (s.match(/\d+/g) ?? []).map(Number);
  return names.sort((a, b) => {
    const ka = key(a); const kb = key(b);
    for (let i = 0; i < Math.max(ka.length, kb.length); i++) {
      const d = (kb[i] ?? -1) - (ka[i] ?? -1);
      if (d !== 0) return d;
    }
    return a.localeCompare(b);
  });
}

export function findNsys(env: { NSYS?: string; PATH?: string }, root = '/'): NsysLocation {
  if (env.NSYS !== undefined && env.NSYS !== '') {
    if (isExecutableFile(env.NSYS)) return { path: env.NSYS, source: 'NSYS' };
    throw new EnvironmentError(`NSYS is set to ${env.NSYS}, which is not an executable file: point NSYS at the nsys program (e.g. /opt/nvidia/nsight-systems/2025.3.1/bin/nsys) or unset it.`);
  }
  const onPath = whichOnPath('nsys', env.PATH);
  if (onPath) return { path: onPath, source: 'PATH' };
  const candidates: NsysLocation[] = [];
  const systems = join(root, 'opt/nvidia/nsight-systems');
  for (const v of versionDirs(systems)) candidates.push({ path: join(systems, v, 'bin/nsys'), source: 'nsight-systems' });
  candidates.push({ path: join(root, 'usr/local/cuda/bin/nsys'), source: 'cuda' });
  const compute = join(root, 'opt/nvidia/nsight-compute');
  for (const v of versionDirs(compute)) candidates.push({ path: join(compute, v, 'host/target-linux-x64/nsys'), source: 'nsight-compute' });
  const found = candidates.find((c) => isExecutableFile(c.path));
  if (found) return found;
  throw new EnvironmentError(
    'nsys (Nsight Systems) not found. Looked at: $NSYS (unset), PATH, ' +
    `${join(systems, '*/bin/nsys')}, ${join(root, 'usr/local/cuda/bin/nsys')}, ${join(compute, '*/host/target-linux-x64/nsys')}. ` +
    'Install Nsight Systems (https://developer.nvidia.com/nsight-systems) or set NSYS=/path/to/nsys.');
}
