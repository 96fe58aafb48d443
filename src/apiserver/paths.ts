/** Parses API URLs (`/apis/<g>/<v>/namespaces/<ns>/<plural>/<name>/<sub>`, core `/api/v1/...`). */

export interface ResourcePath {
  group: string;
  version: string;
  namespace?: string;
  plural: string;
  name?: string;
  subresource?: string;
}

export type ParsedPath =
  | { kind: 'resource'; path: ResourcePath }
  | { kind: 'groupVersion'; group: string; version: string }
  | { kind: 'group'; group: string }
  | { kind: 'root'; core: boolean }
  | { kind: 'unknown' };

export function parseApiPath(pathname: string): ParsedPath {
  // Most segments have nothing escaped: decoded only when they do (decodeURIComponent is a third of the parse).
  const parts = pathname
    .split('/')
    .filter((p) => p !== '')
    .map((p) => (p.includes('%') ? decodeURIComponent(p) : p));
  let group: string;
  let version: string | undefined;
  let rest: string[];
  if (parts[0] === 'api') {
    if (parts.length === 1) return { kind: 'root', core: true };
    group = '';
    version = parts[1];
    rest = parts.slice(2);
  } else if (parts[0] === 'apis') {
    if (parts.length === 1) return { kind: 'root', core: false };
    group = parts[1] ?? '';
    if (parts.length === 2) return { kind: 'group', group };
    version = parts[2];
    rest = parts.slice(3);
  } else {
    return { kind: 'unknown' };
  }
  if (!version) return { kind: 'unknown' };
  if (rest.length === 0) return { kind: 'groupVersion', group, version };
  if (rest[0] === 'namespaces' && rest.length >= 3 && !(rest.length === 3 && (rest[2] === 'status' || rest[2] === 'finalize'))) {
    const [, namespace = '', plural = '', name, subresource, ...extra] = rest;
    if (extra.length) return { kind: 'unknown' };
    const path: ResourcePath = { group, version, namespace, plural };
    if (name !== undefined) path.name = name;
    if (subresource !== undefined) path.subresource = subresource;
    return { kind: 'resource', path };
  }
  const [plural = '', name, subresource, ...extra] = rest;
  if (extra.length) return { kind: 'unknown' };
  const path: ResourcePath = { group, version, plural };
  if (name !== undefined) path.name = name;
  if (subresource !== undefined) path.subresource = subresource;
  return { kind: 'resource', path };
}
