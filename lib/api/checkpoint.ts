/**
 * `checkpoint` (alias `remat`): rematerialization. The function becomes one `checkpoint`
 * primitive whose jvp rule decides, by a policy, which intermediates the forward pass keeps as
 * residuals; everything else is recomputed from the inputs in the backward pass.
 * @module
 */
import type { AnyFunction } from "./_types.ts";
import { type ArrayValue, bind } from "../core.ts";
import type { Tensor } from "../tensor.ts";
import { type Eqn, evalJaxpr, Jaxpr, type Var } from "../ir.ts";
import { type BDim, defineOp, type OpDef } from "../ops/_define.ts";
import type { DotParams } from "../ops/dot.ts";
import { batchAt0 } from "../ops/_util.ts";
import { checkOptions } from "../options.ts";
import { traceToJaxpr } from "../transforms/stage.ts";
import { jvpFlat } from "../transforms/jvp.ts";
import { vmapFlat } from "../transforms/vmap.ts";
import { jitOp, runProgram } from "../transforms/jit.ts";
import { closeFn, dce, fmtAval, memo, sameAval } from "../ops/_control.ts";
import { FlatArgs, flatten, unflatten } from "./_args.ts";

/** Decides whether the output of a primitive may be saved for the backward pass. */
export type CheckpointPolicy = (primitive: string, params: unknown) => boolean;

/**
 * JAX's `checkpoint_policies` (camelCase): `nothingSaveable` (the default: recompute everything
 * from the inputs), `everythingSaveable` (no rematerialization), `dotsSaveable` (keep the
 * results of matrix products and convolutions), `dotsWithNoBatchDimsSaveable`.
 */
export const checkpointPolicies: {
  readonly nothingSaveable: CheckpointPolicy;
  readonly everythingSaveable: CheckpointPolicy;
  readonly dotsSaveable: CheckpointPolicy;
  readonly dotsWithNoBatchDimsSaveable: CheckpointPolicy;
} = {
  nothingSaveable: () => false,
  everythingSaveable: () => true,
  dotsSaveable: (prim) => prim === "dotGeneral" || prim === "conv",
  dotsWithNoBatchDimsSaveable: (prim, params) =>
    prim === "dotGeneral" && (params as DotParams).batch[0].length === 0,
};

interface CheckpointParams {
  /** The function, const-free. */
  jaxpr: Jaxpr;
  policy: CheckpointPolicy;
  name: string;
}

const policyIds = new WeakMap<CheckpointPolicy, number>();
let nextPolicyId = 0;
const policyId = (p: CheckpointPolicy) => {
  let id = policyIds.get(p);
  if (id === undefined) policyIds.set(p, id = nextPolicyId++);
  return id;
};

const checkpointOp: OpDef<CheckpointParams> = defineOp({
  name: "checkpoint",
  kind: "higher",
  abstractEval: (avals, { jaxpr, name }) => {
    jaxpr.inAvals.forEach((a, i) => {
      if (!sameAval(a, avals[i])) {
        throw new TypeError(
          `checkpoint(${name}): argument ${i} is ${fmtAval(avals[i])} but was traced as ${
            fmtAval(a)
          }`,
        );
      }
    });
    return jaxpr.outAvals.map((a) => ({ ...a, weak: false }));
  },
  impl: () => {
    throw new TypeError("checkpoint: evaluated through evalImpl only");
  },
  evalImpl: (args, { jaxpr }) => runProgram(jaxpr, args as ArrayValue[]),
  callJaxpr: ({ jaxpr }) => jaxpr,
  jvp: (primals, tangents, p) => {
    const s = memo(p.jaxpr, `remat:${policyId(p.policy)}`, () => splitRemat(p.jaxpr, p.policy));
    const known = bind(checkpointOp, [...s.consts, ...primals], { ...p, jaxpr: s.known });
    const saved = known.slice(s.nOut);
    const tOut = bind(jitOp, [...primals, ...s.consts, ...saved, ...tangents], {
      jaxpr: s.tangent,
      name: `checkpoint_tangent(${p.name})`,
    });
    return [known.slice(0, s.nOut), tOut];
  },
  vmap: (args, bdims, p, size) => {
    const moved = args.map((a, i) => batchAt0(a, bdims[i], size));
    const b = memo(p.jaxpr, `vmap:${size}`, () =>
      closeFn(
        (zs) => vmapFlat((ys) => evalJaxpr(p.jaxpr, ys), zs, zs.map(() => 0), 0, size),
        moved.map((m) => m.aval),
      ));
    const outs = bind(checkpointOp, [...b.consts, ...moved], { ...p, jaxpr: b.jaxpr });
    return [outs, outs.map((): BDim => 0)];
  },
  transpose: (cts, args, p) =>
    jitOp.transpose!(cts, args, { jaxpr: p.jaxpr, name: `checkpoint(${p.name})` }),
});

