/**
 * Wasm kernels of the parallel LSD radix sort (11-bit digits), each over one chunk of 32-bit keys:
 * `radixKeys` maps float32 / int32 bit patterns to order-preserving unsigned keys with the three
 * digit histograms; `radixScatter` moves a chunk's keys to their
 * places for one digit (flipping them back to bit patterns on the last pass), `radixScatterCount`
 * also counts the next digit per destination chunk. Branch-free per key.
 * @module
 */
import { type FuncBuilder, ModuleBuilder } from "./encoder.ts";

/** Bytes of one thread's histogram / offset table: 3 digits of 2048 i32 counters. */
export const RADIX_HIST_BYTES = 3 * 2048 * 4;

/** `mem[addr] += 1` for the i32 counter at `addr` (on the stack) + `offset`. */
function bump(f: FuncBuilder, addr: number, offset: number): void {
  f.get(addr).get(addr).mem("i32.load", offset).i32(1).op("i32.add").mem("i32.store", offset);
}

/**
 * `radixKeys(src, k, n, hist, mode)`: k[i] = key(src[i]) for i < n (k may equal src) and
 * hist[digit·2048 + bucket] += 1 for each of the key's three 11-bit digits. mode: 0 int32
 * (sign flipped), 1 float32 (NaN → one pattern above +inf), 2 float32 with -0 read as 0.
 */
function genKeys(mb: ModuleBuilder): void {
  const f = mb.func(["i32", "i32", "i32", "i32", "i32"], [], "radixKeys");
  const [src, k, n, hist, mode] = [0, 1, 2, 3, 4];
  const end = f.local("i32"), v = f.local("i32"), isF = f.local("i32"), tie = f.local("i32");
  const fm = f.local("i32"), a = f.local("i32");
  f.get(mode).i32(0).op("i32.ne").set(isF);
  f.get(mode).i32(2).op("i32.eq").set(tie);
  f.i32(0).get(isF).op("i32.sub").set(fm); // -1 for floats, 0 for ints
  f.get(src).get(n).i32(2).op("i32.shl").op("i32.add").set(end);
  f.block((done) => {
    f.get(src).get(end).op("i32.ge_u").brIf(done);
    f.loop((next) => {
      f.get(src).mem("i32.load").set(v);
      // float NaN (any payload) → 0x7fc00000
      f.i32(0x7fc00000).get(v);
      f.get(v).i32(0x7fffffff).op("i32.and").i32(0x7f800000).op("i32.gt_u").get(isF)
        .op("i32.and").op("select").set(v);
      // -0 → 0 when ties are kept in order
      f.i32(0).get(v);
      f.get(v).i32(0x80000000 | 0).op("i32.eq").get(tie).op("i32.and").op("select").set(v);
      // key = v ^ ((v >> 31 & fm) | 0x80000000)
      f.get(v).get(v).i32(31).op("i32.shr_s").get(fm).op("i32.and").i32(0x80000000 | 0)
        .op("i32.or").op("i32.xor").set(v);
      f.get(k).get(v).mem("i32.store");
      f.get(hist).get(v).i32(2047).op("i32.and").i32(2).op("i32.shl").op("i32.add").set(a);
      bump(f, a, 0);
      f.get(hist).get(v).i32(11).op("i32.shr_u").i32(2047).op("i32.and").i32(2).op("i32.shl")
        .op("i32.add").set(a);
      bump(f, a, 8192);
      f.get(hist).get(v).i32(22).op("i32.shr_u").i32(2).op("i32.shl").op("i32.add").set(a);
      bump(f, a, 16384);
      f.get(k).i32(4).op("i32.add").set(k);
      f.get(src).i32(4).op("i32.add").tee(src).get(end).op("i32.lt_u").brIf(next);
    });
  });
}

/** Loads the key at src into `v` and claims its slot: pos = offs[digit]++ (`a` = &offs[digit]). */
function claimSlot(
  f: FuncBuilder,
  src: number,
  offs: number,
  shift: number,
  v: number,
  a: number,
  pos: number,
): void {
  f.get(src).mem("i32.load").set(v);
  f.get(offs).get(v).get(shift).op("i32.shr_u").i32(2047).op("i32.and").i32(2).op("i32.shl")
    .op("i32.add").tee(a).mem("i32.load").set(pos);
  f.get(a).get(pos).i32(1).op("i32.add").mem("i32.store");
}

