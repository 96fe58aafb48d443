/**
 * Reads of every served kind, as the apiserver answers them: get, list with label and field selectors and paging
 * (continue tokens), and watches that translate the store's change log into what a watcher with selectors sees (an
 * object leaving the selector is DELETED for it, one entering it ADDED). Objects go out in the caller's version.
 */
import { badRequest, notFound } from '../api/errors.ts';
import { matchesFields, parseFieldSelector, type FieldRequirement } from '../api/fields.ts';
import { everything, labelNeedles, parseLabelSelector, type LabelSelector } from '../api/labels.ts';
import { isPlainObject, type KubeObject, type StoredObject } from '../api/types.ts';
import { keyOf, type GetOptions, type ObjectKey, type Store, type StoreEvent, type WatchHandle } from '../store/Store.ts';
import { apiVersionOf, typeKeyOf, type ResourceType } from './ResourceType.ts';

export interface ListQuery {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  version?: string;
}

export interface ObjectList {
  items: StoredObject[];
  resourceVersion: string;
  continue?: string;
  remainingItemCount?: number;
}

/** A list as each object's JSON, for answers that forward it as it is stored. */
export interface TextList {
  texts: string[];
  resourceVersion: string;
  continue?: string;
}

export interface WatchQuery {
  /** Unset or '0': start with a synthetic ADDED for every current object. */
  resourceVersion?: string;
  labelSelector?: string;
  fieldSelector?: string;
  version?: string;
}

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: StoredObject;
}

/** The store key of an object of `type` (cluster-scoped kinds ignore the namespace). */
export function objectKey(type: ResourceType, namespace: string, name: string): ObjectKey {
  return keyOf(typeKeyOf(type), type.namespaced ? namespace : '', name);
}

/**
 * The object as the caller's version shows it: itself when it already says that version, else a copy that does (the
 * object may be shared: a watch event's, the read cache's).
 */
export function present<T extends KubeObject>(type: ResourceType, obj: T, version?: string): T {
  const apiVersion = apiVersionOf(type, version);
  return obj.apiVersion === apiVersion ? obj : { ...obj, apiVersion };
}

function encodeContinue(after: string, rv: string): string {
  return Buffer.from(JSON.stringify({ a: after, r: rv })).toString('base64url');
}

function decodeContinue(token: string): { after: string; rv: string } {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, 'base64url').toString());
    if (!isPlainObject(parsed) || typeof parsed.a !== 'string' || typeof parsed.r !== 'string') throw new Error('shape');
    return { after: parsed.a, rv: parsed.r };
  } catch (err) {
    throw badRequest('continue key is not valid: malformed token', { cause: err });
  }
}

export class ObjectReader {
  private readonly store: Store;

  constructor(options: { store: Store }) {
    this.store = options.store;
  }

  async currentResourceVersion(): Promise<string> {
    return String(await this.store.currentRv());
  }

  /** The object; `read.cached`: any version this process has seen, `read.shared`: for a caller that only reads it (see GetOptions). */
  async get(type: ResourceType, namespace: string, name: string, version?: string, read: GetOptions = {}): Promise<StoredObject> {
    const obj = await this.find(type, namespace, name, version, read);
    if (!obj) throw notFound(type.plural, type.group, name);
    return obj;
  }

  /**
   * Like `get` but answers undefined for a missing object: for callers to whom a missing object is an answer (a
   * controller about to create it), with no error made (an error's stack trace costs more than the read).
   */
  async find(type: ResourceType, namespace: string, name: string, version?: string, read: GetOptions = {}): Promise<StoredObject | undefined> {
    const obj = await this.store.get(objectKey(type, namespace, name), read);
    return obj ? present(type, obj, version) : undefined;
  }

  /** Parses a query's selectors; throws 400 for bad ones. */
  selectors(type: ResourceType, query: { labelSelector?: string; fieldSelector?: string }): { labels: LabelSelector; fields: FieldRequirement[] } {
    const allowed = ['metadata.name', 'metadata.namespace', ...(type.selectableFields ?? [])];
    return {
      labels: query.labelSelector ? parseLabelSelector(query.labelSelector) : everything,
      fields: query.fieldSelector ? parseFieldSelector(query.fieldSelector, allowed) : [],
    };
  }

  /** Where a list's reading starts: its namespace (none for a cluster-scoped kind), page size (0: all), continue point. */
  private pageStart(type: ResourceType, namespace: string | undefined, query: ListQuery): { ns: string | undefined; limit: number; after: string | undefined } {
    return {
      ns: type.namespaced ? namespace : undefined,
      limit: query.limit && query.limit > 0 ? query.limit : 0,
      after: query.continue ? decodeContinue(query.continue).after : undefined,
    };
  }

  async list(type: ResourceType, namespace: string | undefined, query: ListQuery = {}): Promise<ObjectList> {
    const { items, resourceVersion, continue: next } = await this.select(type, namespace, query, (_text, obj) => present(type, obj(), query.version));
    return { items, resourceVersion, ...(next ? { continue: next } : {}) };
  }

  /**
   * A list as each object's stored JSON (its apiVersion made the one asked for), for an answer that only forwards the
   * objects: parsing a page of 1,000 resources and serialising it again was most of a list's cost (a page took ~50 ms;
   * the event loop serves nothing meanwhile). A selective list parses the objects that may match (see labelNeedles)
   * to match them, and forwards the texts of those that do.
   */
  async listTexts(type: ResourceType, namespace: string | undefined, query: ListQuery = {}): Promise<TextList> {
    // Stored objects begin with their apiVersion (writes keep the order they are given in, and every writer puts it
    // first); any other text is parsed and written again.
    const prefix = `{"apiVersion":${JSON.stringify(apiVersionOf(type, query.version))},`;
    const {
      items,
      resourceVersion,
      continue: next,
    } = await this.select(type, namespace, query, (text, obj) => (text.startsWith(prefix) ? text : JSON.stringify(present(type, obj(), query.version))));
    return { texts: items, resourceVersion, ...(next ? { continue: next } : {}) };
  }

