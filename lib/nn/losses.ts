/**
 * `nn.losses`: optax's losses, `(predictions or logits, labels)` in optax's order, returning
 * per-example values (average them with `np.mean`).
 *
 * @example
 * ```ts
 * import { nn, np } from "../../mod.ts";
 * const l = nn.losses.sparseSoftmaxCrossEntropy(np.zeros([2, 4]), np.array([1, 3]));
 * if (Math.abs(l.dataSync()[0] - Math.log(4)) > 1e-6) throw new Error();
 * ```
 * @module
 */
import type { ArrayLike, Tensor } from "../tensor.ts";
import { checkOptions } from "../options.ts";
import { abs, add, astype, minimum, multiply, negative, square, subtract, sum } from "../numpy.ts";
import { logSigmoid, logSoftmax, oneHot } from "./activations.ts";
import { toFloat } from "../lax/_args.ts";

/**
 * optax's `softmax_cross_entropy`: `−Σ labels · logSoftmax(logits)` over the last axis; `labels`
 * are probabilities shaped like `logits`.
 *
 * @example
 * ```ts
 * import { nn, np } from "../../mod.ts";
 * const l = nn.losses.softmaxCrossEntropy(np.array([[0, 0]], { dtype: "float32" }), np.array([[1, 0]], { dtype: "float32" }));
 * if (Math.abs(Number(l.item()) - Math.LN2) > 1e-6) throw new Error();
 * ```
 */
export function softmaxCrossEntropy(logits: ArrayLike, labels: ArrayLike): Tensor {
  const op = "softmaxCrossEntropy";
  const z = toFloat(op, logits), y = toFloat(op, labels);
  if (z.shape.join() !== y.shape.join()) {
    throw new TypeError(`${op}: labels shape [${y.shape}] must equal logits shape [${z.shape}]`);
  }
  return negative(sum(multiply(y, logSoftmax(z, { axis: -1 })), { axis: -1 }));
}

/**
 * optax's `softmax_cross_entropy_with_integer_labels`: `logsumexp(logits) − logits[label]` with
 * integer `labels` shaped like `logits` without its last axis.
 *
 * @example
 * ```ts
 * import { nn, np } from "../../mod.ts";
 * const l = nn.losses.sparseSoftmaxCrossEntropy(np.array([[5, 0, 0]], { dtype: "float32" }), np.array([0]));
 * if (!(Number(l.item()) < 0.02)) throw new Error();
 * ```
 */
export function sparseSoftmaxCrossEntropy(logits: ArrayLike, labels: ArrayLike): Tensor {
  const op = "sparseSoftmaxCrossEntropy";
  const z = toFloat(op, logits);
  const y = astype(labels, "int32");
  if (z.ndim < 1 || y.shape.join() !== z.shape.slice(0, -1).join()) {
    throw new TypeError(
      `${op}: labels shape [${y.shape}] must be logits shape [${z.shape}] without its last axis`,
    );
  }
  const hot = oneHot(y, z.shape[z.ndim - 1], { dtype: z.dtype });
  return negative(sum(multiply(hot, logSoftmax(z, { axis: -1 })), { axis: -1 }));
}

/**
 * optax's `sigmoid_binary_cross_entropy`: `−labels·log σ(logits) − (1 − labels)·log σ(−logits)`,
 * elementwise.
 *
 * @example
 * ```ts
 * import { nn, np } from "../../mod.ts";
 * const l = nn.losses.sigmoidBinaryCrossEntropy(np.array([0], { dtype: "float32" }), np.array([1], { dtype: "float32" }));
 * if (Math.abs(l.dataSync()[0] - Math.LN2) > 1e-6) throw new Error();
 * ```
 */
export function sigmoidBinaryCrossEntropy(logits: ArrayLike, labels: ArrayLike): Tensor {
  const op = "sigmoidBinaryCrossEntropy";
  const z = toFloat(op, logits), y = toFloat(op, labels);
  return subtract(
    negative(multiply(y, logSigmoid(z))),
    multiply(subtract(1, y), logSigmoid(negative(z))),
  );
}

/**
 * Squared error `(predictions − targets)²`, elementwise (optax's `squared_error`; the mean of it
 * is PyTorch's `mse_loss`).
 *
 * @example
 * ```ts
 * import { nn, np } from "../../mod.ts";
 * if (nn.losses.mse(np.array([1, 2]), np.array([3, 2])).dataSync().join() !== "4,0") throw new Error();
 * ```
 */
export function mse(predictions: ArrayLike, targets: ArrayLike): Tensor {
  const op = "mse";
  return square(subtract(toFloat(op, predictions), toFloat(op, targets)));
}

/**
 * optax's `huber_loss`, elementwise: `½e²` for `|e| ≤ delta`, else `delta·(|e| − ½delta)`.
 *
 * @example
 * ```ts
 * import { nn, np } from "../../mod.ts";
 * if (nn.losses.huber(np.array([0, 0]), np.array([0.5, 3])).dataSync().join() !== "0.125,2.5") throw new Error();
 * ```
 */
export function huber(
  predictions: ArrayLike,
  targets: ArrayLike,
  opts: { delta?: number } = {},
): Tensor {
  const op = "huber";
  const { delta = 1 } = checkOptions(op, opts, ["delta"]);
  if (typeof delta !== "number" || !(delta > 0)) {
    throw new RangeError(`${op}: delta ${delta} must be positive`);
  }
  const e = abs(subtract(toFloat(op, predictions), toFloat(op, targets)));
  const quad = minimum(e, delta);
  return add(multiply(0.5, square(quad)), multiply(delta, subtract(e, quad)));
}
