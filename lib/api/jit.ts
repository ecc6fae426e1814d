// deno-lint-ignore-file no-explicit-any -- transforms return user pytrees, whose type is the user's
/**
 * Public `jit` and `makeJaxpr`: trace once per input signature, cache, and call the staged
 * program through the `jit` primitive (so jitted functions compose with every transform).
 * @module
 */
import type { AnyFunction, InputsOf, Tensors } from "./_types.ts";
import { ArrayValue, bind } from "../core.ts";
import { Tensor } from "../tensor.ts";
import type { Aval } from "../ops/_define.ts";
import { hoistConsts, type Jaxpr } from "../ir.ts";
import { pickBackend } from "../backend/backend.ts";
import { traceToJaxpr } from "../transforms/stage.ts";
import { jitOp, type JitParams } from "../transforms/jit.ts";
import { type TreeDef, treeDefKey } from "../tree.ts";
import { argnumList, checkFunction, flatten, unflatten } from "./_args.ts";
import { checkOptions } from "../options.ts";
import { ByteLru } from "../cache.ts";
import { sizeOf } from "../shape.ts";

/** Options of `jit`. */
export interface JitOptions {
  /** Positional arguments treated as compile-time constants (part of the cache key). */
  staticArgnums?: number | number[];
}

/** The staged program for one input signature. */
export interface Lowered {
  /** The staged program. */
  jaxpr: Jaxpr;
  /** A readable listing of the program: its kernels on the backend its arguments pick. */
  asText(): string;
}

/** A jitted function: `f`'s signature (outputs as Tensors), plus `lower` and `traceCount`. */
export interface JitFunction<F extends AnyFunction = AnyFunction> {
  (...args: InputsOf<F>): Tensors<ReturnType<F>>;
  /** Stages the function for these arguments without running it. */
  lower(...args: InputsOf<F>): Lowered;
  /** Number of traces so far (cache misses). */
  readonly traceCount: number;
}

interface Entry {
  jaxpr: Jaxpr;
  consts: Tensor[];
  outDef: TreeDef;
  /** The `jit` equation's params (one object per trace, made on first call). */
  params?: JitParams;
}

/** Whether a cached trace holds constants on a device that was lost since (init() made a new one). */
function lostConsts(e: Entry): boolean {
  for (const c of e.consts) {
    if (c instanceof ArrayValue && c.backend.isLost?.(c.buffer)) return true;
  }
  return false;
}

/** Whether `args` are Tensors with exactly these avals (dtype, weak type, shape). */
function sameArgs(args: unknown[], avals: Aval[]): boolean {
  if (args.length !== avals.length) return false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!(a instanceof Tensor)) return false;
    const x = a.aval, y = avals[i];
    if (x === y) continue;
    if (x.dtype !== y.dtype || x.weak !== y.weak || x.shape.length !== y.shape.length) return false;
    for (let d = 0; d < x.shape.length; d++) if (x.shape[d] !== y.shape[d]) return false;
  }
  return true;
}

/** The program as the backend that would run it on `arrays` lists it (else the jaxpr). */
function describe(j: Jaxpr, arrays: Tensor[]): string {
  const used = [
    ...new Set(
      arrays.filter((a): a is ArrayValue => a instanceof ArrayValue).map((a) => a.backend),
    ),
  ];
  return pickBackend(used).describeProgram?.(j) ?? j.toString();
}

/**
 * Compiles `f`: traces it once per argument shapes/dtypes (and static values), caches the
 * program, and runs the cached program on later calls.
 *
 * @example A jitted function
 * ```ts
 * import { jit, np } from "../../mod.ts";
 * const f = jit((x) => np.sum(np.exp(x)));
 * const y = f(np.zeros([3]));
 * if (y.item() !== 3) throw new Error("jit");
 * ```
 */
