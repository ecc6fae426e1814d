// Pieces of the generated GEMM kernels shared by `sgemm` (strided operands) and `sconv` (implicit
// im2col operands): loop helpers, the register-blocked micro-kernel, the panel packers and the
// Goto/BLIS blocking loop nest with pluggable packing.

import type { FuncBuilder, ModuleBuilder } from "./encoder.ts";
import type { SgemmConfig } from "./sgemm.ts";

/** An i32 operand: a constant, or `{ local }` for the value of a local. */
export type I32 = number | { local: number };

function push(f: FuncBuilder, v: I32): void {
  if (typeof v === "number") f.i32(v);
  else f.get(v.local);
}

/** `while (get(i) < get(end)) { body(); i += step }` with i32 locals. */
export function forUp(f: FuncBuilder, i: number, end: number, step: I32, body: () => void): void {
  f.block((exit) => {
    f.get(i).get(end).op("i32.ge_s").brIf(exit);
    f.loop((top) => {
      body();
      f.get(i);
      push(f, step);
      f.op("i32.add").tee(i).get(end).op("i32.lt_s").brIf(top);
    });
  });
}

/** Pushes min(limit, get(end) - get(at)) with i32 locals (`tmp` is clobbered). */
export function minRemaining(
  f: FuncBuilder,
  limit: I32,
  end: number,
  at: number,
  tmp: number,
): void {
  f.get(end).get(at).op("i32.sub").set(tmp);
  push(f, limit);
  f.get(tmp);
  push(f, limit);
  f.get(tmp).op("i32.lt_s").op("select");
}

/**
 * Micro-kernel: (kc, pa, pb, c, ldcBytes, add, mrEff, nrEff, tile). With `rows` < mr it computes
 * only the first `rows` rows of MR-tall A panels (for the M edge; each element's multiply-add
 * sequence is the same as in the full kernel, so results are identical).
 */
