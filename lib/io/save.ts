// io.save / io.load: a params pytree to a .safetensors (default) or .npz file and back. Leaves
// are named by their dotted key path ("layers.0.w", PyTorch state-dict style); node modules are
// imported lazily so the rest of the library stays importable in browsers.
import { Tensor } from "../tensor.ts";
import { array } from "../numpy.ts";
import { fromNpz, toNpz } from "./npz.ts";
import { readSafetensors, toSafetensors } from "./safetensors.ts";

type Skeleton = null | string | Skeleton[] | { [k: string]: Skeleton } | { $: "undefined" };

/** Flattens a tree of Tensors/numbers into dotted paths plus a JSON skeleton of the structure. */
function flattenPaths(tree: unknown): [Record<string, Tensor>, Skeleton] {
  const out: Record<string, Tensor> = {};
  const seen = new Set<object>();
  const visit = (x: unknown, path: string): Skeleton => {
    if (x instanceof Tensor || typeof x === "number" || typeof x === "boolean") {
      const key = path === "" ? "value" : path;
      if (key in out) throw new TypeError(`save: two leaves share the name ${key}`);
      out[key] = x instanceof Tensor ? x : array(x);
      return key;
    }
    if (x === null) return null;
    if (x === undefined) return { $: "undefined" };
    if (
      typeof x === "object" && (Array.isArray(x) || Object.getPrototypeOf(x) === Object.prototype)
    ) {
      if (seen.has(x)) throw new TypeError(`save: cyclic reference at ${path || "tree"}`);
      seen.add(x);
      const join = (k: string | number) => (path === "" ? String(k) : `${path}.${k}`);
      const r = Array.isArray(x) ? x.map((v, i) => visit(v, join(i))) : Object.fromEntries(
        Object.keys(x).sort().map((k) => [k, visit((x as Record<string, unknown>)[k], join(k))]),
      );
      seen.delete(x);
      return r;
    }
    throw new TypeError(
      `save: unsupported ${typeof x} at ${
        path || "tree"
      }; save Tensors, numbers, arrays and plain objects`,
    );
  };
  return [out, visit(tree, "")];
}

function rebuild(skel: Skeleton, leaves: Record<string, Tensor>): unknown {
  if (skel === null) return null;
  if (typeof skel === "string") {
    if (!(skel in leaves)) throw new TypeError(`load: the file has no tensor named ${skel}`);
    return leaves[skel];
  }
  if (Array.isArray(skel)) return skel.map((s) => rebuild(s, leaves));
  if ("$" in skel && Object.keys(skel).length === 1 && skel.$ === "undefined") return undefined;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(skel)) {
    Object.defineProperty(out, k, {
      value: rebuild((skel as Record<string, Skeleton>)[k], leaves),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

/** Nests dotted keys ("a.0.b") into objects, turning objects keyed 0..n-1 into arrays. */
export function unflattenPaths(flat: Record<string, Tensor>): unknown {
  const root: Record<string, unknown> = {};
  for (const key of Object.keys(flat)) {
    const parts = key.split(".");
    let node = root;
    for (const p of parts.slice(0, -1)) {
      const next = Object.hasOwn(node, p) ? node[p] : undefined;
      if (next instanceof Tensor) throw new TypeError(`load: ${key} nests under the tensor ${p}`);
      node = (next as Record<string, unknown>) ??
        (Object.defineProperty(node, p, {
          value: {},
          enumerable: true,
          writable: true,
          configurable: true,
        }) && node[p]);
    }
    Object.defineProperty(node, parts[parts.length - 1], {
      value: flat[key],
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  const arrays = (x: unknown): unknown => {
    if (x instanceof Tensor) return x;
    const o = x as Record<string, unknown>;
    const keys = Object.keys(o);
    const isList = keys.length > 0 && keys.every((k, _i) => /^(0|[1-9]\d*)$/.test(k)) &&
      keys.map(Number).sort((a, b) => a - b).every((v, i) => v === i);
    if (isList) return keys.map((_, i) => arrays(o[String(i)]));
    for (const k of keys) o[k] = arrays(o[k]);
    return o;
  };
  return arrays(root);
}

const SKELETON_KEY = "tracegrad.tree";

/** The file bytes `save` writes for `tree` at `path` (format from the extension). */
export function encodeTree(path: string, tree: unknown): Uint8Array {
  const [flat, skel] = flattenPaths(tree);
  if (path.endsWith(".npz")) return toNpz(flat);
  return toSafetensors(flat, { [SKELETON_KEY]: JSON.stringify(skel) });
}

/** The tree `load` returns for file bytes read from `path`. */
export function decodeTree(path: string, bytes: Uint8Array): unknown {
  if (path.endsWith(".npz")) return unflattenPaths(fromNpz(bytes));
  const { tensors, metadata } = readSafetensors(bytes);
  const skel = metadata[SKELETON_KEY];
  if (skel === undefined) return unflattenPaths(tensors);
  let parsed: Skeleton;
  try {
    parsed = JSON.parse(skel);
  } catch {
    throw new TypeError(`load: metadata ${SKELETON_KEY} is not JSON`);
  }
  return rebuild(parsed, tensors);
}

/**
 * Saves a pytree of Tensors (numbers become 0-d Tensors) to `path`: `.npz` files are NumPy
 * archives (`numpy.load` reads them), anything else is safetensors with the tree's structure in
 * its metadata (PyTorch's `safetensors.torch.load_file` reads them; names are dotted key paths
 * such as `layers.0.w`). Works on Deno, Bun and Node through `node:fs/promises`.
 *
 * @example Save and reload
 * ```ts
 * import { io, np } from "../../mod.ts";
 * const path = (globalThis as any).Deno ? Deno.makeTempDirSync() + "/p.safetensors" : "/tmp/tg_doc.safetensors";
 * await io.save(path, { layers: [{ w: np.ones([2, 2]) }], step: 3 });
 * const back = await io.load(path) as { layers: { w: np.Tensor }[]; step: np.Tensor };
 * if (back.layers[0].w.shape.join() !== "2,2" || back.step.item() !== 3) throw new Error("io");
 * ```
 */
export async function save(path: string, tree: unknown): Promise<void> {
  if (typeof path !== "string") throw new TypeError(`save: path must be a string, got ${path}`);
  const bytes = encodeTree(path, tree);
  const fs = await import("node:fs/promises");
  await fs.writeFile(path, bytes);
}

/**
 * Loads a pytree saved by {@link save} (or any .safetensors / .npz file: dotted names become
 * nested objects, objects keyed 0..n-1 become arrays).
 *
 * @example
 * ```ts
 * import { io, np } from "../../mod.ts";
 * const path = (globalThis as any).Deno ? Deno.makeTempDirSync() + "/w.npz" : "/tmp/tg_doc.npz";
 * await io.save(path, { w: np.arange(3) });
 * const back = await io.load(path) as { w: np.Tensor };
 * if (back.w.dataSync().join() !== "0,1,2") throw new Error("io");
 * ```
 */
export async function load(path: string): Promise<unknown> {
  if (typeof path !== "string") throw new TypeError(`load: path must be a string, got ${path}`);
  const fs = await import("node:fs/promises");
  const buf = await fs.readFile(path);
  return decodeTree(path, new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength));
}