/**
 * `radixScatter(src, n, dst, offs, shift, am, om)`: for each key v of src[0..n) in order,
 * dst[offs[(v >>> shift) & 2047]++] = v ^ ((~(v >> 31) & am) | om): am = om = 0 moves keys,
 * am = -1 / om = 2^31 turns float keys back into bit patterns, am = 0 / om = 2^31 int keys.
 */
function genScatter(mb: ModuleBuilder): void {
  const f = mb.func(Array(7).fill("i32"), [], "radixScatter");
  const [src, n, dst, offs, shift, am, om] = [0, 1, 2, 3, 4, 5, 6];
  const end = f.local("i32"), v = f.local("i32"), a = f.local("i32"), pos = f.local("i32");
  f.get(src).get(n).i32(2).op("i32.shl").op("i32.add").set(end);
  f.block((done) => {
    f.get(src).get(end).op("i32.ge_u").brIf(done);
    f.loop((next) => {
      claimSlot(f, src, offs, shift, v, a, pos);
      f.get(dst).get(pos).i32(2).op("i32.shl").op("i32.add");
      f.get(v).get(v).i32(31).op("i32.shr_s").i32(-1).op("i32.xor").get(am).op("i32.and")
        .get(om).op("i32.or").op("i32.xor").mem("i32.store");
      f.get(src).i32(4).op("i32.add").tee(src).get(end).op("i32.lt_u").brIf(next);
    });
  });
}

/**
 * `radixScatterCount(src, n, dst, offs, shift, nhist, nshift, b1, b2, b3)`: moves keys as
 * `radixScatter` does (unflipped) and counts the next digit (`nshift`) of each key by the chunk it
 * lands in: chunk c = [pos ≥ b1] + [pos ≥ b2] + [pos ≥ b3] (up to 4 chunks), table nhist + c·8192.
 */
function genScatterCount(mb: ModuleBuilder): void {
  const f = mb.func(Array(10).fill("i32"), [], "radixScatterCount");
  const [src, n, dst, offs, shift, nhist, nshift, b1, b2, b3] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const end = f.local("i32"), v = f.local("i32"), a = f.local("i32"), pos = f.local("i32");
  f.get(src).get(n).i32(2).op("i32.shl").op("i32.add").set(end);
  f.block((done) => {
    f.get(src).get(end).op("i32.ge_u").brIf(done);
    f.loop((next) => {
      claimSlot(f, src, offs, shift, v, a, pos);
      f.get(dst).get(pos).i32(2).op("i32.shl").op("i32.add").get(v).mem("i32.store");
      // the destination chunk's counter of the next digit
      f.get(pos).get(b1).op("i32.ge_u").get(pos).get(b2).op("i32.ge_u").op("i32.add")
        .get(pos).get(b3).op("i32.ge_u").op("i32.add").i32(13).op("i32.shl").get(nhist)
        .op("i32.add");
      f.get(v).get(nshift).op("i32.shr_u").i32(2047).op("i32.and").i32(2).op("i32.shl")
        .op("i32.add").set(a);
      bump(f, a, 0);
      f.get(src).i32(4).op("i32.add").tee(src).get(end).op("i32.lt_u").brIf(next);
    });
  });
}

/**
 * The radix module: `radixKeys`, `radixScatter` and `radixScatterCount` on an imported memory (shared for the pool).
 *
 * @example
 * ```ts
 * const memory = new WebAssembly.Memory({ initial: 1 });
 * const m = new WebAssembly.Instance(new WebAssembly.Module(buildRadixModule({ shared: false })), {
 *   env: { memory },
 * }).exports as Record<string, (...a: number[]) => void>;
 * new Int32Array(memory.buffer, 0, 2).set([5, -3]);
 * m.radixKeys(0, 0, 2, 1024, 0); // int32 keys at 0, histograms at 1024
 * const k = new Uint32Array(memory.buffer, 0, 2);
 * if (k[0] !== (5 ^ 0x80000000) >>> 0 || k[1] !== (-3 ^ 0x80000000) >>> 0) throw new Error("keys");
 * ```
 */
export function buildRadixModule(opts: { shared: boolean }): Uint8Array<ArrayBuffer> {
  const mb = new ModuleBuilder().importMemory("env", "memory", {
    initial: 1,
    maximum: opts.shared ? 65536 : undefined,
    shared: opts.shared,
  });
  genKeys(mb);
  genScatter(mb);
  genScatterCount(mb);
  return mb.toBytes();
}
