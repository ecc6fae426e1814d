// Generated float32 GEMM, C[M,N] (+)= A[M,K]·B[K,N], as a Wasm SIMD128 module importing its memory.
// Goto/BLIS-style blocking: B is packed in KC×NC blocks of NR-wide panels, A in MC×KC blocks of
// MR-tall panels, and an MR×NR register-blocked micro-kernel (MR rows × NV f32x4) does the FLOPs.
// Edge tiles are computed with zero-padded panels into a scratch tile and copied out.

import { type FuncBuilder, ModuleBuilder } from "./encoder.ts";

/** Blocking parameters of the generated kernel (NR = 4·nv columns per micro-tile). */
export interface SgemmConfig {
  /** Micro-tile rows. */
  mr: number;
  /** Micro-tile width in f32x4 vectors. */
  nv: number;
  /** K block (depth of packed panels). */
  kc: number;
  /** M block (rows of A packed at once, a multiple of mr). */
  mc: number;
  /** N block (columns of B packed at once, a multiple of 4·nv). */
  nc: number;
  /** Unrolling of the micro-kernel's k loop (a power of two). */
  unroll: number;
}

function v8Major(): number {
  // deno-lint-ignore no-explicit-any
  const g = globalThis as any;
  const v: unknown = g.Deno?.version?.v8 ?? g.process?.versions?.v8;
  return typeof v === "string" ? parseInt(v, 10) : 0;
}

/**
 * Picks the fastest measured configuration for the running engine. Measured on x86-64 (Zen 4):
 * V8 ≥ 12 (Deno 2.9) runs best with 3×12 tiles unrolled 8× (≈37 GFLOP/s), V8 11 (Node 20) and
 * JSC (Bun 1.4) with 2×16 tiles not unrolled (≈43 and ≈37). Every choice keeps kc = 256, and an
 * element's k-order (0 + Σ a·b over each kc block, then C +) does not depend on the tile shape or
 * unrolling, so all configurations give bit-identical results.
 *
 * @example
 * ```ts
 * const cfg = pickSgemmConfig();
 * if (cfg.kc !== 256) throw new Error("unexpected kc");
 * ```
 */
export function pickSgemmConfig(): SgemmConfig {
  // deno-lint-ignore no-explicit-any
  const jsc = typeof (globalThis as any).Bun !== "undefined";
  if (!jsc && v8Major() >= 12) return { mr: 3, nv: 3, kc: 256, mc: 96, nc: 1020, unroll: 8 };
  return { mr: 2, nv: 4, kc: 256, mc: 96, nc: 1024, unroll: 1 };
}

/** The configuration used unless another is asked for (see {@link pickSgemmConfig}). */
export const SGEMM_CONFIG: Readonly<SgemmConfig> = Object.freeze(pickSgemmConfig());

/**
 * The exported `sgemm` function of an instance. Calling convention: pointers (`a`, `b`, `c`,
 * `work`) are byte offsets into the imported memory; strides are in elements (f32 units).
 * `A[i,k]` is at `a + 4·(i·rsA + k·csA)`, `B[k,j]` at `b + 4·(k·rsB + j·csB)`, `C[i,j]` at
 * `c + 4·(i·ldc + j)`. `accumulate` = 0 overwrites C, 1 adds to it. `work` must point to
 * `sgemmWorkspaceBytes()` bytes owned by the calling thread. K = 0 leaves C untouched (the TS
 * wrappers zero it when not accumulating). Nothing is bounds-checked beyond Wasm's own traps.
 */
export type SgemmExport = (
  m: number,
  n: number,
  k: number,
  a: number,
  rsA: number,
  csA: number,
  b: number,
  rsB: number,
  csB: number,
  c: number,
  ldc: number,
  accumulate: number,
  work: number,
) => void;

/**
 * Bytes of per-thread scratch the kernel needs (packed A block, packed B block, one tile).
 *
 * @example
 * ```ts
 * const bytes = sgemmWorkspaceBytes(); // about 1.1 MB for the default configuration
 * if (!(bytes > 1 << 20)) throw new Error("workspace too small");
 * ```
 */
export function sgemmWorkspaceBytes(cfg: SgemmConfig = SGEMM_CONFIG): number {
  const nr = 4 * cfg.nv;
  return 4 * (cfg.mc * cfg.kc + cfg.kc * cfg.nc + cfg.mr * nr) + 64;
}

function checkConfig(cfg: SgemmConfig): void {
  const nr = 4 * cfg.nv;
  const pow2 = (x: number) => x > 0 && (x & (x - 1)) === 0;
  if (cfg.mr < 1 || cfg.nv < 1 || cfg.mc % cfg.mr !== 0 || cfg.nc % nr !== 0 || !pow2(cfg.unroll)) {
    throw new RangeError(`sgemm: invalid configuration ${JSON.stringify(cfg)}`);
  }
}

