// Generated float32 direct convolution (Wasm SIMD128), vectorised along the output's last spatial
// dimension: a block of 4·u outputs lives in u f32x4 accumulators, and every (input channel,
// leading tap, last-dim tap) adds splat(w) · v128.load(x + shifted offset). Outputs whose window
// leaves the input (padding) take a scalar path that skips the missing taps. Geometry comes from
// a descriptor in memory (see DIRECT_CONV_DESC), so one module serves every convolution.

import { type FuncBuilder, ModuleBuilder } from "./encoder.ts";
import { hasRelaxedSimd } from "./sgemm.ts";

/** Tuning of the generated kernel. */
export interface DirectConvConfig {
  /** f32x4 accumulators of the widest block (smaller blocks halve down to 1). */
  u: number;
  /** Unrolling of the tap loop when the window dilation is 1. */
  tu: number;
  /** Multiply-adds as relaxed-SIMD `f32x4.relaxed_madd` (fused where the CPU has FMA). */
  fma?: boolean;
}

/**
 * The configuration used unless another is asked for: 8 vectors (32 outputs) per block, taps
 * unrolled 4×. Measured on x86-64 (Zen 4), 1-D, 101 taps: ≈30 GFLOP/s on Deno 2.9, ≈36 on Bun
 * 1.4, ≈22 on Node 20 per thread; 12 vectors is within a few % on Deno and Bun, slower on Node.
 */
export const DIRECT_CONV_CONFIG: Readonly<DirectConvConfig> = Object.freeze({
  u: 8,
  tu: 4,
  fma: hasRelaxedSimd(),
});

/**
 * Word indices (i32) of the descriptor the kernel reads. Byte pointers and byte strides; the
 * layouts are canonical: x `[N, C, ...Xlead, Xl]`, w `[O, I, ...Klead, Kl]`, y `[N, O, ...Ylead,
 * Yl]`, all contiguous. `lead` points to `[start, count]` per flat leading output index into
 * `pairs`, a list of `[x byte offset, w byte offset]` of the valid leading taps (row-major tap
 * order). Outputs `yA <= y < yB` read only inside the row; the others take the scalar path.
 */
export const DIRECT_CONV_DESC = Object.freeze({
  /** Output features O. */
  O: 0,
  /** Flat size of the leading output dims (1 for 1-D). */
  YL: 1,
  /** Output features per group. */
  Og: 2,
  /** Input features per group. */
  I: 3,
  /** Byte pointer of x. */
  x: 4,
  /** Byte pointer of w. */
  w: 5,
  /** Byte pointer of y. */
  y: 6,
  /** Byte stride of x's batch dim. */
  xN: 7,
  /** Byte stride of x's feature dim. */
  xC: 8,
  /** Byte stride of w's output-feature dim. */
  wO: 9,
  /** Byte stride of w's input-feature dim. */
  wI: 10,
  /** Last output dim length Yl. */
  Yl: 11,
  /** Last input dim length Xl. */
  Xl: 12,
  /** Last kernel dim length Kl (>= 1). */
  Kl: 13,
  /** Last-dim window (rhs) dilation. */
  rd: 14,
  /** Last-dim low padding (may be negative). */
  lo: 15,
  /** Byte pointer of the leading-index table. */
  lead: 16,
  /** Byte pointer of the pair list. */
  pairs: 17,
  /** First output of a row whose whole window is inside the input. */
  yA: 18,
  /** End of the outputs whose whole window is inside the input. */
  yB: 19,
  /** Number of words. */
  size: 20,
});

/**
 * The exported `directConv` function: computes rows `r0 <= r < r1` (flat `(n, o, ylead)`) and
 * last-dim outputs `c0 <= y < c1` of the convolution described at byte `desc`. Every output is
 * `0 + Σ_i Σ_leadTap Σ_t w·x` in that order, in float32, whichever path or split computes it.
 */
export type DirectConvExport = (
  desc: number,
  r0: number,
  r1: number,
  c0: number,
  c1: number,
) => void;

type F = FuncBuilder;

/** `do { body() } while (--get(i) !== 0)` for a counter known to start >= 1. */
function countDown(f: F, i: number, body: () => void): void {
  f.loop((top) => {
    body();
    f.get(i).i32(1).op("i32.sub").tee(i).brIf(top);
  });
}

