/**
 * Kubernetes' protobuf wire form for the built-in kinds: the `k8s\0` magic, then a `runtime.Unknown` envelope whose
 * `raw` holds the message. Objects convert to and from the JSON shapes the registry stores, by walking the schema:
 * `Time` becomes RFC 3339 (seconds), `MicroTime` RFC 3339 with microseconds, `bytes` base64, `FieldsV1` its JSON,
 * `ExtraValue` a list of strings.
 */
import protobuf from 'protobufjs';
import { badRequest, errorMessage } from '../../api/errors.ts';
import { isPlainObject } from '../../api/types.ts';
import { KUBERNETES_PROTO } from './kubernetesProto.ts';

export const PROTOBUF_MEDIA_TYPE = 'application/vnd.kubernetes.protobuf';
const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

/** apiVersion → kinds served in protobuf; a kind's list is `<Kind>List`. */
const KINDS: Record<string, string[]> = {
  v1: ['Namespace', 'Secret', 'ConfigMap', 'ServiceAccount', 'Event', 'Status'],
  'authentication.k8s.io/v1': ['TokenRequest', 'SelfSubjectReview'],
  'authorization.k8s.io/v1': ['SelfSubjectAccessReview', 'SelfSubjectRulesReview', 'SubjectAccessReview'],
  'rbac.authorization.k8s.io/v1': ['Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding'],
};

type Json = Record<string, unknown>;

/** A protobuf int64 as a number (protobufjs gives a Long object for large values). */
function toNumber(v: unknown): number {
  return typeof v === 'object' && v !== null && 'toNumber' in v && typeof v.toNumber === 'function' ? Number(v.toNumber()) : Number(v);
}

/** A decoded message or map (a plain object; anything else reads as empty). */
function objectOf(v: unknown): Json {
  return isPlainObject(v) ? v : {};
}

/** Bytes as protobufjs gives them (a Uint8Array), or empty. */
function bytesOf(v: unknown): Uint8Array {
  return v instanceof Uint8Array ? v : new Uint8Array();
}

function timeToProto(value: unknown): Json {
  const ms = Date.parse(String(value));
  if (Number.isNaN(ms)) throw badRequest(`invalid time ${JSON.stringify(value)}: expected RFC 3339`);
  const micros = /\.(\d{1,9})/.exec(String(value))?.[1] ?? '';
  return { seconds: Math.floor(ms / 1000), nanos: Number(micros.padEnd(9, '0')) };
}

function timeFromProto(msg: Json, micro: boolean): string {
  const iso = new Date(toNumber(msg.seconds ?? 0) * 1000).toISOString().slice(0, 19);
  if (!micro) return `${iso}Z`;
  return `${iso}.${String(Math.floor(toNumber(msg.nanos ?? 0) / 1000)).padStart(6, '0')}Z`;
}

export class ProtobufCodec {
  private readonly root = protobuf.parse(KUBERNETES_PROTO, { keepCase: true }).root.resolveAll();
  private readonly unknown = this.root.lookupType('k8s.Unknown');

  /** The message type of a kind, or undefined when the kind has no protobuf form here. */
  private messageType(apiVersion: string, kind: string): protobuf.Type | undefined {
    const kinds = KINDS[apiVersion];
    const base = kind.endsWith('List') ? kind.slice(0, -4) : kind;
    if (!kinds?.includes(base)) return undefined;
    return this.root.lookupType(`k8s.${kind}`);
  }

  supports(apiVersion: string, kind: string): boolean {
    return this.messageType(apiVersion, kind) !== undefined;
  }

  /** Decodes a request body; 400 when it is not Kubernetes protobuf or names a kind served only as JSON. */
  decode(body: Buffer): Json {
    if (body.length < MAGIC.length || !body.subarray(0, MAGIC.length).equals(MAGIC)) {
      throw badRequest('the request body is not Kubernetes protobuf: it does not start with the "k8s\\x00" prefix');
    }
    let envelope: Json;
    try {
      envelope = this.unknown.toObject(this.unknown.decode(body.subarray(MAGIC.length)));
    } catch (err) {
      throw badRequest(`the protobuf request body could not be decoded: ${errorMessage(err)}`, { cause: err });
    }
    const typeMeta = objectOf(envelope.typeMeta);
    const apiVersion = typeof typeMeta.apiVersion === 'string' ? typeMeta.apiVersion : '';
    const kind = typeof typeMeta.kind === 'string' ? typeMeta.kind : '';
    const type = this.messageType(apiVersion, kind);
    if (!type) {
      throw badRequest(`${kind || 'an object without a kind'} (${apiVersion}) is not accepted as protobuf here: send it as application/json`);
    }
    try {
      const message = type.toObject(type.decode(bytesOf(envelope.raw)), { longs: Number, defaults: false });
      return { apiVersion, kind, ...this.fromProto(type, message) };
    } catch (err) {
      throw badRequest(`the protobuf ${kind} could not be decoded: ${errorMessage(err)}`, { cause: err });
    }
  }

