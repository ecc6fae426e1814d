/**
 * The `scan` primitive: a loop over the leading axis of `xs` with a carried state, holding its
 * body as a const-free jaxpr `[consts, carry, x] -> [carry, y]`. Its jvp splits the body into a
 * primal scan that also emits residuals and a scan linear in the tangents (transposed for grad).
 * @module
 */
import { ArrayValue, bind } from "../core.ts";
import type { Tensor } from "../tensor.ts";
import { allocTyped, type TypedArray } from "../dtype.ts";
import { sizeOf } from "../shape.ts";
import { getBackend } from "../backend/backend.ts";
import { type Eqn, evalJaxpr, Jaxpr, type Var } from "../ir.ts";
import {
  type Aval,
  type BDim,
  defineOp,
  type LinearArg,
  type OpDef,
  UndefPrimal,
} from "./_define.ts";
import { batchAt0, moveAxis, zerosOf } from "./_util.ts";
import { add } from "./elementwise.ts";
import { concatenate, reshape, slice } from "./movement.ts";
import { splitJvp } from "../transforms/jit.ts";
import { vmapFlat } from "../transforms/vmap.ts";
import { backwardPass } from "../transforms/linearize.ts";
import { hasOpaque } from "../transforms/segments.ts";
import { hasComplex } from "../transforms/complex_lower.ts";
import { closeFn, dce, fmtAval, isHost, memo, runBody, sameAval } from "./_control.ts";

/** Parameters of a `scan` equation. Arguments are `[...consts, ...carryInit, ...xs]`. */
export interface ScanParams {
  /** The body, const-free: `[...consts, ...carry, ...xSlices] -> [...carry, ...ySlices]`. */
  jaxpr: Jaxpr;
  /** Number of loop-invariant leading arguments. */
  nConsts: number;
  /** Number of carried values. */
  nCarry: number;
  /** Trip count (the leading size of every `xs` and `ys`). */
  length: number;
  /** Iterate from the last index down. */
  reverse: boolean;
  /** Per argument: the scan is linear in it (set by the jvp rule, read by transpose). */
  linear: boolean[];
  /** Unrolling hint (iterations per loop step); does not change results. */
  unroll: number;
}

const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);

function checkScanAvals(avals: Aval[], p: ScanParams): Aval[] {
  const { jaxpr, nConsts: nC, nCarry: nK, length } = p;
  const ins = jaxpr.inAvals;
  if (avals.length !== ins.length) {
    throw new TypeError(`scan: expected ${ins.length} arguments, got ${avals.length}`);
  }
  avals.forEach((a, i) => {
    const want = i < nC + nK ? ins[i] : { ...ins[i], shape: [length, ...ins[i].shape] };
    if (!sameAval(a, want)) {
      const what = i < nC ? "constant" : i < nC + nK ? "carry" : "xs";
      throw new TypeError(
        `scan: ${what} argument ${i} is ${fmtAval(a)}, expected ${fmtAval(want)}`,
      );
    }
  });
  const outs = jaxpr.outAvals;
  for (let i = 0; i < nK; i++) {
    if (!sameAval(outs[i], ins[nC + i])) {
      throw new TypeError(
        `scan: the body returns carry ${i} as ${fmtAval(outs[i])} but it enters as ${
          fmtAval(ins[nC + i])
        }; the carry must keep its shape and dtype`,
      );
    }
  }
  return [
    ...outs.slice(0, nK).map((a) => ({ ...a, weak: false })),
    ...outs.slice(nK).map((a) => ({ ...a, shape: [length, ...a.shape], weak: false })),
  ];
}

/** @internal `raw: false` runs host loops body call by body call (the path before `scanRaw`). */
export const scanTuning: { raw: boolean } = { raw: true };

/**
 * Runs the loop on raw host buffers through the backend's compiled body (`programRunner`): x
 * slices are views, each iteration writes its ys straight into the stacked outputs and its carry
 * into one of two buffers kept for the loop (no per-iteration arrays or wrappers). Null when the
 * backend cannot (or the body holds loops or complex values).
 */
