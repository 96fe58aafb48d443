/**
 * A list as both stores run it: rows of one type (and namespace), in namespace/name order, from after a page's last
 * row, one more than the limit so the store knows whether another page follows. Only the SQL placeholders differ.
 */
import type { StoredObject } from '../api/types.ts';
import type { ListOptions, ListResult, TypeKey } from './Store.ts';

export interface ListQuery {
  /** Conditions on grp, kind, ns and name. */
  where: string;
  /** ` LIMIT …`, or empty. */
  limitSql: string;
  values: (string | number)[];
  /** Items per page; 0 for all. */
  limit: number;
}

export interface ListRow {
  ns: string;
  name: string;
  data: string;
}

/** What the two stores' SQL writes differently in a list. */
export interface ListDialect {
  /** The driver's n-th parameter (`?` or `$n`). */
  placeholder(n: number): string;
  /**
   * A condition: the row's stored text holds `text` (see ListOptions.containing); `param` makes the parameter that
   * carries a value and writes its placeholder.
   */
  contains(text: string, param: (value: string) => string): string;
}

/** The query of a list. */
export function listQuery(type: TypeKey, options: ListOptions, dialect: ListDialect): ListQuery {
  const { placeholder } = dialect;
  const values: (string | number)[] = [type.group, type.kind];
  const next = (v: string | number): string => {
    values.push(v);
    return placeholder(values.length);
  };
  let where = `grp = ${placeholder(1)} AND kind = ${placeholder(2)}`;
  if (options.namespace !== undefined) where += ` AND ns = ${next(options.namespace)}`;
  if (options.name !== undefined) where += ` AND name = ${next(options.name)}`;
  if (options.after) {
    const slash = options.after.indexOf('/');
    const afterNs = options.after.slice(0, slash);
    const afterName = options.after.slice(slash + 1);
    // Within one namespace, `name > ?`: SQLite seeks with an equality and a range on the next column, but after an
    // equality on ns it reads `(ns, name) > (?, ?)` as a filter over the namespace from its first row (each page of a
    // list cost as much as every page before it: 60 ms at the 20,000th object).
    if (options.namespace === afterNs) where += ` AND name > ${next(afterName)}`;
    else where += ` AND (ns, name) > (${next(afterNs)}, ${next(afterName)})`;
  }
  // A group of no strings is one no text meets (as `some` of nothing is false).
  for (const group of options.containing ?? []) where += ` AND (${group.map((text) => dialect.contains(text, next)).join(' OR ') || '1 = 0'})`;
  const limit = options.limit && options.limit > 0 ? options.limit : 0;
  return { where, limitSql: limit ? ` LIMIT ${next(limit + 1)}` : '', values, limit };
}

/** The page the rows make (read with one row beyond the limit), at the store's resourceVersion. */
export function listPage(rows: ListRow[], limit: number, resourceVersion: string): ListResult {
  const more = limit > 0 && rows.length > limit;
  const page = more ? rows.slice(0, limit) : rows;
  const texts = page.map((r) => r.data);
  let items: StoredObject[] | undefined;
  const result: ListResult = {
    get items(): StoredObject[] {
      return (items ??= texts.map((t): StoredObject => JSON.parse(t)));
    },
    texts,
    resourceVersion,
  };
  const last = page[page.length - 1];
  if (more && last) result.continueAfter = `${last.ns}/${last.name}`;
  return result;
}
