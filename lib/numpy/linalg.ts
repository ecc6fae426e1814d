/**
 * Products: matmul, dot, tensordot, einsum, outer, inner — all lowered to `dotGeneral`.
 * @module
 */
import type { ArrayLike, Tensor } from "../tensor.ts";
import { broadcastShapes, fmtShape, normAxis } from "../shape.ts";
import { dotGeneral } from "../ops/dot.ts";
import { reduceSum } from "../ops/reduce.ts";
import { convert } from "../ops/elementwise.ts";
import * as mv from "../ops/movement.ts";
import { asTensor, broadcastTo, resultType } from "./_convert.ts";
import { multiply } from "./math.ts";

function promote2(op: string, a: ArrayLike, b: ArrayLike): [Tensor, Tensor] {
  const x = asTensor(a, op), y = asTensor(b, op);
  const d = resultType([x, y]).dtype;
  return [convert(x, d), convert(y, d)];
}

/**
 * Matrix product with NumPy's rules for 1-d operands and broadcast batch dimensions.
 *
 * @example 2×2 product
 * ```ts
 * import { np } from "../../mod.ts";
 * const c = np.matmul([[1, 2], [3, 4]], [[5, 6], [7, 8]]);
 * if (c.dataSync().join() !== "19,22,43,50") throw new Error("matmul");
 * ```
 */
export function matmul(a: ArrayLike, b: ArrayLike): Tensor {
  return matmulAs("matmul", a, b);
}

function matmulAs(op: string, a: ArrayLike, b: ArrayLike): Tensor {
  let [x, y] = promote2(op, a, b);
  if (x.ndim === 0 || y.ndim === 0) {
    throw new TypeError(`${op}: operands must be at least 1-dimensional, got a scalar`);
  }
  const xv = x.ndim === 1, yv = y.ndim === 1;
  if (xv) x = mv.reshape(x, [1, x.shape[0]]);
  if (yv) y = mv.reshape(y, [y.shape[0], 1]);
  const k1 = x.shape[x.ndim - 1], k2 = y.shape[y.ndim - 2];
  if (k1 !== k2) {
    throw new TypeError(
      `${op}: inner dimensions differ: ${k1} (shape ${
        fmtShape(asTensor(a).shape)
      }) and ${k2} (shape ${fmtShape(asTensor(b).shape)})`,
    );
  }
  const batch = broadcastShapes(op, x.shape.slice(0, -2), y.shape.slice(0, -2));
  x = broadcastTo(x, [...batch, ...x.shape.slice(-2)]);
  y = broadcastTo(y, [...batch, ...y.shape.slice(-2)]);
  const nb = batch.length;
  const bd = [...Array(nb).keys()];
  let out = dotGeneral(x, y, { contract: [[nb + 1], [nb]], batch: [bd, bd] });
  const s = out.shape;
  if (xv && yv) out = mv.reshape(out, s.slice(0, -2));
  else if (xv) out = mv.reshape(out, [...s.slice(0, -2), s[s.length - 1]]);
  else if (yv) out = mv.reshape(out, s.slice(0, -1));
  return out;
}

/** NumPy `dot`: scalars multiply, 1-d/2-d as matmul, N-d contracts a's last with b's second-to-last axis. */
export function dot(a: ArrayLike, b: ArrayLike): Tensor {
  const [x, y] = promote2("dot", a, b);
  if (x.ndim === 0 || y.ndim === 0) return multiply(x, y);
  if (x.ndim <= 2 && y.ndim <= 2) return matmulAs("dot", x, y);
  return tensordot(x, y, [[x.ndim - 1], [y.ndim === 1 ? 0 : y.ndim - 2]]);
}

/** Contracts `axes` (a count of trailing/leading axes, or explicit lists). */
export function tensordot(
  a: ArrayLike,
  b: ArrayLike,
  axes: number | [number[], number[]] = 2,
): Tensor {
  const [x, y] = promote2("tensordot", a, b);
  let ax: number[], bx: number[];
  if (typeof axes === "number") {
    if (axes < 0 || axes > Math.min(x.ndim, y.ndim)) {
      throw new RangeError(`tensordot: axes ${axes} exceeds operand ranks ${x.ndim} and ${y.ndim}`);
    }
    ax = [...Array(axes).keys()].map((i) => x.ndim - axes + i);
    bx = [...Array(axes).keys()];
  } else {
    ax = axes[0].map((i) => normAxis("tensordot", i, x.ndim, "axes"));
    bx = axes[1].map((i) => normAxis("tensordot", i, y.ndim, "axes"));
  }
  if (ax.length !== bx.length || ax.some((i, k) => x.shape[i] !== y.shape[bx[k]])) {
    throw new TypeError(
      `tensordot: shape mismatch for sum over axes ${JSON.stringify(ax)} of ${
        fmtShape(x.shape)
      } and ${JSON.stringify(bx)} of ${fmtShape(y.shape)}`,
    );
  }
  return dotGeneral(x, y, { contract: [ax, bx], batch: [[], []] });
}