/** `for (p = start; p !== end; p += 8) body()` over the pair list. */
function forPairs(f: F, p: number, start: number, end: number, body: () => void): void {
  f.get(start).set(p);
  f.block((exit) => {
    f.get(p).get(end).op("i32.eq").brIf(exit);
    f.loop((top) => {
      body();
      f.get(p).i32(8).op("i32.add").tee(p).get(end).op("i32.ne").brIf(top);
    });
  });
}

// parameters shared by the block functions
const [XB, WB, PP, PC, OUT, NI, XC, WI, KL] = [0, 1, 2, 3, 4, 5, 6, 7, 8];

/**
 * vec_u(xb, wb, pp, pc, out, I, xC, wI, Kl, rdBytes, kuBytes): 4·u outputs at `out`, taps all
 * inside. The first kuBytes/4 taps (a multiple of `tu`; 0 unless the window dilation is 1) run
 * unrolled `tu` times, their x offsets being immediates.
 */
function genVec(mb: ModuleBuilder, u: number, tu: number, fma = false): F {
  const f = mb.func(Array(11).fill("i32"), []);
  const [RDB, KU] = [9, 10];
  const acc = Array.from({ length: u }, () => f.local("v128"));
  const s = f.local("v128");
  const [xi, wi, i, p, pEnd, xp, wp, wEnd, wEndU] = Array.from({ length: 9 }, () => f.local("i32"));
  const tap = (k: number) => {
    f.get(wp).mem("v128.load32_splat", 4 * k).set(s);
    for (let j = 0; j < u; j++) {
      if (fma) {
        f.get(s).get(xp).mem("v128.load", 16 * j + 4 * k, 0).get(acc[j]);
        f.op("f32x4.relaxed_madd").set(acc[j]);
      } else {
        f.get(acc[j]).get(s).get(xp).mem("v128.load", 16 * j + 4 * k, 0).op("f32x4.mul");
        f.op("f32x4.add").set(acc[j]);
      }
    }
  };
  // while (wp !== end) { taps; xp += step; wp += 4·count }
  const tapLoop = (end: number, count: number, step: () => void) => {
    f.block((exit) => {
      f.get(wp).get(end).op("i32.eq").brIf(exit);
      f.loop((top) => {
        for (let k = 0; k < count; k++) tap(k);
        step();
        f.get(wp).i32(4 * count).op("i32.add").tee(wp).get(end).op("i32.ne").brIf(top);
      });
    });
  };
  for (const a of acc) f.v128f32(0).set(a);
  f.get(XB).set(xi).get(WB).set(wi).get(NI).set(i);
  f.get(PP).get(PC).i32(3).op("i32.shl").op("i32.add").set(pEnd);
  countDown(f, i, () => {
    forPairs(f, p, PP, pEnd, () => {
      f.get(xi).get(p).mem("i32.load", 0).op("i32.add").set(xp);
      f.get(wi).get(p).mem("i32.load", 4).op("i32.add").tee(wp);
      f.get(KL).i32(2).op("i32.shl").op("i32.add").set(wEnd);
      if (tu > 1) {
        f.get(wp).get(KU).op("i32.add").set(wEndU);
        tapLoop(wEndU, tu, () => f.get(xp).i32(4 * tu).op("i32.add").set(xp));
      }
      tapLoop(wEnd, 1, () => f.get(xp).get(RDB).op("i32.add").set(xp));
    });
    f.get(xi).get(XC).op("i32.add").set(xi).get(wi).get(WI).op("i32.add").set(wi);
  });
  for (let j = 0; j < u; j++) f.get(OUT).get(acc[j]).mem("v128.store", 16 * j, 0);
  return f;
}