export function genKernel(mb: ModuleBuilder, cfg: SgemmConfig, rows = cfg.mr): FuncBuilder {
  const { mr, nv, unroll } = cfg;
  const nr = 4 * nv;
  const f = mb.func(Array(9).fill("i32"), []);
  const [KC, PA, PB, C, LDC, ADD, MRE, NRE, TILE] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const acc: number[][] = [];
  for (let i = 0; i < rows; i++) acc.push(Array.from({ length: nv }, () => f.local("v128")));
  const bv = Array.from({ length: nv }, () => f.local("v128"));
  const av = f.local("v128");
  const n = f.local("i32"), row = f.local("i32"), i = f.local("i32"), j = f.local("i32");
  const addr = f.local("i32"), t = f.local("f32"), end = f.local("i32");
  for (const r of acc) for (const x of r) f.v128f32(0).set(x);
  const step = (offA: number, offB: number) => {
    for (let v = 0; v < nv; v++) f.get(PB).mem("v128.load", offB + 16 * v, 2).set(bv[v]);
    for (let r = 0; r < rows; r++) {
      f.get(PA).mem("v128.load32_splat", offA + 4 * r).set(av);
      for (let v = 0; v < nv; v++) {
        if (cfg.fma) {
          f.get(av).get(bv[v]).get(acc[r][v]).op("f32x4.relaxed_madd").set(acc[r][v]);
        } else f.get(acc[r][v]).get(av).get(bv[v]).op("f32x4.mul").op("f32x4.add").set(acc[r][v]);
      }
    }
  };
  // k loop in groups of u steps, ending when PB reaches its end pointer
  const kloop = (count: () => void, u: number) => {
    count();
    f.set(n);
    f.block((exit) => {
      f.get(n).op("i32.eqz").brIf(exit);
      f.get(PB).get(n).i32(4 * nr * u).op("i32.mul").op("i32.add").set(end);
      f.loop((top) => {
        for (let k = 0; k < u; k++) step(4 * mr * k, 4 * nr * k);
        f.get(PA).i32(4 * mr * u).op("i32.add").set(PA);
        f.get(PB).i32(4 * nr * u).op("i32.add").tee(PB).get(end).op("i32.ne").brIf(top);
      });
    });
  };
  kloop(() => f.get(KC).i32(Math.log2(unroll)).op("i32.shr_u"), unroll);
  if (unroll > 1) kloop(() => f.get(KC).i32(unroll - 1).op("i32.and"), 1);
  const fullTile = () => {
    const write = (add: boolean) => {
      f.get(C).set(row);
      for (let r = 0; r < rows; r++) {
        for (let v = 0; v < nv; v++) {
          f.get(row);
          if (add) f.get(row).mem("v128.load", 16 * v, 2).get(acc[r][v]).op("f32x4.add");
          else f.get(acc[r][v]);
          f.mem("v128.store", 16 * v, 2);
        }
        if (r < rows - 1) f.get(row).get(LDC).op("i32.add").set(row);
      }
    };
    f.get(ADD).if(() => write(true), () => write(false));
  };
  const edgeTile = () => {
    for (let r = 0; r < rows; r++) {
      for (let v = 0; v < nv; v++) {
        f.get(TILE).get(acc[r][v]).mem("v128.store", 4 * (r * nr + 4 * v));
      }
    }
    f.i32(0).set(i).get(C).set(row);
    forUp(f, i, MRE, 1, () => {
      f.i32(0).set(j);
      forUp(f, j, NRE, 1, () => {
        // C[i,j] = add ? C[i,j] + t : t, with t = tile[i·nr + j] (same order as the SIMD path)
        f.get(row).get(j).i32(2).op("i32.shl").op("i32.add").set(addr);
        f.get(TILE).get(i).i32(nr).op("i32.mul").get(j).op("i32.add").i32(2).op("i32.shl")
          .op("i32.add").mem("f32.load").set(t);
        f.get(ADD).if(
          () => f.get(addr).get(addr).mem("f32.load").get(t).op("f32.add").mem("f32.store"),
          () => f.get(addr).get(t).mem("f32.store"),
        );
      });
      f.get(row).get(LDC).op("i32.add").set(row);
    });
  };
  f.get(MRE).i32(rows).op("i32.eq").get(NRE).i32(nr).op("i32.eq").op("i32.and")
    .if(fullTile, edgeTile);
  return f;
}

/**
 * The micro-kernels for 1 … mr rows (index h − 1 computes h rows), for
 * {@link emitBlockedGemm}: M-edge tiles then do only the rows they need.
 */
export function genKernels(mb: ModuleBuilder, cfg: SgemmConfig): FuncBuilder[] {
  return Array.from({ length: cfg.mr }, (_, h) => genKernel(mb, cfg, h + 1));
}

/** packB: (kc, nc, src, rsBytes, csBytes, dst) → NR-wide panels, each kc·NR floats, zero-padded. */
export function genPackB(mb: ModuleBuilder, cfg: SgemmConfig): FuncBuilder {
  const nr = 4 * cfg.nv;
  const f = mb.func(Array(6).fill("i32"), []);
  const [KC, NC, SRC, RS, CS, DST] = [0, 1, 2, 3, 4, 5];
  const jp = f.local("i32"), w = f.local("i32"), s = f.local("i32"), k = f.local("i32");
  const j = f.local("i32"), tmp = f.local("i32");
  forUp(f, jp, NC, nr, () => {
    minRemaining(f, nr, NC, jp, tmp);
    f.set(w);
    f.get(SRC).get(jp).get(CS).op("i32.mul").op("i32.add").set(s);
    f.i32(0).set(k);
    f.get(w).i32(nr).op("i32.eq").get(CS).i32(4).op("i32.eq").op("i32.and").if(() => {
      forUp(f, k, KC, 1, () => {
        for (let v = 0; v < cfg.nv; v++) {
          f.get(DST).get(s).mem("v128.load", 16 * v, 2).mem("v128.store", 16 * v, 2);
        }
        f.get(s).get(RS).op("i32.add").set(s);
        f.get(DST).i32(4 * nr).op("i32.add").set(DST);
      });
    }, () => {
      forUp(f, k, KC, 1, () => {
        for (let v = 0; v < cfg.nv; v++) f.get(DST).v128f32(0).mem("v128.store", 16 * v, 2);
        f.i32(0).set(j);
        forUp(f, j, w, 1, () => {
          f.get(DST).get(j).i32(2).op("i32.shl").op("i32.add");
          f.get(s).get(j).get(CS).op("i32.mul").op("i32.add").mem("f32.load").mem("f32.store");
        });
        f.get(s).get(RS).op("i32.add").set(s);
        f.get(DST).i32(4 * nr).op("i32.add").set(DST);
      });
    });
  });
  return f;
}