  /** Encodes an object (or list) whose apiVersion and kind are supported; see supports(). */
  encode(object: Json): Buffer {
    const apiVersion = String(object.apiVersion ?? '');
    const kind = String(object.kind ?? '');
    const type = this.messageType(apiVersion, kind);
    if (!type) throw new Error(`${apiVersion} ${kind} has no protobuf form`);
    const raw = type.encode(type.fromObject(this.toProto(type, object))).finish();
    const envelope = this.unknown.encode(this.unknown.fromObject({ typeMeta: { apiVersion, kind }, raw, contentEncoding: '', contentType: '' })).finish();
    return Buffer.concat([MAGIC, envelope]);
  }

  private toProto(type: protobuf.Type, json: Json): Json {
    const out: Json = {};
    for (const field of type.fieldsArray) {
      const value = json[field.name];
      if (value === undefined || value === null) continue;
      const one = (v: unknown): unknown => this.valueToProto(field, v);
      if (field.map) out[field.name] = Object.fromEntries(Object.entries(objectOf(value)).map(([k, v]) => [k, one(v)]));
      else if (field.repeated) out[field.name] = (Array.isArray(value) ? value : [value]).map(one);
      else out[field.name] = one(value);
    }
    return out;
  }

  private valueToProto(field: protobuf.Field, value: unknown): unknown {
    const t = field.resolvedType;
    if (t instanceof protobuf.Type) {
      if (t.name === 'Time' || t.name === 'MicroTime') return timeToProto(value);
      if (t.name === 'FieldsV1') return { Raw: Buffer.from(JSON.stringify(value)) };
      // A user's extra attribute is a bare list in JSON and a message wrapping it on the wire.
      if (t.name === 'ExtraValue') return { items: Array.isArray(value) ? value.map(String) : [] };
      return this.toProto(t, objectOf(value));
    }
    if (field.type === 'bytes') return Buffer.from(String(value), 'base64');
    if (field.type === 'int64' || field.type === 'int32') return Number(value);
    return value;
  }

  private fromProto(type: protobuf.Type, message: Json): Json {
    const out: Json = {};
    for (const field of type.fieldsArray) {
      if (!Object.prototype.hasOwnProperty.call(message, field.name)) continue;
      const value = message[field.name];
      if (value === undefined || value === null) continue;
      const one = (v: unknown): unknown => this.valueFromProto(field, v);
      if (field.map) {
        const entries = Object.entries(objectOf(value));
        if (entries.length) out[field.name] = Object.fromEntries(entries.map(([k, v]) => [k, one(v)]));
      } else if (field.repeated) {
        if (Array.isArray(value) && value.length) out[field.name] = value.map(one);
      } else if (value === '' && type.name === 'ObjectMeta') {
        // Go leaves an empty string out of JSON (omitempty): kubectl's protobuf sends generateName and selfLink as "".
        continue;
      } else {
        out[field.name] = one(value);
      }
    }
    return out;
  }

  private valueFromProto(field: protobuf.Field, value: unknown): unknown {
    const t = field.resolvedType;
    if (t instanceof protobuf.Type) {
      if (t.name === 'Time' || t.name === 'MicroTime') return timeFromProto(objectOf(value), t.name === 'MicroTime');
      if (t.name === 'FieldsV1') return JSON.parse(Buffer.from(bytesOf(objectOf(value).Raw)).toString('utf8'));
      if (t.name === 'ExtraValue') {
        const items = objectOf(value).items;
        return Array.isArray(items) ? items : [];
      }
      return this.fromProto(t, objectOf(value));
    }
    if (field.type === 'bytes') return Buffer.from(bytesOf(value)).toString('base64');
    if (field.type === 'int64') return toNumber(value);
    return value;
  }
}

/** Whether the client prefers protobuf: the first media type it accepts (Table requests ask JSON first). */
export function prefersProtobuf(accept: string | undefined): boolean {
  const first = (accept ?? '').split(',')[0]?.split(';')[0]?.trim().toLowerCase();
  return first === PROTOBUF_MEDIA_TYPE;
}
