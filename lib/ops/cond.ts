/**
 * The `cond` primitive (an indexed choice among branch jaxprs: lax.cond and lax.switch) and the
 * `while` primitive (a loop whose trip count depends on the data). Batched predicates turn cond
 * into a select of every branch and while into a masked loop that runs until every example ends.
 * @module
 */
import { ArrayValue, bind } from "../core.ts";
import type { Tensor } from "../tensor.ts";
import { evalJaxpr, type Jaxpr } from "../ir.ts";
import {
  type Aval,
  type BDim,
  defineOp,
  type LinearArg,
  type OpDef,
  UndefPrimal,
} from "./_define.ts";
import { batchAt0, full, moveAxis, zerosOf } from "./_util.ts";
import { convert, eq, geOp, select } from "./elementwise.ts";
import { broadcastInDim } from "./movement.ts";
import { reduceMax } from "./reduce.ts";
import { splitJvp } from "../transforms/jit.ts";
import { jvpFlat } from "../transforms/jvp.ts";
import { vmapFlat } from "../transforms/vmap.ts";
import { backwardPass } from "../transforms/linearize.ts";
import {
  closeBranches,
  closeFn,
  fmtAval,
  isHost,
  memo,
  realBranches,
  realForm,
  runBody,
  sameAval,
} from "./_control.ts";

/** Parameters of a `cond` equation. Arguments are `[index, ...operands]`. */
export interface CondParams {
  /** Branch jaxprs, each `operands -> outputs`; the index is clamped into range. */
  branches: Jaxpr[];
  /** Per argument (index included): cond is linear in it (set by jvp, read by transpose). */
  linear: boolean[];
}

const F = (n: number) => new Array<boolean>(n).fill(false);
const T = (n: number) => new Array<boolean>(n).fill(true);
const strongAval = (a: Aval): Aval => ({ ...a, weak: false });

function condAvals(avals: Aval[], p: CondParams): Aval[] {
  const [index, ...ops] = avals;
  if (index.dtype !== "int32" || index.shape.length !== 0) {
    throw new TypeError(`cond: the branch index must be an int32 scalar, got ${fmtAval(index)}`);
  }
  p.branches.forEach((b, k) => {
    const ins = b.inAvals;
    if (ins.length !== ops.length || ins.some((a, i) => !sameAval(a, ops[i]))) {
      throw new TypeError(
        `cond: branch ${k} takes (${ins.map(fmtAval).join(", ")}) but the operands are (${
          ops.map(fmtAval).join(", ")
        })`,
      );
    }
  });
  return p.branches[0].outAvals.map(strongAval);
}

/** The `cond` primitive. */
export const condOp: OpDef<CondParams> = defineOp({
  name: "cond",
  kind: "higher",
  abstractEval: condAvals,
  impl: () => {
    throw new TypeError("cond: evaluated through evalImpl only");
  },
  evalImpl: ([index, ...ops], p) => {
    const n = p.branches.length;
    if (!isHost(index)) {
      // a device index cannot be read synchronously: every branch runs, the device selects
      return selectAmong(index, p.branches.map((b) => runBody(b, ops)), []);
    }
    const i = Math.min(n - 1, Math.max(0, Number(index._valuesSync()[0])));
    return runBody(p.branches[i], ops);
  },
  jvp: condJvp,
  transpose: condTranspose,
  vmap: condVmap,
  // complex operands or results: the same choice among the branches' real forms
  complexRule: ([index, ...ops], p) => {
    const r = realBranches("cond", p.branches);
    return bind(condOp, [index, ...r.consts, ...ops], {
      branches: r.jaxprs,
      linear: [false, ...r.consts.map(() => false), ...p.linear.slice(1)],
    });
  },
});

interface CondSplit {
  known: Jaxpr[];
  knownConsts: Tensor[];
  tangent: Jaxpr[];
  tangentConsts: Tensor[];
  nRes: number;
}