  /**
   * The objects of a list that match its selectors, a page at a time, each as `take` makes it of its stored text and
   * its object (parsed when first asked; the object of a text a selector had to parse for is that parse). Texts
   * that cannot match a label selector are left in the store, whose query searches them (see labelNeedles): a list
   * of the few objects with a label among thousands parsed every one of them, and then read every one of them.
   */
  private async select<T>(
    type: ResourceType,
    namespace: string | undefined,
    query: ListQuery,
    take: (text: string, object: () => StoredObject) => T,
  ): Promise<{ items: T[]; resourceVersion: string; continue?: string }> {
    const { labels, fields } = this.selectors(type, query);
    const filtered = !labels.isEmpty() || fields.length > 0;
    const needles = labelNeedles(labels);
    const start = this.pageStart(type, namespace, query);
    const { limit } = start;
    let after = start.after;
    const items: T[] = [];
    let listRv = '';
    // A selector on the name (`kubectl wait`, an informer of one object) reads that name's rows only, one on the
    // namespace of a list across namespaces that namespace's.
    const equal = (field: string): string | undefined => fields.find((f) => f.field === field && f.operator === '=')?.value;
    const name = equal('metadata.name');
    const ns = start.ns ?? (type.namespaced ? equal('metadata.namespace') : undefined);
    // Filtering happens after reading, so fetch pages until the limit is met (or everything when unlimited).
    for (;;) {
      const page = await this.store.list(typeKeyOf(type), {
        namespace: ns,
        ...(name !== undefined ? { name } : {}),
        limit: filtered && limit ? Math.max(limit, 500) : limit,
        after,
        ...(needles.length ? { containing: needles } : {}),
      });
      listRv ||= page.resourceVersion;
      const { texts } = page;
      // Where this page's rows stop being read: the limit met with rows left after the last one taken.
      let rowsLeft = false;
      for (let i = 0; i < texts.length; i++) {
        if (limit && items.length === limit) {
          rowsLeft = true;
          break;
        }
        const text = texts[i]!;
        if (!filtered) {
          // A page of a list without selectors is at most the limit: one that continues ends with its last row.
          let parsed: StoredObject | undefined;
          items.push(take(text, () => (parsed ??= JSON.parse(text))));
          continue;
        }
        const obj: StoredObject = JSON.parse(text);
        if (!labels.matches(obj.metadata.labels) || !matchesFields(obj, fields)) continue;
        items.push(take(text, () => obj));
        after = resumeKeyOf(obj);
      }
      if (!page.continueAfter || (limit && items.length === limit)) {
        const more = limit > 0 && items.length === limit && (page.continueAfter !== undefined || rowsLeft);
        const result: { items: T[]; resourceVersion: string; continue?: string } = { items, resourceVersion: listRv };
        const resumeAfter = filtered ? after : page.continueAfter;
        if (more && resumeAfter) result.continue = encodeContinue(resumeAfter, listRv);
        return result;
      }
      after = page.continueAfter;
    }
  }

  watch(type: ResourceType, namespace: string | undefined, query: WatchQuery, onEvent: (e: WatchEvent) => void): Promise<WatchHandle> {
    const { labels, fields } = this.selectors(type, query);
    const ns = type.namespaced ? namespace : undefined;
    // Which objects this watcher has been told of, to turn selector changes into ADDED and DELETED. Without selectors
    // every event goes out as the store made it, and no set of every object's name is kept per watch.
    const selective = !labels.isEmpty() || fields.length > 0;
    const matching = new Set<string>();
    const id = (o: KubeObject): string => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    const forward = (e: StoreEvent): void => {
      const obj = present(type, e.object, query.version);
      if (!selective) {
        onEvent({ type: e.type, object: obj });
        return;
      }
      const matches = labels.matches(obj.metadata.labels) && matchesFields(obj, fields);
      const known = matching.has(id(obj));
      // An object leaving the selector is a DELETED for this watcher, entering it an ADDED (apiserver behaviour).
      if (e.type === 'DELETED' || !matches) {
        if (known || (e.type === 'DELETED' && matches)) {
          matching.delete(id(obj));
          onEvent({ type: 'DELETED', object: obj });
        }
        return;
      }
      matching.add(id(obj));
      onEvent({ type: known ? 'MODIFIED' : 'ADDED', object: obj });
    };
    const rv = query.resourceVersion;
    const start = async (): Promise<WatchHandle> => {
      if (rv === undefined || rv === '' || rv === '0') {
        const current = await this.list(type, ns, { labelSelector: query.labelSelector, fieldSelector: query.fieldSelector, version: query.version });
        for (const obj of current.items) {
          if (selective) matching.add(id(obj));
          onEvent({ type: 'ADDED', object: obj });
        }
        return this.store.watch({ type: typeKeyOf(type), namespace: ns, fromRv: Number(current.resourceVersion) }, forward);
      }
      if (!/^\d+$/.test(rv)) throw badRequest(`invalid resource version: ${JSON.stringify(rv)}`);
      // Objects seen before `rv` are unknown to us: treat every matching event as it comes.
      return this.store.watch({ type: typeKeyOf(type), namespace: ns, fromRv: Number(rv) }, (e) => {
        if (selective && e.type === 'MODIFIED') matching.add(`${e.key.namespace}/${e.key.name}`);
        forward(e);
      });
    };
    return start();
  }
}

/** The `namespace/name` a continue token resumes after. */
function resumeKeyOf(obj: StoredObject): string {
  return `${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
}
