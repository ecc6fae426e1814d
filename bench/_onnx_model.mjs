// Builds tiny ONNX models (one Conv, optionally wrapped in NHWC<->NCHW Transposes) as raw
// protobuf bytes, so the onnxruntime peer needs no ONNX or protobuf package. Plain JS so that
// both the Deno harness (bench/_ort.ts) and the Node fallback (bench/_ort_runner.mjs) import it.
// Field numbers follow onnx.proto (ModelProto, GraphProto, NodeProto, AttributeProto, ...).

const FLOAT = 1; // TensorProto.DataType.FLOAT
const ATTR_INT = 2;
const ATTR_INTS = 7;
const ATTR_STRING = 3;

/** @param {number|bigint} v @returns {number[]} */
function varint(v) {
  let n = BigInt.asUintN(64, BigInt(v));
  const out = [];
  do {
    let b = Number(n & 0x7fn);
    n >>= 7n;
    if (n !== 0n) b |= 0x80;
    out.push(b);
  } while (n !== 0n);
  return out;
}

/** Concatenates byte chunks. @param {(number[]|Uint8Array)[]} parts @returns {Uint8Array} */
function cat(parts) {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Varint field. */
function fInt(field, v) {
  return cat([varint((field << 3) | 0), varint(v)]);
}

/** Length-delimited field (bytes, string or sub-message). */
function fBytes(field, bytes) {
  const b = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
  return cat([varint((field << 3) | 2), varint(b.length), b]);
}

/** Packed repeated int64 field. */
function fPackedInts(field, values) {
  return fBytes(field, cat(values.map((v) => varint(v))));
}

function attrInts(name, values) {
  return cat([fBytes(1, name), fPackedInts(8, values), fInt(20, ATTR_INTS)]);
}

function attrInt(name, v) {
  return cat([fBytes(1, name), fInt(3, v), fInt(20, ATTR_INT)]);
}

function attrString(name, s) {
  return cat([fBytes(1, name), fBytes(4, s), fInt(20, ATTR_STRING)]);
}

/** NodeProto: inputs (1), outputs (2), name (3), op_type (4), attributes (5). */
function node(opType, inputs, outputs, attrs) {
  return cat([
    ...inputs.map((s) => fBytes(1, s)),
    ...outputs.map((s) => fBytes(2, s)),
    fBytes(3, `${opType}_${outputs[0]}`),
    fBytes(4, opType),
    ...attrs.map((a) => fBytes(5, a)),
  ]);
}

/** ValueInfoProto of a float tensor; `shape` undefined leaves the shape unknown. */
function valueInfo(name, shape) {
  const tensorType = cat([
    fInt(1, FLOAT),
    ...(shape ? [fBytes(2, cat(shape.map((d) => fBytes(1, fInt(1, d)))))] : []),
  ]);
  return cat([fBytes(1, name), fBytes(2, fBytes(1, tensorType))]);
}

/** TensorProto initializer: dims (1), data_type (2), name (8), raw_data (9, little-endian). */
function initializer(name, shape, data) {
  const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return cat([fPackedInts(1, shape), fInt(2, FLOAT), fBytes(8, name), fBytes(9, raw)]);
}

/**
 * One convolution as an ONNX model: input `x`, output `y`, the kernel stored as an initializer.
 *
 * @param {object} spec
 * @param {number[]} spec.xShape Input shape as fed (NC+spatial, or NHWC when `nhwc`).
 * @param {number[]} spec.wShape Kernel shape OI+spatial (ONNX layout).
 * @param {Float32Array} spec.w Kernel values in OI+spatial order.
 * @param {number[]} spec.strides One stride per spatial dim.
 * @param {[number, number][]} spec.pads `[lo, hi]` per spatial dim.
 * @param {boolean} [spec.nhwc] Input and output are channels-last (Transpose nodes around the Conv).
 * @returns {Uint8Array} Serialized ModelProto.
 */
export function convModel(spec) {
  const n = spec.wShape.length - 2;
  const convAttrs = [
    attrInts("kernel_shape", spec.wShape.slice(2)),
    attrInts("strides", spec.strides),
    attrInts("pads", [...spec.pads.map((p) => p[0]), ...spec.pads.map((p) => p[1])]),
    attrInts("dilations", new Array(n).fill(1)),
    attrInt("group", 1),
    attrString("auto_pad", "NOTSET"),
  ];
  const nodes = [];
  if (spec.nhwc) {
    const toFirst = [0, n + 1, ...Array.from({ length: n }, (_, i) => i + 1)];
    const toLast = [0, ...Array.from({ length: n }, (_, i) => i + 2), 1];
    nodes.push(node("Transpose", ["x"], ["xt"], [attrInts("perm", toFirst)]));
    nodes.push(node("Conv", ["xt", "w"], ["yt"], convAttrs));
    nodes.push(node("Transpose", ["yt"], ["y"], [attrInts("perm", toLast)]));
  } else {
    nodes.push(node("Conv", ["x", "w"], ["y"], convAttrs));
  }
  const graph = cat([
    ...nodes.map((b) => fBytes(1, b)),
    fBytes(2, "conv_bench"),
    fBytes(5, initializer("w", spec.wShape, spec.w)),
    fBytes(11, valueInfo("x", spec.xShape)),
    fBytes(12, valueInfo("y", undefined)),
  ]);
  const opset = cat([fBytes(1, ""), fInt(2, 13)]);
  return cat([fInt(1, 8), fBytes(2, "tracegrad-bench"), fBytes(7, graph), fBytes(8, opset)]);
}

/**
 * W8 as an ONNX Conv: SciPy's `convolve(x, w, mode="same")` of 1-d x and w is a Conv (which
 * correlates) of [1, 1, n] with the reversed kernel [1, 1, k], padded by k - 1 - (k-1)/2 before
 * and (k-1)/2 after.
 * @param {{ data: Float32Array, shape: number[] }} x
 * @param {{ data: Float32Array, shape: number[] }} w
 */
export function sameConv1d(x, w) {
  const k = w.data.length, hi = Math.floor((k - 1) / 2);
  return {
    x: { data: x.data, shape: [1, 1, x.data.length] },
    w: { data: w.data.slice().reverse(), shape: [1, 1, k] },
    strides: [1],
    pads: [[k - 1 - hi, hi]],
  };
}
