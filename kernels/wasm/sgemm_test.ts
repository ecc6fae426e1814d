// Tests for the generated sgemm: shapes with edge tiles, several blockings (including tiny ones that
// exercise multiple K/M/N blocks), strided and transposed operands, accumulation and K = 0.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  buildSgemmModule,
  ensureMemoryBytes,
  hasRelaxedSimd,
  matmulF32,
  SGEMM_CONFIG,
  type SgemmConfig,
  sgemmInto,
  sgemmWorkspaceBytes,
} from "./sgemm.ts";

const SIZES = [1, 3, 4, 5, 8, 17, 64, 65, 130];

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
  };
}

function randomF32(n: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, r);
}

/** Checks c against a float64 reference with an error bound proportional to K·Σ|a·b|. */
function assertClose(
  c: ArrayLike<number>,
  at: (i: number, j: number) => number,
  a: (i: number, k: number) => number,
  b: (k: number, j: number) => number,
  M: number,
  K: number,
  N: number,
  init: (i: number, j: number) => number = () => 0,
): void {
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let ref = init(i, j), mag = Math.abs(ref);
      for (let k = 0; k < K; k++) {
        ref += a(i, k) * b(k, j);
        mag += Math.abs(a(i, k) * b(k, j));
      }
      const got = c[at(i, j)];
      const tol = 2 * (K + 1) * 1.2e-7 * mag + 1e-30;
      if (!(Math.abs(got - ref) <= tol)) {
        assert.fail(`C[${i},${j}] = ${got}, expected ${ref} (M=${M} K=${K} N=${N})`);
      }
    }
  }
}

const CONFIGS: [string, SgemmConfig][] = [
  ["default", SGEMM_CONFIG],
  ["3x12 u8", { mr: 3, nv: 3, kc: 256, mc: 96, nc: 1020, unroll: 8 }],
  ["2x16 u1", { mr: 2, nv: 4, kc: 256, mc: 96, nc: 1024, unroll: 1 }],
  ["4x8 u4", { mr: 4, nv: 2, kc: 256, mc: 64, nc: 1024, unroll: 4 }],
  // tiny blocks: many K, M and N blocks even for small shapes
  ["tiny 3x4 u2", { mr: 3, nv: 1, kc: 7, mc: 6, nc: 8, unroll: 2 }],
  ["tiny 5x8 u4", { mr: 5, nv: 2, kc: 13, mc: 5, nc: 16, unroll: 4 }],
];
// where the engine has relaxed SIMD, every shape also with fused multiply-adds
if (hasRelaxedSimd()) {
  for (const [name, cfg] of CONFIGS.slice(1)) CONFIGS.push([`${name} fma`, { ...cfg, fma: true }]);
}

interface Env {
  mem: WebAssembly.Memory;
  f32: () => Float32Array;
}

function env(bytes: number): Env {
  const mem = new WebAssembly.Memory({ initial: 1 });
  ensureMemoryBytes(mem, bytes);
  return { mem, f32: () => new Float32Array(mem.buffer) };
}

