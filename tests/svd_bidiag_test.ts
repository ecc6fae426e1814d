/**
 * The CPU backend's svd by bidiagonalization + implicit-shift QR (lib/backend/cpu/svd_bidiag.ts):
 * U diag(s) Vᵀ = A and orthonormal factors on random, graded (cond 1e6), rank-deficient, zero,
 * tall/wide, batched (and jit) inputs across the Jacobi switch, float32 and float64; NumPy singular values;
 * the same sign convention as the reference's Jacobi; NaN/Inf give NaN; the jvp rule still holds.
 * Also the rotation kernel and eigh's Wasm route (cpu/eigh_fast.ts) against the host kernel.
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { checkGrads, jit, np, type Tensor } from "../mod.ts";
import { SVD_BIDIAG_MIN, svdBidiag, svdFast } from "../lib/backend/cpu/svd_bidiag.ts";
import { eighHost, svdHost } from "../lib/ops/linalg_decomp_host.ts";
import { EIGH_WY_MIN, eighFast } from "../lib/backend/cpu/eigh_fast.ts";
import { rotSeqFor } from "../kernels/wasm/rot_seq.ts";
import fx from "./fixtures/svd_cases.json" with { type: "json" };
import { onCpu, vals } from "./_linalg_util.ts";

/** The fixture generator's matrices (tests/fixtures/gen_svd_fixtures.py). */
function fixtureMatrix(kind: string, m: number, n: number): Float64Array {
  const base = (i: number, j: number) =>
    Math.sin(0.37 * (i + 1) * (j + 2)) + Math.cos(0.11 * i - 0.23 * j) / 2;
  const a = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      if (kind === "base") a[i * n + j] = base(i, j);
      else if (kind === "graded") a[i * n + j] = base(i, j) * 10 ** (-6 * i / (m - 1));
      else for (let p = 0; p < 5; p++) a[i * n + j] += base(i, p) * base(p, j);
    }
  }
  return a;
}

/** Max |U diag(s) Vᵀ − A| / max|A|, orthogonality errors of U's and Vᵀ's used parts; s order. */
function checkFactors(
  a: ArrayLike<number>,
  m: number,
  n: number,
  u: ArrayLike<number>,
  s: ArrayLike<number>,
  vt: ArrayLike<number>,
  tol: number,
  what: string,
): void {
  const k = Math.min(m, n), uc = u.length / m, vr = vt.length / n;
  let amax = 1e-300;
  for (let i = 0; i < m * n; i++) amax = Math.max(amax, Math.abs(a[i]));
  for (let i = 0; i < k; i++) {
    assert.ok(s[i] >= 0 && (i === 0 || s[i] <= s[i - 1]), `${what}: s[${i}] = ${s[i]}`);
  }
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let x = 0;
      for (let p = 0; p < k; p++) x += u[i * uc + p] * s[p] * vt[p * n + j];
      assert.ok(Math.abs(x - a[i * n + j]) <= tol * amax, `${what}: (U S Vᵀ)[${i},${j}]`);
    }
  }
  for (let p = 0; p < uc; p++) {
    for (let q = p; q < uc; q++) {
      let x = 0;
      for (let i = 0; i < m; i++) x += u[i * uc + p] * u[i * uc + q];
      assert.ok(Math.abs(x - (p === q ? 1 : 0)) <= tol, `${what}: (UᵀU)[${p},${q}] = ${x}`);
    }
  }
  for (let p = 0; p < vr; p++) {
    for (let q = p; q < vr; q++) {
      let x = 0;
      for (let j = 0; j < n; j++) x += vt[p * n + j] * vt[q * n + j];
      assert.ok(Math.abs(x - (p === q ? 1 : 0)) <= tol, `${what}: (VᵀV)[${p},${q}] = ${x}`);
    }
  }
}

