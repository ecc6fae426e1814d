// Pytrees: nested arrays and plain objects whose leaves are values of a caller-chosen type.
// Flatten to (leaves, TreeDef), rebuild from a TreeDef, and map over leaves of matching trees.
// Generic over the leaf type, so it does not depend on the Tensor class.

/** Numbers, booleans and bigints: leaves of a tree when `scalarsAreLeaves` is on (the default). */
export type Scalar = number | boolean | bigint;

/** Options for {@link treeFlatten}, {@link treeLeaves} and {@link treeStructure}. */
export interface FlattenOptions {
  /** Treat numbers, booleans and bigints as leaves (as JAX treats Python scalars). Default true;
   * when false they are rejected with a TypeError unless `isLeaf` accepts them. */
  scalarsAreLeaves?: boolean;
}

/**
 * The structure of a pytree with its leaves removed. Opaque: compare with
 * {@link treeDefEqual}, key caches with {@link treeDefKey}, print with {@link treeDefToString}.
 */
export interface TreeDef {
  /** Number of leaves a matching tree has. */
  readonly numLeaves: number;
  /** Same as {@link treeDefToString}. */
  toString(): string;
}

type Node =
  | { kind: "leaf" }
  | { kind: "null" }
  | { kind: "undefined" }
  | { kind: "array"; children: Node[] }
  | { kind: "object"; keys: string[]; children: Node[] }
  | { kind: "custom"; node: CustomNode; aux: unknown; auxKey: string; children: Node[] };

/** A class registered with {@link registerNode}. */
interface CustomNode {
  id: number;
  name: string;
  flatten(x: object): [unknown[], unknown];
  unflatten(aux: unknown, children: unknown[]): unknown;
}

const REGISTRY = new Map<unknown, CustomNode>();

/**
 * Registers a class as a pytree node: `flatten(obj)` returns `[children, aux]` (children are
 * subtrees; `aux` is static data, compared by its JSON text), `unflatten(aux, children)` rebuilds
 * an instance. Registered instances then pass through every transform (grad, jit, vmap, ...) and
 * the tree utilities like arrays and plain objects do. Registering a class again replaces its rules.
 *
 * @example
 * ```ts
 * class Pair { constructor(readonly a: unknown, readonly b: unknown) {} }
 * registerNode(Pair, (p) => [[p.a, p.b], null], (_aux, [a, b]) => new Pair(a, b));
 * const [leaves, def] = treeFlatten(new Pair(1, [2]), (x): x is never => false);
 * // leaves: [1, 2]; String(def): "Pair(null)[*, [*]]"
 * ```
 */
export function registerNode<T extends object>(
  cls: abstract new (...args: never[]) => T,
  flatten: (x: T) => [unknown[], unknown?],
  unflatten: (aux: unknown, children: unknown[]) => T,
): void {
  if (typeof cls !== "function") {
    throw new TypeError(`registerNode: cls must be a class, got ${typeName(cls)}`);
  }
  if (typeof flatten !== "function" || typeof unflatten !== "function") {
    throw new TypeError("registerNode: flatten and unflatten must be functions");
  }
  REGISTRY.set(cls, {
    id: REGISTRY.get(cls)?.id ?? REGISTRY.size,
    name: cls.name || "anonymous",
    flatten: (x) => {
      const r = flatten(x as T);
      if (!Array.isArray(r) || !Array.isArray(r[0])) {
        throw new TypeError(`registerNode: flatten of ${cls.name} must return [children[], aux]`);
      }
      return [r[0], r[1] ?? null];
    },
    unflatten: unflatten as (aux: unknown, children: unknown[]) => unknown,
  });
}

function auxText(aux: unknown): string {
  try {
    return JSON.stringify(aux) ?? String(aux);
  } catch {
    return String(aux);
  }
}

const LEAF: Node = { kind: "leaf" };
const NULL: Node = { kind: "null" };
const UNDEFINED: Node = { kind: "undefined" };
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

class TreeDefImpl implements TreeDef {
  readonly numLeaves: number;
  readonly #node: Node;
  #key: string | undefined;
  #text: string | undefined;

