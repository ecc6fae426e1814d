// deno-lint-ignore-file no-explicit-any -- primitive params are read by name here
/**
 * Fusible values: each one knows how to produce the scalar expression of its element at a
 * symbolic index. Elementwise ops combine their operands' expressions; movement ops (broadcast,
 * reshape, transpose, slice, rev, pad, concatenate) only rewrite indices. Whatever chain of them
 * feeds a materialization point becomes one kernel.
 * @module
 */
import type { Aval, OpDef } from "../ops/_define.ts";
import {
  type Expr,
  flatIndex,
  iadd,
  idiv,
  type Idx,
  imod,
  imul,
  lit,
  unflatIndex,
} from "./kernel.ts";

/** A value that can be evaluated at any index inside a kernel. */
export interface Node {
  aval: Aval;
  /** Expression of the element at a multi-index. */
  at(idx: Idx[]): Expr;
  /** Expression of the element at a row-major flat index, when that is cheap. */
  flat?: (f: Idx) => Expr;
  /** Number of arithmetic operations per element (0 for views of buffers). */
  cost: number;
}

/** A materialized buffer (global buffer id `buf`). */
export function bufferNode(buf: number, aval: Aval): Node {
  return {
    aval,
    at: (idx) => ({ k: "load", input: buf, index: flatIndex(idx, aval.shape), dtype: aval.dtype }),
    flat: (f) => ({ k: "load", input: buf, index: f, dtype: aval.dtype }),
    cost: 0,
  };
}

/**
 * An elementwise primitive applied to equal-shaped operands. (No elementwise op needs its params
 * in the expression: `convert` reads its target dtype from the node's dtype.)
 */
export function elementwiseNode(op: OpDef, ins: Node[], aval: Aval): Node {
  const mk = (args: Expr[]): Expr => ({ k: "alu", op: op.name, args, dtype: aval.dtype });
  const allFlat = ins.every((n) => n.flat);
  return {
    aval,
    at: (idx) => mk(ins.map((n) => n.at(idx))),
    flat: allFlat ? (f) => mk(ins.map((n) => n.flat!(f))) : undefined,
    cost: 1 + ins.reduce((s, n) => s + n.cost, 0),
  };
}

function andAll(conds: Expr[]): Expr | null {
  if (!conds.length) return null;
  return conds.reduce((a, b) => ({ k: "alu", op: "land", args: [a, b], dtype: "bool" }));
}

/** Movement primitives as index rewrites; returns null for ops that are not movement. */
export function movementNode(
  op: OpDef,
  p: Record<string, any>,
  ins: Node[],
  aval: Aval,
): Node | null {
  const [x] = ins;
  const xs = x.aval.shape;
  const view = (at: (idx: Idx[]) => Expr, flat?: (f: Idx) => Expr): Node => ({
    aval,
    at,
    flat,
    cost: x.cost,
  });
  switch (op.name) {
    case "reshape": {
      const flat = (f: Idx) => (x.flat ? x.flat(f) : x.at(unflatIndex(f, xs)));
      return view((idx) => flat(flatIndex(idx, aval.shape)), flat);
    }
    case "broadcastInDim": {
      const dims: number[] = p.dims;
      const same = xs.length === aval.shape.length && xs.every((d, i) => d === aval.shape[i]);
      return view(
        (idx) => x.at(xs.map((d, i) => (d === 1 ? lit(0) : idx[dims[i]]))),
        same ? x.flat : undefined,
      );
    }
    case "transpose": {
      const perm: number[] = p.perm;
      return view((idx) => {
        const src: Idx[] = new Array(perm.length);
        perm.forEach((q, i) => (src[q] = idx[i]));
        return x.at(src);
      });
    }
    case "slice":
      return view((idx) => x.at(idx.map((v, i) => iadd(imul(v, p.strides[i]), p.start[i]))));
    case "rev":
      return view((idx) =>
        x.at(idx.map((v, i) => (p.axes.includes(i) ? iadd(imul(v, -1), xs[i] - 1) : v)))
      );
    case "pad": {
      const v = ins[1];
      return {
        aval,
        cost: x.cost + v.cost + 1,
        at: (idx) => {
          const conds: Expr[] = [];
          const src = idx.map((vi, i) => {
            const s = p.interior[i] + 1;
            if (p.lo[i] === 0 && s === 1 && aval.shape[i] === xs[i]) return vi;
            const q = iadd(vi, -p.lo[i]);
            conds.push({ k: "cmpIdx", op: ">=", a: q, b: lit(0) });
            if (s > 1) conds.push({ k: "cmpIdx", op: "==", a: imod(q, s), b: lit(0) });
            const qi = idiv(q, s);
            conds.push({ k: "cmpIdx", op: "<", a: qi, b: lit(xs[i]) });
            return qi;
          });
          const c = andAll(conds);
          return c
            ? { k: "alu", op: "select", args: [c, x.at(src), v.at([])], dtype: aval.dtype }
            : x.at(src);
        },
      };
    }
    case "concatenate": {
      const ax: number = p.axis;
      return {
        aval,
        cost: ins.reduce((s, n) => s + n.cost, 0) + ins.length,
        at: (idx) => {
          let off = ins.reduce((s, n) => s + n.aval.shape[ax], 0);
          let e: Expr | null = null;
          for (let k = ins.length - 1; k >= 0; k--) {
            off -= ins[k].aval.shape[ax];
            if (ins[k].aval.shape[ax] === 0) continue;
            const o = off;
            const here = ins[k].at(idx.map((v, i) => (i === ax ? iadd(v, -o) : v)));
            e = e === null ? here : {
              k: "alu",
              op: "select",
              args: [
                { k: "cmpIdx", op: "<", a: idx[ax], b: lit(o + ins[k].aval.shape[ax]) },
                here,
                e,
              ],
              dtype: aval.dtype,
            };
          }
          return e ?? { k: "const", v: 0, dtype: aval.dtype };
        },
      };
    }
  }
  return null;
}
