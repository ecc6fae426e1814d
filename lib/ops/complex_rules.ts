/**
 * The `complexRule` of each real primitive that accepts complex operands: the op on storage views
 * (lib/ops/complex.ts), written with real primitives, so backends never see a complex dtype.
 * Ops not listed here refuse complex operands with a TypeError naming the op (core.ts `bind`).
 * @module
 */
import { bind, bind1 } from "../core.ts";
import { isComplex, realPart } from "../dtype.ts";
import type { Tensor } from "../tensor.ts";
import type { Aval, OpDef } from "./_define.ts";
import { fullLike, zerosOf } from "./_util.ts";
import * as ew from "./elementwise.ts";
import { coshOp, sinhOp } from "./elementwise_more.ts";
import * as mv from "./movement.ts";
import { reduceSumOp } from "./_util.ts";
import { dotGeneralOp } from "./dot.ts";
import * as ix from "./gather.ts";
import { cumsumOp } from "./sort.ts";
import { pack, parts } from "./complex.ts";

type Rule = NonNullable<OpDef["complexRule"]>;
const un = (op: OpDef, x: Tensor) => bind1(op, [x]);
const { add, sub, mul, div, neg } = ew;

/**
 * Ops that act on the real and the imaginary parts independently (R-linear, with any real
 * operands shared): the op runs on each part, the results are packed again.
 */
const componentwise =
  (op: OpDef): Rule => (views: Tensor[], params: unknown, inAvals: Aval[], outAvals: Aval[]) => {
    const split = views.map((v, i) => (isComplex(inAvals[i].dtype) ? parts(v) : [v, v]));
    const re = bind(op, split.map((p) => p[0]), params);
    const im = bind(op, split.map((p) => p[1]), params);
    return outAvals.map((a, i) => (isComplex(a.dtype) ? pack(re[i], im[i]) : re[i]));
  };

const mulParts = (ar: Tensor, ai: Tensor, br: Tensor, bi: Tensor): [Tensor, Tensor] => [
  sub(mul(ar, br), mul(ai, bi)),
  add(mul(ar, bi), mul(ai, br)),
];

/** (a + ib)(c + id) on views. */
const mulRule: Rule = ([a, b]) => {
  const [ar, ai] = parts(a), [br, bi] = parts(b);
  return [pack(...mulParts(ar, ai, br, bi))];
};

/** (a + ib) / (c + id) = (a + ib)(c - id) / (c² + d²), with the divisor scaled by max(|c|, |d|). */
const divRule: Rule = ([a, b]) => {
  const [ar, ai] = parts(a), [br, bi] = parts(b);
  const s = ew.select(
    ew.lt(un(ew.absOp, br), un(ew.absOp, bi)),
    un(ew.absOp, bi),
    un(ew.absOp, br),
  );
  const safe = ew.select(ew.eq(s, zerosOf(s)), fullLike(s, 1), s);
  const cr = div(br, safe), ci = div(bi, safe);
  const den = mul(add(mul(cr, cr), mul(ci, ci)), safe);
  const [nr, ni] = mulParts(ar, ai, cr, neg(ci));
  return [pack(div(nr, den), div(ni, den))];
};

/** e^(a + ib) = e^a (cos b + i sin b). */
const expRule: Rule = ([z]) => {
  const [a, b] = parts(z);
  const e = ew.exp(a);
  return [pack(mul(e, ew.cos(b)), mul(e, ew.sin(b)))];
};

/** log(a + ib) = log|z| + i atan2(b, a) (principal branch). */
const logRule: Rule = ([z]) => {
  const [a, b] = parts(z);
  return [pack(ew.log(hypot(a, b)), bind1(ew.atan2Op, [b, a]))];
};

/** |a + ib| without overflow: m·sqrt(1 + (n/m)²) with m = max(|a|, |b|), n = min. */
export function hypot(a: Tensor, b: Tensor): Tensor {
  const aa = un(ew.absOp, a), ab = un(ew.absOp, b);
  const m = bind1(ew.maxOp, [aa, ab]), n = bind1(ew.minOp, [aa, ab]);
  const one = fullLike(m, 1);
  const safe = ew.select(ew.eq(m, zerosOf(m)), one, m);
  const r = ew.select(ew.eq(n, fullLike(n, Infinity)), one, div(n, safe)); // both infinite
  return mul(m, un(ew.sqrtOp, add(one, mul(r, r))));
}

