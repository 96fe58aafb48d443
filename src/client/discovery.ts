/** Client-side discovery: maps what a user types (`apps`, `app`, `dest`, `promise`) to API paths. */
import { ApiError } from '../api/errors.ts';
import type { HttpClient } from './HttpClient.ts';
import { parseApiVersion } from '../api/types.ts';

export interface ApiResource {
  group: string;
  version: string;
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  categories: string[];
  namespaced: boolean;
}

interface ResourceListDoc {
  groupVersion: string;
  resources: { name: string; singularName?: string; kind: string; namespaced: boolean; shortNames?: string[]; categories?: string[] }[];
}

export class Discovery {
  private readonly client: HttpClient;
  private cache: ApiResource[] | undefined;

  constructor(client: HttpClient) {
    this.client = client;
  }

  async resources(refresh = false): Promise<ApiResource[]> {
    if (this.cache && !refresh) return this.cache;
    const groups = await this.client.get<{ groups: { preferredVersion: { groupVersion: string } }[] }>('/apis');
    const gvs = ['v1', ...groups.groups.map((g) => g.preferredVersion.groupVersion)];
    const docs = await Promise.all(gvs.map((gv) => this.client.get<ResourceListDoc>(gv === 'v1' ? '/api/v1' : `/apis/${gv}`).catch(() => undefined)));
    const out: ApiResource[] = [];
    for (const doc of docs) {
      if (!doc) continue;
      const { group, version } = parseApiVersion(doc.groupVersion);
      for (const r of doc.resources) {
        if (r.name.includes('/')) continue;
        out.push({
          group,
          version,
          kind: r.kind,
          plural: r.name,
          singular: r.singularName ?? r.kind.toLowerCase(),
          shortNames: r.shortNames ?? [],
          categories: r.categories ?? [],
          namespaced: r.namespaced,
        });
      }
    }
    this.cache = out;
    return out;
  }

  private static match(all: ApiResource[], name: string): ApiResource | undefined {
    const lower = name.toLowerCase();
    const dot = lower.indexOf('.');
    const base = dot > 0 ? lower.slice(0, dot) : lower;
    const group = dot > 0 ? lower.slice(dot + 1) : undefined;
    const c = all.filter((r) => group === undefined || r.group === group);
    return (
      c.find((r) => r.plural === base) ??
      c.find((r) => r.singular === base) ??
      c.find((r) => r.shortNames.includes(base)) ??
      c.find((r) => r.kind.toLowerCase() === base)
    );
  }

  /** Resolves a resource name; refreshes once when unknown (a Promise may have just added it). */
  async resolve(name: string): Promise<ApiResource> {
    const found = Discovery.match(await this.resources(), name) ?? Discovery.match(await this.resources(true), name);
    if (!found) throw new ApiError(404, 'NotFound', `the server doesn't have a resource type "${name}"; "fleetops api-resources" lists them`);
    return found;
  }

  /** Finds the resource for an object's apiVersion and kind. */
  async forKind(apiVersion: string, kind: string): Promise<ApiResource> {
    const { group, version } = parseApiVersion(apiVersion);
    const find = (all: ApiResource[]): ApiResource | undefined => all.find((r) => r.group === group && r.kind === kind);
    const found = find(await this.resources()) ?? find(await this.resources(true));
    if (!found) throw new ApiError(404, 'NotFound', `no kind "${kind}" is served in "${apiVersion}"; install the Promise that provides it first`);
    return { ...found, version };
  }
}

export function collectionPath(r: Pick<ApiResource, 'group' | 'version' | 'plural' | 'namespaced'>, namespace?: string): string {
  const prefix = r.group === '' ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`;
  return r.namespaced && namespace ? `${prefix}/namespaces/${encodeURIComponent(namespace)}/${r.plural}` : `${prefix}/${r.plural}`;
}

export function objectPath(r: Pick<ApiResource, 'group' | 'version' | 'plural' | 'namespaced'>, namespace: string | undefined, name: string): string {
  return `${collectionPath(r, namespace)}/${encodeURIComponent(name)}`;
}
