// deno-lint-ignore-file no-explicit-any -- `any` parameters are what untyped user functions have
/**
 * Types shared by the public transforms: they keep the parameter and return types of `f`.
 * @module
 */
import type { Tensor } from "../tensor.ts";

/** Any function a transform accepts (pytrees of Tensors in and out). */
export type AnyFunction = (...args: any[]) => any;

/** `true` when `T` is `any`. */
export type IsAny<T> = 0 extends 1 & T ? true : false;
/** `true` when `T` is a union of several types. */
export type IsUnion<T, U = T> = T extends unknown ? [U] extends [T] ? false : true : never;

/** Recursion budget of the pytree types (deeper, or recursive types such as NestedArray: `any`). */
export type Depth = [unknown, unknown, unknown, unknown, unknown, unknown, unknown, unknown];
/** One level deeper than `D` (see `Depth`). */
export type Deeper<D extends unknown[]> = [...D, unknown];

/**
 * A pytree type with every leaf (a Tensor, number or boolean) as a `Tensor`: what a transform
 * returns for `T` (outputs, gradients and tangents are arrays even where `f` took numbers).
 * An array literal that TypeScript typed as an array of mixed elements (not a tuple; write
 * `as const` or annotate the return type to keep positions) gives `any`.
 */
export type Tensors<T, D extends unknown[] = []> = IsAny<T> extends true ? any
  : unknown extends T ? any
  : D["length"] extends Depth["length"] ? any
  : T extends Tensor | number | boolean ? Tensor
  : T extends readonly (infer E)[]
    ? number extends T["length"]
      ? true extends IsUnion<Tensors<E, Deeper<D>>> ? any : Tensors<E, Deeper<D>>[]
    : { -readonly [K in keyof T]: Tensors<T[K], Deeper<D>> }
  : T extends (...args: any[]) => any ? T
  : T extends object ? { [K in keyof T]: Tensors<T[K], Deeper<D>> }
  : T;

/**
 * What a transformed function accepts where `f` takes `T`: the same pytree, where a Tensor leaf
 * may also be given as a JS number or boolean (transforms turn those into arrays).
 */
export type Inputs<T, D extends unknown[] = []> = IsAny<T> extends true ? any
  : D["length"] extends Depth["length"] ? any
  : T extends Tensor ? Tensor | number | boolean
  : T extends readonly unknown[] ? { [K in keyof T]: Inputs<T[K], Deeper<D>> }
  : T extends (...args: any[]) => any ? T
  : T extends object ? { [K in keyof T]: Inputs<T[K], Deeper<D>> }
  : T;

/** The parameters of a transformed `f`: `f`'s, with numbers accepted for Tensors (`Inputs`). */
export type InputsOf<F extends AnyFunction> = Inputs<Parameters<F>>;

/** The gradient(s) for `argnums` `A` of a function with parameters `P` (see `grad`). */
export type ArgGrads<P extends readonly unknown[], A> = unknown extends A ? Tensors<P[0]>
  : [A] extends [undefined] ? Tensors<P[0]>
  : [A] extends [number] ? number extends A ? any : Tensors<P[A]>
  : [A] extends [readonly number[]] ? { -readonly [K in keyof A]: Tensors<P[A[K] & number]> }
  : any;

/** The `argnums` option of an options type (unknown when absent). */
export type ArgnumsOf<O> = O extends { argnums?: infer A } ? A : undefined;

/** The aux output of a `hasAux` function `f` returning `[value, aux]`. */
export type AuxOf<F extends AnyFunction> = ReturnType<F> extends readonly [unknown, infer X]
  ? Tensors<X>
  : any;

/** `f` with its parameters kept and its outputs as Tensors: what `jit` and `vmap` return. */
export type Transformed<F extends AnyFunction> = (
  ...args: InputsOf<F>
) => Tensors<ReturnType<F>>;

/** The Jacobian of an output pytree `R` with respect to inputs whose gradient type is `G`. */
export type JacobianOf<R, G, D extends unknown[] = []> = IsAny<R> extends true ? any
  : D["length"] extends Depth["length"] ? any
  : R extends Tensor | number | boolean ? G
  : R extends readonly unknown[] ? { -readonly [K in keyof R]: JacobianOf<R[K], G, Deeper<D>> }
  : R extends object ? { [K in keyof R]: JacobianOf<R[K], G, Deeper<D>> }
  : G;
