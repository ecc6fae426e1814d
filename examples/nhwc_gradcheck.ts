/**
 * The NHWC gradient-check notebook. A batch of 2 images of 10×11 pixels with 5 channels (NHWC)
 * is convolved with 4 filters of 2×3 (HWIO: [2, 3, 5, 4]) by `lax.convGeneralDilated` with
 * dimension numbers `["NHWC", "HWIO", "NHWC"]` and VALID padding, giving [2, 9, 9, 4]. For the
 * loss `L = sum(tanh(conv(x, w)))` the input gradient is computed
 *
 *  (a) by `grad`, and
 *  (b) by hand: the output gradient `g = dL/dy`, zero-padded by (kh − 1, kw − 1) on both sides of
 *      each spatial axis, convolved (VALID) with the kernel flipped in space and with its in/out
 *      axes swapped — the classic formula for the backward pass of a stride-1 VALID convolution.
 *
 * Both are compared, element by element, with central finite differences in float64 for every
 * one of the 1100 image elements. The filter gradient gets the same treatment (by `grad`, and by
 * hand as a correlation of the image with the output gradient, with N acting as the channel).
 *
 * Run: `DENO_NO_PACKAGE_JSON=1 node_modules/.bin/deno run -A examples/nhwc_gradcheck.ts`
 * (or `bun run examples/nhwc_gradcheck.ts`).
 * @module
 */
import { grad, lax, np, random, type Tensor } from "../mod.ts";

/** Options of {@linkcode main}. */
export interface NhwcOptions {
  /** Image shape NHWC (default the notebook's [2, 10, 11, 5]). */
  imageShape?: [number, number, number, number];
  /** Filter shape HWIO (default the notebook's [2, 3, 5, 4]); its I must equal the image's C. */
  filterShape?: [number, number, number, number];
  /** Where the report goes (default console.log). */
  log?: (line: string) => void;
}

/** What {@linkcode main} measured. */
export interface NhwcResult {
  /** Number of image elements checked against finite differences. */
  imageElements: number;
  /** Number of filter elements checked against finite differences. */
  filterElements: number;
  /** Largest |grad − finite difference| / (1 + |finite difference|), image and filter. */
  gradError: number;
  /** The same for the hand-written backward pass. */
  handError: number;
}

const DIMS: [string, string, string] = ["NHWC", "HWIO", "NHWC"];

/** The forward convolution: NHWC image, HWIO filter, stride 1, VALID. */
export function conv(x: Tensor, w: Tensor): Tensor {
  return lax.convGeneralDilated(x, w, [1, 1], "VALID", { dimensionNumbers: DIMS });
}

/** The scalar loss whose gradients are checked. */
export function loss(x: Tensor, w: Tensor): Tensor {
  return np.sum(np.tanh(conv(x, w)));
}

/** dL/dx by hand: the zero-padded output gradient convolved with the flipped, I/O-swapped kernel. */
export function inputGradByHand(g: Tensor, w: Tensor): Tensor {
  const [kh, kw] = w.shape;
  const gPadded = np.pad(g, [[0, 0], [kh - 1, kh - 1], [kw - 1, kw - 1], [0, 0]]);
  const wFlipped = np.flip(w, [0, 1]).transpose([0, 1, 3, 2]); // HWIO -> flipped HW, "I" = old O
  return lax.convGeneralDilated(gPadded, wFlipped, [1, 1], "VALID", { dimensionNumbers: DIMS });
}

/**
 * dL/dw by hand: `dw[i, j, c, o] = Σ_{n, y, x} image[n, y + i, x + j, c] · g[n, y, x, o]`, a VALID
 * correlation of the image with g in which N plays the channel role: the image is read as
 * "CHWN" (batch = its channels), g as the kernel "IHWO", and the result is written "HWNC" = HWIO.
 */
export function filterGradByHand(x: Tensor, g: Tensor): Tensor {
  return lax.convGeneralDilated(x, g, [1, 1], "VALID", {
    dimensionNumbers: ["CHWN", "IHWO", "HWNC"],
  });
}

