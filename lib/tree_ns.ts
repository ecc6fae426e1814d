/**
 * The `tree` namespace: JAX's pytree utilities over the trees every transform accepts (Tensors,
 * numbers and booleans as leaves; arrays, plain objects, null/undefined and classes registered
 * with {@link registerNode} as containers).
 *
 * @example
 * ```ts
 * import { np, tree } from "../mod.ts";
 * const params = { w: np.ones([2]), layers: [{ b: np.zeros([3]) }] };
 * const doubled = tree.map((x) => np.multiply(x, 2), params) as typeof params;
 * if (tree.leaves(doubled).length !== 2 || String(tree.structure(params)) !== "{layers: [{b: *}], w: *}") {
 *   throw new Error();
 * }
 * ```
 * @module
 */
import type { Tensor } from "./tensor.ts";
import { isLeaf } from "./api/_args.ts";
import {
  registerNode,
  type TreeDef,
  treeDefEqual,
  treeFlatten,
  treeLeaves,
  treeMap,
  treeStructure,
  treeUnflatten,
} from "./tree.ts";

export { registerNode, type TreeDef };

/** A leaf of a pytree: a Tensor or a JS number/boolean. */
export type Leaf = Tensor | number | boolean;

/**
 * Applies `f` to the leaves of `tree` (and the matching leaves of `rest`, which must have the
 * same structure) and returns a tree of the results (`jax.tree.map`).
 *
 * @example
 * ```ts
 * import { tree } from "../mod.ts";
 * const s = tree.map((a, b) => Number(a) + Number(b), { x: 1, y: [2] }, { x: 10, y: [20] });
 * if (JSON.stringify(s) !== '{"x":11,"y":[22]}') throw new Error();
 * ```
 */
export function map(
  f: (leaf: Leaf, ...rest: Leaf[]) => unknown,
  tree: unknown,
  ...rest: unknown[]
): unknown {
  if (typeof f !== "function") {
    throw new TypeError(`tree.map: f must be a function, got ${typeof f}`);
  }
  return treeMap(f as (l: unknown, ...r: unknown[]) => unknown, tree, isLeaf, ...rest);
}

/**
 * The leaves of `tree`, depth-first (object keys sorted, as JAX sorts dict keys).
 *
 * @example
 * ```ts
 * import { tree } from "../mod.ts";
 * if (tree.leaves({ b: 2, a: [1, null] }).join() !== "1,2") throw new Error();
 * ```
 */
export function leaves(tree: unknown): Leaf[] {
  return treeLeaves(tree, isLeaf) as Leaf[];
}

/**
 * `[leaves, structure]` of `tree`; {@link unflatten} inverts it.
 *
 * @example
 * ```ts
 * import { tree } from "../mod.ts";
 * const [ls, def] = tree.flatten([1, { a: 2 }]);
 * if (ls.length !== 2 || def.numLeaves !== 2) throw new Error();
 * ```
 */
export function flatten(tree: unknown): [Leaf[], TreeDef] {
  return treeFlatten(tree, isLeaf) as [Leaf[], TreeDef];
}

/**
 * Rebuilds a tree of structure `def` from `leaves`.
 *
 * @example
 * ```ts
 * import { tree } from "../mod.ts";
 * const [ls, def] = tree.flatten({ a: 1, b: [2] });
 * if (JSON.stringify(tree.unflatten(def, ls.map((x) => Number(x) * 3))) !== '{"a":3,"b":[6]}') throw new Error();
 * ```
 */
export function unflatten(def: TreeDef, leaves: readonly unknown[]): unknown {
  return treeUnflatten(def, leaves);
}

/**
 * The structure of `tree` (compare two with {@link equalStructure}; `String(def)` prints it).
 *
 * @example
 * ```ts
 * import { tree } from "../mod.ts";
 * if (String(tree.structure({ a: 1, b: [2, 3] })) !== "{a: *, b: [*, *]}") throw new Error();
 * ```
 */
export function structure(tree: unknown): TreeDef {
  return treeStructure(tree, isLeaf);
}

/**
 * Whether two structures are equal.
 *
 * @example
 * ```ts
 * import { tree } from "../mod.ts";
 * if (!tree.equalStructure(tree.structure([1, 2]), tree.structure([3, 4]))) throw new Error();
 * ```
 */
export function equalStructure(a: TreeDef, b: TreeDef): boolean {
  return treeDefEqual(a, b);
}
