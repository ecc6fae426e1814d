/**
 * Wasm kernels of the LSD radix sort (11-bit digits) over chunks of 32-bit keys: `radixKeys` maps
 * float32 / int32 bit patterns to order-preserving unsigned keys (SIMD) with the three digit
 * histograms; `radixScatter` moves keys to the byte addresses of an offset table (flipping them
 * back to bit patterns on the last pass), `radixScatterCount` also counts the next digit per chunk.
 * @module
 */
import { type FuncBuilder, ModuleBuilder } from "./encoder.ts";

/** Byte offset of `radixKeys`' 48-byte spill area after the three digit tables. */
const SPILL = 3 * 2048 * 4;
/** Bytes of one thread's histogram / offset table: 3 digits of 2048 i32 counters, then a spill area. */
export const RADIX_HIST_BYTES = SPILL + 64;

/** `mem[addr] += 1` for the i32 counter at `addr` (on the stack) + `offset`. */
export function bump(f: FuncBuilder, addr: number, offset: number): void {
  f.get(addr).get(addr).mem("i32.load", offset).i32(1).op("i32.add").mem("i32.store", offset);
}

/** Counts key `v` in the three digit tables at `hist` (`a` a scratch local). */
function countDigits(f: FuncBuilder, hist: number, v: number, a: number): void {
  f.get(hist).get(v).i32(2).op("i32.shl").i32(0x1ffc).op("i32.and").op("i32.add").set(a);
  bump(f, a, 0);
  f.get(hist).get(v).i32(9).op("i32.shr_u").i32(0x1ffc).op("i32.and").op("i32.add").set(a);
  bump(f, a, 8192);
  f.get(hist).get(v).i32(20).op("i32.shr_u").i32(0xffc).op("i32.and").op("i32.add").set(a);
  bump(f, a, 16384);
}

/** Emits `while (p < end) { body; p += step }` (i32 locals, unsigned compare). */
export function loopTo(
  f: FuncBuilder,
  p: number,
  end: number,
  step: number,
  body: () => void,
): void {
  f.block((done) => {
    f.get(p).get(end).op("i32.ge_u").brIf(done);
    f.loop((next) => {
      body();
      f.get(p).i32(step).op("i32.add").tee(p).get(end).op("i32.lt_u").brIf(next);
    });
  });
}

/**
 * `radixKeys(src, k, n, hist, mode)`: k[i] = key(src[i]) for i < n (k may equal src) and
 * hist[digit·2048 + bucket] += 1 for each of the key's three 11-bit digits. mode: 0 int32
 * (sign flipped), 1 float32 (NaN → one pattern above +inf), 2 float32 with -0 read as 0.
 * Four keys at a time in SIMD, the rest one by one.
 */
function genKeys(mb: ModuleBuilder): void {
  const f = mb.func(["i32", "i32", "i32", "i32", "i32"], [], "radixKeys");
  const [src, k, n, hist, mode] = [0, 1, 2, 3, 4];
  const end = f.local("i32"), v = f.local("i32"), isF = f.local("i32"), tie = f.local("i32");
  const fm = f.local("i32"), a = f.local("i32"), end4 = f.local("i32");
  const x = f.local("v128"), vIsF = f.local("v128"), vTie = f.local("v128"), vFm = f.local("v128");
  const d0 = f.local("v128"), d1 = f.local("v128"), d2 = f.local("v128");
  const splat = (c: number) => f.i32(c).op("i32x4.splat");
  f.get(mode).i32(0).op("i32.ne").set(isF);
  f.get(mode).i32(2).op("i32.eq").set(tie);
  f.i32(0).get(isF).op("i32.sub").tee(fm).op("i32x4.splat").set(vFm); // -1 floats, 0 ints
  f.get(vFm).set(vIsF);
  f.i32(0).get(tie).op("i32.sub").op("i32x4.splat").set(vTie);
  f.get(src).get(n).i32(2).op("i32.shl").op("i32.add").set(end);
  f.get(src).get(n).i32(-4).op("i32.and").i32(2).op("i32.shl").op("i32.add").set(end4);
  loopTo(f, src, end4, 16, () => {
    f.get(src).mem("v128.load", 0, 0).set(x);
    // float NaN (any payload) → 0x7fc00000; -0 → 0 when ties are kept in order
    splat(0x7fc00000).get(x);
    f.get(x).i32(0x7fffffff).op("i32x4.splat").op("v128.and").i32(0x7f800000).op("i32x4.splat")
      .op("i32x4.gt_u").get(vIsF).op("v128.and").op("v128.bitselect").set(x);
    f.get(x).get(x).i32(0x80000000 | 0).op("i32x4.splat").op("i32x4.eq").get(vTie).op("v128.and")
      .op("v128.andnot").set(x);
    // key = x ^ ((x >> 31 & fm) | 0x80000000)
    f.get(x).get(x).i32(31).op("i32x4.shr_s").get(vFm).op("v128.and").i32(0x80000000 | 0)
      .op("i32x4.splat").op("v128.or").op("v128.xor").set(x);
    f.get(k).get(x).mem("v128.store", 0, 0);
    // the digits' table addresses, four keys at a time
    const vh = () => f.get(hist).op("i32x4.splat");
    vh().get(x).i32(2).op("i32x4.shl").i32(0x1ffc).op("i32x4.splat").op("v128.and")
      .op("i32x4.add").set(d0);
    vh().get(x).i32(9).op("i32x4.shr_u").i32(0x1ffc).op("i32x4.splat").op("v128.and")
      .op("i32x4.add").set(d1);
    vh().get(x).i32(20).op("i32x4.shr_u").i32(0xffc).op("i32x4.splat").op("v128.and")
      .op("i32x4.add").set(d2);
    // ... read back one by one through memory (cheaper than lane extracts)
    [d0, d1, d2].forEach((d, q) => f.get(hist).get(d).mem("v128.store", SPILL + 16 * q, 0));
    for (let l = 0; l < 4; l++) {
      for (let q = 0; q < 3; q++) {
        f.get(hist).mem("i32.load", SPILL + 16 * q + 4 * l).set(a);
        bump(f, a, 8192 * q);
      }
    }
    f.get(k).i32(16).op("i32.add").set(k);
  });
  loopTo(f, src, end, 4, () => {
    f.get(src).mem("i32.load").set(v);
    f.i32(0x7fc00000).get(v);
    f.get(v).i32(0x7fffffff).op("i32.and").i32(0x7f800000).op("i32.gt_u").get(isF)
      .op("i32.and").op("select").set(v);
    f.i32(0).get(v);
    f.get(v).i32(0x80000000 | 0).op("i32.eq").get(tie).op("i32.and").op("select").set(v);
    f.get(v).get(v).i32(31).op("i32.shr_s").get(fm).op("i32.and").i32(0x80000000 | 0)
      .op("i32.or").op("i32.xor").set(v);
    f.get(k).get(v).mem("i32.store");
    countDigits(f, hist, v, a);
    f.get(k).i32(4).op("i32.add").set(k);
  });
}