/** `while (get(i) < get(end)) { body(); i += step }` with i32 locals. */
function forUp(f: FuncBuilder, i: number, end: number, step: number, body: () => void): void {
  f.block((exit) => {
    f.get(i).get(end).op("i32.ge_s").brIf(exit);
    f.loop((top) => {
      body();
      f.get(i).i32(step).op("i32.add").tee(i).get(end).op("i32.lt_s").brIf(top);
    });
  });
}

/** Pushes min(limit, get(end) - get(at)) with i32 locals (`tmp` is clobbered). */
function minRemaining(f: FuncBuilder, limit: number, end: number, at: number, tmp: number): void {
  f.get(end).get(at).op("i32.sub").set(tmp);
  f.i32(limit).get(tmp).i32(limit).get(tmp).op("i32.lt_s").op("select");
}

/** Micro-kernel: (kc, pa, pb, c, ldcBytes, add, mrEff, nrEff, tile). */
function genKernel(mb: ModuleBuilder, cfg: SgemmConfig): FuncBuilder {
  const { mr, nv, unroll } = cfg;
  const nr = 4 * nv;
  const f = mb.func(Array(9).fill("i32"), []);
  const [KC, PA, PB, C, LDC, ADD, MRE, NRE, TILE] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const acc: number[][] = [];
  for (let i = 0; i < mr; i++) acc.push(Array.from({ length: nv }, () => f.local("v128")));
  const bv = Array.from({ length: nv }, () => f.local("v128"));
  const av = f.local("v128");
  const n = f.local("i32"), row = f.local("i32"), i = f.local("i32"), j = f.local("i32");
  const addr = f.local("i32"), t = f.local("f32"), end = f.local("i32");
  for (const r of acc) for (const x of r) f.v128f32(0).set(x);
  const step = (offA: number, offB: number) => {
    for (let v = 0; v < nv; v++) f.get(PB).mem("v128.load", offB + 16 * v, 2).set(bv[v]);
    for (let r = 0; r < mr; r++) {
      f.get(PA).mem("v128.load32_splat", offA + 4 * r).set(av);
      for (let v = 0; v < nv; v++) {
        f.get(acc[r][v]).get(av).get(bv[v]).op("f32x4.mul").op("f32x4.add").set(acc[r][v]);
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
      for (let r = 0; r < mr; r++) {
        for (let v = 0; v < nv; v++) {
          f.get(row);
          if (add) f.get(row).mem("v128.load", 16 * v, 2).get(acc[r][v]).op("f32x4.add");
          else f.get(acc[r][v]);
          f.mem("v128.store", 16 * v, 2);
        }
        if (r < mr - 1) f.get(row).get(LDC).op("i32.add").set(row);
      }
    };
    f.get(ADD).if(() => write(true), () => write(false));
  };
  const edgeTile = () => {
    for (let r = 0; r < mr; r++) {
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
  f.get(MRE).i32(mr).op("i32.eq").get(NRE).i32(nr).op("i32.eq").op("i32.and")
    .if(fullTile, edgeTile);
  return f;
}

/** packB: (kc, nc, src, rsBytes, csBytes, dst) → NR-wide panels, each kc·NR floats, zero-padded. */
function genPackB(mb: ModuleBuilder, cfg: SgemmConfig): FuncBuilder {
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
function genPackA(mb: ModuleBuilder, cfg: SgemmConfig): FuncBuilder {
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

/**
 * Builds the sgemm module bytes. It imports `env.memory` (shared iff `shared`) and exports
 * `sgemm` (see {@link SgemmExport} for the calling convention).
 *
 * @example
 * ```ts
 * const bytes = buildSgemmModule({ shared: false });
 * if (!WebAssembly.validate(bytes)) throw new Error("invalid module");
 * ```
 */
export function buildSgemmModule(
  opts: { shared: boolean; config?: SgemmConfig },
): Uint8Array<ArrayBuffer> {
  const cfg = opts.config ?? SGEMM_CONFIG;
  checkConfig(cfg);
  const nr = 4 * cfg.nv;
  const mb = new ModuleBuilder().importMemory("env", "memory", {
    initial: 1,
    maximum: opts.shared ? 65536 : undefined,
    shared: opts.shared,
  });
  const kernel = genKernel(mb, cfg);
  const packB = genPackB(mb, cfg);
  const packA = genPackA(mb, cfg);
  const f = mb.func(Array(13).fill("i32"), [], "sgemm");
  const [M, N, K, A, RSA, CSA, B, RSB, CSB, C, LDC, ADD, WORK] = [
    0,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    10,
    11,
    12,
  ];
  const L = () => f.local("i32");
  const bufA = L(), bufB = L(), tile = L(), jc = L(), nc = L(), pc = L(), kc = L(), ic = L();
  const mc = L(), jr = L(), ir = L(), add = L(), tmp = L(), nre = L(), ldcB = L();
  for (const p of [RSA, CSA, RSB, CSB]) f.get(p).i32(2).op("i32.shl").set(p);
  f.get(LDC).i32(2).op("i32.shl").set(ldcB);
  f.get(WORK).i32(63).op("i32.add").i32(-64).op("i32.and").set(bufA);
  f.get(bufA).i32(4 * cfg.mc * cfg.kc).op("i32.add").set(bufB);
  f.get(bufB).i32(4 * cfg.kc * cfg.nc).op("i32.add").set(tile);
  forUp(f, jc, N, cfg.nc, () => {
    minRemaining(f, cfg.nc, N, jc, tmp);
    f.set(nc).i32(0).set(pc);
    forUp(f, pc, K, cfg.kc, () => {
      minRemaining(f, cfg.kc, K, pc, tmp);
      f.set(kc);
      f.get(kc).get(nc).get(B).get(pc).get(RSB).op("i32.mul").op("i32.add").get(jc).get(CSB)
        .op("i32.mul").op("i32.add").get(RSB).get(CSB).get(bufB).call(packB);
      f.get(ADD).get(pc).op("i32.or").i32(0).op("i32.ne").set(add);
      f.i32(0).set(ic);
      forUp(f, ic, M, cfg.mc, () => {
        minRemaining(f, cfg.mc, M, ic, tmp);
        f.set(mc);
        f.get(mc).get(kc).get(A).get(ic).get(RSA).op("i32.mul").op("i32.add").get(pc).get(CSA)
          .op("i32.mul").op("i32.add").get(RSA).get(CSA).get(bufA).call(packA);
        f.i32(0).set(jr);
        forUp(f, jr, nc, nr, () => {
          minRemaining(f, nr, nc, jr, tmp);
          f.set(nre).i32(0).set(ir);
          forUp(f, ir, mc, cfg.mr, () => {
            f.get(kc);
            f.get(bufA).get(ir).get(kc).op("i32.mul").i32(2).op("i32.shl").op("i32.add");
            f.get(bufB).get(jr).get(kc).op("i32.mul").i32(2).op("i32.shl").op("i32.add");
            f.get(C).get(ic).get(ir).op("i32.add").get(ldcB).op("i32.mul").op("i32.add");
            f.get(jc).get(jr).op("i32.add").i32(2).op("i32.shl").op("i32.add");
            f.get(ldcB).get(add);
            minRemaining(f, cfg.mr, mc, ir, tmp);
            f.get(nre).get(tile).call(kernel);
          });
        });
      });
    });
  });
  return mb.toBytes();
}

const MODULES = new Map<string, WebAssembly.Module>();
const INSTANCES = new WeakMap<WebAssembly.Memory, Map<string, SgemmExport>>();

/** Whether a memory is shared (its buffer is a SharedArrayBuffer). */
function isShared(mem: WebAssembly.Memory): boolean {
  return typeof SharedArrayBuffer !== "undefined" && mem.buffer instanceof SharedArrayBuffer;
}

/**
 * The compiled sgemm module for a memory kind (cached). Compilation is synchronous; the module is
 * small (a few KB), which even browsers allow on the main thread.
 *
 * @example
 * ```ts
 * const mod = sgemmModule(false);
 * if (WebAssembly.Module.exports(mod)[0].name !== "sgemm") throw new Error("no sgemm export");
 * ```
 */
export function sgemmModule(
  shared: boolean,
  config: SgemmConfig = SGEMM_CONFIG,
): WebAssembly.Module {
  const key = `${shared}:${JSON.stringify(config)}`;
  let mod = MODULES.get(key);
  if (!mod) {
    mod = new WebAssembly.Module(buildSgemmModule({ shared, config }));
    MODULES.set(key, mod);
  }
  return mod;
}

/**
 * The `sgemm` export instantiated on `mem` (instances are cached per memory and configuration).
 *
 * @example
 * ```ts
 * const mem = new WebAssembly.Memory({ initial: 32 });
 * const sgemm = sgemmFor(mem);
 * if (typeof sgemm !== "function") throw new Error("no sgemm");
 * ```
 */
export function sgemmFor(mem: WebAssembly.Memory, config: SgemmConfig = SGEMM_CONFIG): SgemmExport {
  let byCfg = INSTANCES.get(mem);
  if (!byCfg) INSTANCES.set(mem, byCfg = new Map());
  const key = JSON.stringify(config);
  let fn = byCfg.get(key);
  if (!fn) {
    const inst = new WebAssembly.Instance(sgemmModule(isShared(mem), config), {
      env: { memory: mem },
    });
    fn = inst.exports.sgemm as SgemmExport;
    byCfg.set(key, fn);
  }
  return fn;
}

/** Arguments of {@link sgemmInto}: byte offsets into the memory and strides in elements. */
export interface SgemmArgs {
  /** Rows of A and C. */
  m: number;
  /** Columns of B and C. */
  n: number;
  /** Columns of A, rows of B. */
  k: number;
  /** Byte offset of A[0,0]. */
  a: number;
  /** Element stride between rows of A (lda for row-major A). */
  rsA: number;
  /** Element stride between columns of A (1 for row-major, lda for a transposed view). */
  csA: number;
  /** Byte offset of B[0,0]. */
  b: number;
  /** Element stride between rows of B. */
  rsB: number;
  /** Element stride between columns of B. */
  csB: number;
  /** Byte offset of C[0,0]; C is row-major with row stride `ldc` elements. */
  c: number;
  /** Element stride between rows of C. */
  ldc: number;
  /** Add into C instead of overwriting it. */
  accumulate: boolean;
  /** Byte offset of `sgemmWorkspaceBytes()` bytes of scratch private to this call. */
  work: number;
}

/**
 * C[m,n] (+)= A[m,k]·B[k,n] on operands living in `mem` (any strided sub-blocks).
 *
 * @example
 * ```ts
 * const mem = new WebAssembly.Memory({ initial: 32 });
 * const f = new Float32Array(mem.buffer);
 * f.set([1, 2, 3, 4], 0); // A 2×2 at byte 0
 * f.set([5, 6, 7, 8], 4); // B 2×2 at byte 16
 * sgemmInto(mem, { m: 2, n: 2, k: 2, a: 0, rsA: 2, csA: 1, b: 16, rsB: 2, csB: 1, c: 32, ldc: 2,
 *   accumulate: false, work: 64 });
 * if (f.subarray(8, 12).join() !== "19,22,43,50") throw new Error("bad product");
 * ```
 */
export function sgemmInto(mem: WebAssembly.Memory, args: SgemmArgs, config?: SgemmConfig): void {
  const { m, n, k } = args;
  if (!(m >= 0 && n >= 0 && k >= 0) || !Number.isInteger(m + n + k)) {
    throw new RangeError(
      `sgemmInto: sizes must be non-negative integers, got m=${m} n=${n} k=${k}`,
    );
  }
  if (m === 0 || n === 0) return;
  if (k === 0) {
    if (!args.accumulate) {
      const f32 = new Float32Array(mem.buffer);
      for (let i = 0; i < m; i++) {
        f32.fill(0, args.c / 4 + i * args.ldc, args.c / 4 + i * args.ldc + n);
      }
    }
    return;
  }
  sgemmFor(mem, config)(
    m,
    n,
    k,
    args.a,
    args.rsA,
    args.csA,
    args.b,
    args.rsB,
    args.csB,
    args.c,
    args.ldc,
    args.accumulate ? 1 : 0,
    args.work,
  );
}

let scratch: WebAssembly.Memory | undefined;

/** Grows `mem` so that it holds at least `bytes` bytes. */
export function ensureMemoryBytes(mem: WebAssembly.Memory, bytes: number): void {
  const have = mem.buffer.byteLength;
  if (bytes > have) mem.grow(Math.ceil((bytes - have) / 65536));
}

/**
 * Row-major float32 matrix product `a[M,K] · b[K,N]` in a new array (copies through a private,
 * non-shared Wasm memory; single-threaded).
 *
 * @example
 * ```ts
 * const c = matmulF32(new Float32Array([1, 2, 3, 4]), new Float32Array([5, 6, 7, 8]), 2, 2, 2);
 * if (c.join() !== "19,22,43,50") throw new Error("bad product");
 * ```
 */
export function matmulF32(
  a: Float32Array,
  b: Float32Array,
  M: number,
  K: number,
  N: number,
): Float32Array {
  if (a.length !== M * K || b.length !== K * N) {
    throw new TypeError(
      `matmulF32: expected a of length ${M * K} and b of length ${
        K * N
      }, got ${a.length} and ${b.length}`,
    );
  }
  const align = (x: number) => Math.ceil(x / 64) * 64;
  const pa = 0, pb = align(4 * M * K), pc = pb + align(4 * K * N), work = pc + align(4 * M * N);
  const total = work + sgemmWorkspaceBytes();
  scratch ??= new WebAssembly.Memory({ initial: Math.ceil(total / 65536) });
  ensureMemoryBytes(scratch, total);
  const f32 = new Float32Array(scratch.buffer);
  f32.set(a, pa / 4);
  f32.set(b, pb / 4);
  sgemmInto(scratch, {
    m: M,
    n: N,
    k: K,
    a: pa,
    rsA: K,
    csA: 1,
    b: pb,
    rsB: N,
    csB: 1,
    c: pc,
    ldc: N,
    accumulate: false,
    work,
  });
  return new Float32Array(scratch.buffer, pc, M * N).slice();
}
