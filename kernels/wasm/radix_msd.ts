/**
 * Wasm kernels of an MSD-first radix sort of one long row of float32 / int32 bit patterns, in
 * three phases that split over threads: `msdCount` counts the top 11 bits of a chunk, `msdScatter`
 * moves a chunk's values into their top-digit buckets (offsets from the caller, in key order),
 * `msdBuckets` sorts a list of buckets each on its own (a bucket of spread-out values is a few
 * hundred KB at most, so its passes stay in L2): insertion sort below {@link MSD_INSERTION_BELOW}
 * values, three 7-bit LSD passes below {@link MSD_SMALL_BELOW}, else 11 + 10 bits.
 *
 * The values are never mapped to keys: within one top-digit bucket every value has the same
 * sign, so a bucket of negative floats is sorted by the complemented bits (`flip` = -1) and the
 * others by the bits as they are. Finite floats and every int32 order this way; the caller sorts
 * rows holding ±inf or NaN (exponent all ones) another way.
 * @module
 */
import { type FuncBuilder, ModuleBuilder } from "./encoder.ts";
import { bump, loopTo } from "./radix_sort.ts";

/** Buckets shorter than this are insertion-sorted. */
export const MSD_INSERTION_BELOW = 32;
/** Buckets shorter than this (and not insertion-sorted) take three 7-bit passes. */
export const MSD_SMALL_BELOW = 4096;
/** Bytes of one thread's `msdCount` table: four interleaved tables of 2048 i32 counters. */
export const MSD_COUNT_BYTES = 4 * 8192;
/** Bytes of one thread's `msdBuckets` work area: digit tables, then the middle-pass buffer. */
export const MSD_WORK_BYTES = 3072 * 4 + 4 * MSD_SMALL_BELOW;
const TMP = 3072 * 4;

type L = Record<string, number>;

/** Declares the i32 locals `names` of f. */
function locals(f: FuncBuilder, names: string[]): L {
  return Object.fromEntries(names.map((k) => [k, f.local("i32")]));
}

/** Pushes the byte offset of digit (shift, bits) of `v ^ flip` (i32 locals) in its table. */
function digitOffset(f: FuncBuilder, v: number, flip: number, shift: number, bits: number): void {
  f.get(v).get(flip).op("i32.xor");
  if (shift >= 2) f.i32(shift - 2).op("i32.shr_u");
  else f.i32(2 - shift).op("i32.shl");
  f.i32(((1 << bits) - 1) << 2).op("i32.and");
}

/** Sets local `t` to `tbl` + the byte offset of the top 11 bits of local `v` (2048 counters). */
function topSlot(f: FuncBuilder, tbl: number, v: number, t: number): void {
  f.get(tbl).get(v).i32(19).op("i32.shr_u").i32(0x1ffc).op("i32.and").op("i32.add").set(t);
}

/**
 * Emits `body(k)` for each value from local `p` (which advances) to local `end` in order, the value
 * in local `v`: four at a time (k = 0..3 its place in the four), then one by one (k = 0). Uses
 * local `end4`.
 */
function eachIn(f: FuncBuilder, l: L, end: number, body: (k: number) => void): void {
  f.get(end).get(l.p).op("i32.sub").i32(-16).op("i32.and").get(l.p).op("i32.add").set(l.end4);
  loopTo(f, l.p, l.end4, 16, () => {
    for (let k = 0; k < 4; k++) {
      f.get(l.p).mem("i32.load", 4 * k).set(l.v);
      body(k);
    }
  });
  loopTo(f, l.p, end, 4, () => {
    f.get(l.p).mem("i32.load").set(l.v);
    body(0);
  });
}

/** {@link eachIn} over src[0..n) (sets locals p and end). */
function eachValue(f: FuncBuilder, src: number, n: number, l: L, body: (k: number) => void) {
  f.get(src).tee(l.p).get(n).i32(2).op("i32.shl").op("i32.add").set(l.end);
  eachIn(f, l, l.end, body);
}

/**
 * `msdCount(src, n, tbl)`: tbl[v >>> 21] = the number of values v among src[0..n) (tbl: 2048 i32
 * counters; {@link MSD_COUNT_BYTES} bytes of room, the values counted in four tables, then summed).
 */
