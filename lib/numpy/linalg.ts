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
import { diagonal } from "./shape_more.ts";

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

/** Characters standing for the dims an ellipsis covers (never valid user subscripts). */
const ELL = (i: number) => String.fromCharCode(0x3b1 + i);

/**
 * Parses einsum subscripts: `...` becomes placeholder indices (broadcast across operands, right
 * aligned), repeated indices within an operand take its diagonal. Returns plain specs.
 */
function parseEinsum(
  subscripts: string,
  operands: Tensor[],
): { ins: string[]; out: string; ts: Tensor[] } {
  const spec = subscripts.replace(/\s/g, "");
  const [lhs, rhsSpec] = spec.includes("->") ? spec.split("->") : [spec, undefined];
  const ins = lhs.split(",");
  const bad = (why: string) => new TypeError(`einsum: ${why} in ${JSON.stringify(subscripts)}`);
  if (ins.length !== operands.length) {
    throw bad(`${ins.length} operand specs but ${operands.length} operands`);
  }
  if (![...ins, rhsSpec ?? ""].every((z) => /^[a-zA-Z]*(\.\.\.)?[a-zA-Z]*$/.test(z))) {
    throw bad("invalid subscript characters");
  }
  const ts = [...operands];
  const ells = ins.map((z, k) => (z.includes("...") ? ts[k].ndim - (z.length - 3) : 0));
  if (ells.some((e) => e < 0)) throw bad("an operand has fewer dims than its subscripts");
  const E = Math.max(0, ...ells);
  const ellShape: number[] = Array(E).fill(1);
  ins.forEach((z, k) => {
    const at = z.indexOf("..."), e = ells[k];
    for (let i = 0; i < e; i++) {
      const n = ts[k].shape[at + i], j = E - e + i;
      if (n !== 1 && ellShape[j] !== 1 && ellShape[j] !== n) {
        throw bad(`operands could not be broadcast together in the ellipsis dims`);
      }
      if (n !== 1) ellShape[j] = n;
    }
  });
  const expanded = ins.map((z, k) => {
    if (!z.includes("...")) return z;
    const e = ells[k], at = z.indexOf("...");
    const names = Array.from({ length: e }, (_, i) => ELL(E - e + i)).join("");
    // broadcast size-1 ellipsis dims to the common size
    const t = ts[k];
    const target = t.shape.map((d, i) => (i >= at && i < at + e ? ellShape[E - e + i - at] : d));
    ts[k] = broadcastTo(t, target);
    return z.replace("...", names);
  });
  const allEll = Array.from({ length: E }, (_, i) => ELL(i)).join("");
  const counts = new Map<string, number>();
  expanded.forEach((z) => [...new Set(z)].forEach((c) => counts.set(c, (counts.get(c) ?? 0) + 1)));
  const repeatedInSpec = (c: string) => expanded.some((z) => z.split(c).length > 2);
  const out = rhsSpec !== undefined
    ? rhsSpec.replace("...", allEll)
    : allEll + [...counts.keys()].filter((c) =>
      /[a-zA-Z]/.test(c) && counts.get(c) === 1 && !repeatedInSpec(c)
    ).sort().join("");
  if ([...out].some((c) => !counts.has(c))) throw bad("output subscript not in any input");
  if (new Set(out).size !== out.length) throw bad("repeated output subscript");
  // diagonals for indices repeated within one operand
  const plain = expanded.map((z, k) => {
    if (z.length !== ts[k].ndim) throw bad(`operand ${k} has ${ts[k].ndim} dims but spec "${z}"`);
    for (;;) {
      const c = [...z].find((ch, i) => z.indexOf(ch) !== i);
      if (c === undefined) return z;
      const i = z.indexOf(c), j = z.indexOf(c, i + 1);
      if (ts[k].shape[i] !== ts[k].shape[j]) {
        throw new TypeError(
          `einsum: size mismatch for repeated index '${c}' in operand ${k}: ${ts[k].shape[i]} and ${
            ts[k].shape[j]
          }`,
        );
      }
      ts[k] = diagonal(ts[k], { axis1: i, axis2: j });
      z = [...z].filter((_, q) => q !== i && q !== j).join("") + c;
    }
  });
  return { ins: plain, out, ts };
}

/**
 * Einstein summation, e.g. `einsum("bij,bjk->bik", a, b)`; implicit output when `->` is absent.
 * `...` stands for broadcast leading (or any) dims; an index repeated within one operand takes
 * its diagonal (`"ii->i"`, `"ii"` is the trace).
 *
 * @example Batched products, traces and diagonals
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const a = np.arange(8).reshape([2, 2, 2]);
 * assert.deepEqual(np.einsum("...ij,...jk->...ik", a, a).shape, [2, 2, 2]);
 * assert.equal(np.einsum("ii", [[1, 2], [3, 4]]).item(), 5);
 * assert.deepEqual(Array.from(np.einsum("ii->i", [[1, 2], [3, 4]]).dataSync()), [1, 4]);
 * ```
 */
export function einsum(subscripts: string, ...operands: ArrayLike[]): Tensor {
  let ts = operands.map((o) => asTensor(o, "einsum"));
  const d = resultType(ts).dtype;
  ts = ts.map((t) => convert(t, d));
  const parsed = parseEinsum(subscripts, ts);
  const { ins, out } = parsed;
  ts = parsed.ts;
  const sizes = new Map<string, number>();
  ins.forEach((s, k) => {
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
