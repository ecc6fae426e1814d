// Implicit-GEMM convolution: the blocked GEMM of gemm_gen.ts with packers that read the operands
// straight from the convolution's input and kernel, so no im2col matrix is ever materialised.
//
// The GEMM is C[o, j] (+)= Σ_kk A[o, kk] · B[kk, j] with kk = (ci, t) (input channel, kernel
// tap; ci-major, kk = ci·nT + t) and j = (n, y) (image, output position; n-major, j = n·nY + y):
//   A[o, kk] = w[a + o·wO + ci·wI + tapOff[t]]
//   B[kk, j] = tab[t·nY + y] < 0 ? 0 : x[xb + n·xN + ci·xC + tab[t·nY + y]]
// `tab` holds, per (tap, output position), the input's spatial offset or −1 for padding and
// dilation holes; `runs[t·nY + y]` is how many positions from y on read consecutive inputs
// (within one image), or minus how many are padding, which lets the packer copy whole vectors and
// skip padding run by run. The k-order of every element
// (0 + Σ over each kc block, then C +) is the sgemm's, so results match sgemm over an im2col.

import type { FuncBuilder, ModuleBuilder } from "./encoder.ts";
import { emitBlockedGemm, forUp, minRemaining } from "./gemm_gen.ts";
import type { SgemmConfig } from "./sgemm.ts";

/**
 * The exported `sconv` function. All pointers are byte offsets into the imported memory; `wO,
 * wI, xN, xC, ldc` are element strides; `tapOff` and `tab` hold element offsets (Int32, −1 =
 * padding in `tab`), `runs` Int32 counts. Columns `j0 … j0+n−1` of the implicit B are computed
 * into `C[i, j − j0]` at `c + 4·(i·ldc + j − j0)`; `add` = 1 accumulates. `work` as for sgemm.
 * With `counter` ≠ 0 (the byte offset of an Int32 that starts at 0, shared by the threads that
 * run this call) the columns are claimed `chunk` at a time by atomic increments, so threads that
 * run faster take more of them; with `counter` = 0 all n columns are computed. Either way each
 * element is computed in the same order, so results do not depend on who computes what.
 */
export type SconvExport = (
  m: number,
  n: number,
  k: number,
  a: number,
  wO: number,
  wI: number,
  tapOff: number,
  j0: number,
  x: number,
  tab: number,
  runs: number,
  nY: number,
  nT: number,
  xN: number,
  xC: number,
  c: number,
  ldc: number,
  add: number,
  work: number,
  counter: number,
  chunk: number,
) => void;

/** (ci, t) = divmod(get(kk), nT) into locals. */
function splitK(f: FuncBuilder, kk: number, NT: number, ci: number, t: number): void {
  f.get(kk).get(NT).op("i32.div_u").tee(ci).get(NT).op("i32.mul").set(t);
  f.get(kk).get(t).op("i32.sub").set(t);
}

/** t += 1, carrying into ci at nT. */
function nextK(f: FuncBuilder, NT: number, ci: number, t: number): void {
  f.get(t).i32(1).op("i32.add").tee(t).get(NT).op("i32.eq").if(() => {
    f.i32(0).set(t).get(ci).i32(1).op("i32.add").set(ci);
  });
}

/**
 * Copies the floats at `src` to `[d, e)` (byte offsets, e − d ≥ 16) with v128 moves: the last
 * vector ends at e (overlapping the previous one when the length is not a multiple of 4), so
 * nothing outside `[d, e)` is written. Clobbers d and src.
 */
function copyVectors(f: FuncBuilder, d: number, e: number, src: number): void {
  f.get(e).i32(16).op("i32.sub");
  f.get(src).get(e).op("i32.add").get(d).op("i32.sub").i32(16).op("i32.sub");
  f.mem("v128.load", 0, 0).mem("v128.store", 0, 0);
  f.block((exit) => {
    f.loop((top) => {
      f.get(d).i32(16).op("i32.add").get(e).op("i32.ge_u").brIf(exit);
      f.get(d).get(src).mem("v128.load", 0, 0).mem("v128.store", 0, 0);
      f.get(src).i32(16).op("i32.add").set(src);
      f.get(d).i32(16).op("i32.add").set(d);
      f.br(top);
    });
  });
}