function scanRaw(args: ArrayValue[], p: ScanParams, outAvals: Aval[]): Tensor[] | null {
  const { jaxpr, nConsts: nC, nCarry: nK, length, reverse } = p;
  const backend = args[0]?.backend ?? getBackend();
  if (!backend.programRunner || args.some((a) => a.backend !== backend)) return null;
  if (hasOpaque(jaxpr) || hasComplex(jaxpr)) return null;
  const run = memo(jaxpr, `runner:${backend.name}`, () => backend.programRunner!(jaxpr));
  const bufs = args.map((a) => a.buffer as TypedArray);
  const xSizes = jaxpr.inAvals.slice(nC + nK).map((a) => sizeOf(a.shape));
  const yAvals = outAvals.slice(nK);
  const ySizes = yAvals.map((a) => sizeOf(a.shape) / length);
  const ys = yAvals.map((a) => allocTyped(a.dtype, sizeOf(a.shape)));
  const cAvals = outAvals.slice(0, nK);
  // two buffers per carry: an iteration reads one and writes the other
  const pair = [0, 1].map(() => cAvals.map((a) => allocTyped(a.dtype, sizeOf(a.shape))));
  const ins = bufs.slice(0, nC + nK) as TypedArray[];
  const dests: TypedArray[] = new Array(nK + ys.length);
  for (let t = 0; t < length; t++) {
    const i = reverse ? length - 1 - t : t;
    for (let k = 0; k < xSizes.length; k++) {
      ins[nC + nK + k] = bufs[nC + nK + k].subarray(i * xSizes[k], (i + 1) * xSizes[k]);
    }
    for (let k = 0; k < nK; k++) dests[k] = pair[t & 1][k];
    for (let k = 0; k < ys.length; k++) {
      dests[nK + k] = ys[k].subarray(i * ySizes[k], (i + 1) * ySizes[k]);
    }
    const outs = run(ins, dests) as TypedArray[];
    for (let k = 0; k < nK; k++) ins[nC + k] = outs[k];
  }
  return [
    ...ins.slice(nC, nC + nK).map((b, k) => new ArrayValue(b, cAvals[k], backend)),
    ...ys.map((d, k) => new ArrayValue(d, yAvals[k], backend)),
  ];
}

/** Runs the loop on host arrays: x slices are views, ys are written in place. */
function scanHost(args: ArrayValue[], p: ScanParams, outAvals: Aval[]): Tensor[] {
  const raw = scanTuning.raw ? scanRaw(args, p, outAvals) : null;
  if (raw) return raw;
  const { jaxpr, nConsts: nC, nCarry: nK, length, reverse } = p;
  const backend = args[0]?.backend ?? getBackend();
  const consts = args.slice(0, nC), xs = args.slice(nC + nK);
  const xAvals = jaxpr.inAvals.slice(nC + nK);
  const xSizes = xAvals.map((a) => sizeOf(a.shape));
  const yAvals = outAvals.slice(nK);
  const ySizes = yAvals.map((a) => sizeOf(a.shape) / length);
  const ys = yAvals.map((a) => allocTyped(a.dtype, sizeOf(a.shape)));
  let carry: Tensor[] = args.slice(nC, nC + nK);
  for (let t = 0; t < length; t++) {
    const i = reverse ? length - 1 - t : t;
    const xi = xs.map((x, k) => {
      const data = (x.buffer as TypedArray).subarray(i * xSizes[k], (i + 1) * xSizes[k]);
      return new ArrayValue(data, xAvals[k], x.backend);
    });
    const outs = runBody(jaxpr, [...consts, ...carry, ...xi]);
    carry = outs.slice(0, nK);
    for (let k = 0; k < ys.length; k++) {
      const y = outs[nK + k]._concrete();
      ys[k].set(
        (isHost(y) ? y.buffer : y.dataSync()) as ArrayLike<number> as TypedArray,
        i * ySizes[k],
      );
    }
  }
  return [...carry, ...ys.map((d, k) => new ArrayValue(d, yAvals[k], backend))];
}

