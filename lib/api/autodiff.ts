// deno-lint-ignore-file no-explicit-any -- transforms return user pytrees, whose type is the user's
/**
 * Public autodiff transforms: grad, valueAndGrad, vjp, jvp, linearize, jacfwd, jacrev, hessian,
 * stopGradient. Thin pytree wrappers over the interpreters in `transforms/`.
 * @module
 */
import type {
  AnyFunction,
  ArgGrads,
  ArgnumsOf,
  AuxOf,
  InputsOf,
  JacobianOf,
  Tensors,
} from "./_types.ts";
import { bind1, currentLevel, eagerScopes, withScope } from "../core.ts";
import type { Tensor } from "../tensor.ts";
import { evalJaxpr } from "../ir.ts";
import { isFloat } from "../dtype.ts";
import { jvpFlat, JvpTracer } from "../transforms/jvp.ts";
import { linearizeFlat, vjpFlat } from "../transforms/linearize.ts";
import { vmapFlat } from "../transforms/vmap.ts";
import { stopGradientOp } from "../ops/elementwise.ts";
import { full, zerosOf } from "../ops/_util.ts";
import { concatenate, reshape, slice, transpose } from "../ops/movement.ts";
import { convert } from "../ops/elementwise.ts";
import { asTensor } from "../numpy/_convert.ts";
import { eye } from "../numpy/creation.ts";
import { treeFlatten } from "../tree.ts";
import {
  argnumList,
  checkFunction,
  FlatArgs,
  flatten,
  flattenFloat,
  isLeaf,
  unflatten,
} from "./_args.ts";
import { checkOptions } from "../options.ts";

const GRAD_KEYS = ["argnums", "hasAux"];
const JAC_KEYS = ["argnums"];

/** Options of `grad` / `valueAndGrad`. */
export interface GradOptions {
  /** Which positional argument(s) to differentiate. */
  argnums?: number | readonly number[];
  /** `f` returns `[loss, aux]`; aux is passed through. */
  hasAux?: boolean;
}

/** Replaces tracers of the innermost jvp trace by their primals (for aux outputs); and its leaves. */
function stripTop(tree: unknown): [unknown, Tensor[]] {
  const [leaves, def] = treeFlatten(tree, isLeaf);
  const ts = leaves.map((
    l,
  ) => (l instanceof JvpTracer && l._main.level === currentLevel() ? l.primal : asTensor(l)));
  return [unflatten(def, ts), ts];
}

/**
 * Runs one call of a transform. Called eagerly (no transform active), it runs in a scope: the
 * device arrays it creates (residuals, cotangents, intermediates) are freed when it returns,
 * except those `fn` lists next to its result (see `withScope`); under a transform, as is.
 */
function eager<R>(name: string, fn: () => [R, readonly unknown[]]): R {
  if (currentLevel() !== 0 || !eagerScopes()) return fn()[0];
  return withScope(fn, ([, kept]) => kept, name)[0];
}

/**
 * Returns a function computing `[f(...args), gradient]` (with `hasAux`: `[[value, aux], gradient]`).
 *
 * @example Value and gradient
 * ```ts
 * import { np, valueAndGrad } from "../../mod.ts";
 * const [v, g] = valueAndGrad((x) => np.sum(np.square(x)))(np.array([1, 2]).astype("float32"));
 * if (v.item() !== 5 || g.dataSync().join() !== "2,4") throw new Error("valueAndGrad");
 * ```
 */
export function valueAndGrad<
  F extends AnyFunction,
  const O extends GradOptions = Record<never, never>,
>(
  f: F,
  opts: O = {} as O,
): (
  ...args: InputsOf<F>
) => [
  O extends { hasAux: true } ? [Tensor, AuxOf<F>] : Tensor,
  ArgGrads<Parameters<F>, ArgnumsOf<O>>,
] {
  checkFunction("valueAndGrad", f);
  const { argnums = 0, hasAux = false } = checkOptions(
    "valueAndGrad",
    opts as GradOptions,
    GRAD_KEYS,
  );
  return (...args: unknown[]): [any, any] =>
    eager("grad", () => gradCall(f, argnums, hasAux, args));
}

