/**
 * The data directory's guards: one FleetOps per directory (a pid lock naming the holder), private modes on what is
 * secret in it, and no silent fresh start when its database is gone.
 */
import { errorCode } from './api/errors.ts';
import { chmodSync, existsSync, mkdirSync, openSync, closeSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { processAlive } from './lib/processAlive.ts';

export class DataDirError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'DataDirError';
  }
}

/**
 * Takes the data directory for this process: `fleetops.pid` is created exclusively; a file left by a process that
 * is gone (kill -9) is taken over. Returns the release function.
 */
export function lockDataDir(dataDir: string, pid = process.pid): () => void {
  const file = join(dataDir, 'fleetops.pid');
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, `${pid}\n`);
      closeSync(fd);
      return () => {
        try {
          if (readFileSync(file, 'utf8').trim() === String(pid)) rmSync(file, { force: true });
        } catch {
          // already gone
        }
      };
    } catch (err) {
      if (errorCode(err) !== 'EEXIST') throw err;
    }
    const holder = Number(readFileSync(file, 'utf8').trim());
    if (holder !== pid && processAlive(holder)) {
      throw new DataDirError(
        `another FleetOps (pid ${holder}) is using the data directory ${dataDir}; stop it first, or start this one with another --data-dir`,
      );
    }
    rmSync(file, { force: true }); // left by a FleetOps that is gone
  }
  throw new DataDirError(`could not lock the data directory ${dataDir} (${file} keeps reappearing)`);
}

/** Written once FleetOps has opened its database in the directory: from then on a missing database is an accident. */
const INITIALIZED = '.initialized';

export function markInitialized(dataDir: string): void {
  const marker = join(dataDir, INITIALIZED);
  if (!existsSync(marker)) writeFileSync(marker, `${new Date().toISOString()}\n`, { mode: 0o600 });
}

/**
 * Refuses to start an empty platform on a data directory that had one: its database is missing or empty (with no
 * write-ahead log) although the directory held a platform before. `fresh` starts over on purpose.
 */
export function checkDatabase(dataDir: string, fresh: boolean): void {
  const db = join(dataDir, 'fleetops.db');
  const size = (path: string): number => (existsSync(path) ? statSync(path).size : 0);
  const usedBefore = existsSync(join(dataDir, INITIALIZED));
  const empty = size(db) === 0 && size(`${db}-wal`) === 0;
  if (!usedBefore || !empty) return;
  if (!fresh) {
    throw new DataDirError(
      `the database ${db} is ${existsSync(db) ? 'empty' : 'missing'} but ${dataDir} held a platform before (${INITIALIZED} is there): every Promise, resource and destination would be gone. Restore the file from a backup, or start over on purpose with --fresh`,
    );
  }
  rmSync(join(dataDir, '.defaults-created'), { force: true }); // the defaults are made again
}

/**
 * The data directory is traversable (image roots lie below it), so what is secret in it is closed by its own mode:
 * the database (SQLite gives its -wal and -shm files the database file's mode), tokens, keys, the kubeconfig, and the
 * folders of state. Applied at every start, whatever modes an existing directory had (a tmpfs mount point is 1777).
 */
export function keepPrivate(dataDir: string): void {
  chmodSync(dataDir, 0o711);
  const db = join(dataDir, 'fleetops.db');
  if (!existsSync(db)) writeFileSync(db, '', { mode: 0o600 });
  for (const file of [
    db,
    `${db}-wal`,
    `${db}-shm`,
    join(dataDir, 'tokens.json'),
    join(dataDir, 'kubeconfig'),
    join(dataDir, 'apiserver.key'),
    join(dataDir, 'apiserver.crt'),
    join(dataDir, 'serviceaccount.key'),
  ]) {
    if (existsSync(file)) chmodSync(file, 0o600);
  }
  for (const dir of ['git', 'statestores', 'image-fetch', 'audit']) {
    mkdirSync(join(dataDir, dir), { recursive: true, mode: 0o700 });
    chmodSync(join(dataDir, dir), 0o700);
  }
}