/** Stacks equal-shaped arrays along a new leading axis (concatenating at most 4 at a time). */
function stack(parts: Tensor[], aval: Aval): Tensor {
  if (parts.length === 0) return zerosOf(aval);
  let level = parts.map((t) => reshape(t, [1, ...t.aval.shape]));
  while (level.length > 1) {
    const next: Tensor[] = [];
    for (let i = 0; i < level.length; i += 4) {
      const group = level.slice(i, i + 4);
      next.push(group.length === 1 ? group[0] : concatenate(group, 0));
    }
    level = next;
  }
  return level[0];
}

/** Runs the loop on device arrays with slice and concatenate ops. */
function scanDevice(args: Tensor[], p: ScanParams, outAvals: Aval[]): Tensor[] {
  const { jaxpr, nConsts: nC, nCarry: nK, length, reverse } = p;
  const consts = args.slice(0, nC), xs = args.slice(nC + nK);
  const ys: Tensor[][] = outAvals.slice(nK).map(() => new Array(length));
  let carry = args.slice(nC, nC + nK);
  for (let t = 0; t < length; t++) {
    const i = reverse ? length - 1 - t : t;
    const xi = xs.map((x) => {
      const s = x.aval.shape;
      return reshape(slice(x, [i, ...s.slice(1).map(() => 0)], [i + 1, ...s.slice(1)]), s.slice(1));
    });
    const outs = runBody(jaxpr, [...consts, ...carry, ...xi]);
    carry = outs.slice(0, nK);
    outs.slice(nK).forEach((y, k) => (ys[k][i] = y));
  }
  return [...carry, ...ys.map((parts, k) => stack(parts, outAvals[nK + k]))];
}

/** The `scan` primitive. */
export const scanOp: OpDef<ScanParams> = defineOp({
  name: "scan",
  kind: "higher",
  abstractEval: checkScanAvals,
  impl: () => {
    throw new TypeError("scan: evaluated through evalImpl only");
  },
  evalImpl: (args, p) => {
    const outAvals = checkScanAvals(args.map((a) => a.aval), p);
    return args.every(isHost)
      ? scanHost(args as ArrayValue[], p, outAvals)
      : scanDevice(args, p, outAvals);
  },
  jvp: scanJvp,
  vmap: scanVmap,
  transpose: scanTranspose,
});

/** Binds `scan`. */
export function scanPrim(args: Tensor[], params: ScanParams): Tensor[] {
  return bind(scanOp, args, params);
}

interface ScanSplit {
  /** Primal body `[jconsts, c, k, x] -> [k, y, stacked residuals]`. */
  known: Jaxpr;
  knownConsts: Tensor[];
  /** Sources of the tangent scan's nonlinear constants: a jvp constant or a primal constant. */
  leaves: { jconst?: Tensor; c?: number }[];
  /** Primal xs indices used as residuals. */
  xRes: number[];
  nStacked: number;
  /** Tangent body `[leaves, tc, tk, stacked, xRes, tx] -> [tk, ty]`. */
  tangent: Jaxpr;
}

/**
 * Splits the jvp of a scan body. Residuals that are xs are read from xs; loop-invariant ones
 * (functions of constants only) are recomputed in the tangent body instead of being stacked.
 */
