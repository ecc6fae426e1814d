// NumPy's .npz: a ZIP of .npy members, stored (numpy.savez) or deflated (numpy.savez_compressed).
import type { Tensor } from "../tensor.ts";
import { fromNpy, toNpy } from "./npy.ts";
import { readZip, writeZip } from "./zip.ts";
import { checkOptions } from "../options.ts";

/** Options of {@link toNpz}. */
export interface NpzOptions {
  /** Deflate the members, as `numpy.savez_compressed` does (default false: `numpy.savez`). */
  compressed?: boolean;
}

/**
 * The .npz bytes of a record of concrete Tensors: member `name.npy` per entry. Uncompressed
 * output is byte for byte what `numpy.savez(file, **record)` writes; compressed output is what
 * `numpy.load` reads (the deflate stream differs from zlib's, the archive layout does not).
 *
 * @example Round trip
 * ```ts
 * import { io, np } from "../../mod.ts";
 * const bytes = io.toNpz({ a: np.arange(4), b: np.ones([2, 2]) }, { compressed: true });
 * const back = io.fromNpz(bytes);
 * if (back.a.dataSync().join() !== "0,1,2,3" || back.b.shape.join() !== "2,2") throw new Error();
 * ```
 */
export function toNpz(record: Record<string, Tensor>, opts?: NpzOptions): Uint8Array {
  const { compressed = false } = checkOptions("toNpz", opts, ["compressed"]);
  if (typeof record !== "object" || record === null) {
    throw new TypeError(`toNpz: expected a record of Tensors, got ${record}`);
  }
  const entries = Object.keys(record).map((k) => ({ name: `${k}.npy`, data: toNpy(record[k]) }));
  return writeZip(entries, compressed);
}

/**
 * Reads .npz bytes (`numpy.savez` or `numpy.savez_compressed`) into a record of Tensors keyed
 * by member name without `.npy`. The archive is validated (offsets, overlaps, sizes, CRCs)
 * before members are inflated; see {@link fromNpy} for the dtypes read.
 *
 * @example
 * ```ts
 * import { io, np } from "../../mod.ts";
 * const r = io.fromNpz(io.toNpz({ w: np.eye(2) }));
 * if (r.w.shape.join() !== "2,2") throw new Error("npz");
 * ```
 */
export function fromNpz(bytes: Uint8Array): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const e of readZip("fromNpz", bytes)) {
    const key = e.name.endsWith(".npy") ? e.name.slice(0, -4) : e.name;
    let t: Tensor;
    try {
      t = fromNpy(e.data);
    } catch (err) {
      const E = err instanceof RangeError ? RangeError : TypeError;
      throw new E(`fromNpz: member ${e.name}: ${(err as Error).message}`);
    }
    Object.defineProperty(out, key, {
      value: t,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}