/** One eager or traced call of `valueAndGrad(f)`: its result, and the arrays that result holds. */
function gradCall(
  f: AnyFunction,
  argnums: number | readonly number[],
  hasAux: boolean,
  args: unknown[],
): [[any, any], readonly unknown[]] {
  const nums = argnumList("grad", argnums, args.length);
  const flat = nums.map((i) => flattenFloat("grad", args[i]));
  const sizes = flat.map(([l]) => l.length);
  let aux: unknown, auxLeaves: Tensor[] = [];
  const fFlat = (xs: Tensor[]): Tensor[] => {
    const newArgs = [...args];
    let k = 0;
    nums.forEach((i, j) => {
      newArgs[i] = unflatten(flat[j][1], xs.slice(k, k + sizes[j]));
      k += sizes[j];
    });
    const r = f(...newArgs);
    let out = r;
    if (hasAux) {
      if (!Array.isArray(r) || r.length !== 2) {
        throw new TypeError("grad: with hasAux the function must return [value, aux]");
      }
      out = r[0];
      [aux, auxLeaves] = stripTop(r[1]);
    }
    const t = asTensor(out, "grad");
    if (t.size !== 1 || t.ndim !== 0) {
      throw new TypeError(
        `grad: the function must return a scalar (shape []), got shape [${t.shape.join(",")}]`,
      );
    }
    return [t];
  };
  const [[value], pullback] = vjpFlat(fFlat, flat.flatMap(([l]) => l));
  if (!isFloat(value.dtype)) {
    throw new TypeError(`grad: the function must return a float scalar, got ${value.dtype}`);
  }
  const cts = pullback([full([], 1, value.dtype)]);
  let k = 0;
  const grads = nums.map((_, j) => {
    const g = unflatten(flat[j][1], cts.slice(k, k + sizes[j]));
    k += sizes[j];
    return g;
  });
  const g = typeof argnums === "number" ? grads[0] : grads;
  return [[hasAux ? [value, aux] : value, g], [value, ...auxLeaves, ...cts]];
}

/**
 * The gradient of a scalar function with respect to argument `argnums` (default 0).
 *
 * @example Derivative of x³
 * ```ts
 * import { grad } from "../../mod.ts";
 * const d = grad((x) => x.mul(x).mul(x))(2);
 * if (d.item() !== 12) throw new Error("grad");
 * ```
 */
export function grad<F extends AnyFunction, const O extends GradOptions = Record<never, never>>(
  f: F,
  opts: O = {} as O,
): GradFunction<F, O> {
  checkFunction("grad", f);
  const o = checkOptions("grad", opts as GradOptions, GRAD_KEYS);
  const { argnums = 0, hasAux = false } = o;
  // the value is not returned: the scope frees it too (kept: aux leaves and cotangents)
  return ((...args: unknown[]) =>
    eager("grad", () => {
      const [[v, g], kept] = gradCall(f, argnums, hasAux, args);
      return [hasAux ? [g, v[1]] : g, kept.slice(1)];
    })) as GradFunction<F, O>;
}

/** The function `grad(f, opts)` returns: `f`'s parameters, the gradient (and aux) as result. */
export type GradFunction<F extends AnyFunction, O extends GradOptions> = (
  ...args: InputsOf<F>
) => O extends { hasAux: true } ? [ArgGrads<Parameters<F>, ArgnumsOf<O>>, AuxOf<F>]
  : ArgGrads<Parameters<F>, ArgnumsOf<O>>;

/** `[f(...primals), pullback]`; `pullback(ct)` returns one cotangent per primal. */
export function vjp<F extends AnyFunction>(
  f: F,
  ...primals: InputsOf<F>
): [Tensors<ReturnType<F>>, (ct: Tensors<ReturnType<F>>) => Tensors<Parameters<F>>] {
  checkFunction("vjp", f);
  const fa = new FlatArgs(primals, (p) => flattenFloat("vjp", p));
  // the forward pass keeps its outputs and the residuals the pullback reads
  const [outs, pb] = eager("vjp", () => {
    const r = vjpFlat(fa.wrap(f), fa.leaves);
    return [r, [...r[0], ...r[2].consts]];
  });
  const pullback = (ct: unknown) => {
    const [cts] = flatten(ct);
    if (cts.length !== outs.length) {
      throw new TypeError(`vjp: cotangent has ${cts.length} leaves, the output has ${outs.length}`);
    }
    cts.forEach((c, i) => {
      if (c.shape.join() !== outs[i].shape.join()) {
        throw new TypeError(
          `vjp: cotangent shape [${c.shape}] does not match output shape [${outs[i].shape}]`,
        );
      }
    });
    return eager("vjp", () => {
      const res = pb(cts);
      return [fa.split(res) as Tensors<Parameters<F>>, res];
    });
  };
  return [unflatten(fa.outDef!, outs) as Tensors<ReturnType<F>>, pullback];
}

