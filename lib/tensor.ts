/**
 * `Tensor`: the public, immutable n-d array. Concrete arrays and every kind of tracer extend it,
 * so user code is the same under `grad`, `vmap` and `jit`. Methods forward to the `np` namespace,
 * which registers itself here at load time (a type-only import keeps the module graph acyclic).
 * @module
 */
import { type DType, isComplex, storageAval, type TypedArray } from "./dtype.ts";
import type { Aval } from "./ops/_define.ts";
import type { ArrayValue, MainTrace } from "./core.ts";
import type * as NP from "./numpy.ts";
import type { AtIndexer, AxisOptions, IndexSpec } from "./numpy.ts";
import { formatTensor } from "./format.ts";
import { packBf16 } from "./bfloat16.ts";

let np: typeof NP;

/** Called once by `numpy.ts` so that Tensor methods can reach the array functions. */
export function registerNumpy(ns: typeof NP): void {
  np = ns;
}

/** Anything the array functions accept as an array. */
export type ArrayLike = Tensor | number | boolean | NestedArray;
/** Nested JS arrays of numbers, booleans or complex `{ re, im }` values. */
export type NestedArray = readonly (number | boolean | { re: number; im: number } | NestedArray)[];

/**
 * An immutable n-dimensional array. Create one with `np.array`, `np.zeros`, ...; read it with
 * `await t.data()`. Memory is released when the Tensor becomes unreachable, or at once with
 * `t.dispose()` / `using t = ...`.
 *
 * @example Basic use
 * ```ts
 * import { np } from "../mod.ts";
 * const x = np.array([[1, 2], [3, 4]]);
 * const y = x.mul(2).add(1);
 * if (y.shape.join() !== "2,2") throw new Error("bad shape");
 * ```
 */
export abstract class Tensor {
  /** Abstract value: shape, dtype and weak-type flag. */
  abstract get aval(): Aval;
  /** @internal The trace this Tensor belongs to. */
  abstract get _main(): MainTrace;
  /** @internal The concrete array behind this Tensor, or a TypeError when it has none. */
  abstract _concrete(): ArrayValue;

  /** The shape. */
  get shape(): number[] {
    return [...this.aval.shape];
  }
  /** The dtype. */
  get dtype(): DType {
    return this.aval.dtype;
  }
  /** The number of dimensions. */
  get ndim(): number {
    return this.aval.shape.length;
  }
  /** The number of elements. */
  get size(): number {
    let n = 1;
    for (const d of this.aval.shape) n *= d;
    return n;
  }

