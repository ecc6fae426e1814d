/**
 * The `jit` primitive: calls a staged jaxpr. Its rules derive new jaxprs (jvp split into a
 * known/primal part and an unknown/tangent part, batched, transposed) and bind `jit` again, so
 * transformed jitted code stays staged. Evaluation runs the program on its arguments' backend.
 * @module
 */
import { ArrayValue, bind, onOneBackend } from "../core.ts";
import type { Tensor } from "../tensor.ts";
import { type Aval, type BDim, defineOp, type OpDef, UndefPrimal } from "../ops/_define.ts";
import { type Eqn, evalJaxpr, Jaxpr, type Var } from "../ir.ts";
import { traceToJaxpr } from "./stage.ts";
import { hasOpaque, runSegmented } from "./segments.ts";
import { hasComplex, runComplex } from "./complex_lower.ts";
import { jvpFlat } from "./jvp.ts";
import { vmapFlat } from "./vmap.ts";
import { backwardPass } from "./linearize.ts";
import { zerosOf } from "../ops/_util.ts";

/** Parameters of a `jit` equation. */
export interface JitParams {
  jaxpr: Jaxpr;
  name: string;
}

/**
 * Runs a program on concrete arrays (autodidax's `xla_call` impl): on the backend its arguments
 * and constants pick (`onOneBackend`), compiled by that backend when it can run programs, else
 * equation by equation; a program holding loops runs as compiled segments around them, and one
 * holding complex values runs as its real form (complex_lower.ts).
 */
export function runProgram(jaxpr: Jaxpr, args: ArrayValue[]): Tensor[] {
  if (hasComplex(jaxpr)) return runComplex(jaxpr, args, runProgram);
  return onOneBackend(args, jaxpr.consts, (backend, xs) => {
    if (hasOpaque(jaxpr)) {
      // loops run between compiled segments, all recorded as one batch of device work
      const go = () => runSegmented(jaxpr, xs, runProgram, backend);
      return backend.batch ? backend.batch(go) : go();
    }
    const concrete = jaxpr.consts.every((c) => c instanceof ArrayValue);
    if (!backend.runProgram || !concrete) return evalJaxpr(jaxpr, xs);
    const bufs = backend.runProgram(jaxpr, xs);
    return bufs.map((b, i) => new ArrayValue(b, jaxpr.outAvals[i], backend));
  });
}

const derived = new WeakMap<Jaxpr, Map<string, unknown>>();
function memo<T>(j: Jaxpr, key: string, make: () => T): T {
  let m = derived.get(j);
  if (!m) derived.set(j, m = new Map());
  if (!m.has(key)) m.set(key, make());
  return m.get(key) as T;
}

function sameAval(a: Aval, b: Aval): boolean {
  return a.dtype === b.dtype && a.shape.length === b.shape.length &&
    a.shape.every((d, i) => d === b.shape[i]);
}

