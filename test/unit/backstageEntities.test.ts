/**
 * The Backstage entities FleetOps writes pass Backstage's own validators (@backstage/catalog-model, and the
 * scaffolder's v1beta3 Template schema) for the example Promises and every marketplace Promise under test/data.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import {
  apiEntityV1alpha1Validator,
  componentEntityV1alpha1Validator,
  DefaultNamespaceEntityPolicy,
  EntityPolicies,
  FieldFormatEntityPolicy,
  NoForeignRootFieldsEntityPolicy,
  SchemaValidEntityPolicy,
  type Entity as BackstageEntity,
} from '@backstage/catalog-model';
import { templateEntityV1beta3Validator } from '@backstage/plugin-scaffolder-common';
import type { KubeObject, StoredObject } from '../../src/api/types.ts';
import { promiseApi } from '../../src/controllers/backstage/BackstageCatalog.ts';
import { apiEntity, componentEntity, entityName, templateEntity, yamlDocuments, type Entity } from '../../src/controllers/backstage/entities.ts';
import { resourceRequest } from '../../src/controllers/shared/resourceRequest.ts';
import { objectOf } from '../../src/registry/builtin/defineType.ts';
import { promiseType } from '../../src/registry/builtin/kratixKinds.ts';
import { crdToResourceType } from '../../src/registry/crd.ts';
import { SchemaValidator } from '../../src/registry/schema/SchemaValidator.ts';

const root = join(import.meta.dirname, '..', '..');
const PORTAL = 'https://fleetops.example:6443/portal/';
const validator = new SchemaValidator();
const policies = EntityPolicies.allOf([
  new DefaultNamespaceEntityPolicy(),
  new NoForeignRootFieldsEntityPolicy(),
  new FieldFormatEntityPolicy(),
  new SchemaValidEntityPolicy(),
]);

function promisesIn(file: string): KubeObject[] {
  return parseAllDocuments(readFileSync(file, 'utf8'))
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o?.kind === 'Promise');
}

const sources = [
  join(root, 'examples/app-as-a-service/promise.yaml'),
  join(root, 'examples/postgresql/promise.yaml'),
  join(root, 'examples/team/promise.yaml'),
  ...readdirSync(join(root, 'test/data/kratix-marketplace'))
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => join(root, 'test/data/kratix-marketplace', f)),
];

/** As the catalog reads them back: YAML, then Backstage's checks. */
async function check(entity: Entity, kindValidator: { check(e: BackstageEntity): Promise<boolean> }): Promise<void> {
  const [doc] = parseAllDocuments(yamlDocuments([entity]));
  const parsed = doc!.toJS() as BackstageEntity;
  const enforced = await policies.enforce(parsed);
  assert.ok(enforced, `${entity.kind} passes the catalog's entity policies`);
  assert.equal(await kindValidator.check(parsed), true, `${entity.kind} is a valid ${entity.kind}`);
}

describe('Backstage entities', () => {
  let promises = 0;
  for (const file of sources) {
    for (const p of promisesIn(file)) {
      const api = (p.spec as { api?: unknown } | undefined)?.api;
      if (!api) continue;
      promises++;
      it(`are valid for Promise ${p.metadata.name} (${file.slice(root.length + 1)})`, async () => {
        const { type, causes } = crdToResourceType(api, `promise/${p.metadata.name}`, validator);
        assert.ok(type, causes.map((c) => c.message).join('; '));
        const stored: StoredObject = {
          ...p,
          metadata: { ...p.metadata, name: p.metadata.name ?? '', uid: 'u', resourceVersion: '1', creationTimestamp: '2030-01-01T00:00:00Z' },
        };
        const info = promiseApi(objectOf(promiseType, stored), type);
        await check(apiEntity(info, PORTAL), apiEntityV1alpha1Validator);
        await check(templateEntity(info, PORTAL), templateEntityV1beta3Validator);
        const request = resourceRequest({
          apiVersion: `${type.group}/${type.versions[0]}`,
          kind: type.kind,
          metadata: { name: 'example-request', namespace: 'team-a', uid: 'r', resourceVersion: '2', creationTimestamp: '2030-01-01T00:00:00Z' },
          spec: {},
          status: { message: 'Resource requested', conditions: [{ type: 'Reconciled', status: 'True', reason: 'Reconciled', message: 'Reconciled' }] },
        });
        const component = componentEntity(info, request, PORTAL);
        await check(component, componentEntityV1alpha1Validator);
        assert.equal((component.spec as { owner: string }).owner, 'group:default/team-a');
        assert.equal((component.metadata.labels as Record<string, string>)['fleetops.dev/ready'], 'true');
      });
    }
  }

  it('covers the examples and the marketplace', () => assert.ok(promises >= 20, `${promises} Promises with an API`));

  it('would notice an invalid entity (the validators are not lenient)', async () => {
    const info = { promise: 'p', group: 'g.example.com', version: 'v1', kind: 'Thing', plural: 'things', description: '', schema: {}, promiseVersion: '' };
    const template = templateEntity(info, PORTAL);
    await assert.rejects(check({ ...template, spec: { ...(template.spec as object), steps: 'not a list' } }, templateEntityV1beta3Validator));
    const component = componentEntity(
      info,
      resourceRequest({ apiVersion: 'g.example.com/v1', kind: 'Thing', metadata: { name: 'n', uid: 'u', resourceVersion: '1', creationTimestamp: 'x' } }),
      PORTAL,
    );
    await assert.rejects(check({ ...component, spec: { type: 'thing' } }, componentEntityV1alpha1Validator));
  });

  it('names entities as Backstage allows, whatever the resource is called', () => {
    assert.equal(entityName('team-a-apps-todoer'), 'team-a-apps-todoer');
    assert.equal(entityName('--a b..c--'), 'a-b..c');
    assert.equal(entityName('x'.repeat(80)).length, 63);
    assert.equal(entityName('???'), 'unnamed');
  });
});
