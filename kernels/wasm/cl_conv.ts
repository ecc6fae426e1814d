// Generated float32 convolution for layouts whose output feature is the minor dim (NHWC / HWIO,
// and the gradient convolutions of them), Wasm SIMD128, vectorised along the output feature:
// a block of P output pixels (P = 1..8) keeps P f32x4 accumulators per 4 features, and every
// (tap, input feature) pair adds splat(x) · v128.load(w). All geometry (blocks, run lists of
// valid taps) is precomputed in memory by the caller (lib/backend/cpu/cl_conv.ts).

import { type FuncBuilder, ModuleBuilder } from "./encoder.ts";
import { hasRelaxedSimd } from "./sgemm.ts";

/** Most output pixels in one block (one f32x4 accumulator each per feature chunk). */
export const CL_CONV_MAX_BLOCK = 8;

/**
 * Word indices of the descriptor `clConv` reads; offsets and steps are in bytes, the tables
 * relative to the descriptor (so they can live anywhere) and x, w, y relative to `data`. A block
 * entry is 6 words: `[P, x base, w base, y base, runs start, runs end]`; a run is 3 words `[x offset,
 * w offset, count >= 1]`: `count` (valid tap, input feature) pairs, the k-th at the offsets plus
 * k times the steps `xS`, `wS`, summed in list order into every output.
 */
export const CL_CONV_DESC = Object.freeze({
  /** Offset of the block entries. */
  entries: 0,
  /** Number of block entries. */
  count: 1,
  /** x byte step from one pixel of a block to the next. */
  xP: 2,
  /** y byte step from one pixel of a block to the next. */
  yP: 3,
  /** Feature chunks of 4 per block (ceil(features per group / 4)). */
  chunks: 4,
  /** Valid lanes of the last chunk (1..4). */
  tail: 5,
  /** x byte step within a run. */
  xS: 6,
  /** w byte step within a run. */
  wS: 7,
  /** Byte pointer of the data (x, w and y offsets are relative to it). */
  data: 8,
  /** Number of words. */
  size: 9,
});

/** Words per block entry. */
export const CL_CONV_ENTRY = 6;

/** The exported `clConv(desc)`: runs every block of the descriptor at byte `desc`. */
export type ClConvExport = (desc: number) => void;

type F = FuncBuilder;
const [XB, WB, YB, PP, PE, XP, YP, OC, TAIL, XS, WS] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

/** Stores accumulator `a` at `addr`: all four lanes, or the first `TAIL` of them. */
function storeLanes(f: F, addr: number, a: number, partial: number): void {
  f.get(partial).if(() => {
    f.get(addr).get(a).lane("f32x4.extract_lane", 0).mem("f32.store");
    for (const l of [1, 2]) {
      f.get(TAIL).i32(l).op("i32.gt_u").if(() => {
        f.get(addr).get(a).lane("f32x4.extract_lane", l).mem("f32.store", 4 * l);
      });
    }
  }, () => f.get(addr).get(a).mem("v128.store", 0, 0));
}

/** blk_P(xb, wb, yb, pp, pe, xP, yP, chunks, tail, xS, wS): one block of P pixels. */
function genBlock(mb: ModuleBuilder, P: number, fma: boolean): F {
  const f = mb.func(Array(11).fill("i32"), []);
  const acc = Array.from({ length: P }, () => f.local("v128"));
  const wv = f.local("v128");
  const xo = Array.from({ length: P }, () => f.local("i32"));
  const [p, xp, wp, k, wc, c, ya, partial] = Array.from({ length: 8 }, () => f.local("i32"));
  for (let j = 1; j < P; j++) f.get(xo[j - 1]).get(XP).op("i32.add").set(xo[j]);
  f.get(WB).set(wc).i32(0).set(c);
  f.loop((chunks) => {
    for (const a of acc) f.v128f32(0).set(a);
    f.get(PP).set(p);
    f.block((exit) => {
      f.get(p).get(PE).op("i32.eq").brIf(exit);
      f.loop((runs) => {
        f.get(XB).get(p).mem("i32.load", 0).op("i32.add").set(xp);
        f.get(wc).get(p).mem("i32.load", 4).op("i32.add").set(wp);
        f.get(p).mem("i32.load", 8).set(k);
        f.loop((pairs) => {
          f.get(wp).mem("v128.load", 0, 0).set(wv);
          for (let j = 0; j < P; j++) {
            const splat = () => {
              f.get(xp);
              if (j > 0) f.get(xo[j]).op("i32.add");
              f.mem("v128.load32_splat");
            };
            if (fma) {
              splat();
              f.get(wv).get(acc[j]).op("f32x4.relaxed_madd").set(acc[j]);
            } else {
              f.get(acc[j]);
              splat();
              f.get(wv).op("f32x4.mul").op("f32x4.add").set(acc[j]);
            }
          }
          f.get(xp).get(XS).op("i32.add").set(xp).get(wp).get(WS).op("i32.add").set(wp);
          f.get(k).i32(1).op("i32.sub").tee(k).brIf(pairs);
        });
        f.get(p).i32(12).op("i32.add").tee(p).get(PE).op("i32.ne").brIf(runs);
      });
    });
    // the last chunk of a group whose feature count is not a multiple of 4 stores only its lanes
    f.get(c).i32(1).op("i32.add").get(OC).op("i32.eq").get(TAIL).i32(4).op("i32.ne")
      .op("i32.and").set(partial);
    f.get(YB).get(wc).op("i32.add").get(WB).op("i32.sub").set(ya);
    for (let j = 0; j < P; j++) {
      if (j > 0) f.get(ya).get(YP).op("i32.add").set(ya);
      storeLanes(f, ya, acc[j], partial);
    }
    f.get(wc).i32(16).op("i32.add").set(wc);
    f.get(c).i32(1).op("i32.add").tee(c).get(OC).op("i32.lt_u").brIf(chunks);
  });
  return f;
}

