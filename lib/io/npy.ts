// NumPy's .npy format (versions 1.0, 2.0 and 3.0): a magic string, a Python-literal header dict
// and the raw row-major (or Fortran-order) data. Writers match numpy.save byte for byte.
import { fromHost } from "../core.ts";
import { Tensor } from "../tensor.ts";
import { transpose } from "../numpy.ts";
import { checkedSize, decode, encode, fileDType, writeCode } from "./_dtypes.ts";

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
/** Largest header we accept (numpy's own default limit is 10000 bytes). */
const MAX_HEADER = 1 << 16;

/** The header text numpy.save writes for `descr` and `shape` (padded, newline-terminated). */
function headerText(descr: string, shape: readonly number[], prefix: number): string {
  const dims = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  let h = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${dims}, }`;
  const total = prefix + h.length + 1;
  h += " ".repeat((64 - (total % 64)) % 64) + "\n";
  return h;
}

/**
 * The .npy bytes of a concrete Tensor, identical to what `numpy.save` writes for the same array.
 *
 * @example Round trip
 * ```ts
 * import { io, np } from "../../mod.ts";
 * const x = np.array([[1, 2], [3, 4]], { dtype: "float32" });
 * const bytes = io.toNpy(x);
 * if (bytes.length !== 144) throw new Error("size");
 * if (io.fromNpy(bytes).toNestedSync()!.toString() !== "1,2,3,4") throw new Error("values");
 * ```
 */
export function toNpy(t: Tensor): Uint8Array {
  if (!(t instanceof Tensor)) throw new TypeError(`toNpy: expected a Tensor, got ${typeof t}`);
  if (t.dtype === "bfloat16") {
    throw new TypeError('toNpy: .npy has no bfloat16 dtype; write t.astype("float32")');
  }
  const fd = writeCode("toNpy", t.dtype);
  const descr = (fd.size === 1 ? "|" : "<") + fd.code;
  let text = headerText(descr, t.shape, 10);
  let version = 1;
  if (text.length > 65535) [text, version] = [headerText(descr, t.shape, 12), 2];
  const data = encode(t._valuesSync(), t.dtype);
  const pre = version === 1 ? 10 : 12;
  const out = new Uint8Array(pre + text.length + data.length);
  out.set(MAGIC);
  out[6] = version;
  const dv = new DataView(out.buffer);
  if (version === 1) dv.setUint16(8, text.length, true);
  else dv.setUint32(8, text.length, true);
  for (let i = 0; i < text.length; i++) out[pre + i] = text.charCodeAt(i);
  out.set(data, pre + text.length);
  return out;
}

type Lit = string | number | boolean | Lit[] | { [k: string]: Lit };

/** Parses the restricted Python literal of an .npy header (dict, tuple, str, int, bool). */
function parseLiteral(text: string): Lit {
  let i = 0;
  const fail = (what: string): never => {
    throw new TypeError(
      `fromNpy: malformed header at character ${i}: ${what} in ${
        JSON.stringify(text.slice(0, 200))
      }`,
    );
  };
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i])) i++;
  };
  const value = (depth: number): Lit => {
    if (depth > 8) fail("nesting too deep");
    ws();
    const c = text[i];
    if (c === "{" || c === "(" || c === "[") {
      const close = c === "{" ? "}" : c === "(" ? ")" : "]";
      i++;
      const items: Lit[] = [];
      const dict: Record<string, Lit> = {};
      for (;;) {
        ws();
        if (text[i] === close) break;
        const k = value(depth + 1);
        if (c === "{") {
          ws();
          if (text[i++] !== ":" || typeof k !== "string") fail("expected 'key':");
          Object.defineProperty(dict, k as string, {
            value: value(depth + 1),
            enumerable: true,
          });
        } else items.push(k);
        ws();
        if (text[i] === ",") i++;
        else if (text[i] !== close) fail(`expected , or ${close}`);
      }
      i++;
      return c === "{" ? dict : items;
    }
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      if (end < 0) fail("unterminated string");
      const s = text.slice(i + 1, end);
      i = end + 1;
      return s;
    }
    const m = /^(True|False|-?\d+L?)/.exec(text.slice(i, i + 24));
    if (!m) fail("unexpected token");
    i += m![0].length;
    return m![0] === "True" ? true : m![0] === "False" ? false : Number(m![0].replace("L", ""));
  };
  const v = value(0);
  ws();
  if (i !== text.length) fail("trailing characters");
  return v;
}

/** Parsed .npy header: where the data starts and what it holds. */
export interface NpyHeader {
  descr: string;
  fortranOrder: boolean;
  shape: number[];
  dataOffset: number;
}

/** Reads and validates the header of .npy `bytes`. */
export function readNpyHeader(bytes: Uint8Array): NpyHeader {
  const op = "fromNpy";
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`${op}: expected a Uint8Array`);
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new TypeError(`${op}: not an .npy file (no \\x93NUMPY magic)`);
  }
  const major = bytes[6];
  if (major < 1 || major > 3) throw new TypeError(`${op}: unsupported .npy version ${major}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (major > 1 && bytes.length < 12) throw new TypeError(`${op}: truncated header`);
  const hlen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  if (hlen > MAX_HEADER) throw new RangeError(`${op}: header length ${hlen} exceeds ${MAX_HEADER}`);
  if (start + hlen > bytes.length) {
    throw new RangeError(
      `${op}: header length ${hlen} runs past the end of the ${bytes.length}-byte file`,
    );
  }
  const raw = bytes.subarray(start, start + hlen);
  const text = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(raw);
  const h = parseLiteral(text);
  if (typeof h !== "object" || Array.isArray(h)) throw new TypeError(`${op}: header is not a dict`);
  const { descr, fortran_order, shape } = h as Record<string, Lit>;
  if (typeof descr !== "string") {
    throw new TypeError(
      `${op}: descr ${JSON.stringify(descr)} is not supported (structured dtype)`,
    );
  }
  if (typeof fortran_order !== "boolean") throw new TypeError(`${op}: fortran_order missing`);
  if (!Array.isArray(shape) || shape.some((d) => typeof d !== "number")) {
    throw new TypeError(`${op}: shape ${JSON.stringify(shape)} is not a tuple of integers`);
  }
  return {
    descr,
    fortranOrder: fortran_order,
    shape: shape as number[],
    dataOffset: start + hlen,
  };
}

