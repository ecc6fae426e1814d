// A minimal first-fit allocator over a WebAssembly.Memory, owned by the main thread. Book-keeping
// lives in JS (a sorted free list and a size map), so workers only ever see plain byte offsets.
// Blocks are 64-byte aligned (cache lines, and v128 alignment); the memory grows on demand.

const ALIGN = 64;
const PAGE = 65536;

/** Allocates byte ranges of a Wasm memory; offset 0 is never handed out. */
export class WasmHeap {
  /** The memory whose bytes are handed out. */
  readonly memory: WebAssembly.Memory;
  #free: { ptr: number; size: number }[] = [];
  #used = new Map<number, number>();
  #end: number;

  /** Manages `[base, ∞)` of `memory` (base rounded up to 64 and at least 64). */
  constructor(memory: WebAssembly.Memory, base = ALIGN) {
    this.memory = memory;
    this.#end = Math.max(ALIGN, Math.ceil(base / ALIGN) * ALIGN);
  }

  /** Bytes currently allocated. */
  get allocatedBytes(): number {
    let s = 0;
    for (const v of this.#used.values()) s += v;
    return s;
  }

  /**
   * Returns the byte offset of a fresh 64-byte-aligned block of at least `bytes` bytes,
   * growing the memory when needed (throws RangeError when it cannot).
   *
   * @example
   * ```ts
   * const heap = new WasmHeap(new WebAssembly.Memory({ initial: 1 }));
   * const p = heap.alloc(100);
   * heap.free(p);
   * ```
   */
  alloc(bytes: number): number {
    if (!(bytes >= 0) || !Number.isFinite(bytes)) {
      throw new RangeError(`alloc: size must be a non-negative number, got ${bytes}`);
    }
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    for (let i = 0; i < this.#free.length; i++) {
      const b = this.#free[i];
      if (b.size < size) continue;
      const ptr = b.ptr;
      if (b.size === size) this.#free.splice(i, 1);
      else {
        b.ptr += size;
        b.size -= size;
      }
      this.#used.set(ptr, size);
      return ptr;
    }
    // take from the tail (absorbing a free block that ends at the tail)
    const last = this.#free[this.#free.length - 1];
    let ptr = this.#end;
    if (last && last.ptr + last.size === this.#end) {
      ptr = last.ptr;
      this.#free.pop();
    }
    const end = ptr + size;
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      const pages = Math.max(Math.ceil((end - have) / PAGE), Math.ceil(have / PAGE / 4));
      try {
        this.memory.grow(pages);
      } catch {
        try {
          this.memory.grow(Math.ceil((end - have) / PAGE));
        } catch {
          if (ptr !== this.#end) this.#free.push({ ptr, size: this.#end - ptr });
          throw new RangeError(`alloc: cannot grow the memory to ${end} bytes`);
        }
      }
    }
    this.#end = end;
    this.#used.set(ptr, size);
    return ptr;
  }

  /** Returns a block obtained from `alloc` (RangeError for an unknown offset). */
  free(ptr: number): void {
    const size = this.#used.get(ptr);
    if (size === undefined) throw new RangeError(`free: ${ptr} is not an allocated block`);
    this.#used.delete(ptr);
    const fl = this.#free;
    let i = 0;
    while (i < fl.length && fl[i].ptr < ptr) i++;
    fl.splice(i, 0, { ptr, size });
    // coalesce with the next, then the previous neighbour
    if (i + 1 < fl.length && ptr + size === fl[i + 1].ptr) {
      fl[i].size += fl[i + 1].size;
      fl.splice(i + 1, 1);
    }
    if (i > 0 && fl[i - 1].ptr + fl[i - 1].size === ptr) {
      fl[i - 1].size += fl[i].size;
      fl.splice(i, 1);
    }
  }
}
