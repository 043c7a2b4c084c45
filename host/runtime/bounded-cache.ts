// Values derived from configuration (compiled redaction programs and globs, Redactors, a
// workspace's tools), kept by their key so runs with the same configuration share them. Bounded: a
// host whose settings keep changing starts over instead of growing.
export class BoundedCache<K, V> {
  private readonly values = new Map<K, V>();

  constructor(private readonly limit: number) {}

  /** The value for `key`, made by `make` the first time (and again after the cache was full). */
  get(key: K, make: (key: K) => V): V {
    let value = this.values.get(key);
    if (value === undefined) {
      value = make(key);
      if (this.values.size >= this.limit) this.values.clear();
      this.values.set(key, value);
    }
    return value;
  }
}
