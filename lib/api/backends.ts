/**
 * Backend selection: `init()`, `setBackend(name)`, `getBackend()`.
 * @module
 */
import { backendNames, getBackend as current, setBackendImpl } from "../backend/backend.ts";

/**
 * Detects what the runtime offers and registers the backends that work here. The CPU backends
 * need no `await`; call this once before using WebGPU.
 *
 * @example
 * ```ts
 * import { getBackend, init } from "../../mod.ts";
 * const names = await init();
 * if (!names.includes(getBackend())) throw new Error("init");
 * ```
 */
export function init(): Promise<string[]> {
  return Promise.resolve(backendNames());
}

/**
 * Selects the backend for new arrays and eager ops: "cpu" (compiled JS kernels, the default) or
 * "reference" (plain TypeScript, float64 arithmetic: the test oracle).
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
