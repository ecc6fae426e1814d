// deno-lint-ignore-file no-explicit-any -- wraps user functions of any signature
/**
 * Pytree plumbing shared by the public transforms: flattening arguments to Tensor leaves and
 * rebuilding outputs.
 * @module
 */
import { Tensor } from "../tensor.ts";
import { type TreeDef, treeFlatten, treeUnflatten } from "../tree.ts";
import { asTensor, scalar } from "../numpy/_convert.ts";
import { isInexact } from "../dtype.ts";
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
    if (t.aval.weak && !isInexact(t.aval.dtype)) t = convert(t, "float32");
    if (!isInexact(t.aval.dtype)) {
      throw new TypeError(
        `${op}: differentiated inputs must be float or complex, got ${t.aval.dtype} (shape [${
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

/** Throws a TypeError at transform creation when `f` is not a function. */
export function checkFunction(op: string, f: unknown, what = "a function"): void {
  if (typeof f !== "function") {
    const got = f === null
      ? "null"
      : Array.isArray(f)
      ? "an array"
      : typeof f === "string"
      ? `the string ${JSON.stringify(f)}`
      : typeof f;
    throw new TypeError(`${op}: expected ${what}, got ${got}`);
  }
}

/** Checks `argnums` against the argument count and normalises it to a list. */
export function argnumList(
  op: string,
  argnums: number | readonly number[],
  nargs: number,
): number[] {
  const list = typeof argnums === "number" ? [argnums] : [...argnums];
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

/**
 * A list of pytree arguments flattened to one list of Tensor leaves: `split` rebuilds the
 * arguments from a leaf list, `wrap(f)` gives the flat function leaves → output leaves (recording
 * the output structure in `outDef`).
 */
export class FlatArgs {
  /** All leaves, argument after argument. */
  readonly leaves: Tensor[];
  /** Structure of the last output seen by a wrapped function. */
  outDef: TreeDef | undefined;
  readonly #defs: TreeDef[];
  readonly #sizes: number[];
  constructor(args: unknown[], flattenOne: (a: unknown) => [Tensor[], TreeDef]) {
    const flat = args.map(flattenOne);
    this.leaves = flat.flatMap(([l]) => l);
    this.#defs = flat.map(([, d]) => d);
    this.#sizes = flat.map(([l]) => l.length);
  }
  /** Rebuilds the argument list from leaves (in the same order as `leaves`). */
  split(xs: Tensor[]): unknown[] {
    let k = 0;
    return this.#defs.map((d, j) => unflatten(d, xs.slice(k, k += this.#sizes[j])));
  }
  /** `f` as a function of the flat leaves returning flat output leaves. */
  wrap(f: (...args: any[]) => unknown): (xs: Tensor[]) => Tensor[] {
    return (xs) => {
      const [outs, def] = flatten(f(...this.split(xs)));
      this.outDef = def;
      return outs;
    };
  }
}
