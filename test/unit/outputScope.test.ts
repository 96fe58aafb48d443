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