/** Per branch: primal outputs plus the union of every branch's residual slots (zeros elsewhere). */
function splitCond(p: CondParams): CondSplit {
  const splits = p.branches.map((b) => splitJvp(b));
  const opAvals = p.branches[0].inAvals.map(strongAval);
  const resAvals = splits.flatMap((s) => s.known.outs.slice(s.nOut).map((v) => strongAval(v.aval)));
  const offs: number[] = [];
  splits.reduce((o, s) => (offs.push(o), o + s.known.outs.length - s.nOut), 0);
  const known = closeBranches(
    "cond",
    splits.map((s, k) => (ops) => {
      const r = evalJaxpr(s.known, ops);
      const slots = resAvals.map((a, j) => {
        const m = j - offs[k];
        return m >= 0 && m < r.length - s.nOut ? r[s.nOut + m] : zerosOf(a);
      });
      return [...r.slice(0, s.nOut), ...slots];
    }),
    opAvals,
  );
  const tangent = closeBranches(
    "cond",
    splits.map((s, k) => (zs) => {
      const nr = s.known.outs.length - s.nOut;
      return evalJaxpr(s.unknown, [
        ...zs.slice(offs[k], offs[k] + nr),
        ...zs.slice(resAvals.length),
      ]);
    }),
    [...resAvals, ...opAvals],
  );
  return {
    known: known.jaxprs,
    knownConsts: known.consts,
    tangent: tangent.jaxprs,
    tangentConsts: tangent.consts,
    nRes: resAvals.length,
  };
}

function condJvp(primals: Tensor[], tangents: Tensor[], p: CondParams): [Tensor[], Tensor[]] {
  const [index, ...ops] = primals;
  const s = memo(p.branches, "jvp", () => splitCond(p));
  const known = bind(condOp, [index, ...s.knownConsts, ...ops], {
    branches: s.known,
    linear: F(1 + s.knownConsts.length + ops.length),
  });
  const nOut = known.length - s.nRes;
  const tops = tangents.slice(1);
  const tOut = bind(condOp, [index, ...s.tangentConsts, ...known.slice(nOut), ...tops], {
    branches: s.tangent,
    linear: [...F(1 + s.tangentConsts.length + s.nRes), ...T(tops.length)],
  });
  return [known.slice(0, nOut), tOut];
}

function condTranspose(cts: Tensor[], args: LinearArg[], p: CondParams): (Tensor | null)[] {
  const [index, ...ops] = args;
  if (index instanceof UndefPrimal) throw new TypeError("cond: the index cannot be transposed");
  const lin = ops.map((a, i) => a instanceof UndefPrimal || p.linear[i + 1]);
  const opAvals = p.branches[0].inAvals.map(strongAval);
  const resIdx = opAvals.map((_, i) => i).filter((i) => !lin[i]);
  const linIdx = opAvals.map((_, i) => i).filter((i) => lin[i]);
  const t = memo(p.branches, `T:${lin.join()}`, () =>
    closeBranches(
      "cond",
      p.branches.map((b) => (zs) => {
        const full: LinearArg[] = opAvals.map((a) => new UndefPrimal(a));
        resIdx.forEach((i, j) => (full[i] = zs[j]));
        const r = backwardPass(b, full, zs.slice(resIdx.length));
        return linIdx.map((i) => r[i] ?? zerosOf(opAvals[i]));
      }),
      [...resIdx.map((i) => opAvals[i]), ...p.branches[0].outAvals.map(strongAval)],
    ));
  const outs = bind(condOp, [index, ...t.consts, ...resIdx.map((i) => ops[i] as Tensor), ...cts], {
    branches: t.jaxprs,
    linear: [...F(1 + t.consts.length + resIdx.length), ...T(cts.length)],
  });
  const ct: (Tensor | null)[] = [null, ...ops.map(() => null)];
  linIdx.forEach((i, j) => (ct[i + 1] = ops[i] instanceof UndefPrimal ? outs[j] : null));
  return ct;
}

function condVmap(args: Tensor[], bdims: BDim[], p: CondParams, size: number): [Tensor[], BDim[]] {
  const [index, ...ops] = args;
  const moved = ops.map((a, i) => (bdims[i + 1] === null ? a : moveAxis(a, bdims[i + 1]!, 0)));
  const inDims: BDim[] = ops.map((_, i) => (bdims[i + 1] === null ? null : 0));
  const batchedFn = (b: Jaxpr) => (zs: Tensor[]) =>
    vmapFlat((ys) => evalJaxpr(b, ys), zs, inDims, 0, size);
  if (bdims[0] === null) {
    const b = memo(
      p.branches,
      `vmap:${size}:${inDims.join()}`,
      () => closeBranches("cond", p.branches.map(batchedFn), moved.map((m) => m.aval)),
    );
    const outs = bind(condOp, [index, ...b.consts, ...moved], {
      branches: b.jaxprs,
      linear: [false, ...F(b.consts.length), ...p.linear.slice(1)],
    });
    return [outs, outs.map((): BDim => 0)];
  }
  // a batched index: every branch runs and each example selects its own result
  const idx = moveAxis(index, bdims[0]!, 0);
  const out = selectAmong(idx, p.branches.map((b) => batchedFn(b)(moved)), [0]);
  return [out, out.map((): BDim => 0)];
}

