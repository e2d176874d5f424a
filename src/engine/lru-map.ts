// A Map bounded by entry count (and optionally by a total weight, e.g. bytes), dropping the least recently read or
// written entries first.
export interface LruMapOptions<V> {
  /** Bound on the sum of weight(value) over all entries. */
  maxWeight?: number;
  weight?: (value: V) => number;
}

export class LruMap<K, V> {
  readonly #map = new Map<K, V>();
  readonly #limit: number;
  readonly #maxWeight: number;
  readonly #weight: (value: V) => number;
  #total = 0;

  constructor(limit: number, opts: LruMapOptions<V> = {}) {
    this.#limit = Math.max(1, limit);
    this.#maxWeight = opts.maxWeight ?? Infinity;
    this.#weight = opts.weight ?? (() => 0);
  }

  get size(): number {
    return this.#map.size;
  }

  get(key: K): V | undefined {
    const value = this.#map.get(key);
    if (value === undefined) return undefined;
    // Re-inserting moves the key to the end of the Map's insertion order: the most recent.
    this.#map.delete(key);
    this.#map.set(key, value);
    return value;
  }

  /** Stores the value; one heavier than the whole bound is not stored. */
  set(key: K, value: V): void {
    this.delete(key);
    const w = this.#weight(value);
    if (w > this.#maxWeight) return;
    this.#map.set(key, value);
    this.#total += w;
    while (this.#map.size > this.#limit || this.#total > this.#maxWeight) this.delete(this.#map.keys().next().value as K);
  }

  delete(key: K): void {
    const value = this.#map.get(key);
    if (value === undefined) return;
    this.#map.delete(key);
    this.#total -= this.#weight(value);
  }
}
