/** What the registry knows about one served kind: names, scope, versions, schema, columns and extra rules. */
import type { StatusCause } from '../api/errors.ts';
import type { KubeObject } from '../api/types.ts';
import type { PatchStrategies } from '../api/strategicMergePatch.ts';

export interface JsonSchema {
  type?: string;
  properties?: Record<string, JsonSchema>;
  additionalProperties?: JsonSchema | boolean;
  items?: JsonSchema;
  required?: string[];
  default?: unknown;
  nullable?: boolean;
  enum?: unknown[];
  format?: string;
  description?: string;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  [keyword: string]: unknown;
}

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description?: string;
  priority?: number;
  format?: string;
  /** For built-in kinds whose column is not one JSONPath (an Event's object is `kind/name`, as kubectl shows it). */
  compute?: (object: KubeObject) => unknown;
}

/** Kind-specific rules run after schema validation (immutability, cross-field checks). */
export interface TypeStrategy {
  /** Rewrites convenience fields into their stored form on every write (e.g. a Secret's stringData into data). */
  normalize?(object: KubeObject): void;
  /** Sets server-owned fields on a new object before validation (e.g. a Namespace's phase). */
  prepareForCreate?(object: KubeObject): void;
  /** Returns causes for a 422; `old` is set on update. */
  validate?(object: KubeObject, old: KubeObject | undefined): StatusCause[];
  /** What is accepted but likely a mistake, told to the client as warnings (kubectl prints them). */
  warnings?(object: KubeObject): string[];
}

export interface ResourceType {
  group: string;
  /** Served versions, the preferred one first. Objects are stored once; versions differ only in apiVersion. */
  versions: string[];
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  categories: string[];
  namespaced: boolean;
  /** Has a `/status` subresource: status is written only there. */
  statusSubresource: boolean;
  /** openAPIV3Schema of the whole object, per version (undefined: accept anything). */
  schemas: Record<string, JsonSchema | undefined>;
  printerColumns: PrinterColumn[];
  /** Fields besides metadata.name/namespace that field selectors may use. */
  selectableFields?: string[];
  /** Names must be DNS-1123 labels rather than subdomains (Namespaces). */
  nameIsLabel?: boolean;
  /** Names are any path segment (no `/`, `%`, not `.` or `..`), as for RBAC objects (`system:basic-user`). */
  nameIsPathSegment?: boolean;
  /** Has no `metadata.generation`, as Kubernetes' ConfigMaps, Secrets, Namespaces and RBAC objects have none. */
  noGeneration?: boolean;
  strategy?: TypeStrategy;
  /**
   * Set for built-in kinds, which accept strategic merge patches: their lists' patch strategies (ObjectMeta's are
   * implied). Custom kinds leave it unset and answer 415 to such patches, as Kubernetes does for custom resources.
   */
  patchStrategies?: PatchStrategies;
  /**
   * Answered by the API server, never stored (access reviews): only `create`, and the answer is computed from the
   * request and its user.
   */
  createOnly?: boolean;
  /**
   * Metadata the API gives every new object of the kind as it stores it, as a mutating admission would: labels set,
   * finalizers added (a Promise's requests: see requestMetadata.ts). Not counted as the creator's fields in
   * managedFields: a server-side apply that leaves them out later does not remove them.
   */
  createDefaults?: CreateDefaults;
  /** Who defines this type: 'builtin' or `promise/<name>`. */
  owner: string;
}

export interface CreateDefaults {
  labels?: Record<string, string>;
  finalizers?: string[];
}

export function typeKeyOf(t: ResourceType): { group: string; kind: string } {
  return { group: t.group, kind: t.kind };
}

/** The version a type prefers (the first it serves). */
export function preferredVersion(t: ResourceType): string {
  const [version] = t.versions;
  if (version === undefined) throw new TypeError(`${t.kind}.${t.group} serves no version`);
  return version;
}

/** `group/version` of a type, its preferred version unless another is named. */
export function apiVersionOf(t: ResourceType, version = preferredVersion(t)): string {
  return t.group === '' ? version : `${t.group}/${version}`;
}
