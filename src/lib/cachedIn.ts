/**
 * The value `map` holds for `key`, made by `make` and kept on a miss. A map grown to `limit` entries is emptied first:
 * for caches of a few shapes (prepared statements, file names) that are hit almost always, where an LRU's
 * bookkeeping would cost more than the rare rebuild.
 */
export function cachedIn<K, V>(map: Map<K, V>, key: K, limit: number, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    if (map.size >= limit) map.clear();
    value = make();
    map.set(key, value);
  }
  return value;
}
