/**
 * Short constructors for the built-in kinds' schemas that also carry, for the type checker only, the TypeScript
 * type of the values each schema accepts. A kind is then defined once: the registry validates, defaults and prunes
 * with the schema, and code reads `Static<typeof schema>` fields instead of casting.
 */
import type { JsonObject } from '../../api/types.ts';
import type { JsonSchema } from '../ResourceType.ts';

declare const STATIC: unique symbol;

/** `Base` tagged with the type `T` of the values it describes (compile time only; nothing is added at run time). */
export type Typed<Base, T> = Base & { readonly [STATIC]?: T };

/** A JSON Schema whose accepted values are of type `T`. */
export type Schema<T> = Typed<JsonSchema, T>;

/** The type of the values a `Schema` (or a typed `ResourceType`) accepts. */
export type Static<S> = S extends { readonly [STATIC]?: infer T } ? T : never;

type Simplify<T> = { [K in keyof T]: T[K] } & {};

type Fields<P extends Record<string, Schema<unknown>>, R extends keyof P> = Simplify<
  { -readonly [K in keyof P as K extends R ? K : never]-?: Static<P[K]> } & { -readonly [K in keyof P as K extends R ? never : K]?: Static<P[K]> }
>;

/** Keywords besides `required` (minLength, default, description…), copied as they are. */
type Keywords = { [keyword: string]: unknown };

export const s = {
  str: <const E extends string = string>({ enum: values, ...extra }: Keywords & { enum?: readonly E[] } = {}): Schema<E> => ({
    type: 'string',
    ...extra,
    ...(values ? { enum: [...values] } : {}),
  }),
  bool: (extra: Keywords = {}): Schema<boolean> => ({ type: 'boolean', ...extra }),
  int: (extra: Keywords = {}): Schema<number> => ({ type: 'integer', ...extra }),
  /** An integer that may also be `null` (e.g. the exit code of a step killed by a signal). */
  nullableInt: (): Schema<number | null> => ({ type: 'integer', nullable: true }),
  nullableStr: (): Schema<string | null> => ({ type: 'string', nullable: true }),
  obj: <const P extends Record<string, Schema<unknown>>, const R extends keyof P & string = never>(
    properties: P,
    { required, ...extra }: Keywords & { required?: readonly R[] } = {},
  ): Schema<Fields<P, R>> => ({ type: 'object', properties, ...extra, ...(required ? { required: [...required] } : {}) }),
  map: <V = string>(values: Schema<V> = { type: 'string' }): Schema<Record<string, V>> => ({ type: 'object', additionalProperties: values }),
  arr: <T>(items: Schema<T>, extra: Keywords = {}): Schema<T[]> => ({ type: 'array', items, ...extra }),
  /**
   * An object stored as written (`x-kubernetes-preserve-unknown-fields`). `T` names the shape FleetOps writes and
   * reads there (a status its controller owns, a Pipeline checked by the kind's strategy); it is not enforced here.
   */
  any: <T = JsonObject>(): Schema<NoInfer<T>> => ({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true }),
  /**
   * `any`, and one field for field ownership (`x-kubernetes-map-type: atomic`): for a copy written whole and never
   * edited member by member (a sealed execution, a Promise's spec kept as a revision), whose members would otherwise
   * each be a field in the managed fields of every object holding it.
   */
  atomic: <T = JsonObject>(): Schema<NoInfer<T>> => ({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true, 'x-kubernetes-map-type': 'atomic' }),
  /** The whole object: apiVersion, kind, metadata (typed by `KubeObject`), then spec, status and other fields. */
  root: <Spec, Status, const X extends Record<string, Schema<unknown>> = Record<never, Schema<unknown>>, const R extends 'spec' | (keyof X & string) = never>(
    spec: Schema<Spec> | undefined,
    status: Schema<Status> | undefined,
    extra?: X,
    required: readonly R[] = [],
  ): Schema<Fields<{ spec: Schema<Spec>; status: Schema<Status> } & X, R>> => {
    const properties: Record<string, JsonSchema> = { apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: { type: 'object' }, ...extra };
    if (spec) properties.spec = spec;
    if (status) properties.status = status;
    return { type: 'object', properties, ...(required.length ? { required: [...required] } : {}) };
  },
};
