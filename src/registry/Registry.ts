/**
 * The catalog of served kinds. Built-in kinds are registered at start; Promises add and remove theirs at run time,
 * and listeners (discovery, OpenAPI caches, controllers) hear about every change.
 */
import type { ResourceType } from './ResourceType.ts';

export type RegistryListener = (change: { type: ResourceType; action: 'added' | 'removed' | 'updated' }) => void;

export class Registry {
  private readonly types = new Map<string, ResourceType>();
  private readonly listeners = new Set<RegistryListener>();
  /** Increases on every change; used as the OpenAPI/discovery cache key. */
  private generationCounter = 0;

  private static id(group: string, plural: string): string {
    return `${group}/${plural}`;
  }

  get generation(): number {
    return this.generationCounter;
  }

  /** Adds or replaces a type (same group and plural). */
  register(type: ResourceType): void {
    const id = Registry.id(type.group, type.plural);
    const existed = this.types.has(id);
    this.types.set(id, type);
    this.generationCounter++;
    for (const l of this.listeners) l({ type, action: existed ? 'updated' : 'added' });
  }

  unregister(group: string, plural: string): void {
    const id = Registry.id(group, plural);
    const type = this.types.get(id);
    if (!type) return;
    this.types.delete(id);
    this.generationCounter++;
    for (const l of this.listeners) l({ type, action: 'removed' });
  }

  onChange(listener: RegistryListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  all(): ResourceType[] {
    return [...this.types.values()];
  }

  /** Finds the type served at `/apis/<group>/<version>/<plural>`. */
  byResource(group: string, version: string, plural: string): ResourceType | undefined {
    const t = this.types.get(Registry.id(group, plural));
    return t && t.versions.includes(version) ? t : undefined;
  }

  byKind(group: string, kind: string): ResourceType | undefined {
    for (const t of this.types.values()) if (t.group === group && t.kind === kind) return t;
    return undefined;
  }

  /** Resolves a user-typed name (plural, singular, short name or kind, optionally `name.group`) as kubectl does. */
  resolve(name: string): ResourceType | undefined {
    const lower = name.toLowerCase();
    const dot = lower.indexOf('.');
    const base = dot > 0 ? lower.slice(0, dot) : lower;
    const group = dot > 0 ? lower.slice(dot + 1) : undefined;
    const candidates = this.all().filter((t) => group === undefined || t.group === group);
    return (
      candidates.find((t) => t.plural === base) ??
      candidates.find((t) => t.singular === base) ??
      candidates.find((t) => t.shortNames.includes(base)) ??
      candidates.find((t) => t.kind.toLowerCase() === base)
    );
  }

  /** Groups with their served versions, for discovery. */
  groups(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const t of this.types.values()) {
      const versions = out.get(t.group) ?? [];
      for (const v of t.versions) if (!versions.includes(v)) versions.push(v);
      out.set(t.group, versions);
    }
    return out;
  }
}