function genCount(mb: ModuleBuilder): void {
  const f = mb.func(["i32", "i32", "i32"], [], "msdCount");
  const [src, n, tbl] = [0, 1, 2];
  const l = locals(f, ["p", "end", "end4", "v", "t"]);
  f.get(tbl).tee(l.p).i32(MSD_COUNT_BYTES).op("i32.add").set(l.end);
  loopTo(f, l.p, l.end, 16, () => f.get(l.p).i32(0).op("i32x4.splat").mem("v128.store", 0, 0));
  eachValue(f, src, n, l, (k) => {
    topSlot(f, tbl, l.v, l.t);
    bump(f, l.t, 8192 * k);
  });
  f.get(tbl).tee(l.p).i32(8192).op("i32.add").set(l.end);
  loopTo(f, l.p, l.end, 16, () => {
    f.get(l.p).get(l.p).mem("v128.load", 0, 0);
    for (let k = 1; k < 4; k++) f.get(l.p).mem("v128.load", 8192 * k, 0).op("i32x4.add");
    f.mem("v128.store", 0, 0);
  });
}

/**
 * `msdScatter(src, n, tbl)`: for each value v of src[0..n) in order, mem[tbl[v >>> 21]] = v and
 * tbl[v >>> 21] += 4 (the table holds byte addresses).
 */
function genScatter(mb: ModuleBuilder): void {
  const f = mb.func(["i32", "i32", "i32"], [], "msdScatter");
  const [src, n, tbl] = [0, 1, 2];
  const l = locals(f, ["p", "end", "end4", "v", "t", "pos"]);
  eachValue(f, src, n, l, () => {
    topSlot(f, tbl, l.v, l.t);
    f.get(l.t).mem("i32.load").set(l.pos);
    f.get(l.t).get(l.pos).i32(4).op("i32.add").mem("i32.store");
    f.get(l.pos).get(l.v).mem("i32.store");
  });
}

/** Insertion sort of [s, e) by `v ^ flip` as unsigned (locals of `l`). */
function insertion(f: FuncBuilder, l: L): void {
  const { s, e, flip, i, j, v, w, k } = l;
  f.get(s).i32(4).op("i32.add").set(i);
  loopTo(f, i, e, 4, () => {
    f.get(i).mem("i32.load").tee(v).get(flip).op("i32.xor").set(k);
    f.get(i).i32(4).op("i32.sub").set(j);
    f.block((placed) => {
      f.loop((shift) => {
        f.get(j).get(s).op("i32.lt_u").brIf(placed);
        f.get(j).mem("i32.load").tee(w).get(flip).op("i32.xor").get(k).op("i32.le_u").brIf(placed);
        f.get(j).get(w).mem("i32.store", 4);
        f.get(j).i32(4).op("i32.sub").set(j);
        f.br(shift);
      });
    });
    f.get(j).get(v).mem("i32.store", 4);
  });
}

/**
 * LSD passes over the c values in [s, e) by the digits of `plan` ([shift, bits] of `v ^ flip`,
 * tables one after another at `work`): the first pass moves them to `off` (their place in the
 * scratch row), a middle pass to the work area's buffer, the last one back into [s, e).
 */
function lsd(f: FuncBuilder, l: L, work: number, plan: [number, number][]): void {
  const { s, e, c, flip, p, pe, v, t, pos, run, k, off } = l;
  const sizes = plan.map(([, bits]) => 1 << bits);
  const at = sizes.map((_, i) => 4 * sizes.slice(0, i).reduce((x, y) => x + y, 0));
  f.get(work).tee(p).i32(4 * sizes.reduce((x, y) => x + y)).op("i32.add").set(pe);
  loopTo(f, p, pe, 16, () => f.get(p).i32(0).op("i32x4.splat").mem("v128.store", 0, 0));
  f.get(s).set(p);
  eachIn(f, l, e, () => {
    plan.forEach(([shift, bits], i) => {
      f.get(work);
      digitOffset(f, v, flip, shift, bits);
      f.op("i32.add").set(t);
      bump(f, t, at[i]);
    });
  });
  f.get(work).i32(TMP).op("i32.add").set(l.tmp);
  const bufs = plan.length === 2 ? [s, off, s] : [s, off, l.tmp, s];
  plan.forEach(([shift, bits], i) => {
    // exclusive prefix sums: the digit's byte addresses in the pass's destination
    f.get(bufs[i + 1]).set(run);
    f.get(work).i32(at[i]).op("i32.add").tee(p).i32(4 * sizes[i]).op("i32.add").set(pe);
    loopTo(f, p, pe, 4, () => {
      f.get(p).mem("i32.load").set(k);
      f.get(p).get(run).mem("i32.store");
      f.get(run).get(k).i32(2).op("i32.shl").op("i32.add").set(run);
    });
    f.get(bufs[i]).tee(p).get(c).i32(2).op("i32.shl").op("i32.add").set(pe);
    eachIn(f, l, pe, () => {
      f.get(work);
      digitOffset(f, v, flip, shift, bits);
      f.op("i32.add").tee(t).mem("i32.load", at[i]).set(pos);
      f.get(t).get(pos).i32(4).op("i32.add").mem("i32.store", at[i]);
      f.get(pos).get(v).mem("i32.store");
    });
  });
}

