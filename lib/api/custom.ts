// deno-lint-ignore-file no-explicit-any -- transforms return user pytrees, whose type is the user's
/**
 * User-defined derivatives: `customJvp` (a forward rule) and `customVjp` (forward + backward
 * functions). Each is a higher-order primitive holding the traced function (run and compiled
 * like a nested jit) and rules that call the user's functions.
 * @module
 */
import type { AnyFunction } from "./_types.ts";
import { bind } from "../core.ts";
import { Tensor } from "../tensor.ts";
import { treeFlatten, treeUnflatten } from "../tree.ts";
import { evalJaxpr, hoistConsts, type Jaxpr } from "../ir.ts";
import { type Aval, type BDim, defineOp, type OpDef } from "../ops/_define.ts";
import { batchAt0 } from "../ops/_util.ts";
import { vmapFlat } from "../transforms/vmap.ts";
import { traceToJaxpr } from "../transforms/stage.ts";
import { checkFunction, FlatArgs, flatten, unflatten } from "./_args.ts";
import { checkOptions } from "../options.ts";

type FlatFn = (xs: Tensor[]) => Tensor[];

/** `fun` traced on `args`, its constants hoisted into leading inputs (closure conversion). */
function closed(fun: FlatFn, args: Tensor[]): { jaxpr: Jaxpr; consts: Tensor[] } {
  const j = traceToJaxpr(fun, args.map((a) => a.aval));
  return { jaxpr: hoistConsts(j), consts: j.consts };
}

/** The traced function of a customJvp/customVjp call: inputs are [constants, arguments]. */
interface Traced {
  jaxpr: Jaxpr;
  /** Number of leading inputs that are closed-over constants, not the user's arguments. */
  nConsts: number;
}

/** Rules shared by the two: evaluation and compilation run the traced function. */
function tracedRules<P extends Traced>(): Pick<
  OpDef<P>,
  "abstractEval" | "evalImpl" | "callJaxpr"
> {
  return {
    abstractEval: (_avals, p) => p.jaxpr.outAvals,
    evalImpl: (args, p) => evalJaxpr(p.jaxpr, args),
    callJaxpr: (p) => p.jaxpr,
  };
}

interface CustomJvpParams extends Traced {
  jvp: (ps: Tensor[], ts: Tensor[]) => [Tensor[], Tensor[]];
}

const customJvpOp: OpDef<CustomJvpParams> = defineOp({
  name: "customJvp",
  kind: "higher",
  ...tracedRules<CustomJvpParams>(),
  impl: () => {
    throw new TypeError("customJvp: evaluated through evalImpl only");
  },
  jvp: (ps, ts, p) => p.jvp(ps.slice(p.nConsts), ts.slice(p.nConsts)),
  vmap: (args, bdims, p, size) => {
    const moved = args.map((a, i) => batchAt0(a, bdims[i], size));
    const zeros: BDim[] = moved.map(() => 0);
    const { jaxpr, consts } = closed(
      (xs) => vmapFlat((ys) => evalJaxpr(p.jaxpr, ys), xs, zeros, 0, size),
      moved,
    );
    const jvp = (ps: Tensor[], ts: Tensor[]): [Tensor[], Tensor[]] => {
      const n = ps.length;
      const outs = vmapFlat(
        (xs) => {
          const [a, b] = p.jvp(xs.slice(0, n), xs.slice(n));
          return [...a, ...b];
        },
        [...ps, ...ts],
        [...ps, ...ts].map((): BDim => 0),
        0,
        size,
      );
      return [outs.slice(0, outs.length / 2), outs.slice(outs.length / 2)];
    };
    const params = { jaxpr, nConsts: consts.length + p.nConsts, jvp };
    const outs = bind(customJvpOp, [...consts, ...moved], params);
    return [outs, outs.map((): BDim => 0)];
  },
});

/**
 * `f` with a user-supplied forward-mode rule `jvp(primals, tangents) => [out, tangentOut]`.
 * Reverse mode works too (the rule must be linear in the tangents).
 *
 * @example A safe log1p(exp(x)) derivative
 * ```ts
 * import { customJvp, grad, np } from "../../mod.ts";
 * const softplus = customJvp((x) => np.log1p(np.exp(x)), {
 *   jvp: ([x], [dx]) => [np.log1p(np.exp(x)), dx.mul(np.sigmoid(x))],
 * });
 * if (Math.abs(grad(softplus)(0).item() as number - 0.5) > 1e-6) throw new Error("customJvp");
 * ```
 */
export function customJvp(
  f: AnyFunction,
  rules: { jvp: (primals: any[], tangents: any[]) => [any, any] },
): AnyFunction {
  checkFunction("customJvp", f);
  checkFunction("customJvp", checkOptions("customJvp", rules, ["jvp"]).jvp, "a jvp rule function");
  return (...args: unknown[]) => {
    const fa = new FlatArgs(args, flatten);
    const split = (xs: Tensor[]) => fa.split(xs);
    const jvp = (ps: Tensor[], ts: Tensor[]): [Tensor[], Tensor[]] => {
      const [o, t] = rules.jvp(split(ps), split(ts));
      return [flatten(o)[0], flatten(t)[0]];
    };
    const { jaxpr, consts } = closed(fa.wrap(f), fa.leaves);
    const params = { jaxpr, nConsts: consts.length, jvp };
    return unflatten(fa.outDef!, bind(customJvpOp, [...consts, ...fa.leaves], params));
  };
}