/** packA: (mc, kc, src, rsBytes, csBytes, dst) → MR-tall panels, each kc·MR floats, zero-padded. */
export function genPackA(mb: ModuleBuilder, cfg: SgemmConfig): FuncBuilder {
  const { mr } = cfg;
  const f = mb.func(Array(6).fill("i32"), []);
  const [MC, KC, SRC, RS, CS, DST] = [0, 1, 2, 3, 4, 5];
  const ip = f.local("i32"), h = f.local("i32"), s = f.local("i32"), k = f.local("i32");
  const i = f.local("i32"), t = f.local("i32"), tmp = f.local("i32");
  forUp(f, ip, MC, mr, () => {
    minRemaining(f, mr, MC, ip, tmp);
    f.set(h);
    f.get(SRC).get(ip).get(RS).op("i32.mul").op("i32.add").set(s);
    f.i32(0).set(k);
    f.get(h).i32(mr).op("i32.eq").if(() => {
      forUp(f, k, KC, 1, () => {
        f.get(s).set(t);
        for (let r = 0; r < mr; r++) {
          f.get(DST).get(t).mem("f32.load").mem("f32.store", 4 * r);
          if (r < mr - 1) f.get(t).get(RS).op("i32.add").set(t);
        }
        f.get(s).get(CS).op("i32.add").set(s);
        f.get(DST).i32(4 * mr).op("i32.add").set(DST);
      });
    }, () => {
      forUp(f, k, KC, 1, () => {
        for (let r = 0; r < mr; r++) f.get(DST).f32(0).mem("f32.store", 4 * r);
        f.i32(0).set(i).get(s).set(t);
        forUp(f, i, h, 1, () => {
          f.get(DST).get(i).i32(2).op("i32.shl").op("i32.add").get(t).mem("f32.load")
            .mem("f32.store");
          f.get(t).get(RS).op("i32.add").set(t);
        });
        f.get(s).get(CS).op("i32.add").set(s);
        f.get(DST).i32(4 * mr).op("i32.add").set(DST);
      });
    });
  });
  return f;
}

/** Local indices the blocked loop nest hands to its packing callbacks. */
export interface BlockLocals {
  /** Current N block start and width. */
  jc: number;
  nc: number;
  /** Current K block start and depth. */
  pc: number;
  kc: number;
  /** Current M block start and height. */
  ic: number;
  mc: number;
  /** Packed-panel buffers (byte offsets). */
  bufA: number;
  bufB: number;
}

/**
 * The K blocking for depth K (shared by every engine configuration with the same `kc`, so results
 * do not depend on it): one block up to 1.5·kc (when the buffers allow), else equal blocks of at
 * most kc. The M and N
 * blocks shrink or grow so that the packed blocks keep the configured sizes.
 *
 * @example
 * ```ts
 * const cfg = { mr: 3, nv: 3, kc: 256, mc: 96, nc: 1020, unroll: 8 };
 * if (gemmBlocking(cfg, 288).kc !== 288 || gemmBlocking(cfg, 600).kc !== 200) throw new Error();
 * ```
 */
