import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ProtobufCodec, prefersProtobuf } from '../../src/apiserver/protobuf/ProtobufCodec.ts';

describe('Kubernetes protobuf codec', () => {
  const codec = new ProtobufCodec();

  it('round-trips a Secret with bytes, times, labels and managed fields', () => {
    const secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: 's',
        namespace: 'team-a',
        labels: { a: 'b' },
        creationTimestamp: '2026-12-02T10:00:00Z',
        managedFields: [{ manager: 'kubectl', operation: 'Update', time: '2026-12-02T10:00:01Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:data': {} } }],
      },
      data: { password: Buffer.from('p4ss').toString('base64') },
      type: 'Opaque',
    };
    const wire = codec.encode(secret);
    assert.deepEqual([...wire.subarray(0, 4)], [0x6b, 0x38, 0x73, 0x00]);
    assert.deepEqual(codec.decode(wire), secret);
  });

  it('leaves out ObjectMeta\'s empty strings, as Go\'s JSON does (kubectl sends generateName and selfLink as "")', () => {
    const wire = codec.encode({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', generateName: '', selfLink: '' }, data: { empty: '' } });
    assert.deepEqual(codec.decode(wire), { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { empty: '' } });
  });

  it("round-trips a user's extra attributes (a list in JSON, ExtraValue on the wire)", () => {
    const review = {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'SelfSubjectReview',
      metadata: { creationTimestamp: '2026-12-02T10:00:00Z' },
      status: { userInfo: { username: 'u', groups: ['g'], extra: { 'fleetops.dev/namespaces': ['a', 'b'] } } },
    };
    assert.deepEqual(codec.decode(codec.encode(review)), review);
  });

  it('round-trips lists, and event times with microseconds', () => {
    const list = {
      apiVersion: 'v1',
      kind: 'EventList',
      metadata: { resourceVersion: '12' },
      items: [{ metadata: { name: 'e' }, count: 3, eventTime: '2026-12-02T10:00:00.123456Z', involvedObject: { kind: 'App', name: 'x' } }],
    };
    assert.deepEqual(codec.decode(codec.encode(list)), list);
  });

  it('refuses bodies without the prefix and kinds that are served only as JSON', () => {
    assert.throws(() => codec.decode(Buffer.from('{"kind":"Secret"}')), /k8s\\x00/);
    assert.equal(codec.supports('platform.kratix.io/v1alpha1', 'Promise'), false);
    assert.equal(codec.supports('rbac.authorization.k8s.io/v1', 'RoleBindingList'), true);
  });

  it('is chosen only when protobuf is the first accepted type', () => {
    assert.equal(prefersProtobuf('application/vnd.kubernetes.protobuf, */*'), true);
    assert.equal(prefersProtobuf('application/json;as=Table;v=v1;g=meta.k8s.io,application/vnd.kubernetes.protobuf'), false);
    assert.equal(prefersProtobuf(undefined), false);
  });
});
