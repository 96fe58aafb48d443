/**
 * A run's workspace: the folders bound at /kratix/{input,output,metadata} (and the pipeline's volumes). Private: they
 * lie in a folder other users cannot list (0711), each workspace is 0700 and owned by the user the run's steps run as,
 * so no other local user can read the input or slip a file into the output during the run.
 *
 * Workspaces live a few milliseconds and hold small files: in memory (/dev/shm) when the machine has it with room to
 * spare (containers often get 64 MB, less than a few runs' outputs may take), where creating and removing folders
 * costs microseconds rather than journal writes; else the OS temp folder.
 */
import { accessSync, chownSync, constants, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processAlive } from '../lib/processAlive.ts';

export interface Workspace {
  path: string;
  dirs: { input: string; output: string; metadata: string };
  /** Makes a further folder of the run (a volume) owned like the rest. */
  mkdir(relative: string): string;
  remove(): void;
}

const PARENT = 'fleetops-runs';
const PREFIX = 'run-';

export function defaultWorkRoot(): string {
  const shm = '/dev/shm';
  try {
    accessSync(shm, constants.W_OK);
    const fs = statfsSync(shm);
    if (statSync(shm).isDirectory() && fs.bavail * fs.bsize >= 1024 ** 3) return join(shm, PARENT);
  } catch {
    // no shared memory folder here
  }
  return join(tmpdir(), PARENT);
}

/**
 * A new workspace under `root` for a run whose steps run as `owner` (undefined: as this process's user). The name
 * carries this process's id, so workspaces of a FleetOps that was killed can be told from those of one running.
 */
export function createWorkspace(root: string, owner: { uid: number; gid: number } | undefined, input: string): Workspace {
  mkdirSync(root, { recursive: true, mode: 0o711 });
  const path = mkdtempSync(join(root, `${PREFIX}${process.pid}-`));
  const own = (dir: string): void => {
    if (owner) chownSync(dir, owner.uid, owner.gid);
  };
  const dirs = { input: join(path, 'input'), output: join(path, 'output'), metadata: join(path, 'metadata') };
  for (const d of Object.values(dirs)) {
    mkdirSync(d, { mode: 0o700 });
    own(d);
  }
  writeFileSync(join(dirs.input, 'object.yaml'), input, { mode: 0o600 });
  own(join(dirs.input, 'object.yaml'));
  // Owned last: until then nobody but FleetOps could enter it (mkdtemp makes it 0700).
  own(path);
  return {
    path,
    dirs,
    mkdir(relative) {
      let dir = path;
      for (const part of relative.split('/').filter(Boolean)) {
        dir = join(dir, part);
        if (existsSync(dir)) continue;
        mkdirSync(dir, { mode: 0o700 });
        own(dir);
      }
      return dir;
    },
    remove() {
      // rmSync (native, one call) costs a fifth of fs.promises.rm's JavaScript walk per workspace.
      rmSync(path, { recursive: true, force: true });
    },
  };
}

/** The API relay socket of a FleetOps process, beside the workspaces (see UnixSocketProxy). */
export function apiSocketPath(root: string = defaultWorkRoot(), pid = process.pid): string {
  return join(root, `api-${pid}.sock`);
}

/**
 * Removes workspaces left behind by a FleetOps that was killed during runs (kill -9, power loss): at once when the
 * process that made one is gone, else once it is older than any run could be (other FleetOps processes on the
 * machine share the folder). Returns how many.
 */
export function removeStaleWorkspaces(root: string = defaultWorkRoot(), olderThanMs = 24 * 3_600_000, now = Date.now()): number {
  let removed = 0;
  let all: string[];
  try {
    all = readdirSync(root);
  } catch {
    return 0; // no work root yet
  }
  // Relay sockets only when their process is gone: a live FleetOps' socket is in use however old it is.
  for (const entry of all) {
    const m = /^api-(\d+)\.sock$/.exec(entry);
    const pid = m ? Number(m[1]) : 0;
    if (!m || pid === process.pid || processAlive(pid)) continue;
    rmSync(join(root, entry), { force: true });
    removed++;
  }
  const entries = all.filter((e) => e.startsWith(PREFIX));
  for (const entry of entries) {
    const path = join(root, entry);
    const pid = Number(entry.slice(PREFIX.length).split('-')[0]);
    try {
      const orphaned = Number.isInteger(pid) && pid > 0 && pid !== process.pid && !processAlive(pid);
      if (!orphaned && now - statSync(path).mtimeMs < olderThanMs) continue;
      rmSync(path, { recursive: true, force: true });
      removed++;
    } catch {
      // removed meanwhile by its owner
    }
  }
  return removed;
}
