/**
 * The CPU backend's blocked `qr` (lib/backend/cpu/qr_fast.ts: row-wise Householder, Q through WY
 * blocks on the f64x2 GEMM) against the host kernel (the reference's) on tall, wide and square,
 * reduced and complete, batched matrices; float32 through np.linalg.qr; Q orthonormal, Q R = A.
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { getBackend, np, setBackend, type Tensor } from "../mod.ts";
import { QR_WY_MIN, qrFast } from "../lib/backend/cpu/qr_fast.ts";
import { qrHost } from "../lib/ops/linalg_decomp_host.ts";
import { vals } from "./_linalg_util.ts";

const av = (shape: number[]) => ({ shape, dtype: "float64" as const, weak: false });

test("blocked qr matches the host Householder QR (same signs): tall, wide, square, complete, batched", () => {
  const shapes = [
    [QR_WY_MIN, QR_WY_MIN],
    [QR_WY_MIN + 37, QR_WY_MIN],
    [QR_WY_MIN, QR_WY_MIN + 50],
    [130, 100],
  ];
  for (const [m, n] of shapes) {
    for (const full of [false, true]) {
      const b = 2, k = Math.min(m, n), qc = full ? m : k, x = vals(b * m * n, m + 7 * n);
      x.fill(0, 5 * n, 6 * n); // a zero row
      const [q, r] = qrFast([{ shape: [b, m, n], dtype: "float64", data: x }], {
        fullMatrices: full,
      }, [
        av([b, m, qc]),
        av([b, qc, n]),
      ])!;
      for (let t = 0; t < b; t++) {
        const h = qrHost(x.slice(t * m * n, (t + 1) * m * n), m, n, full);
        assert.equal(h.q.length, m * qc);
        h.q.forEach((v, i) =>
          assert.ok(Math.abs(q[t * m * qc + i] - v) < 1e-12, `${m}x${n} ${full} q[${i}]`)
        );
        h.r.forEach((v, i) =>
          assert.ok(Math.abs(r[t * qc * n + i] - v) < 1e-12, `${m}x${n} ${full} r[${i}]`)
        );
      }
    }
  }
  assert.equal(
    qrFast([{ shape: [8, 8], dtype: "float64", data: new Float64Array(64) }], {
      fullMatrices: false,
    }, []),
    null,
  );
});

test("np.linalg.qr on the CPU backend (float32 and float64, past the switch): Q R = A, QᵀQ = I", () => {
  const prev = getBackend();
  setBackend("cpu");
  try {
    const m = QR_WY_MIN + 20, n = QR_WY_MIN + 4;
    for (const dtype of ["float32", "float64"] as const) {
      const a = np.array(vals(m * n, 3), { dtype }).reshape([m, n]);
      const [q, r] = np.linalg.qr(a) as Tensor[];
      assert.equal(q.dtype, dtype);
      const tol = dtype === "float32" ? 1e-4 : 1e-12;
      const err = np.max(np.abs(np.subtract(np.matmul(q, r), a))).item() as number;
      const orth = np.max(np.abs(np.subtract(np.matmul(q.T, q), np.eye(n)))).item() as number;
      assert.ok(err < tol && orth < tol, `${dtype}: |QR − A| ${err}, |QᵀQ − I| ${orth}`);
      const lower = np.tril(r, { k: -1 }).dataSync();
      assert.ok(lower.every((v) => v === 0), `${dtype}: R is upper triangular`);
    }
  } finally {
    setBackend(prev);
  }
});
