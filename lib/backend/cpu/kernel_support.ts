/**
 * Plumbing shared by the CPU backend's Wasm kernels (convolutions, GEMM): a cache of per-shape
 * plans keyed by the op's params object, and Wasm scratch memory for one call.
 * @module
 */
import type { WorkerPool } from "./pool/pool.ts";

/**
 * Plans (offset tables and the like) of an op, cached by its params object (stable under jit,
 * where one program keeps its params) and a shape key, with a bounded textual fallback for eager
 * calls, which resolve a fresh params object each time.
 *
 * @example
 * ```ts
 * import { PlanCache } from "./kernel_support.ts";
 * const cache = new PlanCache<{ s: number }, number[]>();
 * let made = 0;
 * const make = () => (made++, [1, 2]);
 * cache.get({ s: 1 }, "3x4", make);
 * cache.get({ s: 1 }, "3x4", make); // another params object, same text: cached
 * if (made !== 1) throw new Error("PlanCache");
 * ```
 */
export class PlanCache<P extends object, T> {
  #byParams = new WeakMap<P, Map<string, T>>();
  #byText = new Map<string, T>();
  #maxText: number;

  /** At most `maxText` plans are kept by text (the map is cleared when it is full). */
  constructor(maxText = 256) {
    this.#maxText = maxText;
  }

  /** The plan for `params` and `key`, made by `make` on a miss. */
  get(params: P, key: string, make: () => T): T {
    let m = this.#byParams.get(params);
    if (!m) this.#byParams.set(params, m = new Map());
    let plan = m.get(key);
    if (plan !== undefined) return plan;
    const text = `${key}|${JSON.stringify(params)}`;
    plan = this.#byText.get(text);
    if (plan === undefined) {
      plan = make();
      if (this.#byText.size >= this.#maxText) this.#byText.clear();
      this.#byText.set(text, plan);
    }
    m.set(key, plan);
    return plan;
  }
}

/** Wasm memory for one kernel call: `bytes` bytes at `base` of `memory`. */
export interface Scratch {
  /** The memory: the pool's shared one, or a private one. */
  memory: WebAssembly.Memory;
  /** Byte offset of the block (64-byte aligned). */
  base: number;
  /** Returns the block (to the pool's heap; a private memory is simply reused). */
  release(): void;
}

let privateMemory: WebAssembly.Memory | undefined;

/**
 * A block of `bytes` bytes: from the pool's heap when a pool is given (its workers can then run
 * on it), else at offset 64 of a private memory shared by every call (calls are synchronous and
 * do not nest), grown as needed. Null when the memory cannot grow that far.
 *
 * @example
 * ```ts
 * import { scratchFor } from "./kernel_support.ts";
 * const s = scratchFor(1024, undefined);
 * if (!s || s.memory.buffer.byteLength < s.base + 1024) throw new Error("scratchFor");
 * s.release();
 * ```
 */
export function scratchFor(bytes: number, pool: WorkerPool | undefined): Scratch | null {
  try {
    if (pool) {
      const base = pool.heap.alloc(bytes);
      return { memory: pool.memory, base, release: () => pool.heap.free(base) };
    }
    privateMemory ??= new WebAssembly.Memory({ initial: 16 });
    const have = privateMemory.buffer.byteLength;
    if (64 + bytes > have) privateMemory.grow(Math.ceil((64 + bytes - have) / 65536));
    return { memory: privateMemory, base: 64, release: () => {} };
  } catch {
    return null; // NOTE: the memory cannot grow that far; the caller takes another path
  }
}
