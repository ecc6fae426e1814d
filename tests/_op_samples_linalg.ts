/**
 * Conformance samples of the linalg primitives (merged into OP_SAMPLES): well-conditioned matrices
 * for the solves and factorizations, separated spectra for eigh and svd, batch and size-0 cases.
 * @module
 */
import type { ArgSpec, OpSamples, Sample, ValueGen } from "./_op_samples.ts";

const fr = Math.fround;
const F = (shape: number[], gen: ValueGen = (r) => fr(-2 + 4 * r())): ArgSpec => ({
  shape,
  dtype: "float",
  gen,
});
const S = (label: string, args: ArgSpec[], params: unknown = {}): Sample => ({
  label,
  args,
  params,
});
const smooth = (samples: Sample[]): OpSamples => ({ differentiable: true, samples });

/**
 * Entries of stacked n×n matrices by position (draws come in row-major order, a multiple of n²
 * per argument): diagonal |x| in [3, 4) (sign random when `signed`), off-diagonal in [-0.5, 0.5),
 * so every matrix (and its symmetric part) is well conditioned, and positive definite if unsigned.
 */
function matGen(n: number, signed = false): ValueGen {
  let k = 0;
  return (r) => {
    const pos = k++ % (n * n);
    if (Math.floor(pos / n) !== pos % n) return fr(r() - 0.5);
    const v = fr(3 + r());
    return signed && r() < 0.5 ? -v : v;
  };
}
const M = (shape: number[], signed = false) => F(shape, matGen(shape[shape.length - 1], signed));
const tri = (lower: boolean, transposeA: boolean, unitDiagonal = false) => ({
  lower,
  transposeA,
  unitDiagonal,
});
/** m×n matrices with diagonal 1.5 (i + 1) + [0, 0.5) and off-diagonal [-0.3, 0.3): separated spectra. */
function spreadGen(m: number, n: number, signed = false): ValueGen {
  let k = 0;
  return (r) => {
    const pos = k++ % (m * n), i = Math.floor(pos / n);
    if (i !== pos % n) return fr(0.6 * (r() - 0.5));
    const v = fr(1.5 * (i + 1) + 0.5 * r());
    return signed && r() < 0.5 ? -v : v;
  };
}
const SP = (shape: number[], signed = false) =>
  F(shape, spreadGen(shape.at(-2)!, shape.at(-1)!, signed));
const uv = (fullMatrices: boolean, computeUv = true) => ({ fullMatrices, computeUv });
const LINALG_DECOMP = {
  qr: smooth([
    S("[4,3]", [F([4, 3])], { fullMatrices: false }),
    S("wide [2,3]", [F([2, 3])], { fullMatrices: false }),
    S("complete [3,3]", [F([3, 3])], { fullMatrices: true }),
    S("batched [2,3,2]", [F([2, 3, 2])], { fullMatrices: false }),
    S("size-0 batch [0,2,2]", [F([0, 2, 2])], { fullMatrices: false }),
  ]),
  eigh: smooth([
    S("[3,3]", [SP([3, 3])]),
    S("batched [2,2,2]", [SP([2, 2, 2])]),
    S("[1,1]", [SP([1, 1])]),
    S("size-0 batch [0,2,2]", [SP([0, 2, 2])]),
  ]),
  svd: smooth([
    S("[3,2]", [SP([3, 2], true)], uv(false)),
    S("wide [2,3]", [SP([2, 3], true)], uv(false)),
    S("values batched [2,2,2]", [SP([2, 2, 2], true)], uv(false, false)),
    S("full [3,3]", [SP([3, 3], true)], uv(true)),
    S("size-0 batch [0,2,2]", [SP([0, 2, 2])], uv(false, false)),
  ]),
};
const LINALG_BASE = {
  triangularSolve: smooth([
    S("lower [3,3] b [3,2]", [M([3, 3], true), F([3, 2])], tri(true, false)),
    S("upper transposeA [2,3,3] b [2,3,1]", [M([2, 3, 3], true), F([2, 3, 1])], tri(false, true)),
    S("unit lower transposeA [2,2] b [2,3]", [M([2, 2]), F([2, 3])], tri(true, true, true)),
    S("unit upper [1,1] b [1,2]", [M([1, 1]), F([1, 2])], tri(false, false, true)),
    S("size-0 batch [0,2,2] b [0,2,1]", [M([0, 2, 2]), F([0, 2, 1])], tri(true, false)),
  ]),
  cholesky: smooth([
    S("[3,3]", [M([3, 3])]),
    S("batched [2,2,2]", [M([2, 2, 2])]),
    S("[1,1]", [M([1, 1])]),
    S("size-0 batch [0,2,2]", [M([0, 2, 2])]),
  ]),
  solve: smooth([
    S("[3,3] b [3,2]", [M([3, 3], true), F([3, 2])], { transposeA: false }),
    S("transposeA [2,2,2] b [2,2,1]", [M([2, 2, 2], true), F([2, 2, 1])], { transposeA: true }),
    S("[1,1] b [1,0]", [M([1, 1], true), F([1, 0])], { transposeA: false }),
  ]),
  det: smooth([
    S("[3,3]", [M([3, 3], true)]),
    S("batched [2,2,2]", [M([2, 2, 2], true)]),
    S("[1,1]", [M([1, 1], true)]),
    S("[0,0]", [M([0, 0])]),
  ]),
  slogdet: smooth([
    S("[3,3]", [M([3, 3], true)]),
    S("batched [2,2,2]", [M([2, 2, 2], true)]),
    S("[1,1]", [M([1, 1], true)]),
  ]),
};

/** Samples of the linalg primitives by name. */
export const LINALG_SAMPLES = { ...LINALG_BASE, ...LINALG_DECOMP };
