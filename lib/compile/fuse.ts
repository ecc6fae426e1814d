/**
 * Fusible values: each one knows how to produce the scalar expression of its element at a
 * symbolic index. Elementwise ops combine their operands' expressions; movement ops rewrite
 * indices through their OpDef's `view`. Whatever chain of them feeds a materialization point
 * becomes one kernel.
 * @module
 */
import type { Aval, ElementwiseOpDef, StructuralOpDef } from "../ops/_define.ts";
import { shapeEqual } from "../shape.ts";
import { type Expr, flatIndex, type Idx, unflatIndex } from "./kernel.ts";

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
export function elementwiseNode(op: ElementwiseOpDef, ins: Node[], aval: Aval): Node {
  const mk = (args: Expr[]): Expr => ({ k: "alu", op: op.name, args, dtype: aval.dtype });
  const allFlat = ins.every((n) => n.flat);
  return {
    aval,
    at: (idx) => mk(ins.map((n) => n.at(idx))),
    flat: allFlat ? (f) => mk(ins.map((n) => n.flat!(f))) : undefined,
    cost: 1 + ins.reduce((s, n) => s + n.cost, 0),
  };
}

/** A movement primitive as an index rewrite of its operands (its OpDef's `view`). */
export function viewNode(op: StructuralOpDef, p: unknown, ins: Node[], aval: Aval): Node {
  const x = ins[0];
  const v = op.view;
  if (v.flat === "always") {
    const xs = x.aval.shape;
    const flat = (f: Idx) => (x.flat ? x.flat(f) : x.at(unflatIndex(f, xs)));
    return { aval, at: (idx) => flat(flatIndex(idx, aval.shape)), flat, cost: x.cost };
  }
  const avals = ins.map((n) => n.aval);
  const read = (i: number, idx: Idx[]) => ins[i].at(idx);
  const same = v.flat === "sameShape" && shapeEqual(x.aval.shape, aval.shape);
  return {
    aval,
    at: (idx) => v.at(idx, read, p, avals, aval),
    flat: same ? x.flat : undefined,
    cost: ins.reduce((s, n) => s + n.cost, 0) + (v.cost?.(ins.length) ?? 0),
  };
}