test(
  "U S Vᵀ = A and orthonormal factors: random, tall, wide, full and reduced, across the switch",
  onCpu(() => {
    const shapes = [
      [SVD_BIDIAG_MIN, SVD_BIDIAG_MIN],
      [SVD_BIDIAG_MIN + 1, SVD_BIDIAG_MIN],
      [
        SVD_BIDIAG_MIN - 1,
        SVD_BIDIAG_MIN + 3,
      ],
      [40, 17],
      [17, 40],
      [64, 64],
      [97, 61],
      [33, 120],
    ];
    for (const [m, n] of shapes) {
      for (const full of [false, true]) {
        for (const dtype of ["float64", "float32"] as const) {
          const data = vals(m * n, m * 131 + n);
          const a = np.array(data, { dtype }).reshape([m, n]);
          const [u, s, vt] = np.linalg.svd(a, { fullMatrices: full }) as Tensor[];
          const tol = dtype === "float64" ? 1e-13 * Math.max(m, n) : 3e-6 * Math.max(m, n);
          checkFactors(
            a.dataSync(),
            m,
            n,
            u.dataSync(),
            s.dataSync(),
            vt.dataSync(),
            tol,
            `${m}x${n} ${full} ${dtype}`,
          );
        }
      }
    }
  }),
);

test("graded (cond 1e6), rank-deficient, zero and structured matrices", () => {
  const cases: [string, number, number, (i: number, j: number) => number][] = [
    ["graded", 50, 50, (i, j) => 10 ** (-6 * i / 49) * Math.cos(3 * i + j * j)],
    ["graded columns", 60, 30, (i, j) => 10 ** (-6 * j / 29) * Math.sin(i * j + 1)],
    [
      "rank 3",
      40,
      30,
      (i, j) => Math.sin(i) * Math.cos(j) + Math.sin(2 * i + j) + (i % 3) * (j % 2),
    ],
    ["zero", 20, 20, () => 0],
    ["one nonzero", 20, 12, (i, j) => (i === 5 && j === 7 ? -3 : 0)],
    ["identity", 16, 16, (i, j) => (i === j ? 1 : 0)],
    ["repeated values", 24, 24, (i, j) => (i === j ? (i % 3 ? 2 : -2) : 0)],
    ["hilbert", 14, 14, (i, j) => 1 / (i + j + 1)],
    ["tiny", 20, 20, (i, j) => 1e-300 * Math.sin(i + 2 * j)],
    ["huge", 20, 20, (i, j) => 1e300 * Math.sin(i + 2 * j)],
  ];
  for (const [what, m, n, f] of cases) {
    const a = new Float64Array(m * n);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) a[i * n + j] = f(i, j);
    for (const full of [false, true]) {
      const r = svdBidiag(a, m, n, full, true)!;
      const uc = r.ut.length / m, u = new Float64Array(m * uc);
      for (let p = 0; p < uc; p++) for (let i = 0; i < m; i++) u[i * uc + p] = r.ut[p * m + i];
      checkFactors(a, m, n, u, r.s, r.vt, 1e-13 * m, `${what} ${full}`);
    }
  }
  const rank = svdBidiag(
    Float64Array.from({ length: 1200 }, (_, q) => {
      const i = Math.floor(q / 30), j = q % 30;
      return Math.sin(i) * Math.cos(j) + Math.sin(2 * i + j) + (i % 3) * (j % 2);
    }),
    40,
    30,
    false,
    false,
  )!.s;
  assert.ok(rank[4] < 1e-13 * rank[0], `rank-deficient: s[4] = ${rank[4]}`);
  assert.ok(rank[2] > 1e-3 * rank[0], `rank-deficient: s[2] = ${rank[2]}`);
});

test(
  "singular values match NumPy (gesdd): base, graded (cond ~1e6), rank 5; float64 and float32",
  onCpu(() => {
    for (const c of fx.cases) {
      const a = fixtureMatrix(c.kind, c.m, c.n);
      for (const dtype of ["float64", "float32"] as const) {
        const s = np.linalg.svd(np.array(a, { dtype }).reshape([c.m, c.n]), {
          computeUv: false,
        }) as Tensor;
        const got = s.dataSync(),
          tol = (dtype === "float64" ? 1e-13 : 2e-6) * c.s[0] * Math.max(c.m, c.n);
        c.s.forEach((want, i) => {
          assert.ok(
            Math.abs(got[i] - want) <= tol,
            `${c.kind} ${c.m}x${c.n} ${dtype}: s[${i}] ${got[i]} vs ${want}`,
          );
        });
      }
      const last = c.s.length - 1;
      if (c.kind === "graded" && c.s[last] > 1e-7 * c.s[0]) { // cond ≤ 1e7: smallest value to 1e-6 relative
        const got = svdBidiag(a, c.m, c.n, false, false)!.s[last];
        assert.ok(
          Math.abs(got - c.s[last]) <= 1e-6 * c.s[last],
          `graded s[${last}] ${got} vs ${c.s[last]}`,
        );
      }
    }
  }),
);