export function gemmBlocking(cfg: SgemmConfig, K: number): { kc: number; mc: number; nc: number } {
  const nr = 4 * cfg.nv;
  const blocks = K <= singleBlockMax(cfg) ? 1 : Math.ceil(K / cfg.kc);
  const kc = Math.max(1, Math.ceil(K / blocks));
  const mc = Math.max(cfg.mr, Math.floor((cfg.mc * cfg.kc) / kc / cfg.mr) * cfg.mr);
  const nc = Math.max(nr, Math.floor((cfg.nc * cfg.kc) / kc / nr) * nr);
  return { kc, mc, nc };
}

/** The largest K run as one block: 1.5·kc, while an MR×K and a K×NR panel still fit the buffers. */
function singleBlockMax(cfg: SgemmConfig): number {
  const nr = 4 * cfg.nv;
  return Math.max(
    cfg.kc,
    Math.min(
      Math.floor(1.5 * cfg.kc),
      Math.floor((cfg.mc * cfg.kc) / cfg.mr),
      Math.floor((cfg.nc * cfg.kc) / nr),
    ),
  );
}

/** The Wasm form of {@link gemmBlocking}: sets locals KCe, MCe, NCe from get(K). */
function emitBlocking(
  f: FuncBuilder,
  cfg: SgemmConfig,
  K: number,
  KCe: number,
  NCe: number,
  MCe: number,
): void {
  const nr = 4 * cfg.nv;
  const blocks = f.local("i32");
  // blocks = K <= 1.5·kc ? 1 : ceil(K / kc); kc = max(1, ceil(K / blocks))
  f.i32(1).get(K).i32(cfg.kc - 1).op("i32.add").i32(cfg.kc).op("i32.div_u");
  f.get(K).i32(singleBlockMax(cfg)).op("i32.le_s").op("select").set(blocks);
  f.get(K).get(blocks).op("i32.add").i32(1).op("i32.sub").get(blocks).op("i32.div_u").set(KCe);
  f.get(KCe).i32(1).get(KCe).i32(1).op("i32.gt_s").op("select").set(KCe);
  const scaled = (size: number, unit: number, out: number) => {
    f.i32(size * cfg.kc).get(KCe).op("i32.div_u").i32(unit).op("i32.div_u").i32(unit)
      .op("i32.mul").set(out);
    f.get(out).i32(unit).get(out).i32(unit).op("i32.gt_s").op("select").set(out);
  };
  scaled(cfg.mc, cfg.mr, MCe);
  scaled(cfg.nc, nr, NCe);
}

/** Calls kernels[h − 1], h = min(mr, get(rows)), each after `args()` pushes its arguments. */
function callByRows(f: FuncBuilder, kernels: FuncBuilder[], rows: number, args: () => void) {
  const chain = (h: number): void => {
    if (h === 1) {
      args();
      f.call(kernels[0]);
      return;
    }
    f.get(rows).i32(h).op("i32.ge_s").if(() => {
      args();
      f.call(kernels[h - 1]);
    }, () => chain(h - 1));
  };
  chain(kernels.length);
}

/**
 * Emits the Goto/BLIS loop nest into `f`: for each N block (nc), K block (kc): pack B, then for
 * each M block (mc): pack A and run the micro-kernel over MR×NR tiles. `M, N, K, C, LDC (bytes),
 * ADD, WORK` are local indices holding the sizes, C's byte offset and row stride, accumulate flag
 * and the workspace; `packB` / `packA` emit the calls that fill `bufB` / `bufA`. `kernel` may be
 * the per-row-count kernels of {@link genKernels} (M-edge tiles then compute only their rows).
 * With `interleave`, when M fits one M block, A is packed once per K block and B one NR panel at
 * a time right before its tiles (`packB` is then called with `nc` ≤ NR at `bufB`), which keeps
 * the panel in L1 when each packed element is used by few rows. The k-order of every element is
 * the same on all paths.
 */