/**
 * Per element of `idx` (clamped into range), the outputs of branch `idx`: `results[k]` are branch
 * k's outputs, whose leading axes `dims` are the axes of `idx`.
 */
function selectAmong(idx: Tensor, results: Tensor[][], dims: number[]): Tensor[] {
  const n = results.length;
  let out = results[0];
  for (let k = 1; k < n; k++) {
    const kk = full(idx.aval.shape, k, "int32");
    const m = k === n - 1 ? bind(geOp, [idx, kk])[0] : eq(idx, kk);
    out = out.map((o, j) => select(broadcastInDim(m, o.aval.shape, dims), results[k][j], o));
  }
  return out;
}

/** Parameters of a `while` equation. Arguments are `[...condConsts, ...bodyConsts, ...init]`. */
export interface WhileParams {
  /** `[...condConsts, ...carry] -> [bool scalar]`. */
  cond: Jaxpr;
  /** `[...bodyConsts, ...carry] -> carry`. */
  body: Jaxpr;
  nCondConsts: number;
  nBodyConsts: number;
}

function whileAvals(avals: Aval[], p: WhileParams): Aval[] {
  const carry = avals.slice(p.nCondConsts + p.nBodyConsts);
  const check = (what: string, j: Jaxpr, ins: Aval[]) => {
    const want = j.inAvals;
    if (want.length !== ins.length || want.some((a, i) => !sameAval(a, ins[i]))) {
      throw new TypeError(
        `while: the ${what} takes (${want.map(fmtAval).join(", ")}), got (${
          ins.map(fmtAval).join(", ")
        })`,
      );
    }
  };
  check("condition", p.cond, [...avals.slice(0, p.nCondConsts), ...carry]);
  check("body", p.body, avals.slice(p.nCondConsts));
  const outs = p.body.outAvals;
  if (outs.length !== carry.length || outs.some((a, i) => !sameAval(a, carry[i]))) {
    throw new TypeError(
      `while: the body returns (${outs.map(fmtAval).join(", ")}) for a carry of (${
        carry.map(fmtAval).join(", ")
      })`,
    );
  }
  return carry.map(strongAval);
}

/** The `while` primitive. */
export const whileOp: OpDef<WhileParams> = defineOp({
  name: "while",
  kind: "higher",
  abstractEval: whileAvals,
  impl: () => {
    throw new TypeError("while: evaluated through evalImpl only");
  },
  evalImpl: (args, p) => {
    if (!args.every(isHost)) {
      throw new TypeError(
        "whileLoop: on a device backend (webgpu) the loop condition would have to be read back " +
          "to the host after every iteration, and WebGPU reads only asynchronously; run the loop " +
          'on the cpu backend (setBackend("cpu")), or use lax.scan / lax.foriLoop with static ' +
          "bounds, whose trip count is known",
      );
    }
    const cc = args.slice(0, p.nCondConsts);
    const bc = args.slice(p.nCondConsts, p.nCondConsts + p.nBodyConsts);
    let carry: Tensor[] = args.slice(p.nCondConsts + p.nBodyConsts);
    while (runBody(p.cond, [...cc, ...carry])[0]._valuesSync()[0]) {
      carry = runBody(p.body, [...bc, ...carry]);
    }
    return carry;
  },
  jvp: whileJvp,
  vmap: whileVmap,
  // a complex carry (or constant): the same loop over the real forms of condition and body
  complexRule: (views, p) => {
    const c = realForm(p.cond), b = realForm(p.body);
    const { nCondConsts: nCC, nBodyConsts: nBC } = p;
    return bind(whileOp, [
      ...c.consts,
      ...views.slice(0, nCC),
      ...b.consts,
      ...views.slice(nCC),
    ], {
      cond: c.jaxpr,
      body: b.jaxpr,
      nCondConsts: c.consts.length + nCC,
      nBodyConsts: b.consts.length + nBC,
    });
  },
  transpose: () => {
    throw new TypeError(
      "whileLoop: reverse-mode differentiation (grad, vjp) of a whileLoop is not supported: its " +
        "trip count depends on the data, so its residuals cannot be stored. Use lax.scan, or " +
        "lax.foriLoop with static (JS number) bounds, which lowers to a scan; forward mode (jvp) works",
    );
  },
});