test("same signs, values and completion of full u / vt as the reference's Jacobi (distinct values)", () => {
  for (const [m, n] of [[12, 12], [30, 20], [20, 30], [50, 50], [70, 50], [50, 70]]) {
    const a = vals(m * n, 7 * m + n);
    for (const full of [false, true]) {
      const h = svdHost(a, m, n, full);
      const fast = svdFast([{ shape: [m, n], dtype: "float64", data: a }], {
        fullMatrices: full,
        computeUv: true,
      }, [
        { shape: [Math.min(m, n)], dtype: "float64", weak: false },
        { shape: [m, full ? m : Math.min(m, n)], dtype: "float64", weak: false },
        { shape: [full ? n : Math.min(m, n), n], dtype: "float64", weak: false },
      ])!;
      const k = Math.min(m, n), uc = full ? m : k;
      for (let i = 0; i < k; i++) {
        assert.ok(Math.abs(fast[0][i] - h.s[i]) < 1e-12, `${m}x${n} s[${i}]`);
      }
      // the first k columns of u and rows of vt are unique up to sign, the rest follow the host's completion
      for (let p = 0; p < Math.max(uc, full ? n : k); p++) {
        for (let j = 0; j < n && p < (full ? n : k); j++) {
          assert.ok(
            Math.abs(fast[2][p * n + j] - h.vt[p * n + j]) < 1e-9,
            `${m}x${n} ${full} vt[${p},${j}]`,
          );
        }
        for (let i = 0; i < m && p < uc; i++) {
          assert.ok(
            Math.abs(fast[1][i * uc + p] - h.u[i * uc + p]) < 1e-9,
            `${m}x${n} ${full} u[${i},${p}]`,
          );
        }
      }
    }
  }
});

test(
  "batched and jit agree with one matrix at a time; computeUv false gives the same s",
  onCpu(() => {
    const b = 3, m = 20, n = 14, data = vals(b * m * n, 99);
    const a = np.array(data).reshape([b, m, n]);
    const [u, s, vt] = np.linalg.svd(a, { fullMatrices: false }) as Tensor[];
    const sj = jit((x: Tensor) => np.linalg.svd(x, { computeUv: false }) as Tensor)(a).dataSync();
    for (let q = 0; q < b; q++) {
      const one = np.linalg.svd(np.array(data.slice(q * m * n, (q + 1) * m * n)).reshape([m, n]), {
        fullMatrices: false,
      }) as Tensor[];
      const pairs: [Tensor, Tensor][] = [[u, one[0]], [s, one[1]], [vt, one[2]]];
      for (const [all, single] of pairs) {
        const sz = single.size,
          got = all.dataSync().slice(q * sz, (q + 1) * sz),
          want = single.dataSync();
        for (let i = 0; i < sz; i++) {
          assert.ok(Math.abs(got[i] - want[i]) < 1e-12, `batch ${q} [${i}]`);
        }
      }
      const want = one[1].dataSync();
      for (let i = 0; i < n; i++) {
        assert.ok(Math.abs(sj[q * n + i] - want[i]) < 1e-12, `jit s ${q} [${i}]`);
      }
    }
  }),
);

test(
  "NaN and Inf give NaN for that matrix only; size 0 batches",
  onCpu(() => {
    const m = 10, n = 9, data = vals(2 * m * n, 5);
    data[m * n + 17] = NaN;
    const [u, s, vt] = np.linalg.svd(np.array(data).reshape([2, m, n])) as Tensor[];
    assert.ok(s.dataSync().slice(0, n).every(Number.isFinite));
    assert.ok(s.dataSync().slice(n).every(Number.isNaN));
    assert.ok(
      u.dataSync().slice(m * m).every(Number.isNaN) &&
        vt.dataSync().slice(n * n).every(Number.isNaN),
    );
    const inf = vals(m * n, 6);
    inf[3] = -Infinity;
    assert.ok(
      (np.linalg.svd(np.array(inf).reshape([m, n]), { computeUv: false }) as Tensor).dataSync()
        .every(Number.isNaN),
    );
    const empty = np.linalg.svd(np.zeros([0, 12, 10]), { computeUv: false }) as Tensor;
    assert.deepEqual(empty.shape, [0, 10]);
  }),
);

