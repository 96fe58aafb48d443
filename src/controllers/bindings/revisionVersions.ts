/**
 * Promise versions (`kratix.io/promise-version`, kept in each FleetOps Revision's `spec.version`) mapped to
 * revision numbers: a version is the newest revision that carries it. Revisions are immutable, so the answers are
 * cached per Promise until it gets a new revision.
 */
import type { Client } from '../../client/Client.ts';
import { listOf } from '../../client/typed.ts';
import { revisionType } from '../../registry/builtin/fleetopsKinds.ts';
import { LABEL_PROMISE_NAME } from '../shared/kratixNames.ts';

interface Versions {
  latest: number;
  byVersion: Map<string, number>;
  byRevision: Map<number, string>;
}

export class RevisionVersions {
  private readonly client: Client;
  private readonly cache = new Map<string, Versions>();

  constructor(client: Client) {
    this.client = client;
  }

  private async load(promise: string, latestRevision: number): Promise<Versions> {
    const cached = this.cache.get(promise);
    if (cached && cached.latest === latestRevision) return cached;
    const byVersion = new Map<string, number>();
    const byRevision = new Map<number, string>();
    for (const rev of await listOf(this.client, revisionType, { labelSelector: `${LABEL_PROMISE_NAME}=${promise}` })) {
      const { spec } = rev;
      if (!spec) continue;
      byRevision.set(spec.revision, spec.version ?? '');
      if (spec.version && spec.revision > (byVersion.get(spec.version) ?? 0)) byVersion.set(spec.version, spec.revision);
    }
    const versions = { latest: latestRevision, byVersion, byRevision };
    if (this.cache.size > 1000) this.cache.clear();
    this.cache.set(promise, versions);
    return versions;
  }

  /** The newest revision with this version, or undefined. */
  async revisionOf(promise: string, latestRevision: number, version: string): Promise<number | undefined> {
    return (await this.load(promise, latestRevision)).byVersion.get(version);
  }

  /** The version of a revision ('' when the Promise had no version label then), or undefined when unknown. */
  async versionOf(promise: string, latestRevision: number, revision: number): Promise<string | undefined> {
    return (await this.load(promise, latestRevision)).byRevision.get(revision);
  }
}
