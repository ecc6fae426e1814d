// GraphBuilder: collects ONNX nodes, initializers and names for exportOnnx, with helpers for
// the composite patterns (int64 constants, interior padding, window pooling with indices).
import type { Aval } from "../ops/_define.ts";
import { allocTyped, type DType } from "../dtype.ts";
import { encode } from "../io/_dtypes.ts";
import { type Attr, attribute, ONNX_DTYPE, tensor, Writer } from "./proto.ts";

/** Builds one ONNX graph. */
export class GraphBuilder {
  readonly nodes: Uint8Array[] = [];
  readonly inits: Uint8Array[] = [];
  #n = 0;

  /** A fresh value name. */
  fresh(prefix = "v"): string {
    return `${prefix}_${this.#n++}`;
  }
  /** Adds a node; returns its output names. */
  node(op: string, inputs: string[], attrs: Record<string, Attr> = {}, outputs = 1): string[] {
    const outs = Array.from({ length: outputs }, () => this.fresh(op.toLowerCase()));
    this.nodeTo(op, inputs, outs, attrs);
    return outs;
  }
  /** Adds a node writing the given output names. */
  nodeTo(op: string, inputs: string[], outs: string[], attrs: Record<string, Attr> = {}): void {
    const w = new Writer();
    for (const i of inputs) w.string(1, i);
    for (const o of outs) w.string(2, o);
    w.string(3, this.fresh("node")).string(4, op);
    for (const [k, v] of Object.entries(attrs)) w.message(5, (a) => attribute(a, k, v));
    this.nodes.push(w.finish());
  }
  /** One node with one output. */
  op(op: string, inputs: string[], attrs: Record<string, Attr> = {}): string {
    return this.node(op, inputs, attrs)[0];
  }
  /** An initializer from raw bytes. */
  init(dtype: string, dims: number[], raw: Uint8Array, name = this.fresh("c")): string {
    const code = ONNX_DTYPE[dtype];
    if (code === undefined) throw new TypeError(`exportOnnx: dtype ${dtype} has no ONNX form`);
    const w = new Writer();
    tensor(w, name, code, dims, raw);
    this.inits.push(w.finish());
    return name;
  }
  /** An int64 vector constant. */
  i64(values: number[]): string {
    const b = new BigInt64Array(values.map((v) => BigInt(v)));
    return this.init("int64", [values.length], new Uint8Array(b.buffer));
  }
  /** A scalar constant of `dtype`. */
  scalar(value: number, dtype: string): string {
    const arr = allocTyped(dtype as DType, 1);
    arr[0] = dtype === "bool" ? Number(Boolean(value)) : value;
    return this.init(dtype, [], encode(arr, dtype as DType));
  }
  /** `x` reshaped to `shape`. */
  reshape(x: string, shape: number[]): string {
    return this.op("Reshape", [x, this.i64(shape)]);
  }
  /**
   * Inserts `k[a]` copies of `fill` between neighbours along each axis `a` (XLA interior padding /
   * input dilation): unsqueeze, pad the new axis at its end, merge, drop the trailing fill.
   */
  interior(x: string, aval: Aval, k: number[], fill: string): [string, number[]] {
    let shape = [...aval.shape];
    for (let a = 0; a < shape.length; a++) {
      if (!k[a] || shape[a] === 0) continue;
      const n = shape[a], rank = shape.length;
      const up = this.op("Unsqueeze", [x, this.i64([a + 1])]);
      const pads = new Array(2 * (rank + 1)).fill(0);
      pads[rank + 1 + a + 1] = k[a];
      const padded = this.op("Pad", [up, this.i64(pads), fill], { mode: "constant" });
      const merged = [...shape];
      merged[a] = n * (1 + k[a]);
      const flat = this.reshape(padded, merged);
      const len = n + (n - 1) * k[a];
      x = this.op("Slice", [flat, this.i64([0]), this.i64([len]), this.i64([a])]);
      shape = [...shape];
      shape[a] = len;
    }
    return [x, shape];
  }
  /** Crops negative pads with Slice and returns the remaining non-negative `[lo, hi]` pads. */
  crop(
    x: string,
    shape: number[],
    axes: number[],
    pads: [number, number][],
  ): [string, [number, number][]] {
    const starts: number[] = [], ends: number[] = [], ax: number[] = [];
    pads.forEach(([lo, hi], i) => {
      if (lo >= 0 && hi >= 0) return;
      starts.push(Math.max(0, -lo));
      ends.push(shape[axes[i]] - Math.max(0, -hi));
      ax.push(axes[i]);
    });
    if (ax.length) x = this.op("Slice", [x, this.i64(starts), this.i64(ends), this.i64(ax)]);
    return [x, pads.map(([lo, hi]) => [Math.max(0, lo), Math.max(0, hi)])];
  }
}