/** Central differences of `loss` with respect to every element of argument `which`. */
function finiteDifferences(x: Tensor, w: Tensor, which: 0 | 1, h = 1e-5): Float64Array {
  const t = which === 0 ? x : w;
  const base = Float64Array.from(t.dataSync());
  const out = new Float64Array(base.length);
  const at = (i: number, delta: number): number => {
    const v = base.slice();
    v[i] += delta;
    const moved = np.array(v, { dtype: "float64", shape: t.shape });
    return (which === 0 ? loss(moved, w) : loss(x, moved)).item() as number;
  };
  for (let i = 0; i < base.length; i++) out[i] = (at(i, h) - at(i, -h)) / (2 * h);
  return out;
}

/** max over i of |a[i] − b[i]| / (1 + |b[i]|), and where it occurs. */
function worst(a: ArrayLike<number>, b: ArrayLike<number>): { err: number; at: number } {
  let err = 0, at = -1;
  for (let i = 0; i < b.length; i++) {
    const e = Math.abs(a[i] - b[i]) / (1 + Math.abs(b[i]));
    if (!(e <= err)) [err, at] = [e, i]; // NaN counts as the worst
  }
  return { err, at };
}

/** Runs the notebook; throws if any element disagrees with its finite difference. */
export function main(opts: NhwcOptions = {}): NhwcResult {
  const { imageShape = [2, 10, 11, 5], filterShape = [2, 3, 5, 4], log = console.log } = opts;
  const [k1, k2] = random.splitList(random.key(0), 2);
  const x = random.normal(k1, imageShape, { dtype: "float64" });
  const w = random.normal(k2, filterShape, { dtype: "float64" });
  const y = conv(x, w);
  log(`image ${fmt(x.shape)} (NHWC) * filter ${fmt(w.shape)} (HWIO), VALID -> ${fmt(y.shape)}`);

  // (a) autodiff
  const [dxGrad, dwGrad] = grad(loss, { argnums: [0, 1] })(x, w);
  // (b) by hand, from the output gradient g = dL/dy = 1 - tanh(y)²
  const g = np.subtract(1, np.square(np.tanh(y)));
  const dxHand = inputGradByHand(g, w);
  const dwHand = filterGradByHand(x, g);

  const dxFd = finiteDifferences(x, w, 0);
  const dwFd = finiteDifferences(x, w, 1);
  const rows = [
    ["image", dxGrad, dxHand, dxFd],
    ["filter", dwGrad, dwHand, dwFd],
  ] as const;
  let gradError = 0, handError = 0;
  for (const [name, byGrad, byHand, fd] of rows) {
    const a = worst(byGrad.dataSync(), fd), b = worst(byHand.dataSync(), fd);
    log(
      `d${name} (${fd.length} elements): grad vs finite differences ${a.err.toExponential(2)}, ` +
        `by hand vs finite differences ${b.err.toExponential(2)}`,
    );
    gradError = Math.max(gradError, a.err);
    handError = Math.max(handError, b.err);
  }
  const agree = worst(dxGrad.dataSync(), dxHand.dataSync()).err;
  log(`grad vs the hand formula for the image gradient: ${agree.toExponential(2)}`);
  if (!(gradError < 1e-7 && handError < 1e-7 && agree < 1e-12)) {
    throw new Error(
      `nhwc_gradcheck: check failed (grad ${gradError}, by hand ${handError}, grad vs hand ${agree})`,
    );
  }
  log(`ok: every element of both gradients matches its central finite difference`);
  return { imageElements: x.size, filterElements: w.size, gradError, handError };
}

function fmt(shape: number[]): string {
  return `[${shape.join(", ")}]`;
}

// Runs when executed directly (Deno, Bun); importing it (tests, bundles) does not.
if ((import.meta as { main?: boolean }).main && import.meta.url.endsWith(".ts")) main();
