/**
 * The object layer as controllers meet it, without the rest of FleetOps: a real SQLite store in memory, the built-in
 * and Kratix kinds, the namespace `default`, and the in-process client over them.
 */
import { InProcessClient } from '../../src/client/InProcessClient.ts';
import { coreTypes, namespaceType } from '../../src/registry/builtin/coreKinds.ts';
import { kratixTypes } from '../../src/registry/builtin/kratixKinds.ts';
import { ObjectService } from '../../src/registry/ObjectService.ts';
import { Registry } from '../../src/registry/Registry.ts';
import { SchemaValidator } from '../../src/registry/schema/SchemaValidator.ts';
import { SqliteStore } from '../../src/store/SqliteStore.ts';

export interface ObjectStore {
  store: SqliteStore;
  objects: ObjectService;
  client: InProcessClient;
}

export async function kratixObjectStore(): Promise<ObjectStore> {
  const store = new SqliteStore({ path: ':memory:' });
  const registry = new Registry();
  for (const t of [...coreTypes, ...kratixTypes(new SchemaValidator())]) registry.register(t);
  const objects = new ObjectService({ store, registry });
  await objects.create(namespaceType, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
  return { store, objects, client: new InProcessClient({ objects }) };
}
