/**
 * The idle-buffer pool of the WebGPU runtime: released buffers by size bucket, reused last in
 * first out; idle memory is capped, and above a floor, buffers idle for long are destroyed.
 * @module
 */
import type { GpuBuffer } from "./gpu_types.ts";

const MIN_BYTES = 16;

/** Pool bucket of a byte size: powers of two up to 64 KiB, then steps of 1/16 of the power. */
export function bucket(bytes: number): number {
  const b = Math.max(MIN_BYTES, bytes);
  const p = 2 ** Math.ceil(Math.log2(b));
  if (p <= 65536) return p;
  const step = p / 16;
  return Math.ceil(b / step) * step;
}

/** Idle buffers for reuse. Times are submit counts (the runtime's epoch). */
export class BufferPool {
  /** Idle memory kept at most; a released buffer beyond it is not pooled (the caller destroys it). */
  limitBytes: number;
  /**
   * Idle memory always kept, however long idle: buffers that wait for the garbage collector come
   * back in bursts and are needed again before the next burst, so destroying them only to create
   * them again makes the native allocator grow (measured on llvmpipe: bench/README.md).
   */
  floorBytes: number;
  /** Submits a pooled buffer may stay idle, above the floor, before it is destroyed. */
  idleSubmits = 64;
  #lists = new Map<number, GpuBuffer[]>();
  #since = new Map<GpuBuffer, number>();
  #count = 0;
  #bytes = 0;

  constructor(limitBytes: number, floorBytes: number) {
    this.limitBytes = limitBytes;
    this.floorBytes = floorBytes;
  }
  /** Buffers idle in the pool. */
  get count(): number {
    return this.#count;
  }
  /** Bytes idle in the pool. */
  get bytes(): number {
    return this.#bytes;
  }
  /** An idle buffer of bucket `size` (the most recently released), or undefined. */
  take(size: number): GpuBuffer | undefined {
    const buf = this.#lists.get(size)?.pop();
    if (buf) {
      this.#count--;
      this.#bytes -= size;
      this.#since.delete(buf);
    }
    return buf;
  }
  /** Pools `buf`, idle since `epoch`; false when the pool is full (the caller destroys it). */
  put(buf: GpuBuffer, epoch: number): boolean {
    const size = buf.size;
    if (this.#bytes + size > this.limitBytes) return false;
    let list = this.#lists.get(size);
    if (!list) this.#lists.set(size, list = []);
    list.push(buf);
    this.#since.set(buf, epoch);
    this.#count++;
    this.#bytes += size;
    return true;
  }
  /** Destroys buffers idle for more than `idleSubmits` at `epoch`, oldest first, down to the floor. */
  trim(epoch: number): void {
    if (this.#bytes <= this.floorBytes) return;
    const old: [GpuBuffer, number][] = [];
    for (const [b, t] of this.#since) if (epoch - t > this.idleSubmits) old.push([b, t]);
    if (!old.length) return;
    old.sort((x, y) => x[1] - y[1]);
    const gone = new Set<GpuBuffer>();
    for (const [b] of old) {
      if (this.#bytes <= this.floorBytes) break;
      gone.add(b);
      this.#since.delete(b);
      this.#bytes -= b.size;
      this.#count--;
      b.destroy();
    }
    for (const [size, list] of this.#lists) {
      const kept = list.filter((b) => !gone.has(b));
      if (kept.length !== list.length) this.#lists.set(size, kept);
    }
  }
  /** Destroys every pooled buffer. */
  clear(): void {
    for (const list of this.#lists.values()) for (const b of list) b.destroy();
    this.#lists.clear();
    this.#since.clear();
    this.#count = 0;
    this.#bytes = 0;
  }
}
