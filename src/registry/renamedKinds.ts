/**
 * Kinds FleetOps has renamed, and the start-up step that moves objects stored under an old name to the new one, so a
 * data directory written by an older FleetOps opens with nothing lost. Each object is moved in one commit (delete the
 * old key, create the new), so a crash between two leaves every object under exactly one name, and running it again
 * finishes the rest. The new object gets a new uid: nothing owns or references these objects by uid.
 */
import type { Logger } from 'pino';
import type { Store, TypeKey } from '../store/Store.ts';
import { FLEETOPS_GROUP, FLEETOPS_VERSION } from '../api/fleetopsNames.ts';

interface RenamedKind {
  from: TypeKey;
  to: TypeKey & { apiVersion: string };
}

export const RENAMED_KINDS: readonly RenamedKind[] = [
  // #21: `promiserevisions` was served by fleetops.dev and platform.kratix.io alike (ADR 0018).
  {
    from: { group: FLEETOPS_GROUP, kind: 'PromiseRevision' },
    to: { group: FLEETOPS_GROUP, kind: 'Revision', apiVersion: `${FLEETOPS_GROUP}/${FLEETOPS_VERSION}` },
  },
];

/** Moves every stored object of a renamed kind to its new kind; returns how many moved. */
export async function migrateRenamedKinds(store: Store, logger: Logger, renames: readonly RenamedKind[] = RENAMED_KINDS): Promise<number> {
  let moved = 0;
  for (const { from, to } of renames) {
    const { items } = await store.list(from);
    for (const old of items) {
      const { name, namespace = '' } = old.metadata;
      const { uid: _uid, resourceVersion: _rv, creationTimestamp: _created, ...metadata } = old.metadata;
      await store.commit([
        { op: 'delete', key: { ...from, namespace, name } },
        { op: 'create', key: { group: to.group, kind: to.kind, namespace, name }, object: { ...old, apiVersion: to.apiVersion, kind: to.kind, metadata } },
      ]);
      moved++;
    }
    if (items.length) logger.info({ from: from.kind, to: to.kind, objects: items.length }, "moved stored objects to the kind's new name");
  }
  return moved;
}