/**
 * Reads .npy bytes (as written by `numpy.save`) into a Tensor. bool, int8, uint8, int32, uint32,
 * float16, float32, float64, complex64 and complex128 are read as themselves; int16/uint16 as int32, and (as JAX does
 * without x64) int64 as int32 and uint64 as uint32 when every value fits (else a RangeError).
 * Malformed or truncated input is a TypeError/RangeError before any large allocation.
 *
 * @example Reading what toNpy wrote
 * ```ts
 * import { io, np } from "../../mod.ts";
 * const t = io.fromNpy(io.toNpy(np.arange(6).reshape([2, 3])));
 * if (t.shape.join() !== "2,3" || t.dtype !== "int32") throw new Error("npy");
 * ```
 */
export function fromNpy(bytes: Uint8Array): Tensor {
  const op = "fromNpy";
  const h = readNpyHeader(bytes);
  const order = h.descr[0];
  const fd = "<>|=".includes(order) ? fileDType(h.descr.slice(1)) : fileDType(h.descr);
  if (!fd) throw new TypeError(`${op}: unsupported dtype ${JSON.stringify(h.descr)}`);
  const n = checkedSize(op, h.shape);
  const need = n * fd.size;
  const have = bytes.length - h.dataOffset;
  if (have !== need) {
    throw new RangeError(
      `${op}: shape [${
        h.shape.join(", ")
      }] of ${h.descr} needs ${need} data bytes, file has ${have}`,
    );
  }
  const data = decode(op, bytes.subarray(h.dataOffset), fd, n, order !== ">");
  if (!h.fortranOrder || h.shape.length < 2) return fromHost(data, h.shape, fd.dtype);
  const t = fromHost(data, [...h.shape].reverse(), fd.dtype);
  return transpose(t, h.shape.map((_, i) => h.shape.length - 1 - i));
}
