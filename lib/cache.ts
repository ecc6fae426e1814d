/**
 * Bounded caches: least-recently-used maps sized in (estimated) bytes, grouped by kind so one
 * setter bounds every cache of a kind, and counters for tests and monitoring.
 * @module
 */

/** The kinds of caches, each with its own byte limit. */
export type CacheKind = "eager" | "kernels" | "jit";

/** Entries and estimated bytes of the caches of one kind, and their limit. */
export interface CacheStats {
  /** Entries held. */
  entries: number;
  /** Estimated bytes held (keys, compiled code, kept scratch buffers, jit constants). */
  bytes: number;
  /** Limit in bytes (per cache for "jit": each jitted function has its own cache). */
  limitBytes: number;
  /** Entries evicted so far. */
  evictions: number;
  /** Caches of this kind alive (each bounded by the limit: one per backend, one per jit). */
  caches: number;
}

const MB = 1 << 20;
const limits: Record<CacheKind, number> = { eager: 32 * MB, kernels: 32 * MB, jit: 16 * MB };
const groups: Record<CacheKind, Set<WeakRef<ByteLru<unknown, unknown>>>> = {
  eager: new Set(),
  kernels: new Set(),
  jit: new Set(),
};
const evicted: Record<CacheKind, number> = { eager: 0, kernels: 0, jit: 0 };

/**
 * A map from keys to values with a byte budget: inserting beyond it evicts the least recently
 * used entries (the most recent one always stays). Sizes are estimates given by `sizeOf` at
 * insertion.
 *
 * @example
 * ```ts
 * import { ByteLru } from "./cache.ts";
 * import assert from "node:assert/strict";
 * const c = new ByteLru<string, string>("kernels", (v) => v.length, 10);
 * c.set("a", "12345");
 * c.set("b", "12345");
 * c.get("a"); // "a" is now the most recently used
 * c.set("c", "12345"); // evicts "b"
 * assert.deepEqual([c.has("a"), c.has("b"), c.has("c")], [true, false, true]);
 * ```
 */
export class ByteLru<K, V> {
  readonly #map = new Map<K, { v: V; bytes: number }>();
  readonly #kind: CacheKind;
  readonly #sizeOf: (v: V, k: K) => number;
  readonly #limit: number | undefined;
  #bytes = 0;
  /** The most recently used entry (the map's last), if known. */
  #mru: { v: V; bytes: number } | undefined;

  /** A cache of `kind`, bounded by that kind's limit unless `limitBytes` is given. */
  constructor(kind: CacheKind, sizeOf: (v: V, k: K) => number, limitBytes?: number) {
    this.#kind = kind;
    this.#sizeOf = sizeOf;
    this.#limit = limitBytes;
    groups[kind].add(new WeakRef(this as ByteLru<unknown, unknown>));
  }

  /** The byte limit in force. */
  get limitBytes(): number {
    return this.#limit ?? limits[this.#kind];
  }
  /** Entries held. */
  get size(): number {
    return this.#map.size;
  }
  /** Estimated bytes held. */
  get bytes(): number {
    return this.#bytes;
  }

  /** True when `k` is cached (does not count as a use). */
  has(k: K): boolean {
    return this.#map.has(k);
  }

  /** The cached value (now the most recently used), or undefined. */
  get(k: K): V | undefined {
    const e = this.#map.get(k);
    if (!e) return undefined;
    // moving an entry to the end costs a delete and an insert: skip it when it is already there
    if (e !== this.#mru) {
      this.#map.delete(k);
      this.#map.set(k, e);
      this.#mru = e;
    }
    return e.v;
  }

  /** Caches `v` under `k`, evicting least recently used entries beyond the limit. */
  set(k: K, v: V): void {
    this.delete(k);
    const bytes = Math.max(0, this.#sizeOf(v, k)) || 0;
    this.#map.set(k, this.#mru = { v, bytes });
    this.#bytes += bytes;
    this.trim();
  }

  /** Removes `k`. */
  delete(k: K): void {
    const e = this.#map.get(k);
    if (!e) return;
    this.#map.delete(k);
    this.#bytes -= e.bytes;
  }

  /** Removes every entry. */
  clear(): void {
    this.#map.clear();
    this.#bytes = 0;
  }

  /**
   * Evicts least recently used entries until the cache fits its limit; the most recent entry
   * always stays (a program larger than the limit is not retraced on every call).
   */
  trim(): void {
    const limit = this.limitBytes;
    for (const k of this.#map.keys()) {
      if (this.#bytes <= limit || this.#map.size <= 1) break;
      this.delete(k);
      evicted[this.#kind]++;
    }
  }
}

function live(kind: CacheKind): ByteLru<unknown, unknown>[] {
  const out: ByteLru<unknown, unknown>[] = [];
  for (const r of groups[kind]) {
    const c = r.deref();
    if (c) out.push(c);
    else groups[kind].delete(r);
  }
  return out;
}

/**
 * Sets the byte limit of a kind of cache and trims the caches of that kind to it: "eager"
 * (compiled eager ops, per backend; default 32 MiB), "kernels" (rendered kernels and WebGPU
 * pipelines; 32 MiB), "jit" (the traces of each jitted function; 16 MiB per function). Sizes are
 * estimates of what an entry keeps alive.
 *
 * @example Keep at most 1 MiB of compiled eager ops
 * ```ts
 * import { cacheStats, np, setCacheLimit } from "../mod.ts";
 * setCacheLimit("eager", 1 << 20);
 * np.exp(np.ones([3]));
 * if (cacheStats().eager.bytes > 1 << 20) throw new Error("setCacheLimit");
 * setCacheLimit("eager", 32 << 20);
 * ```
 */
export function setCacheLimit(kind: CacheKind, bytes: number): void {
  if (!(kind in limits)) {
    throw new RangeError(
      `setCacheLimit: unknown cache kind ${JSON.stringify(kind)} (valid: eager, kernels, jit)`,
    );
  }
  if (typeof bytes !== "number" || !(bytes >= 0)) {
    throw new RangeError(`setCacheLimit: bytes must be a number >= 0, got ${String(bytes)}`);
  }
  limits[kind] = bytes;
  for (const c of live(kind)) c.trim();
}

/**
 * Entries, estimated bytes, limit and evictions of each kind of cache (summed over the caches
 * of a kind that are still alive).
 *
 * @example
 * ```ts
 * import { cacheStats } from "../mod.ts";
 * const s = cacheStats();
 * if (!(s.eager.limitBytes > 0 && s.jit.entries >= 0)) throw new Error("cacheStats");
 * ```
 */
export function cacheStats(): Record<CacheKind, CacheStats> {
  const stat = (kind: CacheKind): CacheStats => {
    let entries = 0, bytes = 0;
    const caches = live(kind);
    for (const c of caches) {
      entries += c.size;
      bytes += c.bytes;
    }
    return {
      entries,
      bytes,
      limitBytes: limits[kind],
      evictions: evicted[kind],
      caches: caches.length,
    };
  };
  return { eager: stat("eager"), kernels: stat("kernels"), jit: stat("jit") };
}
