/**
 * The machine's busybox, and whether an executable is static. A static busybox is the base of shell step images
 * (it runs in any root, with no libraries beside it) and the shell each step starts in (see BwrapRuntime.run).
 */
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';

/** Where busybox is: the first on PATH, else /bin or /usr/bin; undefined when the machine has none. */
export function findBusybox(path: string = process.env.PATH ?? ''): string | undefined {
  for (const dir of [...path.split(':'), '/bin', '/usr/bin']) {
    const candidate = join(dir, 'busybox');
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}

/**
 * True when the ELF file asks for no program interpreter (a static executable). Reads its header and its program
 * headers only (a static busybox is 2 MB; the step shell is chosen at start-up).
 */
export function isStaticExecutable(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const read = (length: number, position: number): Buffer => {
      const b = Buffer.alloc(length);
      return b.subarray(0, readSync(fd, b, 0, length, position));
    };
    const h = read(0x40, 0);
    if (h.length < 0x40 || h.readUInt32BE(0) !== 0x7f454c46 || h[4] !== 2) return false; // 64-bit ELF only
    const phentsize = h.readUInt16LE(0x36);
    const phnum = h.readUInt16LE(0x38);
    const table = read(phentsize * phnum, Number(h.readBigUInt64LE(0x20)));
    if (table.length < phentsize * phnum) return false; // cut short: not an executable the kernel would start
    for (let i = 0; i + 4 <= table.length; i += phentsize) if (table.readUInt32LE(i) === 3) return false; // PT_INTERP
    return true;
  } finally {
    closeSync(fd);
  }
}
