// File dtypes of .npy/.npz/.safetensors and how they map to Tensor dtypes: each of ours is read and
// written natively; others widen exactly (16-bit ints -> int32) or narrow as
// JAX does without x64 (int64 -> int32, uint64 -> uint32, a RangeError when a value does not fit).
import { allocTyped, type DType, type TypedArray } from "../dtype.ts";
import { f16Bits, f16FromBits, HAS_FLOAT16 } from "../float16.ts";
import { bf16Bits } from "../bfloat16.ts";

/** One element type of a file format. */
export interface FileDType {
  /** NumPy kind+size without byte order: "f4", "i8", "b1", ... (bfloat16: "bf16"). */
  code: string;
  /** Bytes per element. */
  size: number;
  /** The Tensor dtype the values are read into. */
  dtype: DType;
}

const TABLE: FileDType[] = [
  { code: "b1", size: 1, dtype: "bool" },
  { code: "i1", size: 1, dtype: "int8" },
  { code: "u1", size: 1, dtype: "uint8" },
  { code: "i2", size: 2, dtype: "int32" },
  { code: "u2", size: 2, dtype: "int32" },
  { code: "i4", size: 4, dtype: "int32" },
  { code: "u4", size: 4, dtype: "uint32" },
  { code: "i8", size: 8, dtype: "int32" },
  { code: "u8", size: 8, dtype: "uint32" },
  { code: "f2", size: 2, dtype: "float16" },
  { code: "bf16", size: 2, dtype: "bfloat16" },
  { code: "f4", size: 4, dtype: "float32" },
  { code: "f8", size: 8, dtype: "float64" },
  { code: "c8", size: 8, dtype: "complex64" }, // interleaved (re, im), as Tensors store it
  { code: "c16", size: 16, dtype: "complex128" },
];

/** The file dtype for `code`, or undefined. */
export function fileDType(code: string): FileDType | undefined {
  return TABLE.find((d) => d.code === code);
}

const WRITE: Record<string, string> = {
  bool: "b1",
  int8: "i1",
  uint8: "u1",
  int32: "i4",
  uint32: "u4",
  float16: "f2",
  bfloat16: "bf16",
  float32: "f4",
  float64: "f8",
  complex64: "c8",
  complex128: "c16",
};

/** The file dtype a Tensor of `dtype` is written as, or a TypeError naming `op`. */
export function writeCode(op: string, dtype: string): FileDType {
  const code = WRITE[dtype];
  if (code === undefined) throw new TypeError(`${op}: cannot write dtype ${dtype}`);
  return fileDType(code)!;
}

/**
 * Decodes `n` elements of `fd` from `bytes` (exactly n * fd.size bytes, byte order `little`)
 * into a new typed array of fd.dtype. 64-bit integers that fd.dtype cannot hold are a RangeError.
 */
export function decode(
  op: string,
  bytes: Uint8Array,
  fd: FileDType,
  n: number,
  little: boolean,
): TypedArray {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const sz = fd.size;
  const [lo, hi] = fd.dtype === "uint32" ? [0, 4294967295] : [-2147483648, 2147483647];
  const range = (v: number | bigint, i: number): number => {
    if (v < lo || v > hi) {
      throw new RangeError(
        `${op}: element ${i} of a ${fd.code} array is ${v}, outside the ${fd.dtype} range`,
      );
    }
    return Number(v);
  };
  switch (fd.code) {
    case "b1": {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = bytes[i] ? 1 : 0;
      return out;
    }
    case "f4":
    case "f8":
    case "c8":
    case "c16": {
      const single = fd.code === "f4" || fd.code === "c8", m = fd.code[0] === "c" ? 2 * n : n;
      const out = single ? new Float32Array(m) : new Float64Array(m);
      const get = single
        ? (o: number) => dv.getFloat32(o, little)
        : (o: number) => dv.getFloat64(o, little);
      for (let i = 0; i < m; i++) out[i] = get(i * out.BYTES_PER_ELEMENT);
      return out;
    }
    case "f2": {
      const out = allocTyped("float16", n); // exact: every float16 value
      for (let i = 0; i < n; i++) out[i] = f16FromBits(dv.getUint16(i * 2, little));
      return out;
    }
    case "bf16": { // bfloat16 values in a Float32Array, as Tensors store them
      const out = new Float32Array(n);
      const u32 = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) u32[i] = dv.getUint16(i * 2, little) << 16;
      return out;
    }
  }
  const out = allocTyped(fd.dtype, n);
  const signed = fd.code[0] === "i";
  for (let i = 0; i < n; i++) {
    const o = i * sz;
    let v: number | bigint;
    if (sz === 1) v = signed ? dv.getInt8(o) : dv.getUint8(o);
    else if (sz === 2) v = signed ? dv.getInt16(o, little) : dv.getUint16(o, little);
    else if (sz === 4) v = signed ? dv.getInt32(o, little) : dv.getUint32(o, little);
    else v = signed ? dv.getBigInt64(o, little) : dv.getBigUint64(o, little);
    out[i] = sz < 8 ? Number(v) : range(v, i);
  }
  return out;
}

/**
 * The little-endian file bytes of a Tensor's host `data` of `dtype` (a copy; bool as 0/1 bytes,
 * float16 as 2-byte halves also where the host stores it in a Float32Array, bfloat16 as its bits).
 */
export function encode(data: TypedArray, dtype: DType): Uint8Array {
  if (dtype === "bfloat16") {
    const out = new Uint8Array(data.length * 2);
    const dv = new DataView(out.buffer);
    for (let i = 0; i < data.length; i++) dv.setUint16(i * 2, bf16Bits(data[i]), true);
    return out;
  }
  if (dtype === "float16" && !HAS_FLOAT16) {
    const out = new Uint8Array(data.length * 2);
    const dv = new DataView(out.buffer);
    for (let i = 0; i < data.length; i++) dv.setUint16(i * 2, f16Bits(data[i]), true);
    return out;
  }
  const out = new Uint8Array(data.byteLength);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
    const sz = data.BYTES_PER_ELEMENT;
    for (let i = 0; i < out.length; i += sz) out.subarray(i, i + sz).reverse();
  }
  if (dtype === "bool") { for (let i = 0; i < out.length; i++) out[i] = out[i] ? 1 : 0; }
  return out;
}

/** Product of `shape` as a safe integer, or a RangeError naming `op`. */
export function checkedSize(op: string, shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) {
      throw new RangeError(`${op}: bad dimension ${d} in shape [${shape.join(", ")}]`);
    }
    n *= d;
    if (!Number.isSafeInteger(n) || n > 2 ** 40) {
      throw new RangeError(`${op}: shape [${shape.join(", ")}] is absurdly large`);
    }
  }
  return n;
}
