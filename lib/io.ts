/**
 * The `io` namespace: NumPy's `.npy` / `.npz` and the `.safetensors` format, read and written
 * byte-compatibly with `numpy.save` / `numpy.savez` and the reference safetensors library, and
 * `save` / `load` of a params pytree. Readers treat their input as untrusted: malformed files
 * are a TypeError or RangeError before anything larger than the file is allocated.
 *
 * @example A pytree through safetensors bytes
 * ```ts
 * import { io, np } from "../mod.ts";
 * const bytes = io.toSafetensors({ "dense.w": np.ones([3, 2]) });
 * if (io.fromSafetensors(bytes)["dense.w"].shape.join() !== "3,2") throw new Error("io");
 * ```
 * @module
 */
export { fromNpy, toNpy } from "./io/npy.ts";
export { fromNpz, type NpzOptions, toNpz } from "./io/npz.ts";
export { fromSafetensors, readSafetensors, toSafetensors } from "./io/safetensors.ts";
export { load, save } from "./io/save.ts";
