/**
 * Works are FleetOps' to write: a Promise's workflows (and its dependencies, and the Backstage catalog) produce them,
 * and the scheduler places only Works that carry FleetOps' seal, an HMAC of the Work's identity and spec under a key
 * only this installation holds. A Work written any other way (by hand through the API, by a role that reached
 * `works`) is never scheduled, so nothing a team writes itself reaches a Destination's state store.
 */
import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import { withFinalizer } from '../../api/finalizers.ts';
import { isPlainObject, type KubeObject } from '../../api/types.ts';
import type { Client } from '../../client/Client.ts';
import { ensureObject, type EnsureOptions } from './ensure.ts';

export const ANNOTATION_WORK_SEAL = 'fleetops.dev/work-seal';
/** The scheduler's finalizer: keeps a Work until its WorkPlacements are gone (and with them, its files in the state stores). */
export const FINALIZER_WORK_CLEANUP = 'kratix.io/work-cleanup';

/**
 * JSON with object keys in order, so the same spec always gives the same bytes: those of the first version (Works
 * sealed then still verify), undefined members left out, undefined list items written as nothing. Built by string
 * concatenation, and a string or key that JSON writes as it is (no quote, backslash, control character or surrogate)
 * is quoted without JSON.stringify: every Work is sealed when written and checked when scheduled.
 */
export function canonicalJson(value: unknown): string {
  if (typeof value === 'string') return quoted(value);
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) continue; // a hole: skipped, as the first version's forEach skipped it
      if (i > 0) out += ',';
      out += canonicalJson(value[i]);
    }
    return `${out}]`;
  }
  if (isPlainObject(value)) {
    let out = '{';
    for (const k of Object.keys(value).sort()) {
      const member = value[k];
      if (member === undefined) continue;
      out += `${out.length > 1 ? ',' : ''}${quoted(k)}:${canonicalJson(member)}`;
    }
    return `${out}}`;
  }
  return JSON.stringify(value) ?? '';
}

/** What JSON.stringify writes for a string; only strings free of what it escapes are quoted here. */
// eslint-disable-next-line no-control-regex -- control characters are what JSON escapes
const ESCAPED = /["\\\u0000-\u001f\ud800-\udfff]/;
function quoted(text: string): string {
  return ESCAPED.test(text) ? JSON.stringify(text) : `"${text}"`;
}

export class WorkSeal {
  /** A KeyObject, not a Buffer: an HMAC keyed by a Buffer imports the key again on every call (21 µs against 4). */
  private readonly key: KeyObject;
  /**
   * The digests this seal made or checked, by spec object. A Work (or WorkflowRun) is written with the spec object it
   * was sealed with, and a write that shares its answer stores that very object, which its watchers — the scheduler,
   * the run worker — then check: no second canonical JSON of it. Sound because an object a store shares is never
   * changed (frozen under FLEETOPS_CHECK_SHARED); a spec that comes any other way (an API request, a row parsed again)
   * is a new object, checked in full. Weak: an entry goes with its object.
   */
  private readonly digests = new WeakMap<object, { namespace: string; name: string; digest: Buffer }>();

  /** `secret`: the installation's signing key; the seal's own key is derived from it. */
  constructor(options: { secret: Buffer }) {
    this.key = createSecretKey(createHmac('sha256', options.secret).update('fleetops.dev/work-seal/v1').digest());
  }

  private digest(work: KubeObject): Buffer {
    const { namespace = '', name = '' } = work.metadata;
    const spec = isPlainObject(work.spec) ? work.spec : undefined;
    const known = spec && this.digests.get(spec);
    if (known && known.namespace === namespace && known.name === name) return known.digest;
    const digest = createHmac('sha256', this.key)
      .update(canonicalJson({ namespace, name, spec: work.spec ?? {} }))
      .digest();
    if (spec) this.digests.set(spec, { namespace, name, digest });
    return digest;
  }

  /** The Work with its seal. */
  sealed(work: KubeObject): KubeObject {
    return {
      ...work,
      metadata: { ...work.metadata, annotations: { ...work.metadata.annotations, [ANNOTATION_WORK_SEAL]: this.digest(work).toString('base64url') } },
    };
  }

  /** Whether FleetOps wrote this Work's spec as it is now. */
  verify(work: KubeObject): boolean {
    const given = Buffer.from(work.metadata.annotations?.[ANNOTATION_WORK_SEAL] ?? '', 'base64url');
    const expected = this.digest(work);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}

/**
 * Creates or updates a Work FleetOps produced, sealed. A new Work is created with the scheduler's cleanup finalizer
 * already on it, which the scheduler would otherwise add in a write of its own before placing it (one write and one
 * reconcile less per new Work; an update changes the spec only, leaving the finalizers as they are).
 */
export function ensureWork(client: Client, seal: WorkSeal, work: KubeObject, options?: EnsureOptions): ReturnType<typeof ensureObject> {
  return ensureObject(client, seal.sealed(withFinalizer(work, FINALIZER_WORK_CLEANUP)), ['spec'], options);
}