/** The `jit` primitive. */
export const jitOp: OpDef<JitParams> = defineOp({
  name: "jit",
  kind: "higher",
  abstractEval: (avals, { jaxpr, name }) => {
    jaxpr.inAvals.forEach((a, i) => {
      if (!sameAval(a, avals[i])) {
        throw new TypeError(
          `jit(${name}): argument ${i} has ${avals[i].dtype}[${
            avals[i].shape
          }] but was traced for ${a.dtype}[${a.shape}]`,
        );
      }
    });
    return jaxpr.outAvals;
  },
  impl: () => {
    throw new TypeError("jit: evaluated through evalImpl only");
  },
  evalImpl: (args, { jaxpr }) => runProgram(jaxpr, args as ArrayValue[]),
  callJaxpr: ({ jaxpr }) => jaxpr,
  jvp: (primals, tangents, { jaxpr, name }) => {
    const { known, unknown, nOut } = memo(jaxpr, "jvp", () => splitJvp(jaxpr));
    const outs = bind(jitOp, primals, { jaxpr: known, name: `jvp_known(${name})` });
    const tOut = bind(jitOp, [...outs.slice(nOut), ...tangents], {
      jaxpr: unknown,
      name: `jvp_tangent(${name})`,
    });
    return [outs.slice(0, nOut), tOut];
  },
  vmap: (args, bdims, { jaxpr, name }, size) => {
    const key = `vmap:${size}:${bdims.join(",")}`;
    const bj = memo(
      jaxpr,
      key,
      () =>
        traceToJaxpr(
          (xs) => vmapFlat((ys) => evalJaxpr(jaxpr, ys), xs, bdims, 0, size),
          args.map((a) => a.aval),
        ),
    );
    return [bind(jitOp, args, { jaxpr: bj, name: `vmap(${name})` }), bj.outs.map((): BDim => 0)];
  },
  transpose: (cts, args, { jaxpr, name }) => {
    const mask = args.map((a) => a instanceof UndefPrimal);
    const nonlin = args.filter((a) => !(a instanceof UndefPrimal)) as Tensor[];
    const tj = memo(jaxpr, `T:${mask.join(",")}`, () =>
      traceToJaxpr((xs) => {
        const vals = xs.slice(0, nonlin.length);
        const cs = xs.slice(nonlin.length);
        let k = 0;
        const full = args.map((a) => (a instanceof UndefPrimal ? a : vals[k++]));
        const res = backwardPass(jaxpr, full, cs);
        return args.map((a, i) => (a instanceof UndefPrimal ? res[i] ?? zerosOf(a.aval) : null))
          .filter((r): r is Tensor => r !== null);
      }, [...nonlin.map((t) => t.aval), ...cts.map((c) => c.aval)]));
    const outs = bind(jitOp, [...nonlin, ...cts], { jaxpr: tj, name: `transpose(${name})` });
    let k = 0;
    return mask.map((m) => (m ? outs[k++] : null));
  },
});

/**
 * Traces the jvp of `jaxpr` and splits it: `known` maps primals to [primal outs, residuals];
 * `unknown` maps [residuals, tangents] to tangent outs and is linear in the tangents.
 */
export function splitJvp(jaxpr: Jaxpr): { known: Jaxpr; unknown: Jaxpr; nOut: number } {
  const n = jaxpr.inVars.length;
  const nOut = jaxpr.outs.length;
  const j = traceToJaxpr((xs) => {
    const [po, to] = jvpFlat((ys) => evalJaxpr(jaxpr, ys), xs.slice(0, n), xs.slice(n));
    return [...po, ...to];
  }, [...jaxpr.inAvals, ...jaxpr.inAvals.map((a) => ({ ...a, weak: false }))]);
  const unknownVars = new Set<Var>(j.inVars.slice(n));
  const knownEqns: Eqn[] = [], unknownEqns: Eqn[] = [];
  for (const e of j.eqns) {
    if (e.inputs.some((v) => unknownVars.has(v))) {
      e.outs.forEach((v) => unknownVars.add(v));
      unknownEqns.push(e);
    } else knownEqns.push(e);
  }
  const residuals: Var[] = [];
  const addRes = (v: Var) => {
    if (!unknownVars.has(v) && !residuals.includes(v)) residuals.push(v);
  };
  unknownEqns.forEach((e) => e.inputs.forEach(addRes));
  j.outs.slice(nOut).forEach(addRes);
  const primalOuts = j.outs.slice(0, nOut);
  if (primalOuts.some((v) => unknownVars.has(v))) {
    throw new TypeError("jit: a primal output depends on a tangent");
  }
  const known = new Jaxpr(j.constVars, j.consts, j.inVars.slice(0, n), knownEqns, [
    ...primalOuts,
    ...residuals,
  ]);
  const unknown = new Jaxpr(
    [],
    [],
    [...residuals, ...j.inVars.slice(n)],
    unknownEqns,
    j.outs.slice(nOut),
  );
  return { known, unknown, nOut };
}
