/**
 * Idempotent create-or-update that skips the write when labels, annotations and spec already match. The object it
 * answers with may be shared with the store's read cache (when unchanged): for reading only.
 */
import { jsonEqual, type KubeObject } from '../../api/types.ts';
import { createUnlessExists, refOf, type Client } from '../../client/Client.ts';

export type EnsureOutcome = 'created' | 'updated' | 'unchanged';

export interface EnsureOptions {
  /**
   * The caller knows the object is most likely new (its records say it was never written): it is created without
   * being read first — a read of an object that does not exist misses every cache, and is a round trip on
   * PostgreSQL. One that exists after all is read and updated as usual.
   */
  likelyNew?: boolean;
}

export async function ensureObject(
  client: Client,
  desired: KubeObject,
  fields: string[] = ['spec'],
  options: EnsureOptions = {},
): Promise<{ object: KubeObject; outcome: EnsureOutcome }> {
  // The writes are shared: `desired`'s members become the stored object's (its caller leaves it alone after the call).
  const created = options.likelyNew ? await createUnlessExists(client, desired, { shared: true }) : undefined;
  if (created) return { object: created, outcome: 'created' };
  // Only compared, and spread into the update: the store's shared copy.
  const existing = await client.get(refOf(desired), { shared: true });
  if (!existing) return { object: await client.create(desired, { shared: true }), outcome: 'created' };
  const same =
    jsonEqual(existing.metadata.labels ?? {}, { ...(existing.metadata.labels ?? {}), ...(desired.metadata.labels ?? {}) }) &&
    jsonEqual(existing.metadata.annotations ?? {}, { ...(existing.metadata.annotations ?? {}), ...(desired.metadata.annotations ?? {}) }) &&
    fields.every((f) => jsonEqual(existing[f], desired[f]));
  if (same) return { object: existing, outcome: 'unchanged' };
  const next: KubeObject = {
    ...existing,
    metadata: {
      ...existing.metadata,
      labels: { ...(existing.metadata.labels ?? {}), ...(desired.metadata.labels ?? {}) },
      annotations: { ...(existing.metadata.annotations ?? {}), ...(desired.metadata.annotations ?? {}) },
    },
  };
  if (Object.keys(next.metadata.annotations ?? {}).length === 0) delete next.metadata.annotations;
  for (const f of fields) next[f] = desired[f];
  return { object: await client.update(next, { shared: true }), outcome: 'updated' };
}