/** packConvA: (mc, kc, ic, pc, dst, a, wOBytes, wIBytes, tapOff, nT) → MR-tall panels. */
function genPackConvA(mb: ModuleBuilder, cfg: SgemmConfig): FuncBuilder {
  const { mr } = cfg;
  const f = mb.func(Array(10).fill("i32"), []);
  const [MC, KC, IC, PC, DST, A, WO, WI, TAP, NT] = Array.from({ length: 10 }, (_, i) => i);
  const L = () => f.local("i32");
  const ip = L(), h = L(), k = L(), ci = L(), t = L(), s = L(), r = L(), tmp = L();
  forUp(f, ip, MC, mr, () => {
    minRemaining(f, mr, MC, ip, tmp);
    f.set(h);
    splitK(f, PC, NT, ci, t);
    f.i32(0).set(k);
    forUp(f, k, KC, 1, () => {
      // s = a + (ic + ip)·wO + ci·wI + 4·tapOff[t]
      f.get(A).get(IC).get(ip).op("i32.add").get(WO).op("i32.mul").op("i32.add");
      f.get(ci).get(WI).op("i32.mul").op("i32.add");
      f.get(TAP).get(t).i32(2).op("i32.shl").op("i32.add").mem("i32.load").i32(2).op("i32.shl");
      f.op("i32.add").set(s);
      f.get(h).i32(mr).op("i32.eq").if(() => {
        for (let q = 0; q < mr; q++) {
          f.get(DST).get(s).mem("f32.load").mem("f32.store", 4 * q);
          if (q < mr - 1) f.get(s).get(WO).op("i32.add").set(s);
        }
      }, () => {
        for (let q = 0; q < mr; q++) f.get(DST).f32(0).mem("f32.store", 4 * q);
        f.i32(0).set(r);
        forUp(f, r, h, 1, () => {
          f.get(DST).get(r).i32(2).op("i32.shl").op("i32.add").get(s).mem("f32.load")
            .mem("f32.store");
          f.get(s).get(WO).op("i32.add").set(s);
        });
      });
      f.get(DST).i32(4 * mr).op("i32.add").set(DST);
      nextK(f, NT, ci, t);
    });
  });
  return f;
}

/** packConvB's parameters (params 0-11) and locals. */
interface PackB {
  f: FuncBuilder;
  nv: number;
  nr: number;
  [name: string]: number | FuncBuilder;
  KC: number;
  NC: number;
  PC: number;
  J: number;
  DST: number;
  X: number;
  TAB: number;
  RUNS: number;
  NY: number;
  NT: number;
  XN: number;
  XC: number;
}

/** Declares packConvB's locals (in this order: the module bytes depend on it). */
function packBLocals(f: FuncBuilder, cfg: SgemmConfig): PackB {
  const [KC, NC, PC, J, DST, X, TAB, RUNS, NY, NT, XN, XC] = Array.from(
    { length: 12 },
    (_, i) => i,
  );
  const names = "jp w img y0 base full t row ciLo nci dst0 src0 dstep pan src q yy bb o tmp idx " +
    "len d e c dc sc ci0 t0 ce te u nTaps";
  const locals = Object.fromEntries(names.split(" ").map((n) => [n, f.local("i32")]));
  return {
    f,
    nv: cfg.nv,
    nr: 4 * cfg.nv,
    KC,
    NC,
    PC,
    J,
    DST,
    X,
    TAB,
    RUNS,
    NY,
    NT,
    XN,
    XC,
    ...locals,
  };
}

const n = (p: PackB, name: string): number => p[name] as number;

