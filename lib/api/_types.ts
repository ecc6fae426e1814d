/**
 * Types shared by the public transforms.
 * @module
 */

/** Any function a transform accepts (pytrees of Tensors in and out). */
// deno-lint-ignore no-explicit-any
export type AnyFunction = (...args: any[]) => any;