/** Forward mode: `[f(...primals), J·tangents]`. */
export function jvp<F extends AnyFunction>(
  f: F,
  primals: InputsOf<F>,
  tangents: InputsOf<F>,
): [Tensors<ReturnType<F>>, Tensors<ReturnType<F>>] {
  if (primals.length !== tangents.length) {
    throw new TypeError(`jvp: ${primals.length} primals but ${tangents.length} tangents`);
  }
  checkFunction("jvp", f);
  const fa = new FlatArgs(primals, (p) => flattenFloat("jvp", p));
  const tleaves = new FlatArgs(tangents, (t) => flattenFloat("jvp", t)).leaves;
  fa.leaves.forEach((p, i) => {
    const t = tleaves[i];
    if (!t || t.shape.join() !== p.shape.join()) {
      throw new TypeError(
        `jvp: tangent shape [${t?.shape}] does not match primal shape [${p.shape}]`,
      );
    }
  });
  const [po, to] = eager("jvp", () => {
    const r = jvpFlat(fa.wrap(f), fa.leaves, tleaves);
    return [r, [...r[0], ...r[1]]];
  });
  return [unflatten(fa.outDef!, po), unflatten(fa.outDef!, to)] as [any, any];
}

/** `[f(...primals), fJvp]` where `fJvp(...tangents)` applies the linearized function (staged once). */
export function linearize<F extends AnyFunction>(
  f: F,
  ...primals: InputsOf<F>
): [Tensors<ReturnType<F>>, (...tangents: Tensors<Parameters<F>>) => Tensors<ReturnType<F>>] {
  checkFunction("linearize", f);
  const fa = new FlatArgs(primals, (p) => flattenFloat("linearize", p));
  const [po, lin] = eager("linearize", () => {
    const r = linearizeFlat(fa.wrap(f), fa.leaves);
    return [r, [...r[0], ...r[1].consts]];
  });
  const fJvp = (...tangents: unknown[]): any =>
    eager("linearize", () => {
      const outs = evalJaxpr(
        lin,
        new FlatArgs(tangents, (t) => flattenFloat("linearize", t)).leaves,
      );
      return [unflatten(fa.outDef!, outs), outs];
    });
  return [unflatten(fa.outDef!, po) as any, fJvp];
}

/** The identity, with zero derivative. */
export function stopGradient<T>(x: T): Tensors<T> {
  const [leaves, def] = flatten(x);
  return unflatten(def, leaves.map((l) => bind1(stopGradientOp, [l]))) as Tensors<T>;
}

function jacobian(mode: "fwd" | "rev", f: AnyFunction, argnums: number | readonly number[]) {
  const op = mode === "fwd" ? "jacfwd" : "jacrev";
  return (...args: unknown[]): any =>
    eager(op, () => {
      const r = jacobianCall(mode, op, f, argnums, args);
      return [r, flatten(r)[0]];
    });
}

