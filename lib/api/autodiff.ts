// deno-lint-ignore-file no-explicit-any -- transforms return user pytrees, whose type is the user's
/**
 * Public autodiff transforms: grad, valueAndGrad, vjp, jvp, linearize, jacfwd, jacrev, hessian,
 * stopGradient. Thin pytree wrappers over the interpreters in `transforms/`.
 * @module
 */
import type { AnyFunction } from "./_types.ts";
import { bind1, currentLevel } from "../core.ts";
import type { Tensor } from "../tensor.ts";
import { evalJaxpr } from "../ir.ts";
import { jvpFlat, JvpTracer } from "../transforms/jvp.ts";
import { linearizeFlat, vjpFlat } from "../transforms/linearize.ts";
import { vmapFlat } from "../transforms/vmap.ts";
import { stopGradientOp } from "../ops/elementwise.ts";
import { full, zerosOf } from "../ops/_util.ts";
import { reshape, transpose } from "../ops/movement.ts";
import { asTensor } from "../numpy/_convert.ts";
import { eye } from "../numpy/creation.ts";
import { treeFlatten } from "../tree.ts";
import { argnumList, flatten, flattenFloat, isLeaf, unflatten } from "./_args.ts";

/** Options of `grad` / `valueAndGrad`. */
export interface GradOptions {
  /** Which positional argument(s) to differentiate. */
  argnums?: number | number[];
  /** `f` returns `[loss, aux]`; aux is passed through. */
  hasAux?: boolean;
}


/** Replaces tracers of the innermost jvp trace by their primals (for aux outputs). */
function stripTop(tree: unknown): unknown {
  const [leaves, def] = treeFlatten(tree, isLeaf);
  return unflatten(def, leaves.map((l) => (l instanceof JvpTracer && l._main.level === currentLevel() ? l.primal : asTensor(l))));
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
export function valueAndGrad(f: AnyFunction, opts: GradOptions = {}): (...args: unknown[]) => [any, any] {
  const { argnums = 0, hasAux = false } = opts;
  return (...args: unknown[]) => {
    const nums = argnumList("grad", argnums, args.length);
    const flat = nums.map((i) => flattenFloat("grad", args[i]));
    const sizes = flat.map(([l]) => l.length);
    let aux: unknown;
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
        if (!Array.isArray(r) || r.length !== 2) throw new TypeError("grad: with hasAux the function must return [value, aux]");
        out = r[0];
        aux = stripTop(r[1]);
      }
      const t = asTensor(out, "grad");
      if (t.size !== 1 || t.ndim !== 0) throw new TypeError(`grad: the function must return a scalar (shape []), got shape [${t.shape.join(",")}]`);
      return [t];
    };
    const [[value], pullback] = vjpFlat(fFlat, flat.flatMap(([l]) => l));
    if (value.dtype !== "float32" && value.dtype !== "float64") {
      throw new TypeError(`grad: the function must return a float scalar, got ${value.dtype}`);
    }
    const cts = pullback([full([], 1, value.dtype)]);
    let k = 0;
    const grads = nums.map((_, j) => {
      const g = unflatten(flat[j][1], cts.slice(k, k + sizes[j]));
      k += sizes[j];
      return g;
    });
    const g = Array.isArray(argnums) ? grads : grads[0];
    return [hasAux ? [value, aux] : value, g];
  };
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
export function grad(f: AnyFunction, opts: GradOptions = {}): (...args: unknown[]) => any {
  const vg = valueAndGrad(f, opts);
  return (...args: unknown[]) => {
    const [v, g] = vg(...args);
    return opts.hasAux ? [g, v[1]] : g;
  };
}

/** `[f(...primals), pullback]`; `pullback(ct)` returns one cotangent per primal. */
export function vjp(f: AnyFunction, ...primals: unknown[]): [any, (ct: unknown) => any[]] {
  const flat = primals.map((p) => flattenFloat("vjp", p));
  const sizes = flat.map(([l]) => l.length);
  let outDef: ReturnType<typeof flatten>[1] | undefined;
  const fFlat = (xs: Tensor[]): Tensor[] => {
    let k = 0;
    const args = flat.map(([, d], j) => unflatten(d, xs.slice(k, (k += sizes[j]))));
    const [outs, def] = flatten(f(...args));
    outDef = def;
    return outs;
  };
  const [outs, pb] = vjpFlat(fFlat, flat.flatMap(([l]) => l));
  const pullback = (ct: unknown): any[] => {
    const [cts] = flatten(ct);
    if (cts.length !== outs.length) throw new TypeError(`vjp: cotangent has ${cts.length} leaves, the output has ${outs.length}`);
    cts.forEach((c, i) => {
      if (c.shape.join() !== outs[i].shape.join()) throw new TypeError(`vjp: cotangent shape [${c.shape}] does not match output shape [${outs[i].shape}]`);
    });
    const res = pb(cts);
    let k = 0;
    return flat.map(([, d], j) => unflatten(d, res.slice(k, (k += sizes[j]))));
  };
  return [unflatten(outDef!, outs), pullback];
}

