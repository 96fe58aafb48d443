/**
 * One identity for every replica on a shared database: the token file, the ServiceAccount signing key (which also
 * seals Works) and the serving certificate are kept in the Secret `fleetops-system/fleetops-identity`. The first
 * replica stores its own; every later one adopts them into its data directory before it loads them, so a kubeconfig,
 * a ServiceAccount token or a sealed Work made through one replica holds on all of them (also behind one load
 * balancer). Only administrators may read Secrets in fleetops-system.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { isApiError } from './api/errors.ts';
import type { ObjectService } from './registry/ObjectService.ts';
import { secretType } from './registry/builtin/coreKinds.ts';
import { isObjectOf } from './registry/builtin/defineType.ts';

export const IDENTITY_SECRET = { namespace: 'fleetops-system', name: 'fleetops-identity' };

/** The data directory's files that make up the identity (all 0600 there). */
export const IDENTITY_FILES = ['tokens.json', 'serviceaccount.key', 'apiserver.key', 'apiserver.crt'] as const;

const keyOf = (file: string): string => file.replace(/[^A-Za-z0-9._-]/g, '_');

/**
 * Shares the identity through the store: stores this data directory's files when none are shared yet, else writes
 * the shared ones over them. `ensureFiles` makes the files this replica would use alone (called first).
 */
export async function shareIdentity(objects: ObjectService, dataDir: string, ensureFiles: () => void, logger: Logger): Promise<'stored' | 'adopted' | 'same'> {
  ensureFiles();
  const local = Object.fromEntries(IDENTITY_FILES.map((f) => [keyOf(f), readFileSync(join(dataDir, f)).toString('base64')]));
  try {
    await objects.create(secretType, IDENTITY_SECRET.namespace, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: IDENTITY_SECRET.name, namespace: IDENTITY_SECRET.namespace, labels: { 'app.kubernetes.io/managed-by': 'fleetops' } },
      type: 'Opaque',
      data: local,
    });
    logger.info(
      { secret: `${IDENTITY_SECRET.namespace}/${IDENTITY_SECRET.name}` },
      "this replica's tokens, keys and certificate are now shared by every replica",
    );
    return 'stored';
  } catch (err) {
    if (!isApiError(err, 'AlreadyExists')) throw err;
  }
  const shared = await objects.find(secretType, IDENTITY_SECRET.namespace, IDENTITY_SECRET.name);
  const data = shared && isObjectOf(secretType, shared) ? (shared.data ?? {}) : {};
  let changed = false;
  for (const f of IDENTITY_FILES) {
    const value = data[keyOf(f)];
    if (value === undefined)
      throw new Error(
        `the shared identity ${IDENTITY_SECRET.namespace}/${IDENTITY_SECRET.name} has no ${keyOf(f)}: restore it, or delete the Secret to share this replica's`,
      );
    if (value === local[keyOf(f)]) continue;
    const path = join(dataDir, f);
    if (existsSync(path)) changed = true;
    writeFileSync(path, Buffer.from(value, 'base64'), { mode: 0o600 });
  }
  if (changed) logger.info({ secret: `${IDENTITY_SECRET.namespace}/${IDENTITY_SECRET.name}` }, "adopted the replicas' shared tokens, keys and certificate");
  return changed ? 'adopted' : 'same';
}