/** Principal sqrt: re = sqrt((|z| + a) / 2), im = ±sqrt((|z| - a) / 2) with b's sign. */
const sqrtRule: Rule = ([z]) => {
  const [a, b] = parts(z);
  const r = hypot(a, b);
  const half = fullLike(a, 0.5);
  const re = un(ew.sqrtOp, mul(add(r, a), half));
  const im = un(ew.sqrtOp, mul(sub(r, a), half));
  return [pack(re, ew.select(ew.lt(b, zerosOf(b)), neg(im), im))];
};

/** sin(a + ib) = sin a cosh b + i cos a sinh b. */
const sinRule: Rule = ([z]) => {
  const [a, b] = parts(z);
  return [pack(mul(ew.sin(a), un(coshOp, b)), mul(ew.cos(a), un(sinhOp, b)))];
};

/** cos(a + ib) = cos a cosh b - i sin a sinh b. */
const cosRule: Rule = ([z]) => {
  const [a, b] = parts(z);
  return [pack(mul(ew.cos(a), un(coshOp, b)), neg(mul(ew.sin(a), un(sinhOp, b))))];
};

/**
 * tanh(a + ib) = (t + i s) / (1 + i t s) with t = tanh a, s = tan b:
 * re = t (1 + s²) / (1 + t² s²), im = s (1 - t²) / (1 + t² s²).
 */
const tanhRule: Rule = ([z]) => {
  const [a, b] = parts(z);
  const t = un(ew.tanhOp, a), s = un(ew.tanOp, b);
  const one = fullLike(t, 1);
  const den = add(one, mul(mul(t, t), mul(s, s)));
  const re = div(mul(t, add(one, mul(s, s))), den);
  const im = div(mul(s, sub(one, mul(t, t))), den);
  return [pack(re, im)];
};

/** eq: both parts equal; ne: either differs. */
const cmpRule = (op: OpDef, join: OpDef): Rule => ([a, b]) => {
  const [ar, ai] = parts(a), [br, bi] = parts(b);
  return [bind1(join, [bind1(op, [ar, br]), bind1(op, [ai, bi])])];
};

/** convert to, from and between complex dtypes (complex → real keeps the real part, as JAX). */
const convertRule: Rule = ([x], p, [a]) => {
  const to = (p as { dtype: Aval["dtype"] }).dtype;
  const part = realPart(to);
  if (!isComplex(a.dtype)) {
    const re = ew.convert(x, part);
    return [pack(re, zerosOf(re))];
  }
  const [re, im] = parts(x);
  if (!isComplex(to)) return [ew.convert(re, to)];
  return [pack(ew.convert(re, part), ew.convert(im, part))];
};

/** (A + iB)·(C + iD) for a bilinear contraction: AC - BD + i(AD + BC). */
const dotRule: Rule = ([a, b], p) => {
  const [ar, ai] = parts(a), [br, bi] = parts(b);
  const dot = (x: Tensor, y: Tensor) => bind1(dotGeneralOp, [x, y], p);
  return [pack(sub(dot(ar, br), dot(ai, bi)), add(dot(ar, bi), dot(ai, br)))];
};

const RULES: [OpDef, Rule][] = [
  ...[
    ew.negOp,
    ew.addOp,
    ew.subOp,
    ew.selectOp,
    mv.broadcastInDimOp,
    mv.reshapeOp,
    mv.transposeOp,
    mv.sliceOp,
    mv.padOp,
    mv.concatenateOp,
    mv.revOp,
    reduceSumOp,
    cumsumOp,
    ix.gatherOp,
    ix.scatterSetOp,
    ix.scatterAddOp,
  ].map((op): [OpDef, Rule] => [op, componentwise(op)]),
  [ew.mulOp, mulRule],
  [ew.divOp, divRule],
  [ew.expOp, expRule],
  [ew.logOp, logRule],
  [ew.sqrtOp, sqrtRule],
  [ew.sinOp, sinRule],
  [ew.cosOp, cosRule],
  [ew.tanhOp, tanhRule],
  [ew.eqOp, cmpRule(ew.eqOp, ew.andOp)],
  [ew.neOp, cmpRule(ew.neOp, ew.orOp)],
  [ew.convertOp, convertRule],
  [dotGeneralOp, dotRule],
];

for (const [op, rule] of RULES) op.complexRule = rule;