/**
 * Builds the module bytes: imports `env.memory` (shared iff `shared`) and exports `clConv`
 * (see {@link ClConvExport} and {@link CL_CONV_DESC}).
 *
 * @example
 * ```ts
 * const bytes = buildClConvModule({ shared: false });
 * if (!WebAssembly.validate(bytes)) throw new Error("invalid module");
 * ```
 */
export function buildClConvModule(
  opts: { shared: boolean; fma?: boolean },
): Uint8Array<ArrayBuffer> {
  const fma = opts.fma ?? hasRelaxedSimd();
  const mb = new ModuleBuilder().importEnvMemory(opts);
  const blocks = Array.from({ length: CL_CONV_MAX_BLOCK }, (_, k) => genBlock(mb, k + 1, fma));
  const f = mb.func(["i32"], [], "clConv");
  const D = CL_CONV_DESC;
  const [e, end, xP, yP, oc, tail, xS, wS, n, data] = Array.from(
    { length: 10 },
    () => f.local("i32"),
  );
  f.get(0).mem("i32.load", 4 * D.entries).get(0).op("i32.add").set(e);
  f.get(0).mem("i32.load", 4 * D.data).set(data);
  f.get(0).mem("i32.load", 4 * D.count).i32(4 * CL_CONV_ENTRY).op("i32.mul").get(e)
    .op("i32.add").set(end);
  f.get(0).mem("i32.load", 4 * D.xP).set(xP);
  f.get(0).mem("i32.load", 4 * D.yP).set(yP);
  f.get(0).mem("i32.load", 4 * D.chunks).set(oc);
  f.get(0).mem("i32.load", 4 * D.tail).set(tail);
  f.get(0).mem("i32.load", 4 * D.xS).set(xS);
  f.get(0).mem("i32.load", 4 * D.wS).set(wS);
  f.block((exit) => {
    f.get(e).get(end).op("i32.eq").brIf(exit);
    f.loop((top) => {
      f.get(e).mem("i32.load", 0).set(n);
      for (let k = 0; k < CL_CONV_MAX_BLOCK; k++) {
        f.get(n).i32(k + 1).op("i32.eq").if(() => {
          for (let w = 1; w <= 5; w++) {
            f.get(e).mem("i32.load", 4 * w).get(w <= 3 ? data : 0).op("i32.add");
          }
          f.get(xP).get(yP).get(oc).get(tail).get(xS).get(wS).call(blocks[k]);
        });
      }
      f.get(e).i32(4 * CL_CONV_ENTRY).op("i32.add").tee(e).get(end).op("i32.ne").brIf(top);
    });
  });
  return mb.toBytes();
}

const INSTANCES = new WeakMap<WebAssembly.Memory, ClConvExport>();
const MODULES = new Map<string, WebAssembly.Module>();

/**
 * The `clConv` export instantiated on `mem` (module and instance cached; a few KB, compiled
 * synchronously).
 *
 * @example
 * ```ts
 * const fn = clConvFor(new WebAssembly.Memory({ initial: 1 }));
 * if (typeof fn !== "function") throw new Error("no clConv");
 * ```
 */
export function clConvFor(mem: WebAssembly.Memory, fma = hasRelaxedSimd()): ClConvExport {
  let fn = INSTANCES.get(mem);
  if (fn && fma === hasRelaxedSimd()) return fn;
  const shared = typeof SharedArrayBuffer !== "undefined" &&
    mem.buffer instanceof SharedArrayBuffer;
  const key = `${shared}:${fma}`;
  let mod = MODULES.get(key);
  if (!mod) MODULES.set(key, mod = new WebAssembly.Module(buildClConvModule({ shared, fma })));
  fn = new WebAssembly.Instance(mod, { env: { memory: mem } }).exports.clConv as ClConvExport;
  if (fma === hasRelaxedSimd()) INSTANCES.set(mem, fn);
  return fn;
}
