/**
 * Complex primitives `complex(re, im)`, `real(z)`, `imag(z)` with JAX's transposes, and the
 * storage-view helpers complex rules are written with (a complex array of shape s is viewed as
 * the float array [...s, 2] of its interleaved (re, im) pairs; see `storageAval`).
 * @module
 */
import { bind1 } from "../core.ts";
import { allocTyped, complexOf, isComplex, type TypedArray } from "../dtype.ts";
import type { Tensor } from "../tensor.ts";
import { fmtShape, shapeEqual } from "../shape.ts";
import { type Aval, type BDim, defineOp, type OpDef, UndefPrimal } from "./_define.ts";
import { batchAt0, reshape, zerosOf } from "./_util.ts";
import { concatenate, slice } from "./movement.ts";
import { neg } from "./elementwise.ts";

/** The (re, im) parts of a storage view `v` of shape [...s, 2], each of shape s. */
export function parts(v: Tensor): [Tensor, Tensor] {
  const s = v.aval.shape.slice(0, -1);
  const part = (k: number) =>
    reshape(slice(v, [...s.map(() => 0), k], [...s, k + 1], [...s.map(() => 1), 1]), s);
  return [part(0), part(1)];
}

/** The storage view [...s, 2] of the complex array with parts `re`, `im` (both of shape s). */
export function pack(re: Tensor, im: Tensor): Tensor {
  const s = re.aval.shape;
  return concatenate([reshape(re, [...s, 1]), reshape(im, [...s, 1])], s.length);
}

function sameBdims(args: Tensor[], bdims: BDim[], size: number): [Tensor[], BDim] {
  const first = bdims.find((b) => b !== null) ?? 0;
  if (bdims.every((b) => b === first)) return [args, first];
  return [args.map((a, i) => batchAt0(a, bdims[i], size)), 0];
}

function realOperand(name: string, a: Aval): void {
  if (a.dtype !== "float32" && a.dtype !== "float64") {
    throw new TypeError(`${name}: operands must be float32 or float64, got ${a.dtype}`);
  }
}

/** `complex` primitive: re + i·im from two float arrays of equal shape and dtype. */
export const complexOp: OpDef = defineOp({
  name: "complex",
  kind: "higher",
  abstractEval: ([a, b]) => {
    realOperand("complex", a);
    if (!shapeEqual(a.shape, b.shape) || a.dtype !== b.dtype) {
      throw new TypeError(
        `complex: real and imaginary parts must have equal shapes and dtypes, got ${a.dtype}${
          fmtShape(a.shape)
        } and ${b.dtype}${fmtShape(b.shape)}`,
      );
    }
    return [{ shape: [...a.shape], dtype: complexOf(a.dtype), weak: a.weak && b.weak }];
  },
  impl: ([re, im], _p, [out]) => {
    const res = allocTyped(out.dtype, re.data.length);
    for (let i = 0; i < re.data.length; i++) {
      res[2 * i] = re.data[i];
      res[2 * i + 1] = im.data[i];
    }
    return [res];
  },
  jvp: ([re, im], [dre, dim]) => [[complex(re, im)], [complex(dre, dim)]],
  vmap: (args, bdims, _p, size) => {
    const [xs, bd] = sameBdims(args, bdims, size);
    return [[complex(xs[0], xs[1])], [bd]];
  },
  // complex^T(t) = [real(t), -imag(t)] (JAX's convention)
  transpose: ([ct], [re, im]) => [
    re instanceof UndefPrimal ? real(ct) : null,
    im instanceof UndefPrimal ? neg(imag(ct)) : null,
  ],
  complexRule: ([re, im]) => [pack(re, im)],
});

function partOp(name: "real" | "imag", k: 0 | 1): OpDef {
  const op: OpDef = defineOp({
    name,
    kind: "higher",
    abstractEval: ([a]) => {
      if (!isComplex(a.dtype)) {
        throw new TypeError(`${name}: operand must be complex64 or complex128, got ${a.dtype}`);
      }
      return [{
        shape: [...a.shape],
        dtype: a.dtype === "complex64" ? "float32" : "float64",
        weak: a.weak,
      }];
    },
    impl: ([z], _p, [out]): TypedArray[] => {
      const res = allocTyped(out.dtype, z.data.length / 2);
      for (let i = 0; i < res.length; i++) res[i] = z.data[2 * i + k];
      return [res];
    },
    jvp: ([z], [dz]) => [[bind1(op, [z])], [bind1(op, [dz])]],
    vmap: ([z], [bd]) => [[bind1(op, [z])], [bd]],
    // real^T(t) = complex(t, 0); imag^T(t) = complex(0, -t)
    transpose: ([ct]) => {
      const z = zerosOf(ct);
      return [k === 0 ? complex(ct, z) : complex(z, neg(ct))];
    },
    complexRule: ([v]) => [parts(v)[k]],
  });
  return op;
}

/** `real` primitive: the real part of a complex array. */
export const realOp: OpDef = partOp("real", 0);
/** `imag` primitive: the imaginary part of a complex array. */
export const imagOp: OpDef = partOp("imag", 1);

/** Binds `complex`. */
export function complex(re: Tensor, im: Tensor): Tensor {
  return bind1(complexOp, [re, im]);
}
/** Binds `real`. */
export function real(z: Tensor): Tensor {
  return bind1(realOp, [z]);
}
/** Binds `imag`. */
export function imag(z: Tensor): Tensor {
  return bind1(imagOp, [z]);
}

/** The complex primitives by name (lib/ops/registry.ts spreads them into `OPS`). */
export const COMPLEX_OPS = { complex: complexOp, real: realOp, imag: imagOp } as const;
