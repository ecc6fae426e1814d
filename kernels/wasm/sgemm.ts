// Generated float32 GEMM, C[M,N] (+)= A[M,K]·B[K,N], as a Wasm SIMD128 module importing its memory.
// Goto/BLIS-style blocking: B is packed in KC×NC blocks of NR-wide panels, A in MC×KC blocks of
// MR-tall panels, and an MR×NR register-blocked micro-kernel (MR rows × NV f32x4) does the FLOPs.
// Edge tiles are computed with zero-padded panels into a scratch tile and copied out.

import { ModuleBuilder } from "./encoder.ts";
import { emitBlockedGemm, genKernels, genPackA, genPackB } from "./gemm_gen.ts";
import { genSconv, type SconvExport } from "./sconv.ts";

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
  /** Multiply-adds as relaxed-SIMD `f32x4.relaxed_madd` (fused where the CPU has FMA). */
  fma?: boolean;
}

function v8Major(): number {
  // deno-lint-ignore no-explicit-any
  const g = globalThis as any;
  const v: unknown = g.Deno?.version?.v8 ?? g.process?.versions?.v8;
  return typeof v === "string" ? parseInt(v, 10) : 0;
}

/**
 * Picks the fastest measured configuration for the running engine. Measured on x86-64 (Zen 4):
 * V8 ≥ 12 (Deno 2.9) runs best with 3×12 tiles unrolled 8× (≈37 GFLOP/s; ≈52 with fused
 * multiply-adds), V8 11 (Node 20) and JSC (Bun 1.4) with 2×16 tiles not unrolled (≈43 and ≈37).
 * Where the engine has relaxed SIMD the micro-kernel uses `f32x4.relaxed_madd` (`fma`). Every
 * choice keeps kc = 256, so the K blocking (`gemmBlocking` in gemm_gen.ts: one block up to
 * K = 384, else equal blocks) is the same, and an element's k-order (0 + Σ a·b over each K block,
 * then C +) does not depend on the tile shape or unrolling: configurations with the same `fma`
 * give bit-identical results (with `fma` each a·b + acc may round once instead of twice).
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
  const fma = hasRelaxedSimd();
  if (!jsc && v8Major() >= 12) return { mr: 3, nv: 3, kc: 256, mc: 96, nc: 1020, unroll: 8, fma };
  return { mr: 2, nv: 4, kc: 256, mc: 96, nc: 1024, unroll: 1, fma };
}

/**
 * Whether the engine accepts relaxed SIMD's `f32x4.relaxed_madd` (Deno 2.9 and Bun 1.4 do, Node
 * 20 does not). A one-function module `(v128, v128, v128) -> v128` is validated.
 *
 * @example
 * ```ts
 * if (typeof hasRelaxedSimd() !== "boolean") throw new Error("unexpected");
 * ```
 */
export function hasRelaxedSimd(): boolean {
  relaxed ??= typeof WebAssembly === "object" && WebAssembly.validate(
    new Uint8Array([
      ...[0, 97, 115, 109, 1, 0, 0, 0], // magic, version
      ...[1, 8, 1, 96, 3, 123, 123, 123, 1, 123], // type: (v128 v128 v128) -> v128
      ...[3, 2, 1, 0], // one function of that type
      ...[10, 13, 1, 11, 0, 32, 0, 32, 1, 32, 2, 253, 133, 2, 11], // local.get ×3, relaxed_madd
    ]),
  );
  return relaxed;
}
let relaxed: boolean | undefined;

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

/**
 * Builds the GEMM module bytes. It imports `env.memory` (shared iff `shared`) and exports
 * `sgemm` (see {@link SgemmExport} for the calling convention) and `sconv` (the same GEMM with
 * an implicit im2col right operand, see `SconvExport` in sconv.ts).
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
  const mb = new ModuleBuilder().importMemory("env", "memory", {
    initial: 1,
    maximum: opts.shared ? 65536 : undefined,
    shared: opts.shared,
  });
  const kernel = genKernels(mb, cfg);
  const packB = genPackB(mb, cfg);
  const packA = genPackA(mb, cfg);
  const f = mb.func(Array(13).fill("i32"), [], "sgemm");
  const [M, N, K, A, RSA, CSA, B, RSB, CSB, C, LDC, ADD, WORK] = Array.from(
    { length: 13 },
    (_, i) => i,
  );
  for (const p of [RSA, CSA, RSB, CSB, LDC]) f.get(p).i32(2).op("i32.shl").set(p);
  emitBlockedGemm(f, cfg, kernel, { M, N, K, C, LDC, ADD, WORK }, (l) => {
    f.get(l.kc).get(l.nc).get(B).get(l.pc).get(RSB).op("i32.mul").op("i32.add").get(l.jc)
      .get(CSB).op("i32.mul").op("i32.add").get(RSB).get(CSB).get(l.bufB).call(packB);
  }, (l) => {
    f.get(l.mc).get(l.kc).get(A).get(l.ic).get(RSA).op("i32.mul").op("i32.add").get(l.pc)
      .get(CSA).op("i32.mul").op("i32.add").get(RSA).get(CSA).get(l.bufA).call(packA);
  });
  genSconv(mb, cfg, kernel);
  return mb.toBytes();
}

const MODULES = new Map<string, WebAssembly.Module>();
const INSTANCES = new WeakMap<WebAssembly.Memory, Map<string, WebAssembly.Exports>>();

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

/** The last instance looked up (every product asks; most use one memory and the default config). */
let last: { mem: WebAssembly.Memory; config: SgemmConfig; ex: WebAssembly.Exports } | undefined;

/** The instance's exports on `mem` (cached per memory and configuration). */
function exportsFor(mem: WebAssembly.Memory, config: SgemmConfig): WebAssembly.Exports {
  // (frozen configs only: another config object could be changed between calls)
  if (last?.mem === mem && last.config === config) return last.ex;
  if (!Object.isFrozen(config)) return exportsByKey(mem, config);
  const ex = exportsByKey(mem, config);
  last = { mem, config, ex };
  return ex;
}

function exportsByKey(mem: WebAssembly.Memory, config: SgemmConfig): WebAssembly.Exports {
  let byCfg = INSTANCES.get(mem);
  if (!byCfg) INSTANCES.set(mem, byCfg = new Map());
  const key = JSON.stringify(config);
  let ex = byCfg.get(key);
  if (!ex) {
    ex = new WebAssembly.Instance(sgemmModule(isShared(mem), config), { env: { memory: mem } })
      .exports;
    byCfg.set(key, ex);
  }
  return ex;
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
  return exportsFor(mem, config).sgemm as SgemmExport;
}

/**
 * The `sconv` export (implicit-GEMM convolution, see `SconvExport` in sconv.ts) on `mem`.
 *
 * @example
 * ```ts
 * const sconv = sconvFor(new WebAssembly.Memory({ initial: 32 }));
 * if (typeof sconv !== "function") throw new Error("no sconv");
 * ```
 */
export function sconvFor(mem: WebAssembly.Memory, config: SgemmConfig = SGEMM_CONFIG): SconvExport {
  return exportsFor(mem, config).sconv as SconvExport;
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
