/**
 * Decodes request bodies by content type into plain objects, under limits (depth, nodes, aliases, duplicate keys)
 * and, for big YAML, off the event loop. Errors are Status: 400 for syntax and duplicates, 413 for limits.
 */
import { checkJsonLimits, ParseLimitError, type ParseLimits } from '../api/boundedYaml.ts';
import { ApiError, badRequest } from '../api/errors.ts';
import type { YamlParser } from '../workers/YamlParser.ts';
import type { PatchType } from '../registry/ObjectService.ts';
import { PROTOBUF_MEDIA_TYPE, type ProtobufCodec } from './protobuf/ProtobufCodec.ts';

export function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

export function patchTypeOf(contentType: string | undefined): PatchType {
  switch (mediaType(contentType)) {
    case 'application/merge-patch+json':
      return 'merge';
    case 'application/json-patch+json':
      return 'json';
    case 'application/apply-patch+yaml':
      return 'apply';
    case 'application/strategic-merge-patch+json':
      return 'strategic';
    default:
      throw new ApiError(
        415,
        'UnsupportedMediaType',
        `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`,
      );
  }
}

const OBJECT_TYPES = new Set(['', 'application/json', 'application/yaml', 'application/x-yaml', 'text/yaml']);

/**
 * Decodes the body of a create or update: JSON, YAML, or Kubernetes protobuf for the built-in kinds that have a
 * protobuf form (415 otherwise, as the apiserver answers).
 */
export async function decodeObjectBody(
  parser: YamlParser,
  limits: ParseLimits,
  raw: Buffer | undefined,
  contentType: string | undefined,
  protobuf?: ProtobufCodec,
): Promise<unknown> {
  const media = mediaType(contentType);
  if (media === PROTOBUF_MEDIA_TYPE && protobuf) {
    if (!raw || !raw.length) return undefined;
    const value = protobuf.decode(raw);
    // The same limits as JSON and YAML: a protobuf body is no way around them.
    try {
      checkJsonLimits(value, limits);
    } catch (err) {
      throw asStatus(err, 'protobuf');
    }
    return value;
  }
  if (!OBJECT_TYPES.has(media)) {
    throw new ApiError(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml${protobuf ? `, ${PROTOBUF_MEDIA_TYPE}` : ''}`,
    );
  }
  return decodeBody(parser, limits, raw, contentType);
}

/** Parses a body as JSON (or YAML for yaml content types and apply patches). */
export async function decodeBody(parser: YamlParser, limits: ParseLimits, raw: Buffer | undefined, contentType: string | undefined): Promise<unknown> {
  if (!raw || raw.length === 0) return undefined;
  const text = raw.toString('utf8');
  const yamlish = mediaType(contentType).endsWith('yaml');
  try {
    return yamlish ? await parser.yaml(text, limits) : parser.json(text, limits);
  } catch (err) {
    throw asStatus(err, yamlish ? 'YAML' : 'JSON');
  }
}

/** A parse error as the Status it answers: 400 for syntax and duplicate keys, 413 past a limit. */
function asStatus(err: unknown, what: string): unknown {
  if (!(err instanceof ParseLimitError)) return err;
  if (err.kind === 'syntax') return badRequest(`the request body is not valid ${what}: ${err.message}`, { cause: err });
  if (err.kind === 'duplicate') return badRequest(`the request body has a ${err.message} in one map`, { cause: err });
  return new ApiError(413, 'RequestEntityTooLarge', `the request body is too complex: ${err.message}`, undefined, { cause: err });
}
