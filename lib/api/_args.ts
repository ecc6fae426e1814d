/**
 * Pytree plumbing shared by the public transforms: flattening arguments to Tensor leaves and
 * rebuilding outputs.
 * @module
 */
import { Tensor } from "../tensor.ts";
import { type TreeDef, treeFlatten, treeUnflatten } from "../tree.ts";
import { asTensor, scalar } from "../numpy/_convert.ts";
import { isFloat } from "../dtype.ts";
import { convert } from "../ops/elementwise.ts";

/** Leaves of user pytrees: Tensors, numbers and booleans. */
export function isLeaf(x: unknown): x is Tensor | number | boolean {
  return x instanceof Tensor || typeof x === "number" || typeof x === "boolean";
}

/** Flattens a pytree into Tensors (JS scalars become weakly typed arrays). */
export function flatten(tree: unknown): [Tensor[], TreeDef] {
  const [leaves, def] = treeFlatten(tree, isLeaf);
  return [leaves.map((l) => asTensor(l)), def];
}

/** Flattens a pytree of differentiable inputs: JS numbers become float32, ints are rejected. */
export function flattenFloat(op: string, tree: unknown): [Tensor[], TreeDef] {
  const [leaves, def] = treeFlatten(tree, isLeaf);
  const ts = leaves.map((l) => {
    if (typeof l === "number") return scalar(l, "float32");
    let t = asTensor(l);
    if (t.aval.weak && !isFloat(t.aval.dtype)) t = convert(t, "float32");
    if (!isFloat(t.aval.dtype)) {
      throw new TypeError(
        `${op}: differentiated inputs must be float32 or float64, got ${t.aval.dtype} (shape [${
          t.shape.join(",")
        }]); cast with astype("float32")`,
      );
    }
    return t.aval.weak ? convert(t, t.aval.dtype) : t;
  });
  return [ts, def];
}

/** Rebuilds a pytree. */
export function unflatten(def: TreeDef, leaves: Tensor[]): unknown {
  return treeUnflatten(def, leaves);
}

/** Checks `argnums` against the argument count and normalises it to a list. */
export function argnumList(op: string, argnums: number | number[], nargs: number): number[] {
  const list = Array.isArray(argnums) ? argnums : [argnums];
  return list.map((a) => {
    if (!Number.isInteger(a) || a < -nargs || a >= nargs) {
      throw new RangeError(
        `${op}: argnums ${
          JSON.stringify(argnums)
        } is out of range for ${nargs} positional arguments`,
      );
    }
    return a < 0 ? a + nargs : a;
  });
}