/** for (c = nci, dc = dst0, sc = s; c > 0; c--, dc += dstep, sc += xC) body() */
function perChannel(p: PackB, s: number, body: () => void): void {
  const f = p.f;
  f.get(n(p, "nci")).set(n(p, "c")).get(n(p, "dst0")).set(n(p, "dc")).get(s).set(n(p, "sc"));
  f.loop((top) => {
    body();
    f.get(n(p, "dc")).get(n(p, "dstep")).op("i32.add").set(n(p, "dc"));
    f.get(n(p, "sc")).get(p.XC).op("i32.add").set(n(p, "sc"));
    f.get(n(p, "c")).i32(1).op("i32.sub").tee(n(p, "c")).brIf(top);
  });
}

/**
 * Run by run from the panel's first column: a run of consecutive inputs calls copy() with q
 * (column), len and o = src = its first input's byte address; padding is skipped.
 */
function segments(p: PackB, start: number, copy: () => void): void {
  const f = p.f,
    [q, yy, bb, t, idx, len] = ["q", "yy", "bb", "t", "idx", "len"].map((x) => n(p, x));
  const [w, o, src, tmp] = ["w", "o", "src", "tmp"].map((x) => n(p, x));
  f.i32(0).set(q).get(n(p, "y0")).set(yy).get(start).set(bb);
  f.block((exit) => {
    f.loop((top) => {
      f.get(q).get(w).op("i32.ge_s").brIf(exit);
      f.get(t).get(p.NY).op("i32.mul").get(yy).op("i32.add").i32(2).op("i32.shl").set(idx);
      f.get(p.RUNS).get(idx).op("i32.add").mem("i32.load").set(len);
      f.i32(0).get(len).op("i32.sub").get(len).get(len).i32(0).op("i32.lt_s").op("select")
        .set(len);
      minRemaining(f, { local: len }, w, q, tmp);
      f.set(len);
      f.get(p.TAB).get(idx).op("i32.add").mem("i32.load").set(o);
      f.get(o).i32(0).op("i32.ge_s").if(() => {
        f.get(bb).get(o).i32(2).op("i32.shl").op("i32.add").tee(o).set(src);
        copy();
      });
      f.get(q).get(len).op("i32.add").set(q);
      f.get(yy).get(len).op("i32.add").tee(yy).get(p.NY).op("i32.eq").if(() => {
        f.i32(0).set(yy).get(bb).get(p.XN).op("i32.add").set(bb);
      });
      f.br(top);
    });
  });
}

/** [dc + 4·q, + 4·len) = the floats at src. */
function copyRun(p: PackB): void {
  const f = p.f, [dc, q, d, len, e, src] = ["dc", "q", "d", "len", "e", "src"].map((x) => n(p, x));
  f.get(dc).get(q).i32(2).op("i32.shl").op("i32.add").tee(d).get(len).i32(2)
    .op("i32.shl").op("i32.add").set(e);
  f.get(len).i32(4).op("i32.ge_s").if(() => copyVectors(f, d, e, src), () => {
    // 1 … 3 floats: a pair as one f64 move (loads and stores keep the bits), then one
    f.get(len).i32(2).op("i32.and").if(() => {
      f.get(d).get(src).mem("f64.load", 0, 2).mem("f64.store", 0, 2);
      f.get(d).i32(8).op("i32.add").set(d).get(src).i32(8).op("i32.add").set(src);
    });
    f.get(len).i32(1).op("i32.and").if(() => {
      f.get(d).get(src).mem("f32.load").mem("f32.store");
    });
  });
}

