// The safetensors format: an 8-byte little-endian header length, a JSON header naming each
// tensor's dtype, shape and [begin, end) data offsets, then the packed data. Writer matches the
// reference implementation (sort by dtype descending then name, compact JSON, 8-byte padding).
import { fromHost } from "../core.ts";
import { Tensor } from "../tensor.ts";
import { checkedSize, decode, encode, type FileDType, fileDType } from "./_dtypes.ts";

const NAMES: Record<string, string> = {
  BOOL: "b1",
  U8: "u1",
  I8: "i1",
  I16: "i2",
  U16: "u2",
  F16: "f2",
  BF16: "bf16",
  I32: "i4",
  U32: "u4",
  F32: "f4",
  F64: "f8",
  I64: "i8",
  U64: "u8",
};
/** The reference implementation's dtype order (its enum order), used to sort tensors. */
const ORDER = ["BOOL", "U8", "I8", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "F64", "I64"];
const OF_DTYPE: Record<string, string> = {
  bool: "BOOL",
  int8: "I8",
  uint8: "U8",
  int32: "I32",
  uint32: "U32",
  float16: "F16",
  bfloat16: "BF16",
  float32: "F32",
  float64: "F64",
};
const MAX_HEADER = 100_000_000;

/**
 * The safetensors bytes of a record of concrete Tensors (with optional string `metadata`), laid
 * out exactly as the reference `safetensors` library writes them.
 *
 * @example Round trip
 * ```ts
 * import { io, np } from "../../mod.ts";
 * const bytes = io.toSafetensors({ w: np.ones([2, 3]), b: np.zeros([3]) });
 * const back = io.fromSafetensors(bytes);
 * if (back.w.shape.join() !== "2,3" || back.b.dtype !== "float32") throw new Error("st");
 * ```
 */
export function toSafetensors(
  record: Record<string, Tensor>,
  metadata?: Record<string, string>,
): Uint8Array {
  const op = "toSafetensors";
  if (typeof record !== "object" || record === null) {
    throw new TypeError(`${op}: expected a record of Tensors, got ${record}`);
  }
  const items = Object.keys(record).map((name) => {
    const t = record[name];
    if (!(t instanceof Tensor)) throw new TypeError(`${op}: record.${name} is not a Tensor`);
    if (name === "__metadata__") throw new TypeError(`${op}: "__metadata__" is a reserved name`);
    const code = OF_DTYPE[t.dtype];
    if (!code) throw new TypeError(`${op}: cannot write dtype ${t.dtype} (record.${name})`);
    return { name, code, shape: t.shape, data: encode(t._valuesSync(), t.dtype) };
  });
  items.sort((a, b) =>
    ORDER.indexOf(b.code) - ORDER.indexOf(a.code) ||
    (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
  );
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== "string") throw new TypeError(`${op}: metadata.${k} must be a string`);
    }
    header.__metadata__ = metadata;
  }
  let offset = 0;
  for (const it of items) {
    header[it.name] = {
      dtype: it.code,
      shape: it.shape,
      data_offsets: [offset, offset + it.data.length],
    };
    offset += it.data.length;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const pad = (8 - (json.length % 8)) % 8;
  if (pad) {
    const padded = new Uint8Array(json.length + pad).fill(0x20);
    padded.set(json);
    json = padded;
  }
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let o = 8 + json.length;
  for (const it of items) {
    out.set(it.data, o);
    o += it.data.length;
  }
  return out;
}

interface Entry {
  name: string;
  fd: FileDType;
  shape: number[];
  begin: number;
  end: number;
}

