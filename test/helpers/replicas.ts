/**
 * FleetOps replicas as separate processes on one throw-away PostgreSQL, each with its own data directory and the
 * test image in its image cache: `start` adds one of a role, `stop` kills them all and removes what they left.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openImageCache } from '../../src/workflows/images/openImageCache.ts';
import { buildTestImage } from './images.ts';
import { startPostgres, type TestPostgres } from './postgres.ts';
import { spawnFleet, type FleetProcess } from './process.ts';

export interface PostgresReplicas {
  /** Every replica started, in order. */
  fleets: FleetProcess[];
  start(name: string, role: 'all' | 'api' | 'worker'): Promise<FleetProcess>;
  stop(): Promise<void>;
}

export async function startPostgresReplicas(): Promise<PostgresReplicas> {
  const db: TestPostgres = await startPostgres();
  const dirs: string[] = [];
  const fleets: FleetProcess[] = [];
  return {
    fleets,
    async start(name, role) {
      const dir = mkdtempSync(join(tmpdir(), `fo-replica-${name}-`));
      dirs.push(dir);
      const images = openImageCache(dir);
      await buildTestImage(images);
      images.stop();
      const fleet = await spawnFleet(dir, { FLEETOPS_STORE: db.url, FLEETOPS_ROLE: role });
      fleets.push(fleet);
      return fleet;
    },
    async stop() {
      for (const f of fleets) await f.kill('SIGKILL');
      db.cleanup();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    },
  };
}