interface CustomLinParams {
  /** Number of leading residual inputs (values, not linear). */
  nRes: number;
  bwd: (res: Tensor[], cts: Tensor[]) => Tensor[];
  outAvals: Aval[];
}

/** The tangent map of a customVjp function: only its transpose (the user's bwd) is known. */
const customLinOp: OpDef<CustomLinParams> = defineOp({
  name: "customVjpLinear",
  kind: "higher",
  abstractEval: (_a, p) => p.outAvals,
  impl: () => {
    throw new TypeError(
      "customVjp: forward-mode differentiation (jvp) of a customVjp function is not supported; use reverse mode (grad/vjp)",
    );
  },
  evalImpl: () => {
    throw new TypeError(
      "customVjp: forward-mode differentiation (jvp) of a customVjp function is not supported; use reverse mode (grad/vjp)",
    );
  },
  jvp: () => {
    throw new TypeError(
      "customVjp: forward-mode differentiation of a customVjp function is not supported",
    );
  },
  vmap: () => {
    throw new TypeError("customVjp: vmap of the linearized function is not supported");
  },
  // complex tangents are welcome (only the transpose, the user's bwd, ever runs)
  complexRule: () => {
    throw new TypeError(
      "customVjp: forward-mode differentiation (jvp) of a customVjp function is not supported; use reverse mode (grad/vjp)",
    );
  },
  transpose: (
    cts,
    args,
    p,
  ) => [...args.slice(0, p.nRes).map(() => null), ...p.bwd(args.slice(0, p.nRes) as Tensor[], cts)],
});

interface CustomVjpParams extends Traced {
  fwd: (xs: Tensor[]) => [Tensor[], unknown];
  bwd: (res: unknown, cts: Tensor[]) => Tensor[];
}

const customVjpOp: OpDef<CustomVjpParams> = defineOp({
  name: "customVjp",
  kind: "higher",
  ...tracedRules<CustomVjpParams>(),
  impl: () => {
    throw new TypeError("customVjp: evaluated through evalImpl only");
  },
  jvp: (ps, ts, p) => {
    const [outs, res] = p.fwd(ps.slice(p.nConsts));
    // residual Tensors become explicit inputs, so staged programs carry them as values
    const [resLeaves, resDef] = treeFlatten(res, (x): x is Tensor => x instanceof Tensor);
    const tensors = resLeaves.filter((l): l is Tensor => l instanceof Tensor);
    const bwd = (vals: Tensor[], cts: Tensor[]) => {
      let k = 0;
      return p.bwd(
        treeUnflatten(resDef, resLeaves.map((l) => (l instanceof Tensor ? vals[k++] : l))),
        cts,
      );
    };
    const tOut = bind(customLinOp, [...tensors, ...ts.slice(p.nConsts)], {
      nRes: tensors.length,
      bwd,
      outAvals: p.jaxpr.outAvals,
    });
    return [outs, tOut];
  },
  vmap: (args, bdims, p, size) => {
    const moved = args.map((a, i) => batchAt0(a, bdims[i], size));
    const outs = vmapFlat((xs) => evalJaxpr(p.jaxpr, xs), moved, moved.map(() => 0), 0, size);
    return [outs, outs.map((): BDim => 0)];
  },
});

/**
 * `f` with a user-supplied reverse-mode rule: `fwd(...args) => [out, residuals]` and
 * `bwd(residuals, ct) => [ct per argument]`.
 *
 * @example Gradient clipping in the backward pass
 * ```ts
 * import { customVjp, grad, np } from "../../mod.ts";
 * const clipGrad = customVjp((x) => x, {
 *   fwd: (x) => [x, null],
 *   bwd: (_res, ct) => [np.clip(ct, -1, 1)],
 * });
 * if (grad((x) => clipGrad(x).mul(5))(1).item() !== 1) throw new Error("customVjp");
 * ```
 */
export function customVjp(
  f: AnyFunction,
  rules: { fwd: (...args: any[]) => [any, unknown]; bwd: (res: any, ct: any) => any[] },
): AnyFunction {
  checkFunction("customVjp", f);
  checkOptions("customVjp", rules, ["fwd", "bwd"]);
  checkFunction("customVjp", rules.fwd, "an fwd rule function");
  checkFunction("customVjp", rules.bwd, "a bwd rule function");
  return (...args: unknown[]) => {
    const fa = new FlatArgs(args, flatten);
    const split = (xs: Tensor[]) => fa.split(xs);
    const fwd = (xs: Tensor[]): [Tensor[], unknown] => {
      const [o, res] = rules.fwd(...split(xs));
      return [flatten(o)[0], res];
    };
    const bwd = (res: unknown, cts: Tensor[]): Tensor[] => {
      const r = rules.bwd(res, unflatten(fa.outDef!, cts));
      if (!Array.isArray(r) || r.length !== args.length) {
        throw new TypeError(
          `customVjp: bwd must return an array with one cotangent per argument (${args.length}), got ${
            Array.isArray(r) ? r.length : typeof r
          }`,
        );
      }
      return r.flatMap((c) => flatten(c)[0]);
    };
    const { jaxpr, consts } = closed(fa.wrap(f), fa.leaves);
    const params = { jaxpr, nConsts: consts.length, fwd, bwd };
    return unflatten(fa.outDef!, bind(customVjpOp, [...consts, ...fa.leaves], params));
  };
}