function jacobianCall(
  mode: "fwd" | "rev",
  op: string,
  f: AnyFunction,
  argnums: number | readonly number[],
  args: unknown[],
): any {
  const nums = argnumList(op, argnums, args.length);
  const tree = typeof argnums === "number" ? args[nums[0]] : nums.map((i) => args[i]);
  const [leaves, def] = flattenFloat(op, tree);
  const dtype = leaves.some((l) => l.dtype === "float64") ? "float64" : "float32";
  const offs: number[] = [];
  let total = 0;
  for (const l of leaves) {
    offs.push(total);
    total += l.size;
  }
  // differentiate with respect to one flat vector holding every input leaf
  const x = concatenate(leaves.map((l) => reshape(convert(l, dtype), [l.size])), 0);
  const g = (v: Tensor) => {
    const parts = leaves.map((l, k) =>
      reshape(convert(slice(v, [offs[k]], [offs[k] + l.size]), l.dtype), l.shape)
    );
    const t = unflatten(def, parts) as unknown;
    const a = [...args];
    if (typeof argnums === "number") a[nums[0]] = t;
    else nums.forEach((i, j) => (a[i] = (t as unknown[])[j]));
    return f(...a);
  };
  const basis = eye(total, total, { dtype });
  let outs: Tensor[], outDef: ReturnType<typeof flatten>[1], outTree: unknown;
  if (mode === "fwd") {
    outTree = g(x);
    [outs, outDef] = flatten(outTree);
    // rows: [total, ...outShape] -> [...outShape, total]
    outs = vmapFlat((ts) => flatten(jvp(g, [x], [ts[0]])[1])[0], [basis], [0], 0, total)
      .map((r) => transpose(r, [...Array(r.ndim - 1).keys()].map((k) => k + 1).concat([0])));
  } else {
    const [y, pb] = vjp(g as AnyFunction, x);
    outTree = y;
    const [ys, yDef] = flatten(y);
    outDef = yDef;
    outs = ys.map((yt, k) => {
      const yBasis = reshape(eye(yt.size, yt.size, { dtype: yt.dtype }), [yt.size, ...yt.shape]);
      const [rows] = vmapFlat(
        (
          cs,
        ) => [pb(unflatten(yDef, ys.map((o, m) => (m === k ? cs[0] : zerosOf(o)))))[0] as Tensor],
        [yBasis],
        [0],
        0,
        yt.size,
      );
      return reshape(rows, [...yt.shape, total]);
    });
  }
  const blocks = outs.map((J) => {
    const lead = J.shape.slice(0, -1);
    const parts = leaves.map((l, k) =>
      reshape(slice(J, [...lead.map(() => 0), offs[k]], [...lead, offs[k] + l.size]), [
        ...lead,
        ...l.shape,
      ])
    );
    return unflatten(def, parts);
  });
  return isLeaf(outTree) ? blocks[0] : unflatten(outDef, blocks as Tensor[]);
}

/** Options of `jacfwd`, `jacrev` and `hessian`. */
export interface JacobianOptions {
  /** Which positional argument(s) to differentiate with respect to. */
  argnums?: number | readonly number[];
}

/** What `jacfwd(f, opts)` / `jacrev(f, opts)` return: `f`'s parameters, the Jacobian as result. */
export type JacobianFunction<F extends AnyFunction, O> = (
  ...args: InputsOf<F>
) => JacobianOf<ReturnType<F>, ArgGrads<Parameters<F>, ArgnumsOf<O>>>;

/** Jacobian by forward mode: shape `[...out.shape, ...x.shape]`. */
export function jacfwd<
  F extends AnyFunction,
  const O extends JacobianOptions = Record<never, never>,
>(
  f: F,
  opts: O = {} as O,
): JacobianFunction<F, O> {
  checkFunction("jacfwd", f);
  return jacobian("fwd", f, checkOptions("jacfwd", opts as JacobianOptions, JAC_KEYS).argnums ?? 0);
}
/** Jacobian by reverse mode: shape `[...out.shape, ...x.shape]`. */
export function jacrev<
  F extends AnyFunction,
  const O extends JacobianOptions = Record<never, never>,
>(
  f: F,
  opts: O = {} as O,
): JacobianFunction<F, O> {
  checkFunction("jacrev", f);
  return jacobian("rev", f, checkOptions("jacrev", opts as JacobianOptions, JAC_KEYS).argnums ?? 0);
}
/** Hessian of a scalar function: `jacfwd(jacrev(f))`. */
export function hessian<
  F extends AnyFunction,
  const O extends JacobianOptions = Record<never, never>,
>(
  f: F,
  opts: O = {} as O,
): (
  ...args: InputsOf<F>
) => JacobianOf<
  JacobianOf<ReturnType<F>, ArgGrads<Parameters<F>, ArgnumsOf<O>>>,
  ArgGrads<Parameters<F>, ArgnumsOf<O>>
> {
  checkFunction("hessian", f);
  const o = checkOptions("hessian", opts as JacobianOptions, JAC_KEYS);
  return jacfwd(jacrev(f as AnyFunction, o), o);
}
