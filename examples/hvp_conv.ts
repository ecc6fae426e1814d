/**
 * Hessian-vector products through a convolution. For a loss `f(w)` of a strided conv layer, the
 * product `H(w) v` is computed forward-over-reverse, `jvp(grad(f), [w], [v])`, without ever
 * forming `H`. Checked (in float64) against central finite differences of the gradient,
 * `(∇f(w + εv) − ∇f(w − εv)) / 2ε`, against reverse-over-reverse and `linearize`, and, on a tiny
 * layer, against the full matrix `hessian(f)` times `v`.
 *
 * Run: `DENO_NO_PACKAGE_JSON=1 node_modules/.bin/deno run -A examples/hvp_conv.ts`
 * (or `bun run examples/hvp_conv.ts`).
 * @module
 */
import { grad, hessian, jit, jvp, lax, linearize, np, random, type Tensor } from "../mod.ts";

/** Options of {@linkcode main}. */
export interface HvpOptions {
  /** Image side length of the main case (default 12). */
  size?: number;
  /** Where the report goes (default console.log). */
  log?: (line: string) => void;
}

/** What {@linkcode main} measured (largest relative errors). */
export interface HvpResult {
  /** forward-over-reverse vs finite differences of the gradient. */
  fdError: number;
  /** forward-over-reverse vs reverse-over-reverse. */
  rorError: number;
  /** forward-over-reverse vs the explicit Hessian times v (tiny case). */
  hessianError: number;
}

/** A loss through a strided, padded convolution: mean squared error of tanh(conv(x, w)). */
function makeLoss(x: Tensor, y: Tensor): (w: Tensor) => Tensor {
  return (w) => {
    const out = lax.convGeneralDilated(x, w, [2, 2], "SAME"); // NCHW input, OIHW kernel
    return np.mean(np.square(np.tanh(out).sub(y)));
  };
}

/** H(w) v by forward-over-reverse: the directional derivative of the gradient along v. */
function hvp(f: (w: Tensor) => Tensor, w: Tensor, v: Tensor): Tensor {
  return jvp(grad(f), [w], [v])[1];
}

/** max |a - b| / (max |b| + tiny). */
function relErr(a: Tensor, b: Tensor): number {
  const num = np.max(np.abs(a.sub(b))).item() as number;
  const den = np.max(np.abs(b)).item() as number;
  return num / (den + 1e-30);
}

/** Data and weights in float64, so that finite differences are accurate. */
function problem(seed: number, n: number, c: number, f: number, k: number, size: number) {
  const [kx, kw, ky, kv] = random.splitList(random.key(seed), 4);
  const f64 = { dtype: "float64" as const };
  const x = random.normal(kx, [n, c, size, size], f64);
  const w = random.normal(kw, [f, c, k, k], f64).mul(1 / Math.sqrt(c * k * k));
  const y = random.uniform(ky, [n, f, Math.ceil(size / 2), Math.ceil(size / 2)], {
    ...f64,
    minval: -0.5,
    maxval: 0.5,
  });
  const v = random.normal(kv, w.shape, f64);
  return { f: makeLoss(x, y), w, v };
}

/** Computes Hessian-vector products three ways and against the full Hessian; throws on mismatch. */
export function main(opts: HvpOptions = {}): HvpResult {
  const { size = 12, log = console.log } = opts;

  // the main case: 2 images 3×size×size, 4 filters 3×3×3, stride 2, SAME padding
  const { f, w, v } = problem(0, 2, 3, 4, 3, size);
  const hv = jit((w: Tensor, v: Tensor) => hvp(f, w, v))(w, v);

  // (a) central finite differences of the gradient along v
  const eps = 1e-5;
  const g = grad(f);
  const fd = g(w.add(v.mul(eps))).sub(g(w.sub(v.mul(eps)))).div(2 * eps);
  const fdError = relErr(hv, fd);
  log(
    `H v by jvp(grad(f)), w ${fmt(w.shape)}: vs finite differences of grad, ` +
      `relative error ${fdError.toExponential(2)}`,
  );

  // (b) reverse-over-reverse: the gradient of <grad f(w), v>
  const ror = grad((w: Tensor) => np.sum(grad(f)(w).mul(v)))(w);
  const rorError = relErr(hv, ror);
  // (c) linearize the gradient once, then apply it to several directions cheaply
  const [, hvpAt] = linearize(grad(f), w);
  const linError = relErr(hvpAt(v), hv);
  log(
    `vs reverse-over-reverse ${rorError.toExponential(2)}, vs linearize ${
      linError.toExponential(2)
    }`,
  );

  // (d) a tiny layer, where the whole Hessian is cheap: reshape it to a matrix and multiply
  const tiny = problem(1, 1, 2, 2, 2, 5);
  const d = tiny.w.size;
  const H = hessian(tiny.f)(tiny.w).reshape([d, d]); // [...w.shape, ...w.shape] -> [d, d]
  const hvTiny = hvp(tiny.f, tiny.w, tiny.v);
  const hessianError = relErr(hvTiny.reshape([d]), np.matmul(H, tiny.v.reshape([d])));
  const asymmetry = np.max(np.abs(H.sub(H.T))).item() as number;
  log(
    `tiny layer w ${fmt(tiny.w.shape)}: H is ${d}×${d}, |H - Hᵀ| ${asymmetry.toExponential(2)}, ` +
      `H v vs hessian(f) · v ${hessianError.toExponential(2)}`,
  );

  if (
    !(fdError < 1e-7 && rorError < 1e-10 && linError < 1e-10 && hessianError < 1e-10 &&
      asymmetry < 1e-10)
  ) {
    throw new Error(
      `hvp_conv: check failed (fd ${fdError}, ror ${rorError}, linearize ${linError}, ` +
        `hessian ${hessianError}, asymmetry ${asymmetry})`,
    );
  }
  log("ok: forward-over-reverse H v agrees with all four references");
  return { fdError, rorError, hessianError };
}

function fmt(shape: number[]): string {
  return `[${shape.join(", ")}]`;
}

// Runs when executed directly (Deno, Bun); importing it (tests, bundles) does not.
if ((import.meta as { main?: boolean }).main && import.meta.url.endsWith(".ts")) main();
