import type { Random } from '../random.js';

/**
 * A class-balanced reservoir: at most `capacity` items in all, split evenly among the classes seen so
 * far (the earliest classes take the remainder). Within a class, reservoir sampling (Vitter's algorithm
 * R) keeps a uniform random sample of the stream however long it is; when new classes arrive, each old
 * class gives up random items down to its new share. Every choice draws on the `random` given.
 */
export interface Reservoir<T> {
  readonly capacity: number;
  /** Items kept by class, in the order the classes arrived. */
  readonly classes: Map<string, T[]>;
}

export function reservoir<T>(capacity: number): Reservoir<T> {
  return { capacity, classes: new Map() };
}

/** Each class's share of the capacity: ⌊capacity / classes⌋, the first (capacity mod classes) one more. */
export function shares(capacity: number, classes: number): number[] {
  const base = Math.floor(capacity / classes);
  return Array.from({ length: classes }, (_, i) => base + (i < capacity % classes ? 1 : 0));
}

/** Makes room for `incoming` classes (new ones), dropping random items of classes over their new share. */
export function makeRoom<T>(memory: Reservoir<T>, incoming: readonly string[], random: Random): void {
  for (const key of incoming) if (!memory.classes.has(key)) memory.classes.set(key, []);
  const quota = shares(memory.capacity, memory.classes.size);
  [...memory.classes.values()].forEach((items, c) => {
    while (items.length > quota[c]) items.splice(Math.floor(random() * items.length), 1);
  });
}

/**
 * Offers a class's stream of `count` items (made by `make(i)` only when kept) to its share: the first
 * `share` are kept; item i > share replaces a random slot with probability share / (i + 1).
 */
export function offer<T>(
  memory: Reservoir<T>,
  key: string,
  count: number,
  make: (i: number) => T,
  random: Random,
): void {
  const keys = [...memory.classes.keys()];
  const c = keys.indexOf(key);
  if (c < 0) throw new Error(`class '${key}' has no room in the reservoir; call makeRoom first`);
  const share = shares(memory.capacity, keys.length)[c];
  const items = memory.classes.get(key) as T[];
  for (let i = 0; i < count; i++) {
    if (items.length < share) items.push(make(i));
    else {
      // Algorithm R: keep item i with probability share / (i + 1), in a uniformly chosen slot.
      const j = Math.floor(random() * (i + 1));
      if (j < share) items[j] = make(i);
    }
  }
}

/** Every item kept, class after class. */
export function itemsOf<T>(memory: Reservoir<T>): T[] {
  return [...memory.classes.values()].flat();
}
