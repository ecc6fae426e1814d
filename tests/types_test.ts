// Type tests: the transforms keep parameter and return types (API.md "Types"). They are checked
// by `deno check` (tests/ is type-checked in `npm test`): an `Expect<Equal<...>>` fails to compile
// when a type widens to `any`, and an unused `@ts-expect-error` is itself an error.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  grad,
  hessian,
  jacfwd,
  jacrev,
  jit,
  jvp,
  linearize,
  makeJaxpr,
  np,
  stopGradient,
  type Tensor,
  valueAndGrad,
  vjp,
  vmap,
} from "../mod.ts";
import type { Jaxpr } from "../mod.ts";

/** True only when A and B are the same type (`any` equals nothing but `any`). */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true
  : false;
function expectType<_T extends true>(): void {}

const f32 = (xs: number[]) => np.array(xs).astype("float32");
const loss = (w: Tensor, b: Tensor, x: Tensor) => np.sum(np.square(w.mul(x).add(b)));
type Params = { w: Tensor; layers: [Tensor, Tensor] };
const treeLoss = (p: Params, x: Tensor) =>
  np.sum(p.w.mul(x)).add(np.sum(p.layers[0])).add(np.sum(p.layers[1]));

test("types: grad keeps parameters; argnums picks the gradient's type", () => {
  const w = f32([1, 2]), b = f32([0.5]), x = f32([3, 4]);
  const gw = grad(loss)(w, b, x);
  expectType<Equal<typeof gw, Tensor>>();
  const gs = grad(loss, { argnums: [0, 1] })(w, b, x);
  expectType<Equal<typeof gs, [Tensor, Tensor]>>();
  const gx = grad(loss, { argnums: 2 })(w, b, x);
  expectType<Equal<typeof gx, Tensor>>();
  assert.deepEqual(gw.shape, [2]);
  assert.equal(gs.length, 2);
  assert.deepEqual(gx.shape, [2]);
  const d3 = grad((t: Tensor) => t.mul(t).mul(t))(2); // numbers are accepted for Tensors
  expectType<Equal<typeof d3, Tensor>>();
  assert.equal(d3.item(), 12);
  const misuse = () => {
    // @ts-expect-error -- too few arguments
    grad(loss)(w, b);
    // @ts-expect-error -- a string is not a Tensor
    grad(loss)(w, b, "x");
    // @ts-expect-error -- nor is a nested JS array (convert it with np.array)
    grad(loss)(w, b, [1, 2]);
    // @ts-expect-error -- the gradient is a Tensor, not a number
    const _bad: number = grad(loss)(w, b, x);
  };
  assert.equal(typeof misuse, "function");
});

test("types: pytrees keep their structure; hasAux gives [value, aux]", () => {
  const p: Params = { w: f32([1, 2]), layers: [f32([1]), f32([2, 3])] };
  const g = grad(treeLoss)(p, f32([1, 1]));
  expectType<Equal<typeof g, { w: Tensor; layers: [Tensor, Tensor] }>>();
  assert.deepEqual(g.layers[1].shape, [2]);
  const withAux = (w: Tensor) => [np.sum(w), { norm: np.max(w), count: 2 }] as const;
  const [ga, aux] = grad(withAux, { hasAux: true })(f32([1, 2]));
  expectType<Equal<typeof ga, Tensor>>();
  expectType<Equal<typeof aux, { readonly norm: Tensor; readonly count: Tensor }>>();
  assert.equal(aux.norm.item(), 2);
  const [[v, aux2], g2] = valueAndGrad(withAux, { hasAux: true })(f32([1, 2]));
  expectType<Equal<typeof v, Tensor>>();
  expectType<Equal<typeof aux2.count, Tensor>>();
  expectType<Equal<typeof g2, Tensor>>();
  const [value, gv] = valueAndGrad(loss, { argnums: [1] })(f32([1]), f32([1]), f32([1]));
  expectType<Equal<typeof value, Tensor>>();
  expectType<Equal<typeof gv, [Tensor]>>();
  assert.equal(value.item(), 4);
});

test("types: jit and vmap keep the signature; makeJaxpr takes f's parameters", () => {
  const step = jit(loss);
  const y = step(f32([1]), f32([0]), f32([2]));
  expectType<Equal<typeof y, Tensor>>();
  type In = Tensor | number | boolean; // a Tensor parameter also takes a JS number
  expectType<Equal<Parameters<typeof step>, [In, In, In]>>();
  const pair = jit((a: Tensor, n: number) => ({ sum: a.add(n), n }), { staticArgnums: 1 });
  const out = pair(f32([1]), 2);
  expectType<Equal<typeof out, { sum: Tensor; n: Tensor }>>();
  const batched = vmap((a: Tensor, b: Tensor) => np.dot(a, b));
  const d = batched(np.ones([3, 2]), np.ones([3, 2]));
  expectType<Equal<typeof d, Tensor>>();
  assert.deepEqual(d.shape, [3]);
  const j = makeJaxpr(loss)(f32([1]), f32([0]), f32([2]));
  expectType<Equal<typeof j, Jaxpr>>();
  const misuse = () => {
    // @ts-expect-error -- jit keeps the parameter types
    step(f32([1]), f32([0]), 2n);
    // @ts-expect-error -- vmap keeps the arity
    batched(np.ones([3, 2]));
    // @ts-expect-error -- staticArgnums' parameter is still a number
    pair(f32([1]), "2");
  };
  assert.equal(typeof misuse, "function");
});

test("types: vjp, jvp, linearize, jacobians, stopGradient", () => {
  const sq = (a: Tensor, b: Tensor) => a.mul(b);
  const [out, pullback] = vjp(sq, f32([1, 2]), f32([3, 4]));
  const cts = pullback(np.onesLike(out));
  expectType<Equal<typeof cts, [Tensor, Tensor]>>();
  assert.deepEqual(Array.from(cts[0].dataSync()), [3, 4]);
  const [po, to] = jvp(sq, [f32([1]), f32([2])], [f32([1]), f32([0])]);
  expectType<Equal<typeof po | typeof to, Tensor>>();
  const [lo, fJvp] = linearize(sq, f32([1]), f32([2]));
  const lt = fJvp(f32([1]), f32([0]));
  expectType<Equal<typeof lo | typeof lt, Tensor>>();
  const J = jacfwd(sq)(f32([1, 2]), f32([3, 4]));
  const Js = jacrev(sq, { argnums: [0, 1] })(f32([1, 2]), f32([3, 4]));
  const H = hessian((a: Tensor) => np.sum(a.mul(a).mul(a)))(f32([1, 2]));
  expectType<Equal<typeof J | typeof H, Tensor>>();
  expectType<Equal<typeof Js, [Tensor, Tensor]>>();
  assert.deepEqual(H.shape, [2, 2]);
  const s = stopGradient({ a: f32([1]), b: [2, f32([3])] as [number, Tensor] });
  expectType<Equal<typeof s, { a: Tensor; b: [Tensor, Tensor] }>>();
  const misuse = () => {
    // @ts-expect-error -- vjp's primals must match f's parameters
    vjp(sq, f32([1]));
    // @ts-expect-error -- a Jacobian is a Tensor
    const _bad: string = jacfwd(sq)(f32([1]), f32([1]));
  };
  assert.equal(typeof misuse, "function");
});
