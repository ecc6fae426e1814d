/**
 * Demo: recover an edge-detection kernel by gradient descent through a convolution.
 * Targets are made by convolving random images with a Sobel kernel; a 3×3 kernel that starts at
 * zero is fitted with `jit(valueAndGrad(loss))`, and `vmap(grad)` gives per-example gradients.
 *
 * Run: `node_modules/.bin/deno run -A examples/edge_fit.ts` (also runs on Bun and Node via a bundler).
 * @module
 */
import { getBackend, grad, jit, lax, np, random, type Tensor, valueAndGrad, vmap } from "../mod.ts";

const sobel = np.array([[[[1, 0, -1], [2, 0, -2], [1, 0, -1]]]], { dtype: "float32" });
const [kImg] = random.splitList(random.key(0), 1);
const images = random.uniform(kImg, [16, 1, 32, 32], { minval: -1, maxval: 1 });
const conv = (x: Tensor, w: Tensor) => lax.convGeneralDilated(x, w, [1, 1], "SAME");
const targets = conv(images, sobel);

const loss = (w: Tensor, x: Tensor, y: Tensor) => np.mean(np.square(np.subtract(conv(x, w), y)));
const step = jit(valueAndGrad(loss));

console.log(
  `tracegrad edge-fit demo on backend "${getBackend()}": fitting a 3x3 kernel to Sobel-filtered images`,
);
let w = np.zeros([1, 1, 3, 3]);
const lr = 0.2;
const t0 = performance.now();
for (let i = 0; i <= 300; i++) {
  const [l, g] = step(w, images, targets);
  w = np.subtract(w, np.multiply(g, lr));
  if (i % 50 === 0) {
    console.log(`step ${String(i).padStart(3)}  loss ${(l.item() as number).toExponential(3)}`);
  }
}
const ms = performance.now() - t0;
console.log(`301 jitted steps in ${ms.toFixed(0)} ms (${(ms / 301).toFixed(2)} ms/step)`);
const learned = Array.from(w.dataSync(), (v) => v.toFixed(2).padStart(6));
console.log("learned kernel:");
for (let r = 0; r < 3; r++) console.log("  " + learned.slice(3 * r, 3 * r + 3).join(" "));

// per-example gradient norms with vmap(grad)
const perExample = vmap(grad(loss), { inAxes: [null, 0, 0] });
const g = perExample(
  np.zeros([1, 1, 3, 3]),
  images.reshape([16, 1, 1, 32, 32]),
  targets.reshape([16, 1, 1, 32, 32]),
);
const norms = np.sqrt(np.sum(np.square(g), { axis: [1, 2, 3, 4] }));
console.log(
  `per-example gradient norms at w=0 (vmap of grad): ${
    Array.from(norms.dataSync(), (v) => v.toFixed(3)).slice(0, 6).join(", ")
  }, ...`,
);
const err = np.max(np.abs(np.subtract(w, sobel))).item() as number;
console.log(
  err < 0.05
    ? `recovered the Sobel kernel (max error ${err.toFixed(4)})`
    : `did not converge (max error ${err})`,
);
