/**
 * API errors, one class per Kubernetes `Status` reason. Every layer throws these; the API server turns them into
 * `Status` bodies and the CLI into one-line messages. Mirrors apimachinery `pkg/api/errors`.
 */
import { isPlainObject } from './types.ts';

export const STATUS_REASONS = [
  'BadRequest',
  'Unauthorized',
  'Forbidden',
  'NotFound',
  'AlreadyExists',
  'Conflict',
  'Gone',
  'Expired',
  'Invalid',
  'MethodNotAllowed',
  'UnsupportedMediaType',
  'RequestEntityTooLarge',
  'NotAcceptable',
  'TooManyRequests',
  'Timeout',
  'ServiceUnavailable',
  'InternalError',
] as const;

export type StatusReason = (typeof STATUS_REASONS)[number];

export const CAUSE_TYPES = [
  'FieldValueRequired',
  'FieldValueInvalid',
  'FieldValueNotSupported',
  'FieldValueTypeInvalid',
  'FieldValueDuplicate',
  'FieldValueForbidden',
  'FieldValueTooLong',
  'FieldManagerConflict',
  'FieldValueUnknown',
  'ResourceVersionTooLarge',
] as const;

export type CauseType = (typeof CAUSE_TYPES)[number];

export interface StatusCause {
  reason: CauseType;
  message: string;
  field: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: StatusReason;
  details?: StatusDetails;
  code: number;
}

/** An error that maps 1:1 onto a Kubernetes `Status`. */
export class ApiError extends Error {
  readonly code: number;
  readonly reason: StatusReason;
  readonly details: StatusDetails | undefined;

  constructor(code: number, reason: StatusReason, message: string, details?: StatusDetails, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ApiError';
    this.code = code;
    this.reason = reason;
    this.details = details;
  }

  toStatus(): Status {
    const status: Status = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      code: this.code,
    };
    if (this.details) status.details = this.details;
    return status;
  }
}

/** `<plural>.<group>` as the real server names a resource in messages (`apps.example.com` for core-less). */
export function qualifiedResource(plural: string, group: string): string {
  return group === '' ? plural : `${plural}.${group}`;
}

export function notFound(plural: string, group: string, name: string): ApiError {
  return new ApiError(404, 'NotFound', `${qualifiedResource(plural, group)} "${name}" not found`, {
    name,
    group,
    kind: plural,
  });
}

export function alreadyExists(plural: string, group: string, name: string): ApiError {
  return new ApiError(409, 'AlreadyExists', `${qualifiedResource(plural, group)} "${name}" already exists`, {
    name,
    group,
    kind: plural,
  });
}

export function conflict(plural: string, group: string, name: string, why?: string): ApiError {
  const reason = why ?? 'the object has been modified; please apply your changes to the latest version and try again';
  return new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualifiedResource(plural, group)} "${name}": ${reason}`, {
    name,
    group,
    kind: plural,
  });
}

/** 422 Invalid with one cause per field, message built the way apiserver does. */
export function invalid(kind: string, group: string, name: string, causes: StatusCause[]): ApiError {
  const qualified = group === '' ? kind : `${kind}.${group}`;
  const summary = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message));
  const joined = summary.length === 1 ? summary[0] : `[${summary.join(', ')}]`;
  return new ApiError(422, 'Invalid', `${qualified} "${name}" is invalid: ${joined}`, {
    name,
    group,
    kind,
    causes,
  });
}

export function badRequest(message: string, options?: ErrorOptions): ApiError {
  return new ApiError(400, 'BadRequest', message, undefined, options);
}

export function expired(message: string): ApiError {
  return new ApiError(410, 'Expired', message);
}

export function methodNotAllowed(verb: string, plural: string, group: string): ApiError {
  return new ApiError(405, 'MethodNotAllowed', `${verb} is not supported on resources of kind "${qualifiedResource(plural, group)}"`);
}

export function forbidden(plural: string, group: string, name: string, why: string): ApiError {
  const what = name ? `${qualifiedResource(plural, group)} "${name}"` : qualifiedResource(plural, group);
  return new ApiError(403, 'Forbidden', `${what} is forbidden: ${why}`, { name, group, kind: plural });
}

export function internalError(message: string, cause?: unknown): ApiError {
  return new ApiError(500, 'InternalError', `Internal error occurred: ${message}`, undefined, { cause });
}

export function cause(reason: CauseType, field: string, message: string): StatusCause {
  return { reason, field, message };
}

export function isApiError(err: unknown, reason?: StatusReason): err is ApiError {
  return err instanceof ApiError && (reason === undefined || err.reason === reason);
}

/** Rebuilds an ApiError from a Status body received over HTTP (client side); fields of other shapes are ignored. */
export function fromStatus(body: unknown, fallbackCode: number): ApiError {
  const status = isPlainObject(body) ? body : {};
  return new ApiError(
    typeof status.code === 'number' ? status.code : fallbackCode,
    STATUS_REASONS.find((r) => r === status.reason) ?? 'InternalError',
    typeof status.message === 'string' ? status.message : `request failed with HTTP ${fallbackCode}`,
    detailsOf(status.details),
  );
}

function detailsOf(value: unknown): StatusDetails | undefined {
  if (!isPlainObject(value)) return undefined;
  const details: StatusDetails = {};
  for (const k of ['name', 'group', 'kind', 'uid'] as const) {
    const v = value[k];
    if (typeof v === 'string') details[k] = v;
  }
  if (typeof value.retryAfterSeconds === 'number') details.retryAfterSeconds = value.retryAfterSeconds;
  if (Array.isArray(value.causes)) {
    details.causes = value.causes.flatMap((c: unknown): StatusCause[] =>
      isPlainObject(c) && typeof c.message === 'string'
        ? [{ reason: CAUSE_TYPES.find((r) => r === c.reason) ?? 'FieldValueInvalid', field: typeof c.field === 'string' ? c.field : '', message: c.message }]
        : [],
    );
  }
  return details;
}

/** The message of anything thrown (an Error's message, or the value as text). */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The `code` of a thrown error (Node's errno codes such as `ENOENT`), or undefined. */
export function errorCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

/** Anything thrown, as an Error (a non-Error value becomes the message). */
export function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
