/**
 * Measures what a running step has written to its writable folders (outputs, metadata, shared volumes) every so
 * often, and says when it passes the limit, so the step is stopped while it runs rather than after it filled the
 * machine's memory (workspaces are in /dev/shm).
 */
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** Bytes under `dir` (links not followed), stopping early once past `stopAt`. */
export function bytesUnder(dir: string, stopAt = Infinity): number {
  let total = 0;
  const stack = [dir];
  while (stack.length && total <= stopAt) {
    const d = stack.pop() as string;
    let entries: string[];
    try {
      entries = readdirSync(d);
    } catch {
      continue; // removed meanwhile
    }
    for (const e of entries) {
      try {
        const st = lstatSync(join(d, e));
        if (st.isDirectory()) stack.push(join(d, e));
        else total += st.size;
      } catch {
        // removed meanwhile
      }
    }
  }
  return total;
}

/** Checks `dirs` every `intervalMs`; calls `onExceeded` once with the bytes found when past `maxBytes`. Returns stop. */
export function watchWrites(dirs: readonly string[], maxBytes: number, intervalMs: number, onExceeded: (bytes: number) => void): () => void {
  const timer = setInterval(() => {
    let total = 0;
    for (const d of dirs) total += bytesUnder(d, maxBytes - total);
    if (total > maxBytes) {
      clearInterval(timer);
      onExceeded(total);
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
