/**
 * Backend selection: `init()`, `setBackend(name)`, `getBackend()`.
 * @module
 */
import { backendNames, getBackend as current, setBackendImpl } from "../backend/backend.ts";
import { initWebGPU } from "../backend/webgpu/backend.ts";
import { startPool } from "../backend/cpu/conv.ts";

/**
 * Detects what the runtime offers and registers the backends that work here. The CPU backends
 * need no `await`; call this once before using WebGPU: when the runtime has `navigator.gpu` and
 * an adapter, "webgpu" is registered (it does not become the default; select it with
 * `setBackend("webgpu")`). Without WebGPU (Bun, Node) the CPU backend stays in use. It also
 * waits for the CPU backend's worker pool, which otherwise starts in the background on the first
 * large convolution (those run single-threaded until it is up).
 *
 * @example
 * ```ts
 * import { getBackend, init } from "../../mod.ts";
 * const names = await init();
 * if (!names.includes(getBackend())) throw new Error("init");
 * ```
 */
export async function init(): Promise<string[]> {
  await Promise.all([initWebGPU(), startPool()]);
  return backendNames();
}

/**
 * Selects the backend for new arrays and eager ops: "cpu" (compiled JS kernels, the default),
 * "reference" (plain TypeScript, float64 arithmetic: the test oracle) or, after `await init()`
 * found WebGPU, "webgpu" (read arrays with `await t.data()`; float64 is not supported there).
 *
 * @example
 * ```ts
 * import { getBackend, setBackend } from "../../mod.ts";
 * setBackend("reference");
 * setBackend("cpu");
 * if (getBackend() !== "cpu") throw new Error("setBackend");
 * ```
 */
export function setBackend(name: string): void {
  setBackendImpl(name);
}

/** The name of the backend in use. */
export function getBackend(): string {
  return current().name;
}
