// deno-lint-ignore-file no-explicit-any -- transforms return user pytrees, whose type is the user's
/**
 * Public `vmap`: per-argument `inAxes` (number, null, or a pytree prefix of them) and `outAxes`.
 * @module
 */
import type { AnyFunction, Transformed } from "./_types.ts";
import type { Tensor } from "../tensor.ts";
import type { BDim } from "../ops/_define.ts";
import { normAxis } from "../shape.ts";
import { vmapFlat } from "../transforms/vmap.ts";
import { treeFlatten } from "../tree.ts";
import { checkFunction, flatten, unflatten } from "./_args.ts";
import { checkOptions } from "../options.ts";

/** Axis spec: a number, null (not mapped), or a pytree of them matching the argument. */
export type AxisSpec = number | null | AxisSpec[] | { [k: string]: AxisSpec };

/** Options of `vmap`. */
export interface VmapOptions {
  /** One spec for all arguments, or one per argument. */
  inAxes?: AxisSpec;
  /** One spec for all outputs, or a pytree matching the output. */
  outAxes?: AxisSpec;
}

function specLeaves(op: string, spec: AxisSpec, n: number): BDim[] {
  if (spec === null || typeof spec === "number") return Array(n).fill(spec);
  const [leaves] = treeFlatten(
    spec,
    (x): x is number | null => x === null || typeof x === "number",
  ) as [BDim[], unknown];
  if (leaves.length !== n) {
    throw new TypeError(
      `${op}: axis spec ${JSON.stringify(spec)} has ${leaves.length} entries for ${n} arrays`,
    );
  }
  return leaves;
}

/**
 * Vectorizes `f` over a mapped axis of its arguments.
 *
 * @example Batched dot products
 * ```ts
 * import { np, vmap } from "../../mod.ts";
 * const dots = vmap((a, b) => np.dot(a, b))(np.ones([3, 4]), np.ones([3, 4]));
 * if (dots.dataSync().join() !== "4,4,4") throw new Error("vmap");
 * ```
 */
export function vmap<F extends AnyFunction>(f: F, opts?: VmapOptions): Transformed<F> {
  checkFunction("vmap", f);
  const o = checkOptions("vmap", opts, ["inAxes", "outAxes"]);
  const inAxes = o.inAxes ?? 0;
  const outAxes = o.outAxes ?? 0;
  return (...args: unknown[]): any => {
    const perArg: AxisSpec[] = Array.isArray(inAxes) ? inAxes : args.map(() => inAxes);
    if (perArg.length !== args.length) {
      throw new TypeError(
        `vmap: inAxes has ${perArg.length} entries but the function got ${args.length} arguments`,
      );
    }
    const flat = args.map((a) => flatten(a));
    const dims: BDim[] = [];
    flat.forEach(([leaves], j) => {
      specLeaves("vmap", perArg[j], leaves.length).forEach((d, i) => {
        dims.push(d === null ? null : normAxis("vmap", d, leaves[i].ndim, `inAxes[${j}]`));
      });
    });
    const leaves = flat.flatMap(([l]) => l);
    const sizes = leaves.map((l, i) => (dims[i] === null ? -1 : l.shape[dims[i]!])).filter((s) =>
      s >= 0
    );
    if (!sizes.length) {
      throw new TypeError("vmap: at least one argument must be mapped (inAxes are all null)");
    }
    if (sizes.some((s) => s !== sizes[0])) {
      throw new TypeError(`vmap: mapped axes have different sizes: ${sizes.join(", ")}`);
    }
    const outDims: BDim[] = [];
    let outDef: ReturnType<typeof flatten>[1] | undefined;
    const fFlat = (xs: Tensor[]): Tensor[] => {
      let k = 0;
      const a = flat.map(([l, d]) => unflatten(d, xs.slice(k, k += l.length)));
      const [outs, def] = flatten(f(...a));
      outDef = def;
      outDims.push(...specLeaves("vmap", outAxes, outs.length));
      return outs;
    };
    const outs = vmapFlat(fFlat, leaves, dims, outDims, sizes[0]);
    return unflatten(outDef!, outs);
  };
}
