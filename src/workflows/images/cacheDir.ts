/**
 * Where unpacked image roots live. The sandbox (bubblewrap, run as the step user) reaches a root by its path, so
 * every folder above it must be traversable by that user: the data directory's `images` folder when it is (FleetOps
 * makes its data directory traversable but not listable), else — typically a root-run FleetOps whose data directory
 * lies under /root (0700) — a folder of its own under /var/lib/fleetops, one per data directory.
 */
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** True when `uid` (with group `gid`) may traverse every folder from / down to `dir` (which may not exist yet). */
export function traversableBy(dir: string, uid: number, gid: number): boolean {
  if (uid === 0) return true;
  for (let d = dir; ; d = dirname(d)) {
    let st;
    try {
      st = statSync(d);
    } catch {
      if (d === dirname(d)) return true;
      continue; // made later, by FleetOps, with modes it chooses
    }
    const bit = st.uid === uid ? 0o100 : st.gid === gid ? 0o010 : 0o001;
    if (!(st.mode & bit)) return false;
    if (d === dirname(d)) return true;
  }
}

export function defaultImageCacheDir(dataDir: string, stepUser: { uid: number; gid: number } | null, fallbackRoot = '/var/lib/fleetops/images'): string {
  const inDataDir = join(dataDir, 'images');
  // The data directory itself is made 0711 by FleetOps; what matters is the way to it.
  if (!stepUser || traversableBy(dirname(dataDir), stepUser.uid, stepUser.gid)) return inDataDir;
  return join(fallbackRoot, createHash('sha256').update(dataDir).digest('hex').slice(0, 16));
}
