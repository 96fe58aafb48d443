/**
 * Works are FleetOps' to write: a Promise's workflows (and its dependencies, and the Backstage catalog) produce them,
 * and the scheduler places only Works that carry FleetOps' seal, an HMAC of the Work's identity and spec under a key
 * only this installation holds. A Work written any other way (by hand through the API, by a role that reached
 * `works`) is never scheduled, so nothing a team writes itself reaches a Destination's state store.
 */
import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import { isPlainObject, type KubeObject } from '../../api/types.ts';
import type { Client } from '../../client/Client.ts';
import { ensureObject } from './ensure.ts';

export const ANNOTATION_WORK_SEAL = 'fleetops.dev/work-seal';

/**
 * JSON with object keys in order, so the same spec always gives the same bytes. Written into one list of pieces
 * joined once (a Work's spec holds every output, and every schedule checks its seal); the bytes are those of the
 * first version (Works sealed then still verify): undefined members left out, undefined list items written as nothing.
 */
function canonical(value: unknown): string {
  const out: string[] = [];
  writeCanonical(value, out);
  return out.join('');
}

function writeCanonical(value: unknown, out: string[]): void {
  if (Array.isArray(value)) {
    out.push('[');
    value.forEach((item: unknown, i) => {
      if (i > 0) out.push(',');
      writeCanonical(item, out);
    });
    out.push(']');
  } else if (isPlainObject(value)) {
    out.push('{');
    let first = true;
    for (const k of Object.keys(value).sort()) {
      if (value[k] === undefined) continue;
      out.push(first ? '' : ',', JSON.stringify(k), ':');
      first = false;
      writeCanonical(value[k], out);
    }
    out.push('}');
  } else {
    const text = JSON.stringify(value);
    if (text !== undefined) out.push(text);
  }
}

export class WorkSeal {
  /** A KeyObject, not a Buffer: an HMAC keyed by a Buffer imports the key again on every call (21 µs against 4). */
  private readonly key: KeyObject;

  /** `secret`: the installation's signing key; the seal's own key is derived from it. */
  constructor(options: { secret: Buffer }) {
    this.key = createSecretKey(createHmac('sha256', options.secret).update('fleetops.dev/work-seal/v1').digest());
  }

  private digest(work: KubeObject): Buffer {
    const { namespace = '', name = '' } = work.metadata;
    return createHmac('sha256', this.key)
      .update(canonical({ namespace, name, spec: work.spec ?? {} }))
      .digest();
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

/** Creates or updates a Work FleetOps produced, sealed. */
export function ensureWork(client: Client, seal: WorkSeal, work: KubeObject): ReturnType<typeof ensureObject> {
  return ensureObject(client, seal.sealed(work), ['spec']);
}
