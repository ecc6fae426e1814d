/**
 * Decomposition primitives over leading batch dims: `qr` (Householder), `eigh` (of the symmetrized
 * input, eigenvalues ascending) and `svd` (singular values descending). jvp rules are JAX's,
 * written with primitives so they compose; host kernels in linalg_decomp_host.ts.
 * @module
 */
import { bind } from "../core.ts";
import { allocTyped } from "../dtype.ts";
import type { Tensor } from "../tensor.ts";
import { fmtShape, sizeOf } from "../shape.ts";
import { type Aval, defineOp, type HostArray, type OpDef } from "./_define.ts";
import { batchAt0, broadcastInDim, reduceSum } from "./_util.ts";
import { add, div, mul, sub } from "./elementwise.ts";
import { concatenate, slice } from "./movement.ts";
import { bmm, constMatrix, mT, triangularSolve } from "./linalg.ts";
import { eighHost, qrHost, svdHost } from "./linalg_decomp_host.ts";

/** Params of `qr`: `fullMatrices` gives q [..., m, m] and r [..., m, n]. */
export interface QrParams {
  fullMatrices: boolean;
}
/** Params of `svd`: `fullMatrices` gives u [..., m, m] and vt [..., n, n]; `computeUv` false gives only s. */
export interface SvdParams {
  fullMatrices: boolean;
  computeUv: boolean;
}

function checkMatrix(op: string, a: Aval): [number, number] {
  if (a.shape.length < 2) {
    throw new TypeError(`${op}: a must be at least 2-d, got shape ${fmtShape(a.shape)}`);
  }
  if (a.dtype !== "float32" && a.dtype !== "float64") {
    throw new TypeError(`${op}: a must be float32 or float64, got ${a.dtype}`);
  }
  return [a.shape[a.shape.length - 2], a.shape[a.shape.length - 1]];
}

const av = (batch: number[], dims: number[], a: Aval): Aval => ({
  shape: [...batch, ...dims],
  dtype: a.dtype,
  weak: false,
});

/** Calls `f` on each m×n matrix of `a` (as float64) and its index. */
function eachMatrix(a: HostArray, f: (m: Float64Array, q: number) => void): void {
  const s = a.shape, m = s[s.length - 2], n = s[s.length - 1];
  const count = sizeOf(s.slice(0, -2));
  for (let q = 0; q < count; q++) {
    f(Float64Array.from(a.data.subarray(q * m * n, (q + 1) * m * n)), q);
  }
}

/** Diagonal of [..., k, k] as [..., k]. */
function diagPart(x: Tensor): Tensor {
  const r = x.aval.shape.length;
  return reduceSum(mul(x, constMatrix(x, (i, j) => (i === j ? 1 : 0))), [r - 1]);
}

/** v [..., k] broadcast to [..., rows, k] (v[..., None, :]) or [..., k, cols] (v[..., :, None]). */
function spread(v: Tensor, n: number, asRow: boolean): Tensor {
  const s = v.aval.shape, nb = s.length - 1, k = s[nb];
  const batch = [...Array(nb).keys()];
  return asRow
    ? broadcastInDim(v, [...s.slice(0, nb), n, k], [...batch, nb + 1])
    : broadcastInDim(v, [...s.slice(0, nb), k, n], [...batch, nb]);
}

/** 1 / (d + I) − I: reciprocals off the diagonal, 0 on it. */
function offDiagReciprocal(d: Tensor): Tensor {
  const eye = constMatrix(d, (i, j) => (i === j ? 1 : 0));
  return sub(div(constMatrix(d, () => 1), add(d, eye)), eye);
}

/** jvp of q, r = qr(x) for m ≥ n (reduced): JAX's rule. */
function qrJvpTall(q: Tensor, r: Tensor, dx: Tensor): [Tensor, Tensor] {
  const up = { lower: false, transposeA: true, unitDiagonal: false };
  const dxRinv = mT(triangularSolve(r, mT(dx), up)); // dx R⁻¹
  const qtDxRinv = bmm(mT(q), dxRinv);
  const low = mul(qtDxRinv, constMatrix(qtDxRinv, (i, j) => (j < i ? 1 : 0)));
  const dO = sub(low, mT(low)); // skew-symmetric
  const dq = add(bmm(q, sub(dO, qtDxRinv)), dxRinv);
  const dr = bmm(sub(qtDxRinv, dO), r);
  return [dq, dr];
}