export function jit<F extends AnyFunction>(f: F, opts?: JitOptions): JitFunction<F> {
  checkFunction("jit", f);
  opts = checkOptions("jit", opts, ["staticArgnums"]);
  const cache = new ByteLru<string, Entry>("jit", entryBytes);
  let traces = 0;
  // the last call's argument avals when every argument was a Tensor (no pytree, no statics):
  // a call with equal avals has the same key, found without flattening or building it again
  let last: { avals: Aval[]; key: string } | undefined;
  const stage = (args: unknown[]): [Entry, Tensor[]] => {
    if (last && sameArgs(args, last.avals)) {
      const e = cache.get(last.key);
      if (e && !lostConsts(e)) return [e, args as Tensor[]];
    }
    const statics = new Set(argnumList("jit", opts!.staticArgnums ?? [], args.length));
    const dynIdx = args.map((_, i) => i).filter((i) => !statics.has(i));
    const [leaves, def] = flatten(dynIdx.map((i) => args[i]));
    // NOTE: built by hand (no JSON of nested arrays): this runs on every call
    let key = `${leaves.length}:${treeDefKey(def)}`;
    for (const l of leaves) {
      const a = l.aval;
      key += `|${a.dtype}${a.weak ? "~" : ""}[${a.shape.join(",")}]`;
    }
    if (statics.size) key += `|${[...statics].map((i) => staticKey(args[i])).join("|")}`;
    let e = cache.get(key);
    // constants on a device that was lost since (init() made a new one): trace again
    if (e && lostConsts(e)) {
      cache.delete(key);
      e = undefined;
    }
    if (!e) {
      traces++;
      let outDef: TreeDef | undefined;
      const j = traceToJaxpr((xs) => {
        const dyn = unflatten(def, xs) as unknown[];
        const a = [...args];
        dynIdx.forEach((i, k) => (a[i] = dyn[k]));
        const [outs, od] = flatten(f(...a));
        outDef = od;
        return outs;
      }, leaves.map((l) => l.aval));
      e = { jaxpr: hoistConsts(j), consts: j.consts, outDef: outDef! };
      if (j.consts.every((c) => c instanceof ArrayValue)) cache.set(key, e);
    }
    const plain = !statics.size && args.every((a) => a instanceof Tensor);
    last = plain ? { avals: leaves.map((l) => l.aval), key } : undefined;
    return [e, leaves];
  };
  const call = ((...args: unknown[]): any => {
    const [e, leaves] = stage(args);
    e.params ??= { jaxpr: e.jaxpr, name: f.name || "fn" };
    const outs = bind(jitOp, e.consts.length ? [...e.consts, ...leaves] : leaves, e.params);
    return unflatten(e.outDef, outs);
  }) as unknown as JitFunction<F>;
  call.lower = (...args: unknown[]): Lowered => {
    const [e, leaves] = stage(args);
    return { jaxpr: e.jaxpr, asText: () => describe(e.jaxpr, [...e.consts, ...leaves]) };
  };
  Object.defineProperty(call, "traceCount", { get: () => traces });
  return call;
}

/**
 * Estimated bytes a cached trace keeps alive: its key, its equations, its constants and the
 * intermediates a compiled program keeps between calls (at most one buffer per equation output).
 */
function entryBytes(e: Entry, key: string): number {
  let bytes = 2 * key.length + 1024;
  for (const eq of e.jaxpr.eqns) {
    bytes += 256;
    for (const o of eq.outs) bytes += sizeOf(o.aval.shape) * 4;
  }
  for (const c of e.consts) bytes += sizeOf(c.aval.shape) * 4;
  return bytes;
}

const identities = new WeakMap<object, number>();
let nextIdentity = 0;

/**
 * Static arguments: plain data by value, functions and other objects by identity. Numbers are
 * written so that NaN, ±Infinity and -0 each get their own key (JSON would write the first three
 * as `null`, and -0 as 0, so a cached program for one would answer for another).
 */
function staticKey(v: unknown, seen: object[] = []): string {
  if (typeof v === "number") return Object.is(v, -0) ? "-0" : String(v);
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "bigint") return `${v}n`;
  if (v === null || typeof v !== "object" && typeof v !== "function") return String(v);
  if (
    typeof v === "function" || !Array.isArray(v) && Object.getPrototypeOf(v) !== Object.prototype
  ) {
    let id = identities.get(v as object);
    if (id === undefined) identities.set(v as object, id = nextIdentity++);
    return `#${id}`;
  }
  if (seen.includes(v)) throw new TypeError("jit: a static argument contains a cycle");
  seen.push(v);
  const s = Array.isArray(v)
    ? `[${v.map((e) => staticKey(e, seen)).join(",")}]`
    : `{${
      Object.keys(v).sort().map((k) =>
        `${JSON.stringify(k)}:${staticKey((v as Record<string, unknown>)[k], seen)}`
      )
        .join(",")
    }}`;
  seen.pop();
  return s;
}

/**
 * Traces `f` and returns its program (print it with `String(...)`).
 *
 * @example Print a program
 * ```ts
 * import { makeJaxpr, np } from "../../mod.ts";
 * const j = makeJaxpr((x) => np.sin(x).mul(2))(np.ones([3]));
 * if (!String(j).includes("sin")) throw new Error("makeJaxpr");
 * ```
 */
export function makeJaxpr<F extends AnyFunction>(f: F): (...args: InputsOf<F>) => Jaxpr {
  return (...args: unknown[]) => {
    const [leaves, def] = flatten(args);
    return traceToJaxpr(
      (xs) => flatten(f(...(unflatten(def, xs) as unknown[])))[0],
      leaves.map((l) => l.aval),
    );
  };
}