function splitScan(p: ScanParams): ScanSplit {
  const { nConsts: nC, nCarry: nK } = p;
  const { known, unknown, nOut } = splitJvp(p.jaxpr);
  const cVars = known.inVars.slice(0, nC), xVars = known.inVars.slice(nC + nK);
  const res = known.outs.slice(nOut);
  const inv = new Set<Var>([...known.constVars, ...cVars]);
  const invEqns = new Set<Eqn>();
  for (const e of known.eqns) {
    if (e.inputs.every((v) => inv.has(v))) {
      invEqns.add(e);
      e.outs.forEach((v) => inv.add(v));
    }
  }
  const stacked = res.filter((r) => !xVars.includes(r) && !inv.has(r));
  const xRes = res.filter((r) => xVars.includes(r));
  const need = new Set<Var>(res.filter((r) => inv.has(r)));
  const recompute: Eqn[] = [];
  for (let i = known.eqns.length - 1; i >= 0; i--) {
    const e = known.eqns[i];
    if (invEqns.has(e) && e.outs.some((v) => need.has(v))) {
      recompute.push(e);
      e.inputs.forEach((v) => need.add(v));
    }
  }
  recompute.reverse();
  const leafVars = [...known.constVars, ...cVars].filter((v) => need.has(v));
  const leaves = leafVars.map((v) => {
    const j = known.constVars.indexOf(v);
    return j >= 0 ? { jconst: known.consts[j] } : { c: cVars.indexOf(v) };
  });
  const tan = unknown.inVars.slice(res.length);
  const tangent = dce(
    new Jaxpr(
      [],
      [],
      [
        ...leafVars,
        ...tan.slice(0, nC + nK),
        ...stacked,
        ...xRes,
        ...tan.slice(nC + nK),
      ],
      [...recompute, ...unknown.eqns],
      unknown.outs,
    ),
  );
  const knownBody = dce(
    new Jaxpr([], [], [...known.constVars, ...known.inVars], known.eqns, [
      ...known.outs.slice(0, nOut),
      ...stacked,
    ]),
  );
  return {
    known: knownBody,
    knownConsts: known.consts,
    leaves,
    xRes: xRes.map((v) => xVars.indexOf(v)),
    nStacked: stacked.length,
    tangent,
  };
}

function scanJvp(primals: Tensor[], tangents: Tensor[], p: ScanParams): [Tensor[], Tensor[]] {
  const { nConsts: nC, nCarry: nK } = p;
  const s = memo(p.jaxpr, `jvp:${nC}:${nK}`, () => splitScan(p));
  const nY = p.jaxpr.outs.length - nK;
  const outs = bind(scanOp, [...s.knownConsts, ...primals], {
    ...p,
    jaxpr: s.known,
    nConsts: s.knownConsts.length + nC,
    linear: [...s.knownConsts, ...primals].map(() => false),
  });
  const stacked = outs.slice(nK + nY);
  const leafVals = s.leaves.map((l) => l.jconst ?? primals[l.c!]);
  const xs = primals.slice(nC + nK);
  const targs = [
    ...leafVals,
    ...tangents.slice(0, nC + nK),
    ...stacked,
    ...s.xRes.map((i) => xs[i]),
    ...tangents.slice(nC + nK),
  ];
  const F = (n: number) => new Array<boolean>(n).fill(false);
  const T = (n: number) => new Array<boolean>(n).fill(true);
  const tOut = bind(scanOp, targs, {
    ...p,
    jaxpr: s.tangent,
    nConsts: leafVals.length + nC,
    linear: [
      ...F(leafVals.length),
      ...T(nC + nK),
      ...F(stacked.length + s.xRes.length),
      ...T(xs.length),
    ],
  });
  return [outs.slice(0, nK + nY), tOut];
}

