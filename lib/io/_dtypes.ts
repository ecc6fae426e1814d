// File dtypes of .npy/.npz/.safetensors and how they map to Tensor dtypes (reads widen exactly:
// float16/bfloat16 -> float32, small ints -> int32; 64-bit and uint32 ints -> int32 when they fit).
import type { DType, TypedArray } from "../dtype.ts";

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
  { code: "i1", size: 1, dtype: "int32" },
  { code: "u1", size: 1, dtype: "int32" },
  { code: "i2", size: 2, dtype: "int32" },
  { code: "u2", size: 2, dtype: "int32" },
  { code: "i4", size: 4, dtype: "int32" },
  { code: "u4", size: 4, dtype: "int32" },
  { code: "i8", size: 8, dtype: "int32" },
  { code: "u8", size: 8, dtype: "int32" },
  { code: "f2", size: 2, dtype: "float32" },
  { code: "bf16", size: 2, dtype: "float32" },
  { code: "f4", size: 4, dtype: "float32" },
  { code: "f8", size: 8, dtype: "float64" },
];

/** The file dtype for `code`, or undefined. */
export function fileDType(code: string): FileDType | undefined {
  return TABLE.find((d) => d.code === code);
}

/** The file dtype a Tensor of `dtype` is written as, or a TypeError naming `op`. */
export function writeCode(op: string, dtype: string): FileDType {
  const code =
    ({ bool: "b1", int32: "i4", float32: "f4", float64: "f8" } as Record<string, string>)[
      dtype
    ];
  if (code === undefined) throw new TypeError(`${op}: cannot write dtype ${dtype}`);
  return fileDType(code)!;
}

/** float16 bits to a number (exact). */
export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/**
 * Decodes `n` elements of `fd` from `bytes` (exactly n * fd.size bytes, byte order `little`)
 * into a new typed array of fd.dtype. Integers that int32 cannot hold are a RangeError.
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
  const range = (v: number | bigint, i: number): number => {
    if (v < -2147483648 || v > 2147483647) {
      throw new RangeError(
        `${op}: element ${i} of a ${fd.code} array is ${v}, outside the int32 range of Tensors`,
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
    case "f8": {
      const out = fd.code === "f4" ? new Float32Array(n) : new Float64Array(n);
      const get = fd.code === "f4"
        ? (o: number) => dv.getFloat32(o, little)
        : (o: number) => dv.getFloat64(o, little);
      for (let i = 0; i < n; i++) out[i] = get(i * sz);
      return out;
    }
    case "f2":
    case "bf16": {
      const out = new Float32Array(n);
      const u32 = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) {
        const h = dv.getUint16(i * 2, little);
        if (fd.code === "bf16") u32[i] = h << 16;
        else out[i] = halfToFloat(h);
      }
      return out;
    }
  }
  const out = new Int32Array(n);
  const signed = fd.code[0] === "i";
  for (let i = 0; i < n; i++) {
    const o = i * sz;
    let v: number | bigint;
    if (sz === 1) v = signed ? dv.getInt8(o) : dv.getUint8(o);
    else if (sz === 2) v = signed ? dv.getInt16(o, little) : dv.getUint16(o, little);
    else if (sz === 4) v = signed ? dv.getInt32(o, little) : dv.getUint32(o, little);
    else v = signed ? dv.getBigInt64(o, little) : dv.getBigUint64(o, little);
    out[i] = sz < 4 || (sz === 4 && signed) ? Number(v) : range(v, i);
  }
  return out;
}

/** The little-endian bytes of `data` (a copy; bool as 0/1 bytes). */
export function encode(data: TypedArray): Uint8Array {
  const out = new Uint8Array(data.byteLength);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
    const sz = data.BYTES_PER_ELEMENT;
    for (let i = 0; i < out.length; i += sz) out.subarray(i, i + sz).reverse();
  }
  if (data instanceof Uint8Array) { for (let i = 0; i < out.length; i++) out[i] = out[i] ? 1 : 0; }
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
