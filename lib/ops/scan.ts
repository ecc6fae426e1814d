/**
 * The `scan` primitive: a loop over the leading axis of `xs` with a carried state, holding its
 * body as a const-free jaxpr `[consts, carry, x] -> [carry, y]`. Its jvp splits the body into a
 * primal scan that also emits residuals and a scan linear in the tangents (transposed for grad).
 * @module
 */
import { type ArrayValue, bind } from "../core.ts";
import type { Tensor } from "../tensor.ts";
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
import { splitJvp } from "../transforms/jit.ts";
import { scanDevice, scanHost } from "./scan_loop.ts";
import { vmapFlat } from "../transforms/vmap.ts";
import { backwardPass } from "../transforms/linearize.ts";
import { closeFn, dce, fmtAval, isHost, memo, realForm, sameAval } from "./_control.ts";

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
  /**
   * Scan steps per iteration of the compiled loop (lib/ops/scan_loop.ts; JAX's `unroll`): the
   * loop body runs this many steps on blocks of as many rows; results are unchanged.
   */
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

/** The `scan` primitive. */
export const scanOp: OpDef<ScanParams> = defineOp({
  name: "scan",
  kind: "higher",
  abstractEval: checkScanAvals,
  impl: () => {
    throw new TypeError("scan: evaluated through evalImpl only");
  },
  evalImpl: (args, p, dest) => {
    const outAvals = checkScanAvals(args.map((a) => a.aval), p);
    return args.every(isHost)
      ? scanHost(args as ArrayValue[], p, outAvals, dest)
      : scanDevice(args, p, outAvals);
  },
  jvp: scanJvp,
  vmap: scanVmap,
  transpose: scanTranspose,
  // complex carries, xs or ys: the same loop over storage views with the body's real form
  // (a complex xs [n, ...s] is stored as [n, ...s, 2], so its slices are the slices' views)
  complexRule: (views, p) => {
    const r = realForm(p.jaxpr);
    return bind(scanOp, [...r.consts, ...views], {
      ...p,
      jaxpr: r.jaxpr,
      nConsts: r.consts.length + p.nConsts,
      linear: [...r.consts.map(() => false), ...p.linear],
    });
  },
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