/** `qr` primitive: [q, r] with a = q r, q orthonormal columns, r upper triangular (LAPACK signs). */
export const qrOp: OpDef<QrParams> = defineOp({
  name: "qr",
  kind: "linalg",
  abstractEval: ([a], p) => {
    const [m, n] = checkMatrix("qr", a);
    const b = a.shape.slice(0, -2), k = p.fullMatrices ? m : Math.min(m, n);
    return [av(b, [m, k], a), av(b, [k, n], a)];
  },
  impl: ([a], p, [qa, ra]) => {
    const [m, n] = a.shape.slice(-2);
    const qo = allocTyped(qa.dtype, sizeOf(qa.shape)), ro = allocTyped(ra.dtype, sizeOf(ra.shape));
    eachMatrix(a, (x, i) => {
      const { q, r } = qrHost(x, m, n, p.fullMatrices);
      qo.set(q, i * q.length);
      ro.set(r, i * r.length);
    });
    return [qo, ro];
  },
  jvp: ([x], [dx], p) => {
    const s = x.aval.shape, nd = s.length, [m, n] = s.slice(-2);
    if (p.fullMatrices && m !== n) {
      throw new TypeError(
        `qr: the derivative of mode "complete" needs a square matrix, got shape ${fmtShape(s)}`,
      );
    }
    const [q, r] = qr(x, p);
    if (m >= n) return [[q, r], qrJvpTall(q, r, dx)];
    // wide: x = [X | Y], X m×m: q r_X = X, r_Y = qᵀ Y
    const cut = (t: Tensor, lo: number, hi: number) =>
      slice(t, s.map((_, i) => (i === nd - 1 ? lo : 0)), s.map((d, i) => (i === nd - 1 ? hi : d)));
    const rx = slice(r, r.aval.shape.map(() => 0), [...s.slice(0, -1), m]);
    const [dq, drx] = qrJvpTall(q, rx, cut(dx, 0, m));
    const dry = add(bmm(mT(dq), cut(x, m, n)), bmm(mT(q), cut(dx, m, n)));
    return [[q, r], [dq, concatenate([drx, dry], nd - 1)]];
  },
  vmap: ([a], [bd], p, size) => [qr(batchAt0(a, bd, size), p), [0, 0]],
});

/** `eigh` primitive: [v, w] of (a + aᵀ)/2: eigenvectors as columns, eigenvalues ascending. */
export const eighOp: OpDef<Record<string, never>> = defineOp({
  name: "eigh",
  kind: "linalg",
  abstractEval: ([a]) => {
    const [m, n] = checkMatrix("eigh", a);
    if (m !== n) {
      throw new TypeError(`eigh: a must be square in its last two dims, got ${fmtShape(a.shape)}`);
    }
    return [av(a.shape.slice(0, -2), [n, n], a), av(a.shape.slice(0, -2), [n], a)];
  },
  impl: ([a], _p, [va, wa]) => {
    const n = a.shape[a.shape.length - 1];
    const vo = allocTyped(va.dtype, sizeOf(va.shape)), wo = allocTyped(wa.dtype, sizeOf(wa.shape));
    eachMatrix(a, (x, i) => {
      const { v, w } = eighHost(x, n);
      vo.set(v, i * n * n);
      wo.set(w, i * n);
    });
    return [vo, wo];
  },
  jvp: ([a], [da]) => {
    const [v, w] = eigh(a);
    const n = w.aval.shape[w.aval.shape.length - 1];
    const ds = mul(add(da, mT(da)), constMatrix(da, () => 0.5));
    const vtDaV = bmm(mT(v), bmm(ds, v));
    const f = offDiagReciprocal(sub(spread(w, n, true), spread(w, n, false))); // 1/(w_j − w_i)
    return [[v, w], [bmm(v, mul(f, vtDaV)), diagPart(vtDaV)]];
  },
  vmap: ([a], [bd], _p, size) => [eigh(batchAt0(a, bd, size)), [0, 0]],
});