interface RematSplit {
  /** `[consts, primals] -> [outs, saved]`. */
  known: Jaxpr;
  consts: Tensor[];
  nOut: number;
  /** `[primals, consts, saved, tangents] -> tangent outs`, recomputing what was not saved. */
  tangent: Jaxpr;
}

/**
 * Splits the jvp of `jaxpr`: the tangent part reads the inputs, the constants and the values the
 * policy saves; every other primal value it needs is recomputed inside it.
 */
function splitRemat(jaxpr: Jaxpr, policy: CheckpointPolicy): RematSplit {
  const n = jaxpr.inVars.length, nOut = jaxpr.outs.length;
  const j = traceToJaxpr((xs) => {
    const [po, to] = jvpFlat((ys) => evalJaxpr(jaxpr, ys), xs.slice(0, n), xs.slice(n));
    return [...po, ...to];
  }, [...jaxpr.inAvals, ...jaxpr.inAvals.map((a) => ({ ...a, weak: false }))]);
  const prim = j.inVars.slice(0, n), tan = j.inVars.slice(n);
  const unknown = new Set<Var>(tan);
  const producer = new Map<Var, Eqn>();
  const knownEqns: Eqn[] = [], unknownEqns: Eqn[] = [];
  for (const e of j.eqns) {
    if (e.inputs.some((v) => unknown.has(v))) {
      e.outs.forEach((v) => unknown.add(v));
      unknownEqns.push(e);
    } else {
      e.outs.forEach((v) => producer.set(v, e));
      knownEqns.push(e);
    }
  }
  const free = new Set<Var>([...prim, ...j.constVars]);
  const saved: Var[] = [];
  const recompute = new Set<Eqn>();
  const visit = (v: Var): void => {
    if (unknown.has(v) || free.has(v) || saved.includes(v)) return;
    const e = producer.get(v)!;
    if (policy(e.op.name, e.params)) {
      saved.push(v);
    } else if (!recompute.has(e)) {
      recompute.add(e);
      e.inputs.forEach(visit);
    }
  };
  unknownEqns.forEach((e) => e.inputs.forEach(visit));
  j.outs.slice(nOut).forEach(visit);
  const known = dce(
    new Jaxpr([], [], [...j.constVars, ...prim], knownEqns, [...j.outs.slice(0, nOut), ...saved]),
  );
  const tangent = dce(
    new Jaxpr(
      [],
      [],
      [...prim, ...j.constVars, ...saved, ...tan],
      [...knownEqns.filter((e) => recompute.has(e)), ...unknownEqns],
      j.outs.slice(nOut),
    ),
  );
  return { known, consts: j.consts, nOut, tangent };
}

/** Options of {@linkcode checkpoint}. */
export interface CheckpointOptions {
  /** What the forward pass may save (a function or a name from `checkpointPolicies`). */
  policy?: CheckpointPolicy | keyof typeof checkpointPolicies;
}

/**
 * `jax.checkpoint` (alias {@linkcode remat}): `f` with the same values and derivatives, whose
 * reverse-mode derivative recomputes intermediates from `f`'s inputs instead of storing them
 * (trading compute for memory), except those the `policy` saves. Composes with every transform.
 *
 * @param f The function (pytrees in and out).
 * @param opts `policy`: default `checkpointPolicies.nothingSaveable`.
 * @returns The rematerialized function.
 * @example Recompute a layer in the backward pass
 * ```ts
 * import { checkpoint, grad, np } from "../../mod.ts";
 * const layer = checkpoint((x: np.Tensor) => np.sum(np.tanh(np.sin(x))), { policy: "nothingSaveable" });
 * const g = grad(layer)(np.array([0.5]));
 * const want = Math.cos(0.5) * (1 - Math.tanh(Math.sin(0.5)) ** 2);
 * if (Math.abs(g.dataSync()[0] - want) > 1e-6) throw new Error("checkpoint");
 * ```
 */
export function checkpoint<F extends AnyFunction>(f: F, opts?: CheckpointOptions): F {
  const o = checkOptions("checkpoint", opts, ["policy"]);
  if (typeof f !== "function") {
    throw new TypeError(`checkpoint: f must be a function, got ${typeof f}`);
  }
  const p = o.policy ?? "nothingSaveable";
  const policy = typeof p === "function" ? p : checkpointPolicies[p];
  if (typeof policy !== "function") {
    throw new TypeError(
      `checkpoint: policy must be a function or one of ${
        Object.keys(checkpointPolicies).join(", ")
      }, got ${JSON.stringify(p)}`,
    );
  }
  return ((...args: unknown[]) => {
    const fa = new FlatArgs(args, flatten);
    const { jaxpr, consts } = closeFn(fa.wrap(f), fa.leaves.map((l) => l.aval));
    const outs = bind(checkpointOp, [...consts, ...fa.leaves], {
      jaxpr,
      policy,
      name: f.name || "fn",
    });
    return unflatten(fa.outDef!, outs);
  }) as F;
}

/** Alias of {@linkcode checkpoint} (JAX's `remat`). */
export const remat: typeof checkpoint = checkpoint;