  /**
   * The values, row-major, as a typed array (Uint8Array for bool; complex64 / complex128: a
   * Float32Array / Float64Array of 2 × size interleaved (re, im) pairs; bfloat16: a Uint16Array
   * of the raw bfloat16 bits, as JS has no BFloat16Array: read the values with
   * `t.astype("float32")` or `t.toNested()`).
   *
   * @example
   * ```ts
   * import { np } from "../mod.ts";
   * import assert from "node:assert/strict";
   * const t = np.array([1, -2], { dtype: "bfloat16" });
   * assert.deepEqual([...await t.data()], [0x3f80, 0xc000]);
   * assert.deepEqual([...await t.astype("float32").data()], [1, -2]);
   * ```
   */
  async data(): Promise<TypedArray> {
    const v = await this._values();
    return this.dtype === "bfloat16" ? packBf16(v) : v;
  }
  /** The values synchronously (CPU backends only), as `data()` returns them. */
  dataSync(): TypedArray {
    const v = this._valuesSync();
    return this.dtype === "bfloat16" ? packBf16(v) : v;
  }
  /** @internal The host storage of the values (bfloat16: a Float32Array of its values). */
  _values(): Promise<TypedArray> {
    const c = this._concrete();
    return c.backend.read(c.buffer, storageAval(c.aval));
  }
  /** @internal `_values`, synchronously (CPU backends only). */
  _valuesSync(): TypedArray {
    const c = this._concrete();
    return c.backend.readSync(c.buffer, storageAval(c.aval));
  }
  /** The values as nested JS arrays (NumPy's `tolist()`; complex elements are `{ re, im }`). */
  async toNested(): Promise<unknown> {
    return nest(await this._values(), this.shape, this.dtype);
  }
  /** The values as nested JS arrays, synchronously (CPU backends only). */
  toNestedSync(): unknown {
    return nest(this._valuesSync(), this.shape, this.dtype);
  }
  /** The single value of a size-1 Tensor (not complex: read `np.real` / `np.imag` of it). */
  item(): number | boolean {
    if (isComplex(this.dtype)) {
      throw new TypeError(
        `item: a ${this.dtype} value is not a JS number; use np.real(x).item() and np.imag(x).item()`,
      );
    }
    if (this.size !== 1) {
      throw new TypeError(
        `item: only size-1 arrays convert to a scalar, got shape [${this.shape.join(",")}]`,
      );
    }
    const v = this._valuesSync()[0];
    return this.dtype === "bool" ? v !== 0 : v;
  }
  /** Releases the memory now; the Tensor must not be used afterwards. */
  dispose(): void {}
  /** `using t = ...` support. */
  [Symbol.dispose](): void {
    this.dispose();
  }
  /** @internal True for concrete arrays (implicit JS conversion is allowed). */
  _coercible(): boolean {
    return false;
  }
  /**
   * JS coercion (`x > 0`, `+x`, template strings) of size-1 concrete Tensors. A traced Tensor
   * refuses: under `jit`/`vmap` its value is unknown, and under `grad` a JS number would silently
   * lose the derivative. Use `x.item()` for control flow and Tensor methods for arithmetic.
   */
  [Symbol.toPrimitive](hint: string): number | string | boolean {
    if (hint === "string") return this.toString();
    if (!this._coercible()) {
      this._concrete(); // throws the jit / vmap explanation
      throw new TypeError(
        "Tensor: implicit conversion of a Tensor being differentiated to a JS number would drop its " +
          "derivative (as in `x * 2`); use Tensor methods (`x.mul(2)`) for arithmetic, and `x.item()` " +
          "to branch on its value",
      );
    }
    return this.item();
  }
  /** Iterates over the first axis (like NumPy), yielding Tensors of one dimension less. */
  *[Symbol.iterator](): Iterator<Tensor> {
    if (this.ndim === 0) throw new TypeError("Tensor: iteration over a 0-d tensor");
    const n = this.aval.shape[0];
    for (let i = 0; i < n; i++) yield np.slice(this, i);
  }
  /** Printed form in Node and Bun's `console.log`. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
  /** Printed form in Deno's `console.log`. */
  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }
  /** NumPy-style text. */
  toString(): string {
    const head = `Tensor(shape=[${this.shape.join(",")}], dtype=${this.dtype}`;
    let c;
    try {
      c = this._concrete();
    } catch {
      return `${head}, traced)`;
    }
    try {
      return formatTensor(
        c.backend.readSync(c.buffer, storageAval(c.aval)),
        this.shape,
        this.dtype,
      );
    } catch {
      return `${head}, on ${c.backend.name}: read the values with await t.data())`;
    }
  }

  /** Method form of `np.add(this, y)`. */
  add(y: ArrayLike): Tensor {
    return np.add(this, y);
  }
  /** Method form of `np.subtract(this, y)`. */
  sub(y: ArrayLike): Tensor {
    return np.subtract(this, y);
  }
  /** Method form of `np.multiply(this, y)`. */
  mul(y: ArrayLike): Tensor {
    return np.multiply(this, y);
  }
  /** Method form of `np.divide(this, y)`. */
  div(y: ArrayLike): Tensor {
    return np.divide(this, y);
  }
  /** Method form of `np.power(this, y)`. */
  pow(y: ArrayLike): Tensor {
    return np.power(this, y);
  }
  /** Method form of `np.maximum(this, y)`. */
  maximum(y: ArrayLike): Tensor {
    return np.maximum(this, y);
  }
  /** Method form of `np.minimum(this, y)`. */
  minimum(y: ArrayLike): Tensor {
    return np.minimum(this, y);
  }
  /** Method form of `np.equal(this, y)`. */
  equal(y: ArrayLike): Tensor {
    return np.equal(this, y);
  }
  /** Method form of `np.notEqual(this, y)`. */
  notEqual(y: ArrayLike): Tensor {
    return np.notEqual(this, y);
  }
  /** Method form of `np.less(this, y)`. */
  less(y: ArrayLike): Tensor {
    return np.less(this, y);
  }
  /** Method form of `np.lessEqual(this, y)`. */
  lessEqual(y: ArrayLike): Tensor {
    return np.lessEqual(this, y);
  }
  /** Method form of `np.greater(this, y)`. */
  greater(y: ArrayLike): Tensor {
    return np.greater(this, y);
  }
  /** Method form of `np.greaterEqual(this, y)`. */
  greaterEqual(y: ArrayLike): Tensor {
    return np.greaterEqual(this, y);
  }
  /** Method form of `np.negative(this)`. */
  neg(): Tensor {
    return np.negative(this);
  }
  /** Method form of `np.abs(this)`. */
  abs(): Tensor {
    return np.abs(this);
  }
  /** Method form of `np.exp(this)`. */
  exp(): Tensor {
    return np.exp(this);
  }
  /** Method form of `np.log(this)`. */
  log(): Tensor {
    return np.log(this);
  }
  /** Method form of `np.sqrt(this)`. */
  sqrt(): Tensor {
    return np.sqrt(this);
  }
  /** Method form of `np.square(this)`. */
  square(): Tensor {
    return np.square(this);
  }
  /** Method form of `np.sin(this)`. */
  sin(): Tensor {
    return np.sin(this);
  }
  /** Method form of `np.cos(this)`. */
  cos(): Tensor {
    return np.cos(this);
  }
  /** Method form of `np.tanh(this)`. */
  tanh(): Tensor {
    return np.tanh(this);
  }
  /** Method form of `np.sigmoid(this)`. */
  sigmoid(): Tensor {
    return np.sigmoid(this);
  }
  /** Method form of `np.clip(this, min, max)`. */
  clip(min: ArrayLike | null, max: ArrayLike | null): Tensor {
    return np.clip(this, min, max);
  }
  /** Method form of `np.astype(this, dtype)`. */
  astype(dtype: DType): Tensor {
    return np.astype(this, dtype);
  }
  /** Method form of `np.sum(this, opts)`. */
  sum(opts?: AxisOptions): Tensor {
    return np.sum(this, opts);
  }
  /** Method form of `np.mean(this, opts)`. */
  mean(opts?: AxisOptions): Tensor {
    return np.mean(this, opts);
  }
  /** Method form of `np.max(this, opts)`. */
  max(opts?: AxisOptions): Tensor {
    return np.max(this, opts);
  }
  /** Method form of `np.min(this, opts)`. */
  min(opts?: AxisOptions): Tensor {
    return np.min(this, opts);
  }
  /** Method form of `np.prod(this, opts)`. */
  prod(opts?: AxisOptions): Tensor {
    return np.prod(this, opts);
  }
  /** Method form of `np.argmax(this, opts)`. */
  argmax(opts?: { axis?: number; keepdims?: boolean }): Tensor {
    return np.argmax(this, opts);
  }
  /** Method form of `np.argmin(this, opts)`. */
  argmin(opts?: { axis?: number; keepdims?: boolean }): Tensor {
    return np.argmin(this, opts);
  }
  /** Method form of `np.var(this, opts)`. */
  var(opts?: AxisOptions & { ddof?: number }): Tensor {
    return np.var(this, opts);
  }
  /** Method form of `np.std(this, opts)`. */
  std(opts?: AxisOptions & { ddof?: number }): Tensor {
    return np.std(this, opts);
  }
  /** Method form of `np.reshape(this, shape)`. */
  reshape(shape: number[]): Tensor {
    return np.reshape(this, shape);
  }
  /** Method form of `np.transpose(this, axes)`. */
  transpose(axes?: number[]): Tensor {
    return np.transpose(this, axes);
  }
  /** The transpose (reversed axes). */
  get T(): Tensor {
    return np.transpose(this);
  }
  /** Method form of `np.ravel(this)`. */
  ravel(): Tensor {
    return np.ravel(this);
  }
  /** Method form of `np.ravel(this)`. */
  flatten(): Tensor {
    return np.ravel(this);
  }
  /** Method form of `np.squeeze(this, axis)`. */
  squeeze(axis?: number | number[]): Tensor {
    return np.squeeze(this, axis);
  }
  /** Method form of `np.expandDims(this, axis)`. */
  expandDims(axis: number | number[]): Tensor {
    return np.expandDims(this, axis);
  }
  /** Method form of `np.broadcastTo(this, shape)`. */
  broadcastTo(shape: number[]): Tensor {
    return np.broadcastTo(this, shape);
  }
  /** Method form of `np.flip(this, axis)`. */
  flip(axis?: number | number[]): Tensor {
    return np.flip(this, axis);
  }
  /**
   * Method form of `np.slice(this, ...indices)` (= `np.index`): numbers, slice strings, `null`, `"..."`,
   * integer arrays (NumPy advanced indexing) and bool masks (eager).
   */
  slice(...indices: IndexSpec[]): Tensor {
    return np.slice(this, ...indices);
  }
  /** JAX's `x.at[...]`: `x.at(i).set(v)`, `.add(v)`, `.multiply(v)`, `.min(v)`, `.max(v)`, `.get()`. */
  at(...indices: IndexSpec[]): AtIndexer {
    return np.at(this, ...indices);
  }
  /** The real part (`np.real(this)`). */
  get real(): Tensor {
    return np.real(this);
  }
  /** The imaginary part (`np.imag(this)`). */
  get imag(): Tensor {
    return np.imag(this);
  }
  /** Method form of `np.conj(this)`. */
  conj(): Tensor {
    return np.conj(this);
  }
  /** Method form of `np.matmul(this, y)`. */
  matmul(y: ArrayLike): Tensor {
    return np.matmul(this, y);
  }
  /** Method form of `np.dot(this, y)`. */
  dot(y: ArrayLike): Tensor {
    return np.dot(this, y);
  }
}

function nest(data: TypedArray, shape: number[], dtype: DType): unknown {
  const at = isComplex(dtype)
    ? (i: number) => ({ re: data[2 * i], im: data[2 * i + 1] })
    : dtype === "bool"
    ? (i: number) => data[i] !== 0
    : (i: number) => data[i];
  if (shape.length === 0) return at(0);
  const rec = (off: number, d: number): unknown[] => {
    const n = shape[d];
    let step = 1;
    for (let i = d + 1; i < shape.length; i++) step *= shape[i];
    const out: unknown[] = [];
    for (let i = 0; i < n; i++) {
      out.push(d === shape.length - 1 ? at(off + i) : rec(off + i * step, d + 1));
    }
    return out;
  };
  return rec(0, 0);
}
