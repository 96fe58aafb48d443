/**
 * The machine's busybox, and whether an executable is static. A static busybox is the base of shell step images
 * (it runs in any root, with no libraries beside it) and the shell each step starts in (see BwrapRuntime.run).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where busybox is: the first on PATH, else /bin or /usr/bin; undefined when the machine has none. */
export function findBusybox(path: string = process.env.PATH ?? ''): string | undefined {
  for (const dir of [...path.split(':'), '/bin', '/usr/bin']) {
    const candidate = join(dir, 'busybox');
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** True when the ELF file asks for no program interpreter (a static executable). */
export function isStaticExecutable(path: string): boolean {
  const b = readFileSync(path);
  if (b.length < 0x40 || b.readUInt32BE(0) !== 0x7f454c46 || b[4] !== 2) return false; // 64-bit ELF only
  const phoff = Number(b.readBigUInt64LE(0x20));
  const phentsize = b.readUInt16LE(0x36);
  const phnum = b.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) if (b.readUInt32LE(phoff + i * phentsize) === 3) return false; // PT_INTERP
  return true;
}
