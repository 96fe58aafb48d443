/**
 * The uids a FleetOps gives its runs (when it runs as root) come from a range of its own, claimed host-wide for its
 * data directory: two FleetOps on one host never share a run uid, so one's fork bomb or leftover process never
 * counts against the other's process cap, and one's files stay closed to the other's steps. A claim is a file named
 * after its slot holding the data directory; it is kept across restarts and taken over when its data directory is gone.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface UidRange {
  first: number;
  count: number;
}

export interface UidRangeOptions {
  /** Where claims are kept (host-wide). Default /run/fleetops/uid-ranges. */
  dir?: string;
  /** First uid of slot 0, and the uids per slot. Default 2,100,000,000 and 4,096: far above any real user's. */
  base?: number;
  count?: number;
}

/** The highest uid a slot may reach (uids are 32-bit; stay clear of (uid_t)-1 and its neighbours). */
const MAX_UID = 2 ** 31 - 2;

/** This data directory's range, claimed on first use; throws when every slot is taken. */
export function claimUidRange(dataDir: string, options: UidRangeOptions = {}): UidRange {
  const dir = options.dir ?? '/run/fleetops/uid-ranges';
  const base = options.base ?? 2_100_000_000;
  const count = options.count ?? 4096;
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const slots = Math.floor((MAX_UID - base) / count);
  let free: number | undefined;
  for (let slot = 0; slot < slots; slot++) {
    const file = join(dir, String(slot));
    let owner: string;
    try {
      owner = readFileSync(file, 'utf8');
    } catch {
      free ??= slot;
      continue;
    }
    if (owner === dataDir) return { first: base + slot * count, count };
    if (!existsSync(owner)) free ??= slot; // its data directory is gone: the slot may be taken over
  }
  for (let slot = free ?? slots; slot < slots; slot++) {
    const file = join(dir, String(slot));
    try {
      // Exclusive create wins a race for a free slot; a stale one is replaced whole.
      if (existsSync(file)) {
        const owner = readFileSync(file, 'utf8');
        if (existsSync(owner)) continue;
        const tmp = `${file}.${process.pid}`;
        writeFileSync(tmp, dataDir);
        renameSync(tmp, file);
      } else writeFileSync(file, dataDir, { flag: 'wx' });
      if (readFileSync(file, 'utf8') === dataDir) return { first: base + slot * count, count };
    } catch {
      // taken meanwhile: try the next
    }
  }
  throw new Error(`no free run uid range in ${dir}: ${slots} FleetOps data directories hold one; remove the claims of those gone`);
}
