/**
 * What a resource workflow may write for its Destination: objects in the request's own namespace (or with none, as
 * a namespaced object the GitOps agent places), unless its Promise declares more. A team controls its request's
 * spec, and a pipeline that copies a field into an output's namespace, or renders a ClusterRoleBinding, would
 * otherwise let the team write into other teams' namespaces or the whole cluster of every worker (ADR 0015).
 */
import { isPlainObject } from '../api/types.ts';
import { ANNOTATION_CLUSTER_OUTPUTS, ANNOTATION_OUTPUT_GENERATORS, ANNOTATION_OUTPUT_NAMESPACES } from '../api/fleetopsNames.ts';
import { OutputError, type OutputFile } from './outputs.ts';

export interface OutputScope {
  promise: string;
  /** The request's namespace. */
  namespace: string;
  /** Other namespaces allowed, or every one. */
  namespaces: string[] | '*';
  /** Cluster-scoped kinds allowed, or every one. */
  clusterKinds: string[] | '*';
  /** Generators (see GENERATORS) allowed, or every one. */
  generators: string[] | '*';
}

/**
 * Kubernetes' cluster-scoped kinds, and those of the tools platforms deploy most (an unknown kind written without a
 * namespace is taken as namespaced: the agent puts it in its default namespace).
 */
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'Node',
  'PersistentVolume',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'StorageClass',
  'VolumeAttachment',
  'CSIDriver',
  'CSINode',
  'PriorityClass',
  'RuntimeClass',
  'IngressClass',
  'APIService',
  'ValidatingWebhookConfiguration',
  'MutatingWebhookConfiguration',
  'ValidatingAdmissionPolicy',
  'ValidatingAdmissionPolicyBinding',
  'MutatingAdmissionPolicy',
  'MutatingAdmissionPolicyBinding',
  'CertificateSigningRequest',
  'FlowSchema',
  'PriorityLevelConfiguration',
  'VolumeSnapshotClass',
  'ClusterIssuer',
  'ClusterSecretStore',
  'ClusterPolicy',
  'Promise',
  'Destination',
  'GitStateStore',
  'BucketStateStore',
]);

/** A Promise's declarations, read from its annotations. */
export function outputScopeOf(promise: { metadata: { name: string; annotations?: Record<string, string> } }, namespace: string): OutputScope {
  const list = (value: string | undefined): string[] | '*' =>
    value?.trim() === '*'
      ? '*'
      : (value ?? '')
          .split(',')
          .map((v) => v.trim())
          .filter(Boolean);
  const a = promise.metadata.annotations ?? {};
  return {
    promise: promise.metadata.name,
    namespace,
    namespaces: list(a[ANNOTATION_OUTPUT_NAMESPACES]),
    clusterKinds: list(a[ANNOTATION_CLUSTER_OUTPUTS]),
    generators: list(a[ANNOTATION_OUTPUT_GENERATORS]),
  };
}

/**
 * Files a GitOps agent turns into objects of its own making, past any check of the files beside them: kustomize
 * (Flux) builds a folder holding a configuration from it, whose namespace, patches and remote resources place objects
 * anywhere; Argo CD evaluates any `*.jsonnet` of a directory app.
 */
const GENERATORS: { name: string; file: RegExp; is: string }[] = [
  {
    name: 'kustomize',
    file: /(^|\/)(kustomization\.ya?ml|Kustomization)$/,
    is: 'a kustomize configuration, which can move objects into any namespace and pull remote manifests',
  },
  { name: 'jsonnet', file: /\.jsonnet$/, is: 'Jsonnet, which Argo CD evaluates into objects of any namespace' },
];

const allows = (allowed: string[] | '*', value: string): boolean => allowed === '*' || allowed.includes(value);

/**
 * Every object an agent may apply from a document: the document itself and the items of any `items` list in it,
 * nested lists too. kubectl and Argo CD take any object with an `items` list as a list, kustomize (Flux) any kind
 * named `…List`: `v1 List` is only one of them.
 */
function* objectsIn(doc: unknown): Generator<{ kind: string; metadata: unknown }> {
  if (!isPlainObject(doc)) return;
  if (typeof doc.kind === 'string') yield { kind: doc.kind, metadata: doc.metadata };
  if (Array.isArray(doc.items)) for (const item of doc.items) yield* objectsIn(item);
}

/** Refuses (OutputError, saying the file, the object and the annotation that would allow it) what the scope does not allow. */
export async function checkOutputScope(files: OutputFile[], scope: OutputScope, parse: (text: string) => Promise<unknown[]>): Promise<void> {
  for (const file of files) {
    const generator = GENERATORS.find((g) => g.file.test(file.path));
    if (generator && !allows(scope.generators, generator.name))
      throw new OutputError(
        `output ${file.path} is ${generator.is}, and Promise ${scope.promise} does not let its resource workflows write it; the platform team may allow it with the annotation ${ANNOTATION_OUTPUT_GENERATORS}: "${generator.name}"`,
      );
    if (!/\.(ya?ml|json)$/i.test(file.path)) continue;
    let docs: unknown[];
    try {
      docs = await parse(file.content.toString('utf8'));
    } catch (err) {
      throw new OutputError(`output ${file.path} is not YAML FleetOps can read (${err instanceof Error ? err.message : String(err)}); write it as YAML`, {
        cause: err,
      });
    }
    for (const doc of docs.flatMap((d) => [...objectsIn(d)])) {
      const meta = isPlainObject(doc.metadata) ? doc.metadata : {};
      const name = typeof meta.name === 'string' ? meta.name : '';
      // A number or boolean is a namespace to agents that keep YAML's text (kustomize writes `namespace: 1e3` as
      // "1e3"), and nothing to FleetOps' reading: refused rather than guessed.
      if (typeof meta.namespace === 'number' || typeof meta.namespace === 'boolean')
        throw new OutputError(`output ${file.path}: ${doc.kind} "${name}" has the namespace ${String(meta.namespace)}, which is not a string; quote it`);
      const ns = typeof meta.namespace === 'string' ? meta.namespace : '';
      if (CLUSTER_SCOPED.has(doc.kind) && !ns) {
        if (!allows(scope.clusterKinds, doc.kind))
          throw new OutputError(
            `output ${file.path}: ${doc.kind} "${name}" is cluster-scoped, and Promise ${scope.promise} does not let its resource workflows write ${doc.kind}s; the platform team may allow it with the annotation ${ANNOTATION_CLUSTER_OUTPUTS}: "${doc.kind}"`,
          );
        continue;
      }
      if (ns && ns !== scope.namespace && !allows(scope.namespaces, ns))
        throw new OutputError(
          `output ${file.path}: ${doc.kind} "${name}" is in namespace "${ns}", not the request's ("${scope.namespace}"), and Promise ${scope.promise} does not allow it; the platform team may allow it with the annotation ${ANNOTATION_OUTPUT_NAMESPACES}: "${ns}"`,
        );
    }
  }
}
