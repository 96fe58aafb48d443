/**
 * Working with an unpacked image root from the host side, never following a link out of it: preparing it once after
 * unpacking (readable by the step user, mount points for the sandbox), resolving a command on the image's PATH, the
 * image's users, and mount points for volumes.
 */
import { closeSync, lstatSync, mkdirSync, openSync, readFileSync, readlinkSync } from 'node:fs';
import { chmod, lstat, readdir } from 'node:fs/promises';
import { join, posix } from 'node:path';

/** Folders the sandbox mounts over (they must exist: the root is read-only). */
const MOUNT_POINTS = ['kratix/input', 'kratix/output', 'kratix/metadata', 'tmp', 'dev', 'proc'];
/** Files a step with network gets from the host (when the image has an /etc). */
const NETWORK_FILES = ['etc/resolv.conf', 'etc/hosts'];

/** Most entries (files, folders, links) an image's root may have; past it the unpack fails with a clear error. */
export const MAX_ROOT_ENTRIES = 250_000;

/** An image root over the entry limit. */
export class RootTooLargeError extends Error {
  constructor(limit: number) {
    super(`the image has more than ${limit} files and folders; FleetOps runs images of at most ${limit} (make the image smaller)`);
    this.name = 'RootTooLargeError';
  }
}

/**
 * Makes the root usable by steps and returns its size in bytes: every entry readable (and folders traversable) by
 * the step user, as a container's root user could read them, and the sandbox's mount points present. Asynchronous,
 * entry by entry: an image of many files never holds the event loop (the API answers meanwhile).
 */
export async function prepareRoot(rootfs: string, maxEntries = MAX_ROOT_ENTRIES): Promise<number> {
  let bytes = 0;
  let entries = 0;
  const pending = [rootfs];
  await chmod(rootfs, 0o755);
  for (let dir = pending.pop(); dir !== undefined; dir = pending.pop()) {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (++entries > maxEntries) throw new RootTooLargeError(maxEntries);
      const path = join(dir, entry.name);
      const st = await lstat(path);
      bytes += st.blocks * 512;
      if (st.isSymbolicLink()) continue;
      const mode = st.mode & 0o7777 & ~0o6000; // no set-id bits (the sandbox ignores them anyway)
      const wanted = st.isDirectory() ? mode | 0o055 : mode | 0o044 | (mode & 0o100 ? 0o011 : 0);
      if (wanted !== (st.mode & 0o7777)) await chmod(path, wanted);
      if (st.isDirectory()) pending.push(path);
    }
  }
  for (const p of MOUNT_POINTS) ensureMountPoint(rootfs, `/${p}`, 'dir');
  if (isDir(rootfs, 'etc')) for (const f of NETWORK_FILES) ensureMountPoint(rootfs, `/${f}`, 'file');
  return bytes;
}

function isDir(rootfs: string, rel: string): boolean {
  try {
    return lstatSync(join(rootfs, rel)).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Creates the folder (or empty file) `path` inside the root when missing, so the sandbox can mount over it. Refuses a
 * path through a symbolic link: the image must not be able to point it at the host.
 */
export function ensureMountPoint(rootfs: string, path: string, kind: 'dir' | 'file' = 'dir'): void {
  const parts = posix.normalize(path).split('/').filter(Boolean);
  if (parts.includes('..') || !parts.length) throw new Error(`mount path ${JSON.stringify(path)} must be an absolute path inside the container`);
  let current = rootfs;
  for (const [i, part] of parts.entries()) {
    current = join(current, part);
    const last = i === parts.length - 1;
    let st;
    try {
      st = lstatSync(current);
    } catch {
      if (last && kind === 'file') closeSync(openSync(current, 'wx', 0o644));
      else mkdirSync(current, { mode: 0o755 });
      continue;
    }
    if (st.isSymbolicLink())
      throw new Error(`mount path ${path} goes through a symbolic link in the image (${parts.slice(0, i + 1).join('/')}); mount it elsewhere`);
    if (!last && !st.isDirectory()) throw new Error(`mount path ${path}: /${parts.slice(0, i + 1).join('/')} is a file in the image`);
  }
}

/** Resolves `path` inside the root as the sandbox would, following links within the root; undefined when missing. */
export function resolveInRoot(rootfs: string, path: string): string | undefined {
  let parts = posix.normalize(path).split('/').filter(Boolean);
  let resolved: string[] = [];
  for (let hops = 0; parts.length;) {
    const part = parts.shift() as string;
    if (part === '.') continue;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const host = join(rootfs, ...resolved, part);
    let st;
    try {
      st = lstatSync(host);
    } catch {
      return undefined;
    }
    if (st.isSymbolicLink()) {
      if (++hops > 40) return undefined;
      const target = readlinkSync(host);
      if (target.startsWith('/')) resolved = [];
      parts = [...target.split('/').filter(Boolean), ...parts];
      continue;
    }
    resolved.push(part);
  }
  return `/${resolved.join('/')}`;
}

/** Where `command` is found: itself when it has a slash, else the first PATH folder holding it (as execvp looks). */
export function findExecutable(rootfs: string, command: string, pathVar: string): string | undefined {
  if (command.includes('/')) return resolveInRoot(rootfs, command) !== undefined ? command : undefined;
  for (const dir of pathVar.split(':').filter(Boolean)) {
    const found = resolveInRoot(rootfs, posix.join(dir, command));
    if (found !== undefined) {
      try {
        if (lstatSync(join(rootfs, found)).isFile()) return posix.join(dir, command);
      } catch {
        // not there after all
      }
    }
  }
  return undefined;
}

/**
 * The uid and gid an image's `User` stands for (`uid`, `uid:gid`, `name`, `name:group`), names looked up in the
 * image's /etc/passwd and /etc/group, as a container runtime does.
 */
export function resolveUser(rootfs: string, user: string | undefined): { uid: number; gid: number } {
  if (!user) return { uid: 0, gid: 0 };
  const [u, g] = user.split(':') as [string, string | undefined];
  const table = (file: string): string[][] => {
    const where = resolveInRoot(rootfs, file);
    if (!where) return [];
    try {
      return readFileSync(join(rootfs, where), 'utf8')
        .split('\n')
        .map((l) => l.split(':'));
    } catch {
      return [];
    }
  };
  let uid: number;
  let gid: number | undefined;
  if (/^\d+$/.test(u)) {
    uid = Number(u);
    const entry = table('/etc/passwd').find((e) => e[2] === u);
    if (entry?.[3] && /^\d+$/.test(entry[3])) gid = Number(entry[3]);
  } else {
    const entry = table('/etc/passwd').find((e) => e[0] === u);
    if (!entry || !/^\d+$/.test(entry[2] ?? '')) throw new Error(`the image's user ${JSON.stringify(u)} is not in its /etc/passwd`);
    uid = Number(entry[2]);
    if (entry[3] && /^\d+$/.test(entry[3])) gid = Number(entry[3]);
  }
  if (g !== undefined) {
    if (/^\d+$/.test(g)) gid = Number(g);
    else {
      const entry = table('/etc/group').find((e) => e[0] === g);
      if (!entry || !/^\d+$/.test(entry[2] ?? '')) throw new Error(`the image's group ${JSON.stringify(g)} is not in its /etc/group`);
      gid = Number(entry[2]);
    }
  }
  return { uid, gid: gid ?? 0 };
}