function scanTranspose(cts: Tensor[], args: LinearArg[], p: ScanParams): (Tensor | null)[] {
  const { jaxpr, nConsts: nC, nCarry: nK } = p;
  const n = args.length;
  const lin = args.map((a, i) => a instanceof UndefPrimal || p.linear[i]);
  const carryIdx = range(nC, nC + nK);
  if (carryIdx.some((i) => !lin[i])) {
    throw new TypeError("scan: transpose needs every carry to be linear (a tangent)");
  }
  const resC = range(0, nC).filter((i) => !lin[i]);
  const resX = range(nC + nK, n).filter((i) => !lin[i]);
  // cotangents only for the arguments asked for (a linear argument with a known value, such as
  // the instantiated zero tangent of xs, gets none: its products are dropped from the body)
  const want = (i: number) => args[i] instanceof UndefPrimal;
  const linC = range(0, nC).filter((i) => lin[i] && want(i));
  const linX = range(nC + nK, n).filter((i) => lin[i] && want(i));
  const bodyAval = (i: number) => ({ ...jaxpr.inVars[i].aval, weak: false });
  const yAvals = jaxpr.outs.slice(nK).map((v) => ({ ...v.aval, weak: false }));
  const t = memo(
    jaxpr,
    `T:${lin.join()}:${args.map((_, i) => want(i)).join()}`,
    () =>
      closeFn((zs) => {
        let o = 0;
        const take = (m: number) => zs.slice(o, o += m);
        const [rc, acc, ck, rx, cy] = [resC, linC, carryIdx, resX, yAvals].map((l) =>
          take(l.length)
        );
        const full: LinearArg[] = range(0, n).map((i) => new UndefPrimal(bodyAval(i)));
        resC.forEach((i, j) => (full[i] = rc[j]));
        resX.forEach((i, j) => (full[i] = rx[j]));
        const r = backwardPass(jaxpr, full, [...ck, ...cy]);
        const z = (i: number) => r[i] ?? zerosOf(bodyAval(i));
        return [...linC.map((i, j) => add(acc[j], z(i))), ...carryIdx.map(z), ...linX.map(z)];
      }, [
        ...resC.map(bodyAval),
        ...linC.map(bodyAval),
        ...carryIdx.map(bodyAval),
        ...resX.map(bodyAval),
        ...yAvals,
      ]),
  );
  const val = (i: number) => args[i] as Tensor;
  const outs = bind(scanOp, [
    ...t.consts,
    ...resC.map(val),
    ...linC.map((i) => zerosOf(bodyAval(i))),
    ...cts.slice(0, nK),
    ...resX.map(val),
    ...cts.slice(nK),
  ], {
    ...p,
    jaxpr: t.jaxpr,
    nConsts: t.consts.length + resC.length,
    nCarry: linC.length + nK,
    reverse: !p.reverse,
    linear: [
      ...[...t.consts, ...resC].map(() => false),
      ...[...linC, ...carryIdx].map(() => true),
      ...resX.map(() => false),
      ...yAvals.map(() => true),
    ],
  });
  const ct: (Tensor | null)[] = new Array(n).fill(null);
  linC.forEach((i, j) => (ct[i] = outs[j]));
  carryIdx.forEach((i, j) => (ct[i] = outs[linC.length + j]));
  linX.forEach((i, j) => (ct[i] = outs[linC.length + nK + j]));
  return ct.map((c, i) => (args[i] instanceof UndefPrimal ? c : null));
}

function scanVmap(
  args: Tensor[],
  bdims: BDim[],
  p: ScanParams,
  size: number,
): [Tensor[], BDim[]] {
  const { jaxpr, nConsts: nC, nCarry: nK } = p;
  const inDims: BDim[] = bdims.map((b, i) => (i >= nC && i < nC + nK ? 0 : b === null ? null : 0));
  const moved = args.map((a, i) =>
    i >= nC && i < nC + nK
      ? batchAt0(a, bdims[i], size)
      : bdims[i] === null
      ? a
      : moveAxis(a, bdims[i]!, i < nC ? 0 : 1)
  );
  const b = memo(jaxpr, `vmap:${size}:${inDims.join()}`, () =>
    closeFn(
      (zs) => vmapFlat((ys) => evalJaxpr(jaxpr, ys), zs, inDims, 0, size),
      jaxpr.inAvals.map((a, i) => (inDims[i] === 0 ? { ...a, shape: [size, ...a.shape] } : a)),
    ));
  const outs = bind(scanOp, [...b.consts, ...moved], {
    ...p,
    jaxpr: b.jaxpr,
    nConsts: b.consts.length + nC,
    linear: [...b.consts.map(() => false), ...p.linear],
  });
  return [outs, outs.map((_, i): BDim => (i < nK ? 0 : 1))];
}