/** Forward mode: `[f(...primals), J·tangents]`. */
export function jvp(f: AnyFunction, primals: unknown[], tangents: unknown[]): [any, any] {
  if (primals.length !== tangents.length) throw new TypeError(`jvp: ${primals.length} primals but ${tangents.length} tangents`);
  const flat = primals.map((p) => flattenFloat("jvp", p));
  const tflat = tangents.map((t) => flattenFloat("jvp", t)[0]);
  flat.forEach(([l], j) => {
    l.forEach((p, i) => {
      const t = tflat[j][i];
      if (!t || t.shape.join() !== p.shape.join()) throw new TypeError(`jvp: tangent ${j} shape [${t?.shape}] does not match primal shape [${p.shape}]`);
    });
  });
  const sizes = flat.map(([l]) => l.length);
  let outDef: ReturnType<typeof flatten>[1] | undefined;
  const fFlat = (xs: Tensor[]): Tensor[] => {
    let k = 0;
    const args = flat.map(([, d], j) => unflatten(d, xs.slice(k, (k += sizes[j]))));
    const [outs, def] = flatten(f(...args));
    outDef = def;
    return outs;
  };
  const [po, to] = jvpFlat(fFlat, flat.flatMap(([l]) => l), tflat.flat());
  return [unflatten(outDef!, po), unflatten(outDef!, to)];
}

/** `[f(...primals), fJvp]` where `fJvp(...tangents)` applies the linearized function (staged once). */
export function linearize(f: AnyFunction, ...primals: unknown[]): [any, (...tangents: unknown[]) => any] {
  const flat = primals.map((p) => flattenFloat("linearize", p));
  const sizes = flat.map(([l]) => l.length);
  let outDef: ReturnType<typeof flatten>[1] | undefined;
  const fFlat = (xs: Tensor[]): Tensor[] => {
    let k = 0;
    const args = flat.map(([, d], j) => unflatten(d, xs.slice(k, (k += sizes[j]))));
    const [outs, def] = flatten(f(...args));
    outDef = def;
    return outs;
  };
  const [po, lin] = linearizeFlat(fFlat, flat.flatMap(([l]) => l));
  const fJvp = (...tangents: unknown[]) => unflatten(outDef!, evalJaxpr(lin, tangents.flatMap((t) => flattenFloat("linearize", t)[0])));
  return [unflatten(outDef!, po), fJvp];
}

/** The identity, with zero derivative. */
export function stopGradient(x: unknown): any {
  const [leaves, def] = flatten(x);
  return unflatten(def, leaves.map((l) => bind1(stopGradientOp, [l])));
}

function jacobian(mode: "fwd" | "rev", f: AnyFunction, argnums: number) {
  return (...args: unknown[]): any => {
    const [i] = argnumList(mode === "fwd" ? "jacfwd" : "jacrev", argnums, args.length);
    const [[x]] = flattenFloat("jacobian", args[i]);
    const g = (xi: Tensor) => {
      const a = [...args];
      a[i] = xi;
      return f(...a);
    };
    if (mode === "fwd") {
      const basis = reshape(eye(x.size, x.size, { dtype: x.dtype }), [x.size, ...x.shape]);
      const [outs] = flatten(g(x));
      const res = vmapFlat((ts) => flatten(jvp(g, [x], [ts[0]])[1])[0], [basis], [0], 0, x.size);
      return outs.length === 1 && isLeaf(g(x)) ? moveFirstLast(res[0], outs[0].shape, x.shape) : res.map((r, k) => moveFirstLast(r, outs[k].shape, x.shape));
    }
    const [y, pb] = vjp(g, x);
    const [ys, yDef] = flatten(y);
    const jacs = ys.map((yt, k) => {
      const basis = reshape(eye(yt.size, yt.size, { dtype: yt.dtype }), [yt.size, ...yt.shape]);
      const [rows] = vmapFlat((cs) => [pb(unflatten(yDef, ys.map((o, m) => (m === k ? cs[0] : zerosOf(o)))))[0] as Tensor], [basis], [0], 0, yt.size);
      return reshape(rows, [...yt.shape, ...x.shape]);
    });
    return isLeaf(y) ? jacs[0] : unflatten(yDef, jacs);
  };
}

function moveFirstLast(r: Tensor, outShape: number[], inShape: number[]): Tensor {
  // r: [n_in, ...outShape] -> [...outShape, ...inShape]
  const nd = r.ndim;
  const t = transpose(r, [...Array(nd - 1).keys()].map((k) => k + 1).concat([0]));
  return reshape(t, [...outShape, ...inShape]);
}

/** Jacobian by forward mode: shape `[...out.shape, ...x.shape]`. */
export function jacfwd(f: AnyFunction, opts: { argnums?: number } = {}): (...args: unknown[]) => any {
  return jacobian("fwd", f, opts.argnums ?? 0);
}
/** Jacobian by reverse mode: shape `[...out.shape, ...x.shape]`. */
export function jacrev(f: AnyFunction, opts: { argnums?: number } = {}): (...args: unknown[]) => any {
  return jacobian("rev", f, opts.argnums ?? 0);
}
/** Hessian of a scalar function: `jacfwd(jacrev(f))`. */
export function hessian(f: AnyFunction, opts: { argnums?: number } = {}): (...args: unknown[]) => any {
  return jacfwd(jacrev(f, opts), opts);
}

