/**
 * Host arrays as the WebGPU backend stores them (one 32-bit word per element) and back.
 * @module
 */
import { allocTyped, type DType, type TypedArray } from "../../dtype.ts";

/**
 * Host data as the device stores it, one 32-bit word per element: bool widens to u32, int8 and
 * uint8 to i32, float16 to f32 (bfloat16 is a Float32Array already) (kernels/wgsl/expr.ts `wgslType`); the rest as they are.
 */
export function deviceWords(data: TypedArray, dtype: DType): ArrayBufferView {
  if (dtype === "bool") return Uint32Array.from(data as Uint8Array);
  if (dtype === "int8" || dtype === "uint8") return Int32Array.from(data);
  if (dtype === "float16" && !(data instanceof Float32Array)) return Float32Array.from(data);
  return data;
}

/** Host typed array of a dtype from raw 32-bit words (the inverse of `deviceWords`). */
export function hostArray(dtype: DType, words: Uint32Array): TypedArray {
  const view = <T>(C: new (b: ArrayBufferLike, o: number, n: number) => T) =>
    new C(words.buffer, words.byteOffset, words.length);
  switch (dtype) {
    case "float32":
      return view(Float32Array);
    case "bfloat16":
      return view(Float32Array); // bfloat16 values in a Float32Array, as on the host
    case "int32":
      return view(Int32Array);
    case "uint32":
      return view(Uint32Array);
    case "float16": {
      const out = allocTyped(dtype, words.length);
      out.set(view(Float32Array));
      return out;
    }
    case "int8":
    case "uint8": {
      const out = allocTyped(dtype, words.length);
      out.set(view(Int32Array));
      return out;
    }
    default:
      return Uint8Array.from(words);
  }
}
