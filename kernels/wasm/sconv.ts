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

/** packConvB: (kc, nc, pc, j, dst, x, tab, runs, nY, nT, xNBytes, xCBytes) → NR-wide panels. */
function genPackConvB(mb: ModuleBuilder, cfg: SgemmConfig): FuncBuilder {
  const nr = 4 * cfg.nv;
  const f = mb.func(Array(12).fill("i32"), []);
  const [KC, NC, PC, J, DST, X, TAB, RUNS, NY, NT, XN, XC] = Array.from(
    { length: 12 },
    (_, i) => i,
  );
  const L = () => f.local("i32");
  const jp = L(), w = L(), img = L(), y0 = L(), base = L(), full = L(), k = L(), ci = L();
  const t = L(), row = L(), cb = L(), src = L(), q = L(), yy = L(), bb = L(), o = L();
  const tmp = L(), idx = L(), len = L(), d = L(), e = L();
  forUp(f, jp, NC, nr, () => {
    minRemaining(f, nr, NC, jp, tmp);
    f.set(w);
    f.get(J).get(jp).op("i32.add").tee(tmp).get(NY).op("i32.div_u").set(img);
    f.get(tmp).get(img).get(NY).op("i32.mul").op("i32.sub").set(y0);
    f.get(X).get(img).get(XN).op("i32.mul").op("i32.add").set(base);
    f.get(w).i32(nr).op("i32.eq").get(y0).i32(nr).op("i32.add").get(NY).op("i32.le_u")
      .op("i32.and").set(full);
    splitK(f, PC, NT, ci, t);
    f.i32(0).set(k);
    forUp(f, k, KC, 1, () => {
      // row = 4·(t·nY + y0): this tap's entries for the panel's first column
      f.get(t).get(NY).op("i32.mul").get(y0).op("i32.add").i32(2).op("i32.shl").set(row);
      f.get(base).get(ci).get(XC).op("i32.mul").op("i32.add").set(cb);
      f.get(full).if(() => {
        f.get(RUNS).get(row).op("i32.add").mem("i32.load").i32(nr).op("i32.ge_s").set(full);
      });
      f.get(full).if(() => {
        f.get(cb).get(TAB).get(row).op("i32.add").mem("i32.load").i32(2).op("i32.shl")
          .op("i32.add").set(src);
        for (let v = 0; v < cfg.nv; v++) {
          f.get(DST).get(src).mem("v128.load", 16 * v, 0).mem("v128.store", 16 * v, 2);
        }
      }, () => {
        for (let v = 0; v < cfg.nv; v++) f.get(DST).v128f32(0).mem("v128.store", 16 * v, 2);
        // segment by segment: a run of consecutive inputs is copied, a run of padding skipped
        f.i32(0).set(q).get(y0).set(yy).get(cb).set(bb);
        f.block((exit) => {
          f.loop((top) => {
            f.get(q).get(w).op("i32.ge_s").brIf(exit);
            f.get(t).get(NY).op("i32.mul").get(yy).op("i32.add").i32(2).op("i32.shl").set(idx);
            f.get(RUNS).get(idx).op("i32.add").mem("i32.load").set(len);
            f.i32(0).get(len).op("i32.sub").get(len).get(len).i32(0).op("i32.lt_s").op("select")
              .set(len);
            minRemaining(f, { local: len }, w, q, tmp);
            f.set(len);
            f.get(TAB).get(idx).op("i32.add").mem("i32.load").set(o);
            f.get(o).i32(0).op("i32.ge_s").if(() => {
              f.get(bb).get(o).i32(2).op("i32.shl").op("i32.add").set(src);
              f.get(DST).get(q).i32(2).op("i32.shl").op("i32.add").tee(d).get(len).i32(2)
                .op("i32.shl").op("i32.add").set(e);
              f.loop((copy) => {
                f.get(d).get(src).mem("f32.load").mem("f32.store");
                f.get(src).i32(4).op("i32.add").set(src);
                f.get(d).i32(4).op("i32.add").tee(d).get(e).op("i32.ne").brIf(copy);
              });
            });
            f.get(q).get(len).op("i32.add").set(q);
            f.get(yy).get(len).op("i32.add").tee(yy).get(NY).op("i32.eq").if(() => {
              f.i32(0).set(yy).get(bb).get(XN).op("i32.add").set(bb);
            });
            f.br(top);
          });
        });
      });
      // the fast path is re-tested per row (runs differ per tap)
      f.get(w).i32(nr).op("i32.eq").get(y0).i32(nr).op("i32.add").get(NY).op("i32.le_u")
        .op("i32.and").set(full);
      f.get(DST).i32(4 * nr).op("i32.add").set(DST);
      nextK(f, NT, ci, t);
    });
  });
  return f;
}

/**
 * Adds the exported `sconv` function (see {@link SconvExport}) to a module that already holds
 * the micro-kernel `kernel`.
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
export function genSconv(mb: ModuleBuilder, cfg: SgemmConfig, kernel: FuncBuilder): void {
  const packA = genPackConvA(mb, cfg);
  const packB = genPackConvB(mb, cfg);
  const f = mb.func(Array(19).fill("i32"), [], "sconv");
  const [M, N, K, A, WO, WI, TAP, J0, X, TAB, RUNS, NY, NT, XN, XC, C, LDC, ADD, WORK] = Array
    .from({ length: 19 }, (_, i) => i);
  for (const p of [WO, WI, XN, XC, LDC]) f.get(p).i32(2).op("i32.shl").set(p);
  emitBlockedGemm(f, cfg, kernel, { M, N, K, C, LDC, ADD, WORK }, (l) => {
    f.get(l.kc).get(l.nc).get(l.pc).get(J0).get(l.jc).op("i32.add").get(l.bufB).get(X).get(TAB)
      .get(RUNS).get(NY).get(NT).get(XN).get(XC).call(packB);
  }, (l) => {
    f.get(l.mc).get(l.kc).get(l.ic).get(l.pc).get(l.bufA).get(A).get(WO).get(WI).get(TAP)
      .get(NT).call(packA);
  });
}