/** `svd` primitive: [s, u, vt] (or [s]) with a = u diag(s) vt, s descending. */
export const svdOp: OpDef<SvdParams> = defineOp({
  name: "svd",
  kind: "linalg",
  abstractEval: ([a], p) => {
    const [m, n] = checkMatrix("svd", a);
    const b = a.shape.slice(0, -2), k = Math.min(m, n);
    const s = av(b, [k], a);
    if (!p.computeUv) return [s];
    return p.fullMatrices
      ? [s, av(b, [m, m], a), av(b, [n, n], a)]
      : [s, av(b, [m, k], a), av(b, [k, n], a)];
  },
  impl: ([a], p, outs) => {
    const [m, n] = a.shape.slice(-2);
    const res = outs.map((o) => allocTyped(o.dtype, sizeOf(o.shape)));
    eachMatrix(a, (x, i) => {
      const { u, s, vt } = svdHost(x, m, n, p.fullMatrices);
      res[0].set(s, i * s.length);
      if (p.computeUv) res[1].set(u, i * u.length), res[2].set(vt, i * vt.length);
    });
    return res;
  },
  jvp: ([a], [da], p) => svdJvp(a, da, p),
  vmap: ([a], [bd], p, size) => {
    const outs = svdP(batchAt0(a, bd, size), p);
    return [outs, outs.map(() => 0)];
  },
});

/** JAX's SVD jvp (reduced matrices; square ones when `fullMatrices`). */
function svdJvp(a: Tensor, da: Tensor, p: SvdParams): [Tensor[], Tensor[]] {
  const [m, n] = a.aval.shape.slice(-2), k = Math.min(m, n);
  if (p.computeUv && p.fullMatrices && m !== n) {
    throw new TypeError(
      `svd: the derivative with fullMatrices needs a square matrix, got shape ${
        fmtShape(a.aval.shape)
      } (use fullMatrices: false)`,
    );
  }
  const [s, u, vt] = svdP(a, { fullMatrices: false, computeUv: true });
  const v = mT(vt);
  const dS = bmm(mT(u), bmm(da, v));
  const ds = diagPart(dS);
  if (!p.computeUv) return [[s], [ds]];
  const sRow = spread(s, k, true), sCol = spread(s, k, false);
  const f = offDiagReciprocal(mul(add(sRow, sCol), sub(sRow, sCol)));
  const dSS = mul(sRow, dS), sdS = mul(sCol, dS);
  let du = bmm(u, mul(f, add(dSS, mT(dSS))));
  let dv = bmm(v, mul(f, add(sdS, mT(sdS))));
  if (m > n) {
    const dAV = bmm(da, v);
    du = add(du, div(sub(dAV, bmm(u, bmm(mT(u), dAV))), spread(s, m, true)));
  }
  if (n > m) {
    const dAtU = bmm(mT(da), u);
    dv = add(dv, div(sub(dAtU, bmm(v, bmm(vt, dAtU))), spread(s, n, true)));
  }
  return [[s, u, vt], [ds, du, mT(dv)]];
}

/** Binds `qr`: [q, r]. */
export function qr(a: Tensor, p: QrParams): [Tensor, Tensor] {
  return bind(qrOp, [a], p) as [Tensor, Tensor];
}
/** Binds `eigh`: [v, w] (eigenvectors as columns, eigenvalues ascending). */
export function eigh(a: Tensor): [Tensor, Tensor] {
  return bind(eighOp, [a], {}) as [Tensor, Tensor];
}
/** Binds `svd`: [s, u, vt], or [s] without `computeUv`. */
export function svdP(a: Tensor, p: SvdParams): Tensor[] {
  return bind(svdOp, [a], p);
}
