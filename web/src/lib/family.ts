/** A keyed cache of atoms (jotai's atomFamily without the extra package). */
export function family<K, V>(create: (key: K) => V): ((key: K) => V) & { clear(): void } {
  const cache = new Map<K, V>();
  const get = (key: K) => {
    let v = cache.get(key);
    if (v === undefined) {
      v = create(key);
      cache.set(key, v);
    }
    return v;
  };
  return Object.assign(get, { clear: () => cache.clear() });
}