test(
  "svd's jvp/vjp at an order past the switch match finite differences (float64)",
  onCpu(() => {
    const m = SVD_BIDIAG_MIN + 2, n = SVD_BIDIAG_MIN + 1;
    const a = np.array(vals(m * n, 31)).reshape([m, n]);
    const f = (x: Tensor) => {
      const [u, s, vt] = np.linalg.svd(x, { fullMatrices: false }) as Tensor[];
      return np.sum(
        np.add(np.multiply(s, s), np.add(np.sum(np.square(np.matmul(u, vt))), np.sum(np.abs(u)))),
      );
    };
    checkGrads(f, [a], { atol: 1e-5 });
  }),
);

test("rotSeq kernel matches the JS rotations, forward and reversed, odd and even rows", () => {
  const mem = new WebAssembly.Memory({ initial: 1 }),
    f = rotSeqFor(mem),
    F = new Float64Array(mem.buffer);
  for (const [len, l, h, rev] of [[7, 1, 5, 0], [8, 0, 6, 1], [1, 0, 3, 1], [6, 2, 2, 0]]) {
    const rows = 7,
      x = vals(rows * len, len + 3 * h),
      c = vals(rows, 4),
      s = c.map((v) => Math.sqrt(1 - v * v));
    F.set(x, 0), F.set(c, 100), F.set(s, 200);
    f(0, len, l, h, 800, 1600, rev);
    const want = x.slice();
    for (let t = 0; t < h - l; t++) {
      const k = rev ? h - 1 - t : l + t;
      for (let j = 0; j < len; j++) {
        const a = want[k * len + j], b = want[(k + 1) * len + j];
        want[k * len + j] = c[k] * a + s[k] * b;
        want[(k + 1) * len + j] = c[k] * b - s[k] * a;
      }
    }
    for (let i = 0; i < rows * len; i++) {
      assert.ok(Math.abs(F[i] - want[i]) < 1e-15, `len ${len} rev ${rev} [${i}]`);
    }
  }
});

test(
  "eigh's Wasm route (WY Qᵀ, kernel rotations) matches the host kernel; float32; batched",
  onCpu(() => {
    for (const n of [EIGH_WY_MIN, EIGH_WY_MIN + 15, 100]) {
      const b = n === 100 ? 1 : 2, x = vals(b * n * n, n);
      const av = (shape: number[]) => ({ shape, dtype: "float64" as const, weak: false });
      const [v, w] = eighFast([{ shape: [b, n, n], dtype: "float64", data: x }], [
        av([b, n, n]),
        av([b, n]),
      ])!;
      for (let q = 0; q < b; q++) {
        const h = eighHost(x.slice(q * n * n, (q + 1) * n * n), n);
        for (let i = 0; i < n; i++) {
          assert.ok(Math.abs(w[q * n + i] - h.w[i]) < 1e-12, `n ${n} w[${i}]`);
        }
        for (let i = 0; i < n * n; i++) {
          assert.ok(Math.abs(v[q * n * n + i] - h.v[i]) < 1e-10, `n ${n} batch ${q} v[${i}]`);
        }
      }
      const [w32, v32] = np.linalg.eigh(
        np.array(x.slice(0, n * n), { dtype: "float32" }).reshape([n, n]),
      ) as Tensor[];
      assert.equal(v32.dtype, "float32");
      const h = eighHost(Float64Array.from(new Float32Array(x.slice(0, n * n))), n);
      w32.dataSync().forEach((y, i) =>
        assert.ok(Math.abs(y - h.w[i]) < 1e-5, `f32 n ${n} w[${i}]`)
      );
    }
    assert.equal(
      eighFast([{ shape: [3, 3], dtype: "float64", data: new Float64Array(9) }], []),
      null,
    );
  }),
);
