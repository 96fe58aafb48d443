/** Client over the ObjectService in the same process: no HTTP, same semantics. */
import { ApiError, isApiError } from '../api/errors.ts';
import { parseApiVersion, stored, type KubeObject, type StoredObject } from '../api/types.ts';
import type { ObjectService } from '../registry/ObjectService.ts';
import { preferredVersion, type ResourceType } from '../registry/ResourceType.ts';
import type { Client, ClientGetOptions, ClientListOptions, ClientWatchEvent, ClientWriteOptions, ObjectRef } from './Client.ts';

/** What a write tells the store's read cache (ClientWriteOptions), as the object service takes it. */
function cacheHints(options: ClientWriteOptions): { shared: boolean; uncached: boolean } {
  return { shared: options.shared === true, uncached: options.uncached === true };
}

export class InProcessClient implements Client {
  private readonly objects: ObjectService;
  private readonly fieldManager: string;

  constructor(options: { objects: ObjectService; fieldManager?: string }) {
    this.objects = options.objects;
    this.fieldManager = options.fieldManager ?? 'fleetops-controller';
  }

  private type(apiVersion: string, kind: string): { type: ResourceType; version: string } {
    const { group, version } = parseApiVersion(apiVersion);
    const type = this.objects.registry.byKind(group, kind);
    if (!type) throw new ApiError(404, 'NotFound', `no kind "${kind}" is served in "${apiVersion}"`);
    return { type, version: type.versions.includes(version) ? version : preferredVersion(type) };
  }

  async get(ref: ObjectRef, options: ClientGetOptions = {}): Promise<StoredObject | undefined> {
    const { type, version } = this.type(ref.apiVersion, ref.kind);
    // Controllers read what this process has seen (as from an informer's cache): they are level-based, and their
    // writes carry the version they start from.
    return this.objects.find(type, ref.namespace ?? '', ref.name, version, { cached: true, shared: options.shared === true });
  }

  async list(apiVersion: string, kind: string, options: ClientListOptions = {}): Promise<StoredObject[]> {
    const { type, version } = this.type(apiVersion, kind);
    const query = options.labelSelector ? { labelSelector: options.labelSelector, version } : { version };
    return (await this.objects.list(type, options.namespace, query)).items;
  }

  async create(object: KubeObject, options: ClientWriteOptions & { dryRun?: boolean; withStatus?: boolean } = {}): Promise<StoredObject> {
    const { type, version } = this.type(object.apiVersion, object.kind);
    const opts = {
      fieldManager: this.fieldManager,
      version,
      ...cacheHints(options),
      ...(options.dryRun ? { dryRun: true } : {}),
      ...(options.withStatus ? { withStatus: true } : {}),
    };
    const { object: created } = await this.objects.create(type, object.metadata.namespace ?? '', object, opts);
    // A dry run's object was never stored: it has no resourceVersion of its own.
    return stored(options.dryRun ? { ...created, metadata: { ...created.metadata, resourceVersion: '0' } } : created);
  }

  async update(object: KubeObject, options: ClientWriteOptions = {}): Promise<StoredObject> {
    const { type, version } = this.type(object.apiVersion, object.kind);
    return stored(
      (
        await this.objects.update(type, object.metadata.namespace ?? '', object.metadata.name ?? '', object, {
          fieldManager: this.fieldManager,
          version,
          ...cacheHints(options),
        })
      ).object,
    );
  }

  async updateStatus(object: KubeObject, options: ClientWriteOptions = {}): Promise<StoredObject> {
    const { type, version } = this.type(object.apiVersion, object.kind);
    return stored(
      (
        await this.objects.update(type, object.metadata.namespace ?? '', object.metadata.name ?? '', object, {
          fieldManager: this.fieldManager,
          version,
          subresource: 'status',
          ...cacheHints(options),
        })
      ).object,
    );
  }

  async mergePatch(ref: ObjectRef, patch: Record<string, unknown>, subresource?: 'status', options: ClientWriteOptions = {}): Promise<StoredObject> {
    const { type, version } = this.type(ref.apiVersion, ref.kind);
    return stored(
      (
        await this.objects.patch(type, ref.namespace ?? '', ref.name, 'merge', patch, {
          fieldManager: this.fieldManager,
          version,
          ...cacheHints(options),
          ...(subresource ? { subresource } : {}),
        })
      ).object,
    );
  }

  async apply(object: KubeObject, fieldManager: string, force = true): Promise<StoredObject> {
    const { type, version } = this.type(object.apiVersion, object.kind);
    return stored(
      (await this.objects.patch(type, object.metadata.namespace ?? '', object.metadata.name ?? '', 'apply', object, { fieldManager, force, version })).object,
    );
  }

  async delete(ref: ObjectRef): Promise<void> {
    const { type } = this.type(ref.apiVersion, ref.kind);
    try {
      await this.objects.delete(type, ref.namespace ?? '', ref.name);
    } catch (err) {
      if (!isApiError(err, 'NotFound')) throw err;
    }
  }

  async watch(apiVersion: string, kind: string, options: { namespace?: string }, onEvent: (event: ClientWatchEvent) => void): Promise<{ stop(): void }> {
    const { type, version } = this.type(apiVersion, kind);
    return this.objects.watch(type, options.namespace, { version }, onEvent);
  }
}