/**
 * Loads the key at `src` into `v` and claims its slot: `pos` = offs[digit] (a byte address), then
 * offs[digit] += 4. The digit's table offset is `rotr(v, rot) & m` (`rot` = shift - 2).
 */
function claimSlot(f: FuncBuilder, src: number, offs: number, rot: number, m: number, l: number[]) {
  const [v, a, pos] = l;
  f.get(src).mem("i32.load").set(v);
  f.get(offs).get(v).get(rot).op("i32.rotr").get(m).op("i32.and").op("i32.add").tee(a)
    .mem("i32.load").set(pos);
  f.get(a).get(pos).i32(4).op("i32.add").mem("i32.store");
}

/** Sets `rot` = shift - 2 and `m`, the byte-offset mask of the digit at `shift` (10 bits at 22). */
function digitShape(f: FuncBuilder, shift: number, rot: number, m: number): void {
  f.get(shift).i32(2).op("i32.sub").set(rot);
  f.i32(0xffc).i32(0x1ffc).get(shift).i32(22).op("i32.ge_u").op("select").set(m);
}

/**
 * `radixScatter(src, n, offs, shift, am, om)`: for each key v of src[0..n) in order, with d its
 * 11-bit digit at `shift`: mem[offs[d]] = v ^ ((~(v >> 31) & am) | om), offs[d] += 4 (the table
 * holds byte addresses). am = om = 0 moves keys, am = -1 / om = 2^31 turns float keys back into
 * bit patterns, am = 0 / om = 2^31 int keys.
 */
function genScatter(mb: ModuleBuilder): void {
  const f = mb.func(Array(6).fill("i32"), [], "radixScatter");
  const [src, n, offs, shift, am, om] = [0, 1, 2, 3, 4, 5];
  const l = [f.local("i32"), f.local("i32"), f.local("i32")], [v, , pos] = l;
  const end = f.local("i32"), rot = f.local("i32"), m = f.local("i32");
  digitShape(f, shift, rot, m);
  f.get(src).get(n).i32(2).op("i32.shl").op("i32.add").set(end);
  f.get(am).get(om).op("i32.or").op("i32.eqz").if(() => {
    loopTo(f, src, end, 4, () => {
      claimSlot(f, src, offs, rot, m, l);
      f.get(pos).get(v).mem("i32.store");
    });
  }, () => {
    loopTo(f, src, end, 4, () => {
      claimSlot(f, src, offs, rot, m, l);
      f.get(pos).get(v).get(v).i32(31).op("i32.shr_s").i32(-1).op("i32.xor").get(am).op("i32.and")
        .get(om).op("i32.or").op("i32.xor").mem("i32.store");
    });
  });
}

/**
 * `radixScatterCount(src, n, offs, shift, nhist, nshift, b1, b2, b3)`: moves keys as
 * `radixScatter` does (unflipped) and counts the next digit (`nshift`) of each key by the chunk it
 * lands in: chunk c = [pos ≥ b1] + [pos ≥ b2] + [pos ≥ b3] (byte addresses; up to 4 chunks),
 * table nhist + c·8192.
 */
