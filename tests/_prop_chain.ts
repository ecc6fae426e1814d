/**
 * Random op chains for property_test.ts: a fast-check arbitrary of raw steps, interpreted into a
 * small program of elementwise / reduction / movement ops (add, mul, exp, tanh, maximum, where,
 * sum over random axes, transpose, slice, pad, concatenate, broadcastTo, reshape) with NumPy
 * broadcasting between operands, independent shape predictions, a printable listing, and
 * execution (plain or under jit, values and input gradients).
 * @module
 */
import fc from "fast-check";
import { grad, jit, np, type Tensor } from "../mod.ts";
import { type FloatDType, hostData, prng, randInt, show, sizeOf, tensorOf } from "./_prop_util.ts";

/** One raw step: which op, operand choices and a seed for the op's parameters. */
export interface RawStep {
  kind: number;
  a: number;
  b: number;
  seed: number;
}

/** Raw program: the first input's shape, 1-6 steps, an optional extra output. */
export interface RawProgram {
  dtype: FloatDType;
  shape: number[];
  zeroAxis: number;
  steps: RawStep[];
  extraOut: number;
  seed: number;
}

const OPS = [
  "add",
  "mul",
  "exp",
  "tanh",
  "maximum",
  "where",
  "sum",
  "transpose",
  "slice",
  "pad",
  "concatenate",
  "broadcastTo",
  "reshape",
];

/** Arbitrary raw programs (the first input has rank 0-4, sizes 1-4, now and then one zero-size axis). */
export function rawProgramArb(): fc.Arbitrary<RawProgram> {
  return fc.record({
    dtype: fc.constantFrom<FloatDType>("float32", "float64"),
    shape: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 0, maxLength: 4 }),
    zeroAxis: fc.oneof({ weight: 12, arbitrary: fc.constant(-1) }, {
      weight: 1,
      arbitrary: fc.nat(3),
    }),
    steps: fc.array(
      fc.record({
        kind: fc.integer({ min: 0, max: OPS.length - 1 }),
        a: fc.nat(15),
        b: fc.nat(15),
        seed: fc.nat(1 << 20),
      }),
      { minLength: 1, maxLength: 6 },
    ),
    extraOut: fc.integer({ min: -1, max: 10 }),
    seed: fc.nat(1 << 20),
  });
}

/** A value of the program: an input or an op applied to earlier values. */
export interface Value {
  shape: number[];
  /** Upper bound of |value| (keeps exp and products finite). */
  bound: number;
  input?: number;
  op?: string;
  args?: number[];
  params?: Record<string, unknown>;
}

/** An interpreted program. */
export interface Program {
  dtype: FloatDType;
  values: Value[];
  inputs: number[][];
  outputs: number[];
  seed: number;
}

const MAX_SIZE = 2000;

function broadcastShapes(a: number[], b: number[]): number[] | null {
  const n = Math.max(a.length, b.length), out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1, y = b[b.length - n + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) return null;
    out.push(x === 1 ? y : x);
  }
  return out;
}

/** Python's slice(start, stop, step).indices(n) length. */
function sliceLength(
  n: number,
  start: number | undefined,
  stop: number | undefined,
  step: number,
): number {
  const norm = (v: number | undefined, dflt: number, lo: number, hi: number) => {
    if (v === undefined) return dflt;
    if (v < 0) v += n;
    return Math.min(Math.max(v, lo), hi);
  };
  const [a, b] = step > 0
    ? [norm(start, 0, 0, n), norm(stop, n, 0, n)]
    : [norm(start, n - 1, -1, n - 1), norm(stop, -1, -1, n - 1)];
  return Math.max(0, Math.ceil((b - a) / step));
}