  constructor(node: Node, numLeaves: number) {
    this.#node = node;
    this.numLeaves = numLeaves;
  }

  static nodeOf(def: TreeDef, op: string): Node {
    if (!(def instanceof TreeDefImpl)) {
      throw new TypeError(
        `${op}: def must be a TreeDef made by treeFlatten or treeStructure, got ${typeName(def)}`,
      );
    }
    return def.#node;
  }

  get key(): string {
    return this.#key ??= encode(this.#node, false);
  }

  toString(): string {
    return this.#text ??= encode(this.#node, true);
  }
}

/** Canonical text: `pretty` gives `{a: *, b: [*, *]}`, otherwise an unambiguous cache key. */
function encode(node: Node, pretty: boolean): string {
  switch (node.kind) {
    case "leaf":
      return "*";
    case "null":
      return "null";
    case "undefined":
      return "undefined";
    case "array":
      return `[${node.children.map((c) => encode(c, pretty)).join(pretty ? ", " : ",")}]`;
    case "object": {
      const parts = node.keys.map((k, i) => {
        const name = pretty && IDENTIFIER.test(k) ? k : JSON.stringify(k);
        return `${name}${pretty ? ": " : ":"}${encode(node.children[i], pretty)}`;
      });
      return `{${parts.join(pretty ? ", " : ",")}}`;
    }
    case "custom": {
      const kids = node.children.map((c) => encode(c, pretty)).join(pretty ? ", " : ",");
      return `${node.node.name}${pretty ? "" : `#${node.node.id}`}(${node.auxKey})[${kids}]`;
    }
  }
}

function typeName(x: unknown): string {
  if (x === null) return "null";
  if (typeof x === "function") return "function";
  if (typeof x !== "object") return typeof x;
  const ctor = Object.getPrototypeOf(x)?.constructor;
  return typeof ctor === "function" && ctor.name ? ctor.name : "object";
}