function genScatterCount(mb: ModuleBuilder): void {
  const f = mb.func(Array(9).fill("i32"), [], "radixScatterCount");
  const [src, n, offs, shift, nhist, nshift, b1, b2, b3] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const l = [f.local("i32"), f.local("i32"), f.local("i32")], [v, a, pos] = l;
  const end = f.local("i32"), rot = f.local("i32"), m = f.local("i32");
  const nrot = f.local("i32"), nm = f.local("i32");
  digitShape(f, shift, rot, m);
  digitShape(f, nshift, nrot, nm);
  f.get(src).get(n).i32(2).op("i32.shl").op("i32.add").set(end);
  loopTo(f, src, end, 4, () => {
    claimSlot(f, src, offs, rot, m, l);
    f.get(pos).get(v).mem("i32.store");
    // the destination chunk's counter of the next digit
    f.get(pos).get(b1).op("i32.ge_u").get(pos).get(b2).op("i32.ge_u").op("i32.add")
      .get(pos).get(b3).op("i32.ge_u").op("i32.add").i32(13).op("i32.shl").get(nhist)
      .op("i32.add").get(v).get(nrot).op("i32.rotr").get(nm).op("i32.and").op("i32.add").set(a);
    bump(f, a, 0);
  });
}

/**
 * Sets the v128 local `x` to the order-preserving keys of its four 32-bit values,
 * `v ^ ((v >> 31 & m) | 2^31)`, a float NaN (any payload) first made the one pattern above +inf
 * when m is -1; `back`: the inverse, `v ^ ((~(v >> 31) & m) | 2^31)`. `vm`: m in every lane
 * (-1 for float32 values, 0 for int32).
 */
export function vecKey(f: FuncBuilder, x: number, vm: number, back: boolean): void {
  if (!back) {
    f.i32(0x7fc00000).op("i32x4.splat").get(x);
    f.get(x).i32(0x7fffffff).op("i32x4.splat").op("v128.and").i32(0x7f800000).op("i32x4.splat")
      .op("i32x4.gt_u").get(vm).op("v128.and").op("v128.bitselect").set(x);
  }
  f.get(x).get(x).i32(31).op("i32x4.shr_s");
  if (back) f.op("v128.not");
  f.get(vm).op("v128.and").i32(0x80000000 | 0).op("i32x4.splat").op("v128.or").op("v128.xor")
    .set(x);
}

/**
 * {@link vecKey} of the i32 local `v` (`m` an i32 local): sets `v`, or with `push` leaves the
 * result on the stack and `v` unchanged (`back` only).
 */
export function scalarKey(f: FuncBuilder, v: number, m: number, back: boolean, push = false) {
  if (!back) {
    f.i32(0x7fc00000).get(v);
    f.get(v).i32(0x7fffffff).op("i32.and").i32(0x7f800000).op("i32.gt_u").get(m)
      .op("i32.and").op("select").set(v);
  }
  f.get(v).get(v).i32(31).op("i32.shr_s");
  if (back) f.i32(-1).op("i32.xor");
  f.get(m).op("i32.and").i32(0x80000000 | 0).op("i32.or").op("i32.xor");
  if (!push) f.set(v);
}

/**
 * Emits the order-preserving key map ({@link vecKey}) over the 32-bit values in [p, end) in place
 * (p ends at end), or its inverse (`back`). `m` is an i32 local, -1 for float32 values, 0 for
 * int32. Four values at a time in SIMD, then one by one.
 */
export function emitKeyMap(f: FuncBuilder, p: number, end: number, m: number, back: boolean): void {
  const end4 = f.local("i32"), v = f.local("i32"), x = f.local("v128"), vm = f.local("v128");
  f.get(m).op("i32x4.splat").set(vm);
  f.get(end).get(p).op("i32.sub").i32(-16).op("i32.and").get(p).op("i32.add").set(end4);
  loopTo(f, p, end4, 16, () => {
    f.get(p).mem("v128.load", 0, 0).set(x);
    vecKey(f, x, vm, back);
    f.get(p).get(x).mem("v128.store", 0, 0);
  });
  loopTo(f, p, end, 4, () => {
    f.get(p).mem("i32.load").set(v);
    scalarKey(f, v, m, back);
    f.get(p).get(v).mem("i32.store");
  });
}

/**
 * `radixUnflip(p, n, am)`: turns n keys at p back into bit patterns in place (`emitKeyMap`'s
 * inverse; am = -1 for float32 keys, 0 for int32).
 */
function genUnflip(mb: ModuleBuilder): void {
  const f = mb.func(["i32", "i32", "i32"], [], "radixUnflip");
  const [p, n, am] = [0, 1, 2];
  const end = f.local("i32");
  f.get(p).get(n).i32(2).op("i32.shl").op("i32.add").set(end);
  emitKeyMap(f, p, end, am, true);
}

/**
 * The radix module: `radixKeys`, `radixScatter`, `radixScatterCount` and `radixUnflip` on an imported memory
 * (shared for the pool).
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
  const mb = new ModuleBuilder().importEnvMemory(opts);
  genKeys(mb);
  genScatter(mb);
  genScatterCount(mb);
  genUnflip(mb);
  return mb.toBytes();
}