export function emitBlockedGemm(
  f: FuncBuilder,
  cfg: SgemmConfig,
  kernel: FuncBuilder | FuncBuilder[],
  p: { M: number; N: number; K: number; C: number; LDC: number; ADD: number; WORK: number },
  packB: (l: BlockLocals) => void,
  packA: (l: BlockLocals) => void,
  opts: { interleave?: boolean } = {},
): void {
  const nr = 4 * cfg.nv;
  const L = () => f.local("i32");
  const bufA = L(), bufB = L(), tile = L(), jc = L(), nc = L(), pc = L(), kc = L(), ic = L();
  const mc = L(), jr = L(), ir = L(), add = L(), tmp = L(), nre = L();
  const KCe = L(), NCe = L(), MCe = L(), rows = L(), jcp = L();
  const l: BlockLocals = { jc, nc, pc, kc, ic, mc, bufA, bufB };
  const { M, N, K, C, LDC, ADD, WORK } = p;
  const tileArgs = (panelAtBufB: boolean) => {
    f.get(kc);
    f.get(bufA).get(ir).get(kc).op("i32.mul").i32(2).op("i32.shl").op("i32.add");
    if (panelAtBufB) f.get(bufB);
    else f.get(bufB).get(jr).get(kc).op("i32.mul").i32(2).op("i32.shl").op("i32.add");
    f.get(C).get(ic).get(ir).op("i32.add").get(LDC).op("i32.mul").op("i32.add");
    f.get(jc).get(jr).op("i32.add").i32(2).op("i32.shl").op("i32.add");
    f.get(LDC).get(add);
    minRemaining(f, cfg.mr, mc, ir, tmp);
    f.get(nre).get(tile);
  };
  const tiles = (panelAtBufB: boolean) => {
    f.i32(0).set(ir);
    forUp(f, ir, mc, cfg.mr, () => {
      if (!Array.isArray(kernel)) {
        tileArgs(panelAtBufB);
        f.call(kernel);
      } else {
        f.get(mc).get(ir).op("i32.sub").set(rows);
        callByRows(f, kernel, rows, () => tileArgs(panelAtBufB));
      }
    });
  };
  const blocked = () => {
    packB(l);
    f.i32(0).set(ic);
    forUp(f, ic, M, { local: MCe }, () => {
      minRemaining(f, { local: MCe }, M, ic, tmp);
      f.set(mc);
      packA(l);
      f.i32(0).set(jr);
      forUp(f, jr, nc, nr, () => {
        minRemaining(f, nr, nc, jr, tmp);
        f.set(nre);
        tiles(false);
      });
    });
  };
  // one M block: pack A, then each B panel just before its tiles use it (it stays in L1)
  const interleaved = () => {
    f.i32(0).set(ic).get(M).set(mc);
    packA(l);
    f.i32(0).set(jr);
    forUp(f, jr, nc, nr, () => {
      minRemaining(f, nr, nc, jr, tmp);
      f.set(nre).get(jc).get(jr).op("i32.add").set(jcp);
      packB({ ...l, jc: jcp, nc: nre });
      tiles(true);
    });
  };
  f.get(WORK).i32(63).op("i32.add").i32(-64).op("i32.and").set(bufA);
  f.get(bufA).i32(4 * cfg.mc * cfg.kc).op("i32.add").set(bufB);
  f.get(bufB).i32(4 * cfg.kc * cfg.nc).op("i32.add").set(tile);
  emitBlocking(f, cfg, K, KCe, NCe, MCe);
  // interleaved, B needs no block buffer: one N block, so A is packed once per K block
  if (opts.interleave) {
    f.get(M).get(MCe).op("i32.le_s").if(() => {
      f.get(N).i32(1).get(N).i32(1).op("i32.gt_s").op("select").set(NCe);
    });
  }
  f.i32(0).set(jc);
  forUp(f, jc, N, { local: NCe }, () => {
    minRemaining(f, { local: NCe }, N, jc, tmp);
    f.set(nc).i32(0).set(pc);
    forUp(f, pc, K, { local: KCe }, () => {
      minRemaining(f, { local: KCe }, K, pc, tmp);
      f.set(kc);
      f.get(ADD).get(pc).op("i32.or").i32(0).op("i32.ne").set(add);
      if (opts.interleave) f.get(M).get(MCe).op("i32.le_s").if(interleaved, blocked);
      else blocked();
    });
  });
}