describe("sgemm", () => {
  test("module validates (shared and unshared)", () => {
    assert.ok(WebAssembly.validate(buildSgemmModule({ shared: false }) as BufferSource));
    assert.ok(WebAssembly.validate(buildSgemmModule({ shared: true }) as BufferSource));
  });

  test("matmulF32 matches a float64 reference for all shape combinations", () => {
    let seed = 1;
    for (const M of SIZES) {
      for (const K of SIZES) {
        for (const N of SIZES) {
          const a = randomF32(M * K, seed++), b = randomF32(K * N, seed++);
          const c = matmulF32(a, b, M, K, N);
          assert.equal(c.length, M * N);
          assertClose(
            c,
            (i, j) => i * N + j,
            (i, k) => a[i * K + k],
            (k, j) => b[k * N + j],
            M,
            K,
            N,
          );
        }
      }
    }
  });

  for (const [name, cfg] of CONFIGS) {
    test(`config ${name}: edge tiles, several blocks, accumulate`, () => {
      const e = env(8 << 20);
      const work = 6 << 20;
      let seed = 100;
      for (
        const [M, K, N] of [[1, 1, 1], [3, 5, 4], [17, 65, 8], [64, 17, 65], [65, 130, 17], [
          130,
          64,
          130,
        ], [5, 300, 3]]
      ) {
        const a = randomF32(M * K, seed++),
          b = randomF32(K * N, seed++),
          c0 = randomF32(M * N, seed++);
        const pa = 0, pb = 4 * M * K, pc = pb + 4 * K * N;
        for (const accumulate of [false, true]) {
          const f = e.f32();
          f.set(a, pa / 4);
          f.set(b, pb / 4);
          f.set(c0, pc / 4);
          sgemmInto(e.mem, {
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
            accumulate,
            work,
          }, cfg);
          const c = e.f32().subarray(pc / 4, pc / 4 + M * N);
          assertClose(
            c,
            (i, j) => i * N + j,
            (i, k) => a[i * K + k],
            (k, j) => b[k * N + j],
            M,
            K,
            N,
            accumulate ? (i, j) => c0[i * N + j] : undefined,
          );
        }
      }
    });
  }

  test("configurations with the same kc and fma give bit-identical results", () => {
    const M = 67, K = 300, N = 45;
    const a = randomF32(M * K, 7), b = randomF32(K * N, 8);
    for (const fma of [false, true]) {
      const same = CONFIGS.filter(([, c]) => c.kc === 256 && !!c.fma === fma);
      if (fma && hasRelaxedSimd()) assert.ok(same.length >= 3, "fma configurations are tested");
      identical(same.map(([, cfg]) => cfg), a, b, M, K, N);
    }
  });

  function identical(
    configs: SgemmConfig[],
    a: Float32Array,
    b: Float32Array,
    M: number,
    K: number,
    N: number,
  ): void {
    const results = configs.map((cfg) => {
      const e = env(4 << 20);
      const f = e.f32();
      f.set(a, 0);
      f.set(b, M * K);
      const pc = 4 * (M * K + K * N);
      sgemmInto(e.mem, {
        m: M,
        n: N,
        k: K,
        a: 0,
        rsA: K,
        csA: 1,
        b: 4 * M * K,
        rsB: N,
        csB: 1,
        c: pc,
        ldc: N,
        accumulate: false,
        work: 2 << 20,
      }, cfg);
      return e.f32().slice(pc / 4, pc / 4 + M * N);
    });
    for (const r of results.slice(1)) assert.deepEqual(r, results[0]);
  }

  test("strided sub-blocks and transposed views", () => {
    // A: sub-block at (2, 3) of a 40×50 matrix; B: transposed view of a 60×30 matrix (B = Xᵀ);
    // C: sub-block at (1, 2) of a 50×70 matrix; everything around C must stay untouched.
    const M = 33, K = 21, N = 29;
    const X = randomF32(40 * 50, 11), Y = randomF32(60 * 30, 12), Z = randomF32(50 * 70, 13);
    const e = env(4 << 20);
    const pX = 0, pY = 4 * 40 * 50, pZ = pY + 4 * 60 * 30, work = 1 << 20;
    for (const accumulate of [false, true]) {
      const f = e.f32();
      f.set(X, pX / 4);
      f.set(Y, pY / 4);
      f.set(Z, pZ / 4);
      sgemmInto(e.mem, {
        m: M,
        n: N,
        k: K,
        a: pX + 4 * (2 * 50 + 3),
        rsA: 50,
        csA: 1,
        b: pY + 4 * (4 * 30 + 5),
        rsB: 1,
        csB: 30, // B[k,j] = Y[4 + j, 5 + k]
        c: pZ + 4 * (1 * 70 + 2),
        ldc: 70,
        accumulate,
        work,
      });
      const z = e.f32().subarray(pZ / 4, pZ / 4 + 50 * 70);
      assertClose(
        z,
        (i, j) => (1 + i) * 70 + 2 + j,
        (i, k) => X[(2 + i) * 50 + 3 + k],
        (k, j) => Y[(4 + j) * 30 + 5 + k],
        M,
        K,
        N,
        accumulate ? (i, j) => Z[(1 + i) * 70 + 2 + j] : undefined,
      );
      for (let r = 0; r < 50; r++) {
        for (let col = 0; col < 70; col++) {
          if (r >= 1 && r < 1 + M && col >= 2 && col < 2 + N) continue;
          assert.equal(
            z[r * 70 + col],
            Z[r * 70 + col],
            `C outside the block changed at ${r},${col}`,
          );
        }
      }
    }
    // transposed A (column-major view): A[i,k] = X[k, i]
    const f = e.f32();
    f.set(X, pX / 4);
    f.set(Y, pY / 4);
    sgemmInto(e.mem, {
      m: 9,
      n: 7,
      k: 11,
      a: pX,
      rsA: 1,
      csA: 50,
      b: pY,
      rsB: 30,
      csB: 1,
      c: pZ,
      ldc: 7,
      accumulate: false,
      work,
    });
    assertClose(
      e.f32().subarray(pZ / 4),
      (i, j) => i * 7 + j,
      (i, k) => X[k * 50 + i],
      (k, j) => Y[k * 30 + j],
      9,
      11,
      7,
    );
  });

  test("K = 0 zeroes C, or leaves it alone when accumulating; M = 0 / N = 0 do nothing", () => {
    const e = env(1 << 20);
    const f = e.f32();
    f.fill(7, 0, 64);
    sgemmInto(e.mem, {
      m: 2,
      n: 3,
      k: 0,
      a: 0,
      rsA: 0,
      csA: 1,
      b: 0,
      rsB: 3,
      csB: 1,
      c: 0,
      ldc: 4,
      accumulate: true,
      work: 4096,
    });
    assert.deepEqual(Array.from(f.subarray(0, 8)), [7, 7, 7, 7, 7, 7, 7, 7]);
    sgemmInto(e.mem, {
      m: 2,
      n: 3,
      k: 0,
      a: 0,
      rsA: 0,
      csA: 1,
      b: 0,
      rsB: 3,
      csB: 1,
      c: 0,
      ldc: 4,
      accumulate: false,
      work: 4096,
    });
    assert.deepEqual(Array.from(f.subarray(0, 8)), [0, 0, 0, 7, 0, 0, 0, 7]);
    assert.deepEqual(Array.from(matmulF32(new Float32Array(0), new Float32Array(0), 2, 0, 2)), [
      0,
      0,
      0,
      0,
    ]);
    assert.equal(matmulF32(new Float32Array(0), new Float32Array(6), 0, 2, 3).length, 0);
  });

  test("NaN and Infinity propagate", () => {
    const a = new Float32Array([1, NaN, 2, 3]), b = new Float32Array([1, 2, 3, 4]);
    const c = matmulF32(a, b, 2, 2, 2);
    assert.ok(Number.isNaN(c[0]) && Number.isNaN(c[1]));
    assert.deepEqual(Array.from(c.subarray(2)), [11, 16]);
    const d = matmulF32(new Float32Array([Infinity, 1]), new Float32Array([1, 0]), 1, 2, 1);
    assert.equal(d[0], Infinity);
  });

  test("errors", () => {
    assert.throws(() => matmulF32(new Float32Array(3), new Float32Array(4), 2, 2, 2), TypeError);
    assert.throws(
      () => buildSgemmModule({ shared: false, config: { ...SGEMM_CONFIG, unroll: 3 } }),
      RangeError,
    );
    const e = env(1 << 16);
    assert.throws(
      () =>
        sgemmInto(e.mem, {
          m: -1,
          n: 1,
          k: 1,
          a: 0,
          rsA: 1,
          csA: 1,
          b: 0,
          rsB: 1,
          csB: 1,
          c: 0,
          ldc: 1,
          accumulate: false,
          work: 0,
        }),
      RangeError,
    );
    assert.ok(sgemmWorkspaceBytes() > 0);
  });
});