function isPlainObject(x: object): boolean {
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

function isScalar(x: unknown): x is Scalar {
  return typeof x === "number" || typeof x === "boolean" || typeof x === "bigint";
}

function childPath(path: string, key: string | number): string {
  if (typeof key === "number") return `${path}[${key}]`;
  return IDENTIFIER.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

/**
 * Flattens `tree` into its leaves (depth-first, left to right) and its structure.
 * - `isLeaf(x)` is tested first, so it may claim any value (even arrays or `null`) as a leaf;
 * - arrays are containers of their elements (holes count as `undefined`);
 * - plain objects (prototype `Object.prototype` or `null`) are containers of their own
 *   enumerable string keys, visited in sorted order as JAX sorts dict keys (symbol keys are ignored);
 * - `null` and `undefined` are empty subtrees with no leaves (kept distinct in the TreeDef);
 * - numbers, booleans and bigints are leaves unless `scalarsAreLeaves` is false.
 * Anything else (strings, functions, class instances, cyclic references) is a TypeError
 * naming its type and its path, such as `tree.layers[2].w`.
 *
 * @example
 * ```ts
 * const isArr = (x: unknown): x is Float32Array => x instanceof Float32Array;
 * const [leaves, def] = treeFlatten({ b: [new Float32Array(2), 3], a: null }, isArr);
 * // leaves: [Float32Array(2), 3]; String(def): "{a: null, b: [*, *]}"
 * ```
 */
export function treeFlatten<L>(
  tree: unknown,
  isLeaf: (x: unknown) => x is L,
  options: FlattenOptions & { scalarsAreLeaves: false },
): [L[], TreeDef];
export function treeFlatten<L>(
  tree: unknown,
  isLeaf: (x: unknown) => x is L,
  options?: FlattenOptions,
): [(L | Scalar)[], TreeDef];
export function treeFlatten<L>(
  tree: unknown,
  isLeaf: (x: unknown) => x is L,
  options: FlattenOptions = {},
): [(L | Scalar)[], TreeDef] {
  return flattenWith("treeFlatten", tree, isLeaf, options.scalarsAreLeaves ?? true);
}

function flattenWith<L>(
  op: string,
  tree: unknown,
  isLeaf: (x: unknown) => x is L,
  scalarsAreLeaves: boolean,
): [(L | Scalar)[], TreeDef] {
  const leaves: (L | Scalar)[] = [];
  const ancestors = new Set<object>();
  const visit = (x: unknown, path: string): Node => {
    if (isLeaf(x) || (scalarsAreLeaves && isScalar(x))) {
      leaves.push(x as L | Scalar);
      return LEAF;
    }
    if (x === null) return NULL;
    if (x === undefined) return UNDEFINED;
    const custom = typeof x === "object"
      ? REGISTRY.get(Object.getPrototypeOf(x)?.constructor)
      : undefined;
    if (custom) {
      if (ancestors.has(x as object)) throw new TypeError(`${op}: cyclic reference at ${path}`);
      ancestors.add(x as object);
      const [kids, aux] = custom.flatten(x as object);
      const children = kids.map((c, i) => visit(c, childPath(path, i)));
      ancestors.delete(x as object);
      return { kind: "custom", node: custom, aux, auxKey: auxText(aux), children };
    }
    if (typeof x === "object" && (Array.isArray(x) || isPlainObject(x))) {
      if (ancestors.has(x)) throw new TypeError(`${op}: cyclic reference at ${path}`);
      ancestors.add(x);
      let node: Node;
      if (Array.isArray(x)) {
        const children: Node[] = [];
        for (let i = 0; i < x.length; i++) children.push(visit(x[i], childPath(path, i)));
        node = { kind: "array", children };
      } else {
        const record = x as Record<string, unknown>;
        const keys = Object.keys(record).sort();
        node = {
          kind: "object",
          keys,
          children: keys.map((k) => visit(record[k], childPath(path, k))),
        };
      }
      ancestors.delete(x);
      return node;
    }
    const hint = isScalar(x) ? " (scalarsAreLeaves is false)" : "";
    throw new TypeError(
      `${op}: unsupported ${
        typeName(x)
      } at ${path}${hint}; a pytree holds arrays, plain objects, null, ` +
        `undefined and leaves accepted by isLeaf`,
    );
  };
  const root = visit(tree, "tree");
  return [leaves, new TreeDefImpl(root, leaves.length)];
}

/**
 * Rebuilds a tree with structure `def` from `leaves` (in {@link treeFlatten} order).
 * Containers are fresh arrays and ordinary objects with keys in sorted order (objects that had
 * a null prototype come back with `Object.prototype`).
 *
 * @example
 * ```ts
 * const [leaves, def] = treeFlatten({ w: 1, b: [2, 3] }, (x): x is never => false);
 * treeUnflatten(def, leaves.map((x) => Number(x) * 10)); // { b: [20, 30], w: 10 }
 * ```
 */
export function treeUnflatten<L>(def: TreeDef, leaves: readonly L[]): unknown {
  const root = TreeDefImpl.nodeOf(def, "treeUnflatten");
  if (leaves.length !== def.numLeaves) {
    throw new TypeError(
      `treeUnflatten: def ${def} expects ${def.numLeaves} leaves, got ${leaves.length}`,
    );
  }
  let next = 0;
  const build = (node: Node): unknown => {
    switch (node.kind) {
      case "leaf":
        return leaves[next++];
      case "null":
        return null;
      case "undefined":
        return undefined;
      case "array":
        return node.children.map(build);
      case "custom":
        return node.node.unflatten(node.aux, node.children.map(build));
      case "object": {
        const out: Record<string, unknown> = {};
        node.keys.forEach((k, i) => {
          const value = build(node.children[i]);
          if (k === "__proto__") {
            Object.defineProperty(out, k, {
              value,
              enumerable: true,
              writable: true,
              configurable: true,
            });
          } else out[k] = value;
        });
        return out;
      }
    }
  };
  return build(root);
}

/**
 * Applies `f` to every leaf of `tree` (and the corresponding leaves of `rest`) and returns a
 * tree of the same structure holding the results. Every tree in `rest` must have exactly
 * the structure of `tree`, else a TypeError shows both structures. Scalars are leaves.
 *
 * @example
 * ```ts
 * const isArr = (x: unknown): x is number[] => false;
 * treeMap((a, b) => Number(a) + Number(b), { x: 1, y: [2] }, isArr, { x: 10, y: [20] });
 * // { x: 11, y: [22] }
 * ```
 */
export function treeMap<L, R>(
  f: (leaf: L | Scalar, ...rest: (L | Scalar)[]) => R,
  tree: unknown,
  isLeaf: (x: unknown) => x is L,
  ...rest: unknown[]
): unknown {
  const [leaves, def] = flattenWith("treeMap", tree, isLeaf, true);
  const others = rest.map((other, i) => {
    const [otherLeaves, otherDef] = flattenWith("treeMap", other, isLeaf, true);
    if (!treeDefEqual(def, otherDef)) {
      throw new TypeError(
        `treeMap: rest tree ${i} has structure ${otherDef} but the first tree has structure ${def}`,
      );
    }
    return otherLeaves;
  });
  return treeUnflatten(def, leaves.map((leaf, j) => f(leaf, ...others.map((o) => o[j]))));
}

/**
 * The leaves of `tree`, in {@link treeFlatten} order.
 *
 * @example
 * ```ts
 * treeLeaves([1, { b: 3, a: 2 }], (x): x is never => false); // [1, 2, 3]
 * ```
 */
export function treeLeaves<L>(
  tree: unknown,
  isLeaf: (x: unknown) => x is L,
  options: FlattenOptions & { scalarsAreLeaves: false },
): L[];
export function treeLeaves<L>(
  tree: unknown,
  isLeaf: (x: unknown) => x is L,
  options?: FlattenOptions,
): (L | Scalar)[];
export function treeLeaves<L>(
  tree: unknown,
  isLeaf: (x: unknown) => x is L,
  options: FlattenOptions = {},
) {
  return flattenWith("treeLeaves", tree, isLeaf, options.scalarsAreLeaves ?? true)[0];
}

/**
 * The structure of `tree` (its {@link TreeDef}) without collecting leaves for use.
 *
 * @example
 * ```ts
 * String(treeStructure({ a: 1, b: [2, 3] }, (x): x is never => false)); // "{a: *, b: [*, *]}"
 * ```
 */
export function treeStructure<L>(
  tree: unknown,
  isLeaf: (x: unknown) => x is L,
  options: FlattenOptions = {},
): TreeDef {
  return flattenWith("treeStructure", tree, isLeaf, options.scalarsAreLeaves ?? true)[1];
}

/**
 * Whether two TreeDefs describe the same structure (same container kinds, keys and leaf positions).
 *
 * @example
 * ```ts
 * const no = (x: unknown): x is never => false;
 * treeDefEqual(treeStructure({ a: 1 }, no), treeStructure({ a: 2 }, no)); // true
 * ```
 */
export function treeDefEqual(a: TreeDef, b: TreeDef): boolean {
  TreeDefImpl.nodeOf(a, "treeDefEqual");
  TreeDefImpl.nodeOf(b, "treeDefEqual");
  return a === b || (a as TreeDefImpl).key === (b as TreeDefImpl).key;
}

/**
 * A string that is equal for two TreeDefs exactly when {@link treeDefEqual} holds; use it as a
 * cache key (for example for traced functions). Keys are JSON-quoted, so it is unambiguous.
 *
 * @example
 * ```ts
 * treeDefKey(treeStructure({ a: [1, null] }, (x): x is never => false)); // '{"a":[*,null]}'
 * ```
 */
export function treeDefKey(def: TreeDef): string {
  TreeDefImpl.nodeOf(def, "treeDefKey");
  return (def as TreeDefImpl).key;
}

/**
 * Human-readable structure with `*` for leaves, e.g. `{a: *, b: [*, *]}`; keys that are not
 * identifiers are JSON-quoted.
 *
 * @example
 * ```ts
 * treeDefToString(treeStructure({ a: 1, "b c": [2, null] }, (x): x is never => false));
 * // '{a: *, "b c": [*, null]}'
 * ```
 */
export function treeDefToString(def: TreeDef): string {
  TreeDefImpl.nodeOf(def, "treeDefToString");
  return def.toString();
}