/**
 * `msdBuckets(list, count, a, b, work)`: sorts each of `count` buckets, the (s, e, flip) i32
 * triples at `list` (byte addresses of [s, e) in the row at `b`), in place by `v ^ flip` as
 * unsigned; the same places in the row at `a` are scratch, and `work` is
 * {@link MSD_WORK_BYTES} bytes.
 */
function genBuckets(mb: ModuleBuilder): void {
  const f = mb.func(Array(5).fill("i32"), [], "msdBuckets");
  const [list, count, a, b, work] = [0, 1, 2, 3, 4];
  const l = locals(f, [
    ...["s", "e", "c", "flip", "i", "j", "v", "w", "k", "p", "pe", "t", "pos", "run", "off"],
    ...["tmp", "q", "qe", "end4"],
  ]);
  f.get(list).tee(l.q).get(count).i32(12).op("i32.mul").op("i32.add").set(l.qe);
  loopTo(f, l.q, l.qe, 12, () => {
    f.get(l.q).mem("i32.load").set(l.s);
    f.get(l.q).mem("i32.load", 4).set(l.e);
    f.get(l.q).mem("i32.load", 8).set(l.flip);
    f.get(l.e).get(l.s).op("i32.sub").i32(2).op("i32.shr_u").set(l.c);
    f.get(a).get(l.s).get(b).op("i32.sub").op("i32.add").set(l.off);
    f.get(l.c).i32(MSD_INSERTION_BELOW).op("i32.lt_u").if(() => insertion(f, l), () => {
      f.get(l.c).i32(MSD_SMALL_BELOW).op("i32.lt_u").if(
        () => lsd(f, l, work, [[0, 7], [7, 7], [14, 7]]),
        () => lsd(f, l, work, [[0, 11], [11, 10]]),
      );
    });
  });
}

/**
 * The MSD radix module (`msdCount`, `msdScatter`, `msdBuckets`) on an imported memory (shared
 * for the pool). lib/backend/cpu/sort_parallel.ts drives it.
 *
 * @example
 * ```ts
 * const memory = new WebAssembly.Memory({ initial: 2 });
 * const m = new WebAssembly.Instance(new WebAssembly.Module(buildRadixMsdModule({ shared: false })), {
 *   env: { memory },
 * }).exports as Record<string, (...a: number[]) => void>;
 * const vals = new Int32Array(memory.buffer, 64, 4);
 * vals.set([7, -3, 5, 6]);
 * m.msdCount(64, 4, 1024); // counters of the top 11 bits at 1024
 * const counts = new Int32Array(memory.buffer, 1024, 2048);
 * if (counts[0] !== 3 || counts[2047] !== 1) throw new Error("counts");
 * // bucket 2047 (the negative value) first, then bucket 0, scattered into 128..144
 * counts[2047] = 128;
 * counts[0] = 132;
 * m.msdScatter(64, 4, 1024);
 * new Int32Array(memory.buffer, 256, 3).set([132, 144, 0]); // one bucket to sort: [132, 144)
 * m.msdBuckets(256, 1, 40000, 128, 50000); // scratch row at 40000, work area at 50000
 * const got = [...new Int32Array(memory.buffer, 128, 4)];
 * if (got.join() !== "-3,5,6,7") throw new Error(got.join());
 * ```
 */
export function buildRadixMsdModule(opts: { shared: boolean }): Uint8Array<ArrayBuffer> {
  const mb = new ModuleBuilder().importEnvMemory(opts);
  genCount(mb);
  genScatter(mb);
  genBuckets(mb);
  return mb.toBytes();
}
