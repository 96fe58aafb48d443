/**
 * Moving a platform between stores: `fleetops store copy` from an embedded data directory to PostgreSQL (to scale
 * out) or back, and `fleetops migrate` (the PostgreSQL schema, otherwise applied at start). A data directory is
 * locked while it is copied, so a running FleetOps on it is refused rather than copied half-way.
 */
import { join, resolve } from 'node:path';
import { lockDataDir, markInitialized } from './dataDir.ts';
import { redactCredentials } from './lib/redact.ts';
import { PostgresStore, isPostgresUrl } from './store/PostgresStore.ts';
import { SqliteStore } from './store/SqliteStore.ts';
import type { Store } from './store/Store.ts';
import { existsSync, mkdirSync } from 'node:fs';
import { MIGRATIONS } from './store/postgresSchema.ts';

interface OpenedStore {
  store: Store;
  /** Where it is, safe to print. */
  where: string;
  close(): Promise<void>;
}

/** A PostgreSQL URL, or a data directory (its embedded store, locked while open). */
async function openAt(location: string, role: 'source' | 'target'): Promise<OpenedStore> {
  if (isPostgresUrl(location)) {
    const store = await PostgresStore.open({ url: location });
    return { store, where: redactCredentials(location), close: () => store.close() };
  }
  const dir = resolve(location);
  if (role === 'source' && !existsSync(join(dir, 'fleetops.db')))
    throw new Error(`${dir} holds no FleetOps database (fleetops.db): give a data directory FleetOps has run on, or a postgres:// URL`);
  if (role === 'target') mkdirSync(dir, { recursive: true, mode: 0o700 });
  const unlock = lockDataDir(dir);
  try {
    const store = new SqliteStore({ path: join(dir, 'fleetops.db') });
    if (role === 'target') markInitialized(dir);
    return {
      store,
      where: dir,
      close: async () => {
        await store.close();
        unlock();
      },
    };
  } catch (err) {
    unlock();
    throw err;
  }
}

/** Copies every object (uids, versions and timestamps kept) into an empty store; returns how many. */
export async function copyStore(from: string, to: string, progress: (copied: number) => void): Promise<{ copied: number; from: string; to: string }> {
  const source = await openAt(from, 'source');
  try {
    const target = await openAt(to, 'target');
    try {
      for await (const page of target.store.dump()) {
        if (page.length) throw new Error(`${target.where} already holds objects: copy into an empty database or data directory`);
      }
      let copied = 0;
      for await (const page of source.store.dump()) {
        await target.store.load(page);
        copied += page.length;
        progress(copied);
      }
      const problems = await target.store.checkIntegrity();
      if (problems.length) throw new Error(`the copy in ${target.where} is not sound: ${problems.slice(0, 3).join('; ')}`);
      return { copied, from: source.where, to: target.where };
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
}

/** Applies the PostgreSQL schema's pending migrations; returns the schema version now. */
export async function migrateStore(url: string): Promise<number> {
  if (!isPostgresUrl(url)) throw new Error(`"${redactCredentials(url)}" is not a postgres:// URL (the embedded store needs no migration)`);
  const store = await PostgresStore.open({ url }); // opening applies them
  await store.close();
  return Math.max(...MIGRATIONS.map((m) => m.version));
}
