/**
 * Interning of immutable route data (BIRD's rta cache does this for attribute sets): equal
 * values, by key, become one shared object, so 100,000 routes with one attribute set hold one
 * copy of it. Entries are weak: a value no route holds any more is collected, and its key
 * leaves the table after it (a FinalizationRegistry), so nothing needs reference counting.
 */
export class Interner<T extends object> {
  private readonly table = new Map<string, WeakRef<T>>();
  private readonly registry = new FinalizationRegistry<string>((key) => {
    // The key may have been taken by a newer value meanwhile: only a dead entry goes.
    if (this.table.get(key)?.deref() === undefined) this.table.delete(key);
  });

  /** The shared value for `key`: the one already there, else `value`, which becomes it. */
  intern(key: string, value: T): T {
    const have = this.table.get(key)?.deref();
    if (have) return have;
    this.table.set(key, new WeakRef(value));
    this.registry.register(value, key);
    return value;
  }

  /** Distinct values held (including ones collected but not yet swept). */
  get size(): number {
    return this.table.size;
  }
}
