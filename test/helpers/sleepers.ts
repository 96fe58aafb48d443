/** Processes a test started as `sleep <marker>` (a marker no other process uses), found by their command line. */
import { readdirSync, readFileSync } from 'node:fs';

/** Pids of `sleep <marker>` processes (not the processes that have the marker among other arguments). */
export function sleepersWith(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8') === `sleep\0${marker}\0`) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}
