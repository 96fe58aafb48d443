import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runStoreConformance } from '../../src/store/conformance.ts';
import { SqliteStore } from '../../src/store/SqliteStore.ts';
import { createObject, keyOf } from '../../src/store/Store.ts';

runStoreConformance('sqlite (memory)', async () => new SqliteStore({ path: ':memory:' }));
runStoreConformance('sqlite (file)', async () => new SqliteStore({ path: join(mkdtempSync(join(tmpdir(), 'fo-store-')), 'db.sqlite') }));

test('a reopened sqlite store keeps objects and continues the resourceVersion', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'fo-store-')), 'db.sqlite');
  const s1 = new SqliteStore({ path });
  const a = await createObject(s1, keyOf({ group: 'g', kind: 'K' }, '', 'a'), { apiVersion: 'g/v1', kind: 'K', metadata: { name: 'a' } });
  await s1.close();
  const s2 = new SqliteStore({ path });
  assert.equal((await s2.get(keyOf({ group: 'g', kind: 'K' }, '', 'a')))?.metadata.uid, a.metadata.uid);
  const b = await createObject(s2, keyOf({ group: 'g', kind: 'K' }, '', 'b'), { apiVersion: 'g/v1', kind: 'K', metadata: { name: 'b' } });
  assert.ok(Number(b.metadata.resourceVersion) > Number(a.metadata.resourceVersion));
  await s2.close();
});
