/**
 * The maps of a kind's objects that are one field for field ownership: those its schema marks
 * `x-kubernetes-map-type: atomic`. As Kubernetes' structured merge treats them, such a map is owned whole, compared
 * whole and replaced whole by an apply; its members are not fields of their own (managedFields.ts). Lists are atomic
 * there anyway.
 */
import type { JsonSchema } from '../ResourceType.ts';

/** One level of an object's schema, as far as it leads to an atomic map. */
export interface AtomicFields {
  /** The map here is one field. */
  readonly atomic: boolean;
  /** What lies below, by member name (the schema's properties)... */
  readonly members: ReadonlyMap<string, AtomicFields>;
  /** ...and below any other member (its additionalProperties). */
  readonly other: AtomicFields | undefined;
}

/** The level below `node` at member `name`; undefined where no atomic map lies below. */
export function memberOf(node: AtomicFields | undefined, name: string): AtomicFields | undefined {
  return node === undefined ? undefined : (node.members.get(name) ?? node.other);
}

const known = new WeakMap<JsonSchema, AtomicFields | null>();

/**
 * The atomic maps of `schema`, undefined when it has none (most kinds): then ownership is per leaf throughout, and
 * the field manager walks no schema. Worked out once per schema.
 */
export function atomicFieldsOf(schema: JsonSchema | undefined): AtomicFields | undefined {
  if (schema === undefined) return undefined;
  let fields = known.get(schema);
  if (fields === undefined) {
    fields = levelOf(schema) ?? null;
    known.set(schema, fields);
  }
  return fields ?? undefined;
}

function levelOf(schema: JsonSchema): AtomicFields | undefined {
  if (schema['x-kubernetes-map-type'] === 'atomic') return { atomic: true, members: new Map(), other: undefined };
  const members = new Map<string, AtomicFields>();
  for (const [name, member] of Object.entries(schema.properties ?? {})) {
    const below = levelOf(member);
    if (below) members.set(name, below);
  }
  const extra = schema.additionalProperties;
  const other = typeof extra === 'object' ? levelOf(extra) : undefined;
  return members.size > 0 || other !== undefined ? { atomic: false, members, other } : undefined;
}