/** scalar(xb, wb, pp, pc, out, I, xC, wI, Kl, rd, q0, Xl): one output, missing taps skipped. */
function genScalar(mb: ModuleBuilder): F {
  const f = mb.func(Array(12).fill("i32"), []);
  const [RD, Q0, XL] = [9, 10, 11];
  const acc = f.local("f32");
  const [xi, wi, i, p, pEnd, xr, wp, wEnd, q] = Array.from({ length: 9 }, () => f.local("i32"));
  f.f32(0).set(acc);
  f.get(XB).set(xi).get(WB).set(wi).get(NI).set(i);
  f.get(PP).get(PC).i32(3).op("i32.shl").op("i32.add").set(pEnd);
  countDown(f, i, () => {
    forPairs(f, p, PP, pEnd, () => {
      f.get(xi).get(p).mem("i32.load", 0).op("i32.add").set(xr);
      f.get(wi).get(p).mem("i32.load", 4).op("i32.add").tee(wp);
      f.get(KL).i32(2).op("i32.shl").op("i32.add").set(wEnd);
      f.get(Q0).set(q);
      f.loop((taps) => {
        f.get(q).get(XL).op("i32.lt_u").if(() => {
          f.get(acc).get(wp).mem("f32.load").get(xr).get(q).i32(2).op("i32.shl").op("i32.add")
            .mem("f32.load").op("f32.mul").op("f32.add").set(acc);
        });
        f.get(q).get(RD).op("i32.add").set(q);
        f.get(wp).i32(4).op("i32.add").tee(wp).get(wEnd).op("i32.ne").brIf(taps);
      });
    });
    f.get(xi).get(XC).op("i32.add").set(xi).get(wi).get(WI).op("i32.add").set(wi);
  });
  f.get(OUT).get(acc).mem("f32.store");
  return f;
}

function checkConfig(cfg: DirectConvConfig): void {
  const { u, tu } = cfg;
  if (!(Number.isInteger(u) && u >= 1 && u <= 12 && Number.isInteger(tu) && tu >= 1 && tu <= 16)) {
    throw new RangeError(
      `directConv: config needs integers u in [1, 12] and tu in [1, 16], got u=${u} tu=${tu}`,
    );
  }
}

const [DESC, R0, R1, C0, C1] = [0, 1, 2, 3, 4];

/** The `directConv` function's state: descriptor fields, locals, the kernels it calls. */
interface DirectFn {
  f: FuncBuilder;
  cfg: DirectConvConfig;
  widths: number[];
  vecs: FuncBuilder[];
  scalar: FuncBuilder;
  fld: Record<string, number>;
  r: number;
  n: number;
  rem: number;
  o: number;
  yl: number;
  xbase: number;
  wbase: number;
  row: number;
  pp: number;
  pc: number;
  y: number;
  a: number;
  b: number;
  oyl: number;
  rdB: number;
  ixc: number;
  ku: number;
}

/**
 * Loads the descriptor into locals, then computes the interior [a, b) of the output columns
 * [C0, C1) (outputs whose taps need no bounds tests) and the per-call constants.
 */
function directLocals(
  f: FuncBuilder,
  cfg: DirectConvConfig,
  widths: number[],
  vecs: FuncBuilder[],
  scalar: FuncBuilder,
): DirectFn {
  const D = DIRECT_CONV_DESC;
  const L = () => f.local("i32");
  const fld: Record<string, number> = {};
  for (const k of Object.keys(D) as (keyof typeof D)[]) {
    if (k === "size") continue;
    fld[k] = L();
    f.get(DESC).mem("i32.load", 4 * D[k]).set(fld[k]);
  }
  const [r, n, rem, o, yl, xbase, wbase, row, pp, pc, y, a, b, oyl, rdB, ixc, ku] = Array.from(
    { length: 17 },
    L,
  );
  const clamp = (lo: number, v: number, hi: number) => {
    // max(lo, min(v, hi)) with i32 locals
    f.get(v).get(hi).get(v).get(hi).op("i32.lt_s").op("select").set(y);
    f.get(y).get(lo).get(y).get(lo).op("i32.gt_s").op("select");
  };
  clamp(C0, fld.yA, C1);
  f.set(a);
  clamp(a, fld.yB, C1);
  f.set(b);
  f.get(fld.O).get(fld.YL).op("i32.mul").set(oyl);
  f.get(fld.rd).i32(2).op("i32.shl").set(rdB);
  f.get(fld.I).get(fld.xC).op("i32.mul").set(ixc);
  // ku = rd == 1 ? 4·tu·floor(Kl / tu) : 0 (bytes of taps taken by the unrolled loop)
  f.get(fld.Kl).i32(cfg.tu).op("i32.div_u").i32(4 * cfg.tu).op("i32.mul").i32(0);
  f.get(fld.rd).i32(1).op("i32.eq").op("select").set(ku);
  const locals = { r, n, rem, o, yl, xbase, wbase, row, pp, pc, y, a, b, oyl, rdB, ixc, ku };
  return { f, cfg, widths, vecs, scalar, fld, ...locals };
}