/** Outer product of the flattened operands. */
export function outer(a: ArrayLike, b: ArrayLike): Tensor {
  const [x, y] = promote2("outer", a, b);
  return multiply(mv.reshape(x, [x.size, 1]), mv.reshape(y, [1, y.size]));
}

/** Inner product over the last axes. */
export function inner(a: ArrayLike, b: ArrayLike): Tensor {
  const [x, y] = promote2("inner", a, b);
  if (x.ndim === 0 || y.ndim === 0) return multiply(x, y);
  return tensordot(x, y, [[x.ndim - 1], [y.ndim - 1]]);
}

/**
 * Einstein summation, e.g. `einsum("bij,bjk->bik", a, b)`; implicit output when `->` is absent.
 * Repeated indices within one operand (diagonals) are not supported.
 */
export function einsum(subscripts: string, ...operands: ArrayLike[]): Tensor {
  const spec = subscripts.replace(/\s/g, "");
  const [lhs, rhsSpec] = spec.includes("->") ? spec.split("->") : [spec, undefined];
  const ins = lhs.split(",");
  const bad = (why: string) => new TypeError(`einsum: ${why} in ${JSON.stringify(subscripts)}`);
  if (ins.length !== operands.length) {
    throw bad(`${ins.length} operand specs but ${operands.length} operands`);
  }
  if (![...ins, rhsSpec ?? ""].every((s) => /^[a-zA-Z]*$/.test(s))) {
    throw bad("invalid subscript characters");
  }
  const counts = new Map<string, number>();
  ins.forEach((s) => [...s].forEach((c) => counts.set(c, (counts.get(c) ?? 0) + 1)));
  const out = rhsSpec ?? [...counts.keys()].filter((c) => counts.get(c) === 1).sort().join("");
  if ([...out].some((c) => !counts.has(c))) throw bad("output subscript not in any input");
  if (new Set(out).size !== out.length) throw bad("repeated output subscript");
  let ts = operands.map((o) => asTensor(o, "einsum"));
  const d = resultType(ts).dtype;
  ts = ts.map((t) => convert(t, d));
  const sizes = new Map<string, number>();
  ins.forEach((s, k) => {
    if (s.length !== ts[k].ndim) throw bad(`operand ${k} has ${ts[k].ndim} dims but spec "${s}"`);
    if (new Set(s).size !== s.length) {
      throw bad(`repeated index in operand spec "${s}" (diagonals are not supported)`);
    }
    [...s].forEach((c, i) => {
      const n = ts[k].shape[i];
      if ((sizes.get(c) ?? n) !== n) {
        throw new TypeError(`einsum: size mismatch for index '${c}': ${sizes.get(c)} and ${n}`);
      }
      sizes.set(c, n);
    });
  });
  // sum out indices used by one operand only and not in the output
  const needed = (c: string, except: number) =>
    out.includes(c) || ins.some((s, k) => k !== except && s.includes(c));
  let cur: { t: Tensor; idx: string } | undefined;
  ins.forEach((s, k) => {
    const drop = [...s].map((c, i) => (needed(c, k) ? -1 : i)).filter((i) => i >= 0);
    let t = reduceSum(ts[k], drop);
    let idx = [...s].filter((_, i) => !drop.includes(i)).join("");
    if (cur) {
      const later = (c: string) => out.includes(c) || ins.slice(k + 1).some((z) => z.includes(c));
      const shared = [...cur.idx].filter((c) => idx.includes(c));
      const batch = shared.filter(later), contract = shared.filter((c) => !later(c));
      const res = dotGeneral(cur.t, t, {
        contract: [contract.map((c) => cur!.idx.indexOf(c)), contract.map((c) => idx.indexOf(c))],
        batch: [batch.map((c) => cur!.idx.indexOf(c)), batch.map((c) => idx.indexOf(c))],
      });
      const lf = [...cur.idx].filter((c) => !shared.includes(c));
      const rf = [...idx].filter((c) => !shared.includes(c));
      t = res;
      idx = [...batch, ...lf, ...rf].join("");
    }
    cur = { t, idx };
  });
  const final = reduceSum(
    cur!.t,
    [...cur!.idx].map((c, i) => (out.includes(c) ? -1 : i)).filter((i) => i >= 0),
  );
  const fidx = [...cur!.idx].filter((c) => out.includes(c));
  return mv.transpose(final, [...out].map((c) => fidx.indexOf(c)));
}