/** The rows of tap t for channels [ciLo, ciLo + nci): whole vectors, or run by run. */
function packTap(p: PackB): void {
  const f = p.f, nr = p.nr, [t, row, tmp, src] = ["t", "row", "tmp", "src"].map((x) => n(p, x));
  const [dst0, src0, dc, sc] = ["dst0", "src0", "dc", "sc"].map((x) => n(p, x));
  // dst0 = pan + 4·nr·(ciLo·nT + t − pc); src0 = base + ciLo·xC
  f.get(n(p, "pan")).get(n(p, "ciLo")).get(p.NT).op("i32.mul").get(t).op("i32.add").get(p.PC)
    .op("i32.sub").i32(4 * nr).op("i32.mul").op("i32.add").set(dst0);
  f.get(n(p, "base")).get(n(p, "ciLo")).get(p.XC).op("i32.mul").op("i32.add").set(src0);
  f.get(t).get(p.NY).op("i32.mul").get(n(p, "y0")).op("i32.add").i32(2).op("i32.shl").set(row);
  f.i32(0).set(tmp);
  f.get(n(p, "full")).if(() => {
    f.get(p.RUNS).get(row).op("i32.add").mem("i32.load").i32(nr).op("i32.ge_s").set(tmp);
  });
  f.get(tmp).if(() => {
    f.get(src0).get(p.TAB).get(row).op("i32.add").mem("i32.load").i32(2).op("i32.shl")
      .op("i32.add").set(src);
    perChannel(p, src, () => {
      for (let v = 0; v < p.nv; v++) {
        f.get(dc).get(sc).mem("v128.load", 16 * v, 0).mem("v128.store", 16 * v, 2);
      }
    });
  }, () => {
    const zero = () => {
      for (let v = 0; v < p.nv; v++) f.get(dc).v128f32(0).mem("v128.store", 16 * v, 2);
    };
    // few channels (e.g. weight gradients, one channel per K block): channel by channel,
    // each segment by segment; else segment by segment, each for all channels
    f.get(n(p, "nci")).i32(2).op("i32.le_s").if(() => {
      perChannel(p, src0, () => {
        zero();
        segments(p, sc, () => copyRun(p));
      });
    }, () => {
      perChannel(p, src0, zero);
      segments(p, src0, () => perChannel(p, n(p, "o"), () => (f.get(sc).set(src), copyRun(p))));
    });
  });
}

/**
 * packConvB: (kc, nc, pc, j, dst, x, tab, runs, nY, nT, xNBytes, xCBytes) → NR-wide panels.
 * Panel by panel, tap by tap: a tap's offsets and runs are the same for every input channel, so
 * they are read once and its rows kk = ci·nT + t (ci with pc ≤ kk < pc + kc) are written for
 * all channels, at a stride of nT rows.
 */
function genPackConvB(mb: ModuleBuilder, cfg: SgemmConfig): FuncBuilder {
  const f = mb.func(Array(12).fill("i32"), []);
  const p = packBLocals(f, cfg), nr = p.nr;
  const { KC, NC, PC, J, DST, X, NY, NT, XN } = p;
  const [jp, w, img, y0, base, full, t, tmp] = ["jp", "w", "img", "y0", "base", "full", "t", "tmp"]
    .map((x) => n(p, x));
  const [ciLo, nci, ci0, t0, ce, te, u, nTaps, pan] = [
    "ciLo",
    "nci",
    "ci0",
    "t0",
    "ce",
    "te",
    "u",
    "nTaps",
    "pan",
  ].map((x) => n(p, x));
  f.get(NT).i32(4 * nr).op("i32.mul").set(n(p, "dstep"));
  splitK(f, PC, NT, ci0, t0);
  f.get(PC).get(KC).op("i32.add").set(tmp);
  splitK(f, tmp, NT, ce, te);
  f.get(KC).get(NT).get(KC).get(NT).op("i32.lt_s").op("select").set(nTaps);
  f.get(DST).set(pan);
  forUp(f, jp, NC, nr, () => {
    minRemaining(f, nr, NC, jp, tmp);
    f.set(w);
    f.get(J).get(jp).op("i32.add").tee(tmp).get(NY).op("i32.div_u").set(img);
    f.get(tmp).get(img).get(NY).op("i32.mul").op("i32.sub").set(y0);
    f.get(X).get(img).get(XN).op("i32.mul").op("i32.add").set(base);
    f.get(w).i32(nr).op("i32.eq").get(y0).i32(nr).op("i32.add").get(NY).op("i32.le_u")
      .op("i32.and").set(full);
    // the taps of rows pc … pc + kc − 1: min(kc, nT) of them from t0 on, cyclically
    f.get(t0).set(t).i32(0).set(u);
    forUp(f, u, nTaps, 1, () => {
      // channels ci with pc ≤ ci·nT + t < pc + kc: ciLo = ci0 + (t < t0), end = ce + (t < te)
      f.get(ci0).get(t).get(t0).op("i32.lt_u").op("i32.add").set(ciLo);
      f.get(ce).get(t).get(te).op("i32.lt_u").op("i32.add").get(ciLo).op("i32.sub").set(nci);
      f.get(nci).i32(0).op("i32.gt_s").if(() => packTap(p));
      f.get(t).i32(1).op("i32.add").tee(t).get(NT).op("i32.eq").if(() => f.i32(0).set(t));
    });
    f.get(pan).get(KC).i32(4 * nr).op("i32.mul").op("i32.add").set(pan);
  });
  return f;
}