/** Outputs y < end one at a time with the scalar kernel (bounds-tested taps). */
function scalarUpTo(c: DirectFn, end: number): void {
  const { f, fld, y } = c;
  f.block((exit) => {
    f.get(y).get(end).op("i32.ge_s").brIf(exit);
    f.loop((top) => {
      f.get(c.xbase).get(c.wbase).get(c.pp).get(c.pc);
      f.get(c.row).get(y).i32(2).op("i32.shl").op("i32.add");
      f.get(fld.I).get(fld.xC).get(fld.wI).get(fld.Kl);
      f.get(fld.rd).get(y).get(fld.lo).op("i32.sub").get(fld.Xl).call(c.scalar);
      f.get(y).i32(1).op("i32.add").tee(y).get(end).op("i32.lt_s").brIf(top);
    });
  });
}

/** 4·widths[k] outputs from y with the vector kernel k. */
function vecAt(c: DirectFn, k: number): void {
  const { f, fld, y } = c;
  f.get(c.xbase).get(y).get(fld.lo).op("i32.sub").i32(2).op("i32.shl").op("i32.add");
  f.get(c.wbase).get(c.pp).get(c.pc);
  f.get(c.row).get(y).i32(2).op("i32.shl").op("i32.add");
  f.get(fld.I).get(fld.xC).get(fld.wI).get(fld.Kl).get(c.rdB).get(c.ku).call(c.vecs[k]);
}

/** while (y + 4u <= b) { vec_u at y; y += 4u } for u = widths[k]. */
function whileFits(c: DirectFn, k: number): void {
  const { f, y, b } = c;
  const u = c.widths[k];
  f.block((exit) => {
    f.get(y).i32(4 * u).op("i32.add").get(b).op("i32.gt_s").brIf(exit);
    f.loop((top) => {
      vecAt(c, k);
      f.get(y).i32(4 * u).op("i32.add").tee(y).i32(4 * u).op("i32.add").get(b);
      f.op("i32.le_s").brIf(top);
    });
  });
}

/** The interior [y, b) of a row with the vector kernels, widest first. */
function interior(c: DirectFn): void {
  const { f, widths, y, a, b } = c;
  whileFits(c, 0);
  // the rest of the interior (< 4·u outputs): one block of the narrowest width that covers
  // it, ending at b; it may overlap outputs already computed, recomputing them bit for bit
  f.block((done) => {
    f.get(y).get(b).op("i32.ge_s").brIf(done);
    for (let k = widths.length - 1; k >= 0; k--) {
      const u = widths[k];
      f.get(b).get(y).op("i32.sub").i32(4 * u).op("i32.le_s");
      f.get(b).get(a).op("i32.sub").i32(4 * u).op("i32.ge_s").op("i32.and").if(() => {
        f.get(b).i32(4 * u).op("i32.sub").set(y);
        vecAt(c, k);
        f.get(b).set(y).br(done);
      });
    }
    // a short interior: narrower blocks, then the last 4 outputs (overlapping) if it has 4
    for (let k = 1; k < widths.length; k++) whileFits(c, k);
    f.get(y).get(b).op("i32.lt_s").get(b).get(a).op("i32.sub").i32(4).op("i32.ge_s")
      .op("i32.and").if(() => {
        f.get(b).i32(4).op("i32.sub").set(y);
        vecAt(c, widths.length - 1);
        f.get(b).set(y);
      });
  });
}

/**
 * Builds the direct-convolution module bytes: imports `env.memory` (shared iff `shared`) and
 * exports `directConv` (see {@link DirectConvExport} and {@link DIRECT_CONV_DESC}).
 *
 * @example
 * ```ts
 * const bytes = buildDirectConvModule({ shared: false });
 * if (!WebAssembly.validate(bytes)) throw new Error("invalid module");
 * ```
 */
