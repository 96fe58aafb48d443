/**
 * Container image references as Kubernetes reads them (docker/distribution's grammar): `[host[:port]/]path[:tag][@digest]`,
 * with Docker Hub's defaults (`nginx` is `docker.io/library/nginx:latest`), and the pull policy a container gets when
 * it names none.
 */

export type PullPolicy = 'Always' | 'IfNotPresent' | 'Never';

export interface ImageReference {
  /** Registry host, with port when given (`docker.io` when the reference names none). */
  domain: string;
  /** Repository path inside the registry (`library/nginx`). */
  path: string;
  tag: string | undefined;
  /** `sha256:<hex>` when the reference pins one. */
  digest: string | undefined;
  /** The whole reference, normalised: `domain/path[:tag][@digest]`, `:latest` when it names neither. */
  canonical: string;
}

/** Images FleetOps built itself (`fleetops image build`): served from its local cache, never pulled. */
export const LOCAL_DOMAIN = 'fleetops.local';

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*(?::[0-9]+)?$|^\[[0-9a-fA-F:]+\](?::[0-9]+)?$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;

export class InvalidImageName extends Error {
  constructor(reference: string, why: string) {
    super(`InvalidImageName: ${JSON.stringify(reference)}: ${why}`);
    this.name = 'InvalidImageName';
  }
}

export function parseImageReference(reference: string): ImageReference {
  const raw = reference.trim();
  if (!raw) throw new InvalidImageName(reference, 'the image is empty');
  if (raw.length > 255 + 64 + 128) throw new InvalidImageName(reference, 'the reference is too long');
  let rest = raw;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw new InvalidImageName(reference, `digest ${JSON.stringify(digest)} is not sha256:<64 hex digits>`);
  }
  let tag: string | undefined;
  const slash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > slash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw new InvalidImageName(reference, `tag ${JSON.stringify(tag)} is not valid (letters, digits, _ . -, at most 128)`);
  }
  const parts = rest.split('/');
  let domain = 'docker.io';
  const first = parts[0] ?? '';
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('['))) {
    domain = first;
    parts.shift();
    if (!DOMAIN.test(domain)) throw new InvalidImageName(reference, `registry ${JSON.stringify(domain)} is not a host name`);
  }
  if (domain === 'index.docker.io') domain = 'docker.io';
  if (domain === 'docker.io' && parts.length === 1) parts.unshift('library');
  for (const p of parts) {
    if (!COMPONENT.test(p))
      throw new InvalidImageName(reference, `repository name must be lowercase (a-z, 0-9, separators . _ __ -); ${JSON.stringify(p)} is not`);
  }
  const path = parts.join('/');
  const effectiveTag = tag ?? (digest ? undefined : 'latest');
  const canonical = `${domain}/${path}${effectiveTag ? `:${effectiveTag}` : ''}${digest ? `@${digest}` : ''}`;
  return { domain, path, tag: effectiveTag, digest, canonical };
}

/** Kubernetes' default: `Always` for `:latest` (or no tag) without a digest, else `IfNotPresent`. */
export function defaultPullPolicy(ref: ImageReference): PullPolicy {
  return !ref.digest && ref.tag === 'latest' ? 'Always' : 'IfNotPresent';
}

/** The reference pinned to a digest (`domain/path@sha256:…`): what is copied once the digest is known. */
export function byDigest(ref: ImageReference, digest: string): string {
  return `${ref.domain}/${ref.path}@${digest}`;
}