function parseHeader(op: string, bytes: Uint8Array): [Entry[], number, Record<string, string>] {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`${op}: expected a Uint8Array`);
  if (bytes.length < 8) throw new RangeError(`${op}: file of ${bytes.length} bytes has no header`);
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER)) throw new RangeError(`${op}: header length ${n} is absurdly large`);
  if (Number(n) + 8 > bytes.length) {
    throw new RangeError(
      `${op}: header length ${n} runs past the end of the ${bytes.length}-byte file`,
    );
  }
  let header: unknown;
  try {
    header = JSON.parse(
      new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + Number(n))),
    );
  } catch (e) {
    throw new TypeError(`${op}: header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    throw new TypeError(`${op}: header is not a JSON object`);
  }
  const h = header as Record<string, unknown>;
  const meta = (h.__metadata__ ?? {}) as Record<string, string>;
  if (typeof meta !== "object" || Object.values(meta).some((v) => typeof v !== "string")) {
    throw new TypeError(`${op}: __metadata__ must map strings to strings`);
  }
  const entries = Object.keys(h).filter((k) => k !== "__metadata__").map((name) => {
    const info = h[name] as Record<string, unknown>;
    const where = `${op}: tensor ${JSON.stringify(name)}`;
    if (typeof info !== "object" || info === null) throw new TypeError(`${where} has no info`);
    const fdCode = NAMES[info.dtype as string];
    if (typeof info.dtype !== "string" || !fdCode) {
      throw new TypeError(`${where} has unknown dtype ${JSON.stringify(info.dtype)}`);
    }
    const shape = info.shape, offs = info.data_offsets;
    if (!Array.isArray(shape) || shape.some((d) => typeof d !== "number")) {
      throw new TypeError(`${where} has a bad shape ${JSON.stringify(shape)}`);
    }
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every(Number.isSafeInteger)) {
      throw new TypeError(`${where} has bad data_offsets ${JSON.stringify(offs)}`);
    }
    return { name, fd: fileDType(fdCode)!, shape, begin: offs[0], end: offs[1] };
  });
  return [entries, 8 + Number(n), meta];
}

/**
 * Reads safetensors bytes (from PyTorch, Hugging Face, JAX, or {@link toSafetensors}) into a
 * record of Tensors. BOOL, I8, U8, I32, U32, F16, BF16, F32 and F64 are read as the Tensor dtype
 * of the same name; I16/U16 as int32, I64 as int32 and U64 as uint32 when every value
 * fits (else a RangeError). Offsets must tile the data exactly (no gaps, overlaps or bytes
 * past the end) and match shape times dtype size; violations are errors before any allocation.
 *
 * @example Reading bytes written by hand
 * ```ts
 * import { io } from "../../mod.ts";
 * const json = '{"x":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}}';
 * const head = new TextEncoder().encode(json);
 * const bytes = new Uint8Array(8 + head.length + 8);
 * new DataView(bytes.buffer).setBigUint64(0, BigInt(head.length), true);
 * bytes.set(head, 8);
 * bytes.set([7, 0, 0, 0, 9, 0, 0, 0], 8 + head.length);
 * if (io.fromSafetensors(bytes).x.dataSync().join() !== "7,9") throw new Error("st");
 * ```
 */
export function fromSafetensors(bytes: Uint8Array): Record<string, Tensor> {
  return readSafetensors(bytes).tensors;
}

/** {@link fromSafetensors} plus the header's `__metadata__` strings. */
export function readSafetensors(
  bytes: Uint8Array,
): { tensors: Record<string, Tensor>; metadata: Record<string, string> } {
  const op = "fromSafetensors";
  const [entries, start, metadata] = parseHeader(op, bytes);
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const e of sorted) {
    const n = checkedSize(op, e.shape);
    if (e.begin !== at || e.end < e.begin) {
      throw new RangeError(
        `${op}: tensor ${JSON.stringify(e.name)} offsets [${e.begin}, ${e.end}) leave a gap or ` +
          `overlap (expected to start at ${at})`,
      );
    }
    if (n * e.fd.size !== e.end - e.begin) {
      throw new RangeError(
        `${op}: tensor ${JSON.stringify(e.name)} of shape [${e.shape.join(", ")}] needs ${
          n * e.fd.size
        } bytes, offsets give ${e.end - e.begin}`,
      );
    }
    at = e.end;
  }
  if (start + at !== bytes.length) {
    throw new RangeError(
      `${op}: data section is ${bytes.length - start} bytes but the tensors cover ${at}`,
    );
  }
  const tensors: Record<string, Tensor> = {};
  for (const e of entries) {
    const n = checkedSize(op, e.shape);
    const raw = bytes.subarray(start + e.begin, start + e.end);
    Object.defineProperty(tensors, e.name, {
      value: fromHost(decode(op, raw, e.fd, n, true), e.shape, e.fd.dtype),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return { tensors, metadata };
}