function permutation(r: () => number, n: number): number[] {
  const p = [...Array(n).keys()];
  for (let i = n - 1; i > 0; i--) {
    const j = randInt(r, 0, i);
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

/** Interprets raw steps into a program, tracking shapes and bounds; ops that would not fit fall back to tanh. */
export function buildProgram(raw: RawProgram): Program {
  const first = raw.shape.map((d, i) => (i === raw.zeroAxis ? 0 : d));
  const values: Value[] = [{ shape: first, bound: 2, input: 0 }];
  const inputs: number[][] = [first];
  const fresh = (shape: number[]) => {
    inputs.push(shape);
    values.push({ shape, bound: 2, input: inputs.length - 1 });
    return values.length - 1;
  };
  const push = (
    op: string,
    args: number[],
    shape: number[],
    bound: number,
    params: Record<string, unknown> = {},
  ) => values.push({ op, args, params, shape, bound });
  for (const st of raw.steps) {
    const cur = values.length - 1;
    const S = values[cur].shape, bound = values[cur].bound;
    const r = prng(st.seed);
    /** A partner that broadcasts with S: an earlier value, or a fresh input with a derived shape. */
    const partner = (pick: number): number => {
      const cands = values.map((_, i) => i).filter((i) => {
        const b = broadcastShapes(S, values[i].shape);
        return b !== null && sizeOf(b) <= MAX_SIZE;
      });
      if (pick % (cands.length + 1) < cands.length) return cands[pick % (cands.length + 1)];
      const drop = randInt(r, 0, S.length);
      const shape = S.slice(drop).map((d) => (r() < 0.3 ? 1 : d));
      if (drop === 0 && r() < 0.2 && sizeOf(S) * 2 <= MAX_SIZE) shape.unshift(2);
      return fresh(shape);
    };
    let kind = OPS[st.kind];
    if (kind === "exp" && bound > 12) kind = "tanh";
    switch (kind) {
      case "add":
      case "mul":
      case "maximum": {
        const p = partner(st.a), pb = values[p].bound;
        const op = kind === "mul" && pb * bound > 1e4 ? "add" : kind;
        const args = st.b % 2 ? [p, cur] : [cur, p];
        const b = op === "add" ? bound + pb : op === "mul" ? bound * pb : Math.max(bound, pb);
        push(op, args, broadcastShapes(S, values[p].shape)!, b);
        break;
      }
      case "exp":
        push("exp", [cur], S, Math.exp(bound));
        break;
      case "where": {
        const c = partner(st.a), o = partner(st.b);
        const shape = broadcastShapes(broadcastShapes(S, values[c].shape)!, values[o].shape);
        if (!shape || sizeOf(shape) > MAX_SIZE) push("tanh", [cur], S, 1);
        else push("where", [c, cur, o], shape, Math.max(bound, values[o].bound));
        break;
      }
      case "sum": {
        const axes = S.map((_, i) => i).filter(() => r() < 0.5);
        const keepdims = r() < 0.3;
        const all = S.length === 0 || r() < 0.15;
        const red = all ? S.map((_, i) => i) : axes;
        const shape = S.flatMap((d, i) => (red.includes(i) ? (keepdims ? [1] : []) : [d]));
        const count = sizeOf(red.map((i) => S[i]));
        push("sum", [cur], shape, bound * Math.max(1, count), {
          axis: all ? undefined : axes,
          keepdims,
        });
        break;
      }
      case "transpose": {
        const perm = permutation(r, S.length);
        push("transpose", [cur], perm.map((p) => S[p]), bound, { perm });
        break;
      }
      case "slice": {
        const specs: (string | number | null)[] = [];
        const shape: number[] = [];
        S.forEach((n) => {
          const u = r();
          const end = () => (r() < 0.3 ? "" : String(randInt(r, -n - 1, n + 1)));
          if (u < 0.1) {
            specs.push(null);
            shape.push(1);
          }
          if (u < 0.4) {
            specs.push(":");
            shape.push(n);
          } else if (u < 0.85 || n === 0) {
            const step = r() < 0.4 ? 1 : [-3, -2, -1, 2, 3][randInt(r, 0, 4)];
            const [a, b] = [end(), end()];
            specs.push(step === 1 && r() < 0.5 ? `${a}:${b}` : `${a}:${b}:${step}`);
            shape.push(
              sliceLength(
                n,
                a === "" ? undefined : Number(a),
                b === "" ? undefined : Number(b),
                step,
              ),
            );
          } else specs.push(randInt(r, -n, n - 1));
        });
        push("slice", [cur], shape, bound, { specs });
        break;
      }
      case "pad": {
        const widths = S.map((): [number, number] => [randInt(r, 0, 2), randInt(r, 0, 2)]);
        const modes = ["constant", "edge", "reflect"];
        let mode = modes[randInt(r, 0, 2)];
        if (S.some((d, i) => d === 0 && widths[i][0] + widths[i][1] > 0)) mode = "constant";
        const constantValues = mode === "constant" ? Math.round((r() * 4 - 2) * 4) / 4 : undefined;
        const shape = S.map((d, i) => d + widths[i][0] + widths[i][1]);
        if (sizeOf(shape) > MAX_SIZE) push("tanh", [cur], S, 1);
        else {push("pad", [cur], shape, Math.max(bound, Math.abs(constantValues ?? 0)), {
            widths,
            mode,
            constantValues,
          });}
        break;
      }
      case "concatenate": {
        if (S.length === 0) {
          push("tanh", [cur], S, 1);
          break;
        }
        const axis = randInt(r, 0, S.length - 1);
        const ok = values.map((_, i) => i).filter((i) =>
          values[i].shape.length === S.length &&
          values[i].shape.every((d, j) => j === axis || d === S[j])
        );
        const p = st.a % 2 && ok.length
          ? ok[st.b % ok.length]
          : fresh(S.map((d, j) => (j === axis ? randInt(r, 0, 3) : d)));
        const shape = S.map((d, j) => (j === axis ? d + values[p].shape[j] : d));
        const args = st.b % 3 === 0 ? [p, cur] : [cur, p];
        if (sizeOf(shape) > MAX_SIZE) push("tanh", [cur], S, 1);
        else push("concatenate", args, shape, Math.max(bound, values[p].bound), { axis });
        break;
      }
      case "broadcastTo": {
        const shape = [
          ...(r() < 0.5 ? [randInt(r, 1, 3)] : []),
          ...S.map((d) => (d === 1 ? randInt(r, 1, 3) : d)),
        ];
        if (sizeOf(shape) > MAX_SIZE) push("tanh", [cur], S, 1);
        else push("broadcastTo", [cur], shape, bound, { shape });
        break;
      }
      case "reshape": {
        const u = r();
        const shape = u < 0.3 ? [sizeOf(S)] : u < 0.6 ? [...S].reverse() : [1, ...S, 1];
        const target = u < 0.3 && r() < 0.5 && sizeOf(S) > 0 ? [-1] : shape;
        push("reshape", [cur], shape, bound, { shape: target });
        break;
      }
      default:
        push("tanh", [cur], S, 1);
    }
  }
  const outputs = [values.length - 1];
  if (raw.extraOut >= 0 && raw.extraOut % values.length !== values.length - 1) {
    outputs.push(raw.extraOut % values.length);
  }
  return { dtype: raw.dtype, values, inputs, outputs, seed: raw.seed };
}

/** The program as text, one value per line. */
export function describeProgram(p: Program): string {
  const lines = p.values.map((v, i) => {
    const rhs = v.input !== undefined
      ? `input ${p.dtype}[${v.shape}]`
      : `${v.op}(${v.args!.map((a) => `v${a}`).join(", ")}${
        Object.keys(v.params!).length ? ", " + show(v.params) : ""
      })`;
    return `  v${i} = ${rhs}  -> [${v.shape}]`;
  });
  return `program (data seed ${p.seed}, outputs ${p.outputs.map((o) => `v${o}`).join(", ")}):\n${
    lines.join("\n")
  }`;
}

function apply(v: Value, xs: Tensor[]): Tensor {
  const q = v.params as Record<string, never>;
  switch (v.op) {
    case "add":
      return np.add(xs[0], xs[1]);
    case "mul":
      return np.multiply(xs[0], xs[1]);
    case "maximum":
      return np.maximum(xs[0], xs[1]);
    case "exp":
      return np.exp(xs[0]);
    case "tanh":
      return np.tanh(xs[0]);
    case "where":
      return np.where(np.greater(xs[0], 0), xs[1], xs[2]);
    case "sum":
      return np.sum(xs[0], { axis: q.axis, keepdims: q.keepdims });
    case "transpose":
      return np.transpose(xs[0], q.perm);
    case "slice":
      return np.slice(xs[0], ...(q.specs as (string | number | null)[]));
    case "pad":
      return np.pad(xs[0], q.widths, { mode: q.mode, constantValues: q.constantValues });
    case "concatenate":
      return np.concatenate([xs[0], xs[1]], q.axis);
    case "broadcastTo":
      return np.broadcastTo(xs[0], q.shape);
    case "reshape":
      return np.reshape(xs[0], q.shape);
  }
  throw new TypeError(`apply: unknown op ${v.op}`);
}

/** The program as a function of its inputs, returning its outputs. */
export function programFn(p: Program): (...xs: Tensor[]) => Tensor[] {
  return (...xs: Tensor[]) => {
    const env: Tensor[] = [];
    for (const v of p.values) {
      env.push(v.input !== undefined ? xs[v.input] : apply(v, v.args!.map((a) => env[a])));
    }
    return p.outputs.map((o) => env[o]);
  };
}

/** Input Tensors of a program on the current backend (values in [-2, 2)). */
export function programInputs(p: Program): Tensor[] {
  return p.inputs.map((s, i) => tensorOf(hostData(s, p.seed + 7 * i, p.dtype, 2), s, p.dtype));
}

/**
 * Runs the program on the current backend: outputs, then the gradient of
 * `sum_k sum(out_k * w_k)` (fixed random weights w_k) with respect to every input.
 */
export function runProgram(p: Program, useJit: boolean): { outs: Tensor[]; grads: Tensor[] } {
  const f = programFn(p);
  const xs = programInputs(p);
  const outShapes = p.outputs.map((o) => p.values[o].shape);
  const weights = outShapes.map((s, k) =>
    tensorOf(hostData(s, p.seed + 1000 + k, p.dtype), s, p.dtype)
  );
  const loss = (...a: Tensor[]) =>
    f(...a).reduce(
      (acc, o, k) => np.add(acc, np.sum(np.multiply(o, weights[k]))),
      np.zeros([], { dtype: p.dtype }),
    );
  const g = grad(loss, { argnums: xs.map((_, i) => i) });
  const outs = useJit ? jit(f)(...xs) as Tensor[] : f(...xs);
  const grads = (useJit ? jit(g)(...xs) : g(...xs)) as Tensor[];
  return { outs, grads };
}

/** Largest bound over the program's values (scales tolerances). */
export function programScale(p: Program): number {
  return Math.max(1, ...p.values.map((v) => v.bound));
}