/** jvp: a while over (carry, tangent carry); a separate primal while keeps primals known. */
function whileJvp(primals: Tensor[], tangents: Tensor[], p: WhileParams): [Tensor[], Tensor[]] {
  const { nCondConsts: nCC, nBodyConsts: nBC } = p;
  const cAvals = p.cond.inAvals.slice(0, nCC), bAvals = p.body.inAvals.slice(0, nBC);
  const kAvals = p.body.outAvals.map(strongAval);
  const nK = kAvals.length;
  const j = memo(p.body, `while-jvp:${nBC}`, () => ({
    cond: closeFn(
      (zs) => evalJaxpr(p.cond, zs.slice(0, nCC + nK)),
      [...cAvals, ...kAvals, ...kAvals],
    ),
    body: closeFn((zs) => {
      const [bc, tbc, k, tk] = [0, nBC, 2 * nBC, 2 * nBC + nK].map((o, i) =>
        zs.slice(o, o + (i < 2 ? nBC : nK))
      );
      const [po, to] = jvpFlat((ys) => evalJaxpr(p.body, ys), [...bc, ...k], [...tbc, ...tk]);
      return [...po, ...to];
    }, [...bAvals, ...bAvals, ...kAvals, ...kAvals]),
  }));
  const cc = primals.slice(0, nCC), bc = primals.slice(nCC, nCC + nBC);
  const k = primals.slice(nCC + nBC), tbc = tangents.slice(nCC, nCC + nBC);
  const tk = tangents.slice(nCC + nBC);
  const outs = bind(whileOp, [
    ...j.cond.consts,
    ...cc,
    ...j.body.consts,
    ...bc,
    ...tbc,
    ...k,
    ...tk,
  ], {
    cond: j.cond.jaxpr,
    body: j.body.jaxpr,
    nCondConsts: j.cond.consts.length + nCC,
    nBodyConsts: j.body.consts.length + 2 * nBC,
  });
  const concrete = [...primals, ...tangents].every((t) => t instanceof ArrayValue);
  return [concrete ? outs.slice(0, nK) : bind(whileOp, primals, p), outs.slice(nK)];
}

function anyTrue(pred: Tensor): Tensor {
  return convert(reduceMax(convert(pred, "int32"), [0]), "bool");
}

/** vmap: every carry batched; the loop runs while any example's predicate holds. */
function whileVmap(
  args: Tensor[],
  bdims: BDim[],
  p: WhileParams,
  size: number,
): [Tensor[], BDim[]] {
  const { nCondConsts: nCC, nBodyConsts: nBC } = p;
  const moved = args.map((a, i) =>
    i >= nCC + nBC ? batchAt0(a, bdims[i], size) : bdims[i] === null ? a : moveAxis(a, bdims[i]!, 0)
  );
  const dims: BDim[] = args.map((_, i) => (i >= nCC + nBC || bdims[i] !== null ? 0 : null));
  const ccDims = dims.slice(0, nCC),
    bcDims = dims.slice(nCC, nCC + nBC),
    kDims = dims.slice(nCC + nBC);
  const cc = moved.slice(0, nCC), bc = moved.slice(nCC, nCC + nBC), k = moved.slice(nCC + nBC);
  const avals = (ts: Tensor[]) => ts.map((t) => strongAval(t.aval));
  const j = memo(p.body, `while-vmap:${size}:${dims.join()}`, () => {
    const pred = (zs: Tensor[]) =>
      vmapFlat((ys) => evalJaxpr(p.cond, ys), zs, [...ccDims, ...kDims], 0, size)[0];
    return {
      cond: closeFn((zs) => [anyTrue(pred(zs))], [...avals(cc), ...avals(k)]),
      body: closeFn((zs) => {
        const c = zs.slice(0, nCC), b = zs.slice(nCC, nCC + nBC), kk = zs.slice(nCC + nBC);
        const live = pred([...c, ...kk]);
        const next = vmapFlat(
          (ys) => evalJaxpr(p.body, ys),
          [...b, ...kk],
          [...bcDims, ...kDims],
          0,
          size,
        );
        return next.map((v, i) => select(broadcastInDim(live, v.aval.shape, [0]), v, kk[i]));
      }, [...avals(cc), ...avals(bc), ...avals(k)]),
    };
  });
  const outs = bind(whileOp, [...j.cond.consts, ...cc, ...j.body.consts, ...cc, ...bc, ...k], {
    cond: j.cond.jaxpr,
    body: j.body.jaxpr,
    nCondConsts: j.cond.consts.length + nCC,
    nBodyConsts: j.body.consts.length + nCC + nBC,
  });
  return [outs, outs.map((): BDim => 0)];
}
