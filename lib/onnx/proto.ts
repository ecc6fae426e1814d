// A minimal protocol-buffers writer for the ONNX messages exportOnnx emits (ModelProto, GraphProto,
// NodeProto, AttributeProto, TensorProto, ValueInfoProto), field numbers from onnx.proto3.

/** Protobuf wire writer: varints, length-delimited fields, nested messages. */
export class Writer {
  #buf = new Uint8Array(256);
  #pos = 0;

  #ensure(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#pos + n) size *= 2;
    const b = new Uint8Array(size);
    b.set(this.#buf.subarray(0, this.#pos));
    this.#buf = b;
  }
  #varint(v: number | bigint): void {
    let x = BigInt.asUintN(64, BigInt(v));
    this.#ensure(10);
    while (x >= 0x80n) {
      this.#buf[this.#pos++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    this.#buf[this.#pos++] = Number(x);
  }
  #tag(field: number, wire: number): void {
    this.#varint((field << 3) | wire);
  }
  /** A varint field (int32, int64, enum, bool). */
  int(field: number, v: number | bigint): this {
    this.#tag(field, 0);
    this.#varint(v);
    return this;
  }
  /** A float (fixed32) field. */
  float(field: number, v: number): this {
    this.#tag(field, 5);
    this.#ensure(4);
    new DataView(this.#buf.buffer).setFloat32(this.#pos, v, true);
    this.#pos += 4;
    return this;
  }
  /** A length-delimited bytes field. */
  bytes(field: number, b: Uint8Array): this {
    this.#tag(field, 2);
    this.#varint(b.length);
    this.#ensure(b.length);
    this.#buf.set(b, this.#pos);
    this.#pos += b.length;
    return this;
  }
  /** A string field (UTF-8). */
  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }
  /** A nested message field. */
  message(field: number, build: (w: Writer) => void): this {
    const w = new Writer();
    build(w);
    return this.bytes(field, w.finish());
  }
  /** A packed repeated varint field. */
  packed(field: number, vs: readonly (number | bigint)[]): this {
    const w = new Writer();
    for (const v of vs) w.#varint(v);
    return this.bytes(field, w.finish());
  }
  /** The bytes written. */
  finish(): Uint8Array {
    return this.#buf.slice(0, this.#pos);
  }
}

/** ONNX TensorProto.DataType codes. */
export const ONNX_DTYPE: Record<string, number> = {
  float32: 1,
  uint8: 2,
  int8: 3,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
  uint32: 12,
};

/** An attribute value: number (int unless `float` is set), number[] (ints), string, or floats. */
export type Attr =
  | number
  | number[]
  | string
  | { float: number }
  | { floats: number[] }
  | { tensor: { dtype: number; dims: number[]; raw: Uint8Array } };

/** Writes an AttributeProto. */
export function attribute(w: Writer, name: string, v: Attr): void {
  w.string(1, name);
  if (typeof v === "number") w.int(3, v).int(20, 2);
  else if (typeof v === "string") w.string(4, v).int(20, 3);
  else if (Array.isArray(v)) w.packed(8, v).int(20, 7);
  else if ("float" in v) w.float(2, v.float).int(20, 1);
  else if ("tensor" in v) {
    w.message(5, (t) => tensor(t, "value", v.tensor.dtype, v.tensor.dims, v.tensor.raw)).int(20, 4);
  } else {
    for (const f of v.floats) w.float(7, f);
    w.int(20, 6);
  }
}

/** Writes a TensorProto with raw little-endian data. */
export function tensor(
  w: Writer,
  name: string,
  dtype: number,
  dims: number[],
  raw: Uint8Array,
): void {
  w.packed(1, dims).int(2, dtype).string(8, name).bytes(9, raw);
}

/** Writes a ValueInfoProto for a tensor of `dtype` and `dims`. */
export function valueInfo(w: Writer, name: string, dtype: number, dims: number[]): void {
  w.string(1, name);
  w.message(2, (t) =>
    t.message(1, (tt) => {
      tt.int(1, dtype);
      tt.message(2, (s) => {
        for (const d of dims) s.message(1, (dim) => dim.int(1, d));
      });
    }));
}