/**
 * Adds the exported `sconv` function (see {@link SconvExport}) to a module that already holds
 * the micro-kernel `kernel` (or the per-row-count kernels of `genKernels`).
 *
 * @example
 * ```ts
 * import { ModuleBuilder } from "./encoder.ts";
 * import { genKernel } from "./gemm_gen.ts";
 * import { SGEMM_CONFIG } from "./sgemm.ts";
 * const mb = new ModuleBuilder().importMemory("env", "memory", { initial: 1 });
 * genSconv(mb, SGEMM_CONFIG, genKernel(mb, SGEMM_CONFIG));
 * if (!WebAssembly.validate(mb.toBytes())) throw new Error("invalid sconv module");
 * ```
 */
export function genSconv(
  mb: ModuleBuilder,
  cfg: SgemmConfig,
  kernel: FuncBuilder | FuncBuilder[],
): void {
  const packA = genPackConvA(mb, cfg);
  const packB = genPackConvB(mb, cfg);
  const f = mb.func(Array(21).fill("i32"), [], "sconv");
  const [M, N, K, A, WO, WI, TAP, J0, X, TAB, RUNS, NY, NT, XN, XC, C, LDC, ADD, WORK, CTR, CH] =
    Array.from({ length: 21 }, (_, i) => i);
  const start = f.local("i32"), nl = f.local("i32"), j0l = f.local("i32"), cl = f.local("i32");
  const done = f.local("i32");
  for (const p of [WO, WI, XN, XC, LDC]) f.get(p).i32(2).op("i32.shl").set(p);
  f.block((exit) => {
    f.loop((top) => {
      // start = counter ? atomic counter++ · chunk : (done ? n : 0), done = 1
      f.get(CTR).if(() => {
        f.get(CTR).i32(1);
        atomicAdd(f);
        f.get(CH).op("i32.mul").set(start);
      }, () => {
        f.get(N).i32(0).get(done).op("select").set(start);
      });
      f.i32(1).set(done);
      f.get(start).get(N).op("i32.ge_s").brIf(exit);
      f.get(CTR).if(() => {
        minRemaining(f, { local: CH }, N, start, nl);
        f.set(nl);
      }, () => f.get(N).set(nl));
      f.get(J0).get(start).op("i32.add").set(j0l);
      f.get(C).get(start).i32(2).op("i32.shl").op("i32.add").set(cl);
      emitBlockedGemm(f, cfg, kernel, { M, N: nl, K, C: cl, LDC, ADD, WORK }, (l) => {
        f.get(l.kc).get(l.nc).get(l.pc).get(j0l).get(l.jc).op("i32.add").get(l.bufB).get(X)
          .get(TAB).get(RUNS).get(NY).get(NT).get(XN).get(XC).call(packB);
      }, (l) => {
        f.get(l.mc).get(l.kc).get(l.ic).get(l.pc).get(l.bufA).get(A).get(WO).get(WI).get(TAP)
          .get(NT).call(packA);
      }, { interleave: true });
      f.br(top);
    });
  });
}

/** `i32.atomic.rmw.add` (threads proposal) at offset 0: (addr, value) → old value. */
function atomicAdd(f: FuncBuilder): void {
  f.mem("i32.atomic.rmw.add");
}