export function buildDirectConvModule(
  opts: { shared: boolean; config?: DirectConvConfig },
): Uint8Array<ArrayBuffer> {
  const cfg = opts.config ?? DIRECT_CONV_CONFIG;
  checkConfig(cfg);
  const mb = new ModuleBuilder().importEnvMemory(opts);
  const widths: number[] = [];
  for (let u = cfg.u; u >= 1; u >>= 1) widths.push(u);
  const vecs = widths.map((u) => genVec(mb, u, cfg.tu, cfg.fma));
  const scalar = genScalar(mb);
  const f = mb.func(Array(5).fill("i32"), [], "directConv");
  const c = directLocals(f, cfg, widths, vecs, scalar);
  const { fld, r, n, rem, o, yl, xbase, wbase, row, pp, pc, y, a } = c;
  f.get(R0).set(r);
  f.block((done) => {
    f.get(r).get(R1).op("i32.ge_s").brIf(done);
    f.loop((rows) => {
      // row r = (n, o, ylead): its input, weight and output bases, its (pairs, count) list
      f.get(r).get(c.oyl).op("i32.div_u").tee(n).get(c.oyl).op("i32.mul").set(rem);
      f.get(r).get(rem).op("i32.sub").tee(rem).get(fld.YL).op("i32.div_u").set(o);
      f.get(rem).get(o).get(fld.YL).op("i32.mul").op("i32.sub").set(yl);
      f.get(fld.x).get(n).get(fld.xN).op("i32.mul").op("i32.add");
      f.get(o).get(fld.Og).op("i32.div_u").get(c.ixc).op("i32.mul").op("i32.add").set(xbase);
      f.get(fld.w).get(o).get(fld.wO).op("i32.mul").op("i32.add").set(wbase);
      f.get(fld.y).get(r).get(fld.Yl).op("i32.mul").i32(2).op("i32.shl").op("i32.add").set(row);
      f.get(fld.lead).get(yl).i32(3).op("i32.shl").op("i32.add").tee(pp).mem("i32.load", 4)
        .set(pc);
      f.get(fld.pairs).get(pp).mem("i32.load", 0).i32(3).op("i32.shl").op("i32.add").set(pp);
      f.get(C0).set(y);
      scalarUpTo(c, a);
      interior(c);
      scalarUpTo(c, C1);
      f.get(r).i32(1).op("i32.add").tee(r).get(R1).op("i32.lt_s").brIf(rows);
    });
  });
  return mb.toBytes();
}

const MODULES = new Map<string, WebAssembly.Module>();
const INSTANCES = new WeakMap<WebAssembly.Memory, Map<string, DirectConvExport>>();

/**
 * The compiled module for a memory kind and configuration (cached; a few KB, compiled
 * synchronously).
 *
 * @example
 * ```ts
 * const mod = directConvModule(false);
 * if (WebAssembly.Module.exports(mod)[0].name !== "directConv") throw new Error("no export");
 * ```
 */
export function directConvModule(
  shared: boolean,
  config: DirectConvConfig = DIRECT_CONV_CONFIG,
): WebAssembly.Module {
  const key = `${shared}:${config.u}:${config.tu}`;
  let mod = MODULES.get(key);
  if (!mod) {
    MODULES.set(key, mod = new WebAssembly.Module(buildDirectConvModule({ shared, config })));
  }
  return mod;
}

/**
 * The `directConv` export instantiated on `mem` (cached per memory and configuration).
 *
 * @example
 * ```ts
 * const fn = directConvFor(new WebAssembly.Memory({ initial: 1 }));
 * if (typeof fn !== "function") throw new Error("no directConv");
 * ```
 */
export function directConvFor(
  mem: WebAssembly.Memory,
  config: DirectConvConfig = DIRECT_CONV_CONFIG,
): DirectConvExport {
  let byCfg = INSTANCES.get(mem);
  if (!byCfg) INSTANCES.set(mem, byCfg = new Map());
  const key = `${config.u}:${config.tu}`;
  let fn = byCfg.get(key);
  if (!fn) {
    const shared = typeof SharedArrayBuffer !== "undefined" &&
      mem.buffer instanceof SharedArrayBuffer;
    const inst = new WebAssembly.Instance(directConvModule(shared, config), {
      env: { memory: mem },
    });
    fn = inst.exports.directConv as DirectConvExport;
    byCfg.set(key, fn);
  }
  return fn;
}
