/** Decodes request bodies by content type into plain objects, with errors as 400 Status. */
import { parse as parseYaml } from 'yaml';
import { ApiError, badRequest } from '../api/errors.ts';
import type { PatchType } from '../registry/ObjectService.ts';

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

/** Decodes the body of a create or update: JSON or YAML only (415 otherwise, as the apiserver answers). */
export function decodeObjectBody(raw: Buffer | undefined, contentType: string | undefined): unknown {
  if (!OBJECT_TYPES.has(mediaType(contentType))) {
    throw new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml`);
  }
  return decodeBody(raw, contentType);
}

/** Parses a body as JSON (or YAML for yaml content types and apply patches). */
export function decodeBody(raw: Buffer | undefined, contentType: string | undefined): unknown {
  if (!raw || raw.length === 0) return undefined;
  const text = raw.toString('utf8');
  const type = mediaType(contentType);
  const yamlish = type.endsWith('yaml');
  try {
    if (yamlish) return parseYaml(text, { maxAliasCount: 100 });
    return JSON.parse(text);
  } catch (err) {
    const what = yamlish ? 'YAML' : 'JSON';
    throw badRequest(`the request body is not valid ${what}: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
}
