/** What a resource workflow may write: its request's namespace, unless its Promise declares more (ADR 0015). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkOutputScope, outputScopeOf } from '../../src/workflows/outputScope.ts';
import { parseYamlStreamBounded } from '../../src/api/boundedYaml.ts';

const parse = (text: string): Promise<unknown[]> => Promise.resolve(parseYamlStreamBounded(text));
const file = (path: string, text: string): { path: string; content: Buffer } => ({ path, content: Buffer.from(text) });
const promise = (annotations: Record<string, string> = {}): { metadata: { name: string; annotations: Record<string, string> } } => ({
  metadata: { name: 'app', annotations },
});

describe('output scope', () => {
  it("allows the request's namespace, objects without one, and files that are not YAML", async () => {
    await checkOutputScope(
      [
        file('deploy.yaml', 'kind: Deployment\nmetadata:\n  name: web\n  namespace: team-a\n---\nkind: Service\nmetadata:\n  name: web\n'),
        file('notes.txt', 'namespace: elsewhere'),
        file('cm.json', '{"kind":"ConfigMap","metadata":{"name":"x","namespace":"team-a"}}'),
      ],
      outputScopeOf(promise(), 'team-a'),
      parse,
    );
  });
  it('refuses another namespace and cluster-scoped kinds, inside Lists too, naming the annotation', async () => {
    const scope = outputScopeOf(promise(), 'team-a');
    await assert.rejects(
      checkOutputScope([file('cm.yaml', 'kind: ConfigMap\nmetadata:\n  name: x\n  namespace: team-c\n')], scope, parse),
      /output cm\.yaml: ConfigMap "x" is in namespace "team-c", not the request's \("team-a"\), and Promise app does not allow it; .*fleetops\.dev\/allowed-output-namespaces: "team-c"/,
    );
    await assert.rejects(
      checkOutputScope([file('l.yaml', 'kind: List\nitems:\n  - kind: ClusterRoleBinding\n    metadata:\n      name: everyone-admin\n')], scope, parse),
      /ClusterRoleBinding "everyone-admin" is cluster-scoped, and Promise app does not let its resource workflows write ClusterRoleBindings/,
    );
    await assert.rejects(checkOutputScope([file('bad.yaml', 'kind: [')], scope, parse), /output bad\.yaml is not YAML FleetOps can read/);
  });
  it('reads outputs as the GitOps agents do: merge keys merged, any list of items a list, nested lists too', async () => {
    const scope = outputScopeOf(promise(), 'team-a');
    const refusedAs = (text: string, what: RegExp): Promise<void> => assert.rejects(checkOutputScope([file('o.yaml', text)], scope, parse), what);
    await refusedAs('kind: ConfigMap\nmetadata:\n  name: a\n  <<: {namespace: team-b}\n', /ConfigMap "a" is in namespace "team-b"/);
    await refusedAs('kind: ConfigMap\nbase: &b {namespace: team-b}\nmetadata:\n  <<: *b\n  name: b\n', /ConfigMap "b" is in namespace "team-b"/);
    await refusedAs('<<: {metadata: {namespace: team-b}}\nkind: Secret\n', /Secret "" is in namespace "team-b"/);
    await refusedAs('kind: ConfigMapList\nitems:\n  - kind: ConfigMap\n    metadata: {name: c, namespace: team-b}\n', /ConfigMap "c" is in namespace "team-b"/);
    await refusedAs(
      'kind: List\nitems:\n  - kind: RoleList\n    items:\n      - kind: ClusterRoleBinding\n        metadata: {name: nested}\n',
      /ClusterRoleBinding "nested" is cluster-scoped/,
    );
    await refusedAs('kind: Anything\nitems:\n  - kind: ConfigMap\n    metadata: {name: d, namespace: team-b}\n', /ConfigMap "d" is in namespace "team-b"/);
    // A namespace YAML reads as a number is text to kustomize, which keeps a scalar's source.
    await refusedAs('kind: ConfigMap\nmetadata: {name: e, namespace: 1e3}\n', /ConfigMap "e" has the namespace 1000, which is not a string; quote it/);
    await checkOutputScope([file('o.yaml', 'kind: ConfigMap\nmetadata: {name: f, namespace: null}\n')], scope, parse);
    // An explicit key wins over a merged one, as in go-yaml: the request's own namespace stands.
    await checkOutputScope([file('o.yaml', 'kind: ConfigMap\nmetadata:\n  namespace: team-a\n  <<: {namespace: team-b}\n')], scope, parse);
  });
  it('refuses a kustomize configuration and Jsonnet, unless the Promise allows them', async () => {
    for (const path of ['kustomization.yaml', 'app/kustomization.yml', 'Kustomization']) {
      await assert.rejects(
        checkOutputScope([file(path, 'namespace: team-b\nresources: [https://example.com/all.yaml]\n')], outputScopeOf(promise(), 'team-a'), parse),
        new RegExp(`output ${path.replace('.', '\\.')} is a kustomize configuration.*fleetops\\.dev/allowed-output-generators: "kustomize"`),
      );
    }
    await checkOutputScope([file('not-a-kustomization.yaml', 'kind: ConfigMap\n')], outputScopeOf(promise(), 'team-a'), parse);
    await assert.rejects(
      checkOutputScope([file('app.jsonnet', '{}')], outputScopeOf(promise(), 'team-a'), parse),
      /output app\.jsonnet is Jsonnet, which Argo CD evaluates.*allowed-output-generators: "jsonnet"/,
    );
    const kustomize = outputScopeOf(promise({ 'fleetops.dev/allowed-output-generators': 'kustomize' }), 'team-a');
    await checkOutputScope([file('kustomization.yaml', 'resources: [cm.yaml]\n')], kustomize, parse);
    await assert.rejects(checkOutputScope([file('app.jsonnet', '{}')], kustomize, parse), /is Jsonnet/);
    const every = outputScopeOf(promise({ 'fleetops.dev/allowed-output-generators': '*' }), 'team-a');
    await checkOutputScope([file('kustomization.yaml', 'resources: [cm.yaml]\n'), file('app.jsonnet', '{}')], every, parse);
  });
  it('allows what the Promise declares', async () => {
    const scope = outputScopeOf(
      promise({ 'fleetops.dev/allowed-cluster-scoped-outputs': 'Namespace', 'fleetops.dev/allowed-output-namespaces': 'shared, monitoring' }),
      'team-a',
    );
    await checkOutputScope(
      [file('ns.yaml', 'kind: Namespace\nmetadata:\n  name: team-a-dev\n---\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: monitoring\n')],
      scope,
      parse,
    );
    await assert.rejects(checkOutputScope([file('crb.yaml', 'kind: ClusterRole\nmetadata:\n  name: r\n')], scope, parse), /ClusterRole "r" is cluster-scoped/);
    const any = outputScopeOf(promise({ 'fleetops.dev/allowed-cluster-scoped-outputs': '*', 'fleetops.dev/allowed-output-namespaces': '*' }), 'team-a');
    await checkOutputScope(
      [file('x.yaml', 'kind: ClusterRole\nmetadata:\n  name: r\n---\nkind: Secret\nmetadata:\n  name: s\n  namespace: kube-system\n')],
      any,
      parse,
    );
  });
});
