/**
 * Renamed kinds: no plural is served by two groups (kubectl would pick one silently), and objects stored under a
 * kind's old name move to the new one at start, once, with their spec and labels.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { coreTypes } from '../../src/registry/builtin/coreKinds.ts';
import { rbacTypes } from '../../src/registry/builtin/rbacKinds.ts';
import { kratixTypes } from '../../src/registry/builtin/kratixKinds.ts';
import { fleetopsTypes } from '../../src/registry/builtin/fleetopsKinds.ts';
import { SchemaValidator } from '../../src/registry/schema/SchemaValidator.ts';
import { migrateRenamedKinds } from '../../src/registry/renamedKinds.ts';
import { SqliteStore } from '../../src/store/SqliteStore.ts';
import { createObject, keyOf } from '../../src/store/Store.ts';

describe('renamed kinds', () => {
  it('serves each plural, kind and short name from one group only', () => {
    const types = [...coreTypes, ...rbacTypes, ...kratixTypes(new SchemaValidator()), ...fleetopsTypes];
    const seen = new Map<string, string>();
    for (const t of types) {
      for (const name of [t.plural, t.kind.toLowerCase(), ...(t.shortNames ?? [])]) {
        const other = seen.get(name);
        assert.ok(other === undefined || other === t.group, `"${name}" is served by ${other} and ${t.group}: kubectl get ${name} would pick one`);
        seen.set(name, t.group);
      }
    }
  });

  it('moves stored fleetops.dev PromiseRevisions to Revisions, once', async () => {
    const store = new SqliteStore({ path: ':memory:' });
    const old = { group: 'fleetops.dev', kind: 'PromiseRevision' };
    for (const n of [1, 2])
      await createObject(store, keyOf(old, '', `app-r${n}`), {
        apiVersion: 'fleetops.dev/v1alpha1',
        kind: 'PromiseRevision',
        metadata: { name: `app-r${n}`, labels: { 'kratix.io/promise-name': 'app' } },
        spec: { promiseName: 'app', revision: n, promiseSpec: { api: {} } },
      });
    const logger = pino({ level: 'silent' });
    assert.equal(await migrateRenamedKinds(store, logger), 2);
    assert.equal((await store.list(old)).items.length, 0);
    const moved = (await store.list({ group: 'fleetops.dev', kind: 'Revision' })).items;
    assert.deepEqual(
      moved.map((o) => [o.apiVersion, o.kind, o.metadata.name, o.metadata.labels, o.spec]),
      [1, 2].map((n) => [
        'fleetops.dev/v1alpha1',
        'Revision',
        `app-r${n}`,
        { 'kratix.io/promise-name': 'app' },
        { promiseName: 'app', revision: n, promiseSpec: { api: {} } },
      ]),
    );
    assert.equal(await migrateRenamedKinds(store, logger), 0);
    assert.deepEqual(await store.checkIntegrity(), []);
    await store.close();
  });
});
