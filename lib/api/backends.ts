/**
 * Backend selection: `init()`, `setBackend(name)`, `getBackend()`, `backendInfo()`.
 * @module
 */
import { backendNames, getBackend as current, setBackendImpl } from "../backend/backend.ts";
import { initWebGPU, webgpuRuntime } from "../backend/webgpu/backend.ts";
import { webgpuFailure } from "../backend/webgpu/runtime.ts";
import { currentPool, startPool } from "../backend/cpu/conv.ts";
import { warmGemm } from "../backend/cpu/matmul.ts";
import { hasRelaxedSimd } from "../../kernels/wasm/sgemm.ts";

/** Backends tracegrad has; which of them this runtime offers is `backendInfo().backends`. */
const KNOWN = ["cpu", "reference", "webgpu"];
let initDone = false;

/**
 * Detects what the runtime offers and registers the backends that work here. The CPU backends
 * need no `await`; call this once before using WebGPU: when the runtime has `navigator.gpu` and
 * an adapter, "webgpu" is registered (it does not become the default; select it with
 * `setBackend("webgpu")`). Without WebGPU (Bun, Node without the `webgpu` package) the CPU
 * backend stays in use and `backendInfo().unavailable.webgpu` says why. It also waits for the
 * CPU backend's worker pool, which otherwise starts in the background on the first large
 * convolution (those run single-threaded until it is up), and meanwhile generates and compiles
 * the calling thread's matrix-product kernel, which the first product would otherwise pay for.
 *
 * @example
 * ```ts
 * import { getBackend, init } from "../../mod.ts";
 * const names = await init();
 * if (!names.includes(getBackend())) throw new Error("init");
 * ```
 */
export async function init(): Promise<string[]> {
  await Promise.all([initWebGPU(), startPool(), Promise.resolve().then(warmGemm)]);
  initDone = true;
  return backendNames();
}

/**
 * Selects the backend for new arrays and eager ops: "cpu" (compiled JS kernels, the default),
 * "reference" (plain TypeScript, float64 arithmetic: the test oracle) or, after `await init()`
 * found WebGPU, "webgpu" (read arrays with `await t.data()`; float64 is not supported there).
 * A backend that is missing here is a RangeError that says why and how to get it.
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
  if (!backendNames().includes(name)) {
    const available = `available now: ${backendNames().join(", ")}`;
    const why = unavailable()[name];
    throw new RangeError(
      why
        ? `setBackend: backend ${JSON.stringify(name)} is not available: ${why}; ${available}`
        : `setBackend: unknown backend ${JSON.stringify(name)}; ${available} (tracegrad has: ${
          KNOWN.join(", ")
        })`,
    );
  }
  setBackendImpl(name);
}

/** The name of the backend in use. */
export function getBackend(): string {
  return current().name;
}

/** What `backendInfo()` reports. */
export interface BackendInfo {
  /** Backends registered here (usable with `setBackend`). */
  backends: string[];
  /** The backend in use (`getBackend()`). */
  default: string;
  /** The CPU backend. */
  cpu: {
    /** Threads its convolutions and matmuls use now (1 until the worker pool is up). */
    threads: number;
    /** Whether the Wasm engine has relaxed SIMD (fused multiply-adds in the GEMM kernels). */
    relaxedSimd: boolean;
    /** Browsers only: whether the page is cross-origin isolated (needed for threads). */
    crossOriginIsolated?: boolean;
  };
  /** The WebGPU device, when "webgpu" is registered. */
  webgpu?: {
    /** Adapter description (vendor / device). */
    adapter: string;
    /** A software adapter (SwiftShader, llvmpipe, lavapipe): kernels avoid workgroup memory. */
    fallback: boolean;
    /** Whether the adapter offers "shader-f16" (float16 arrays are then stored as 2-byte f16). */
    shaderF16: boolean;
    /** The device limits tracegrad requested. */
    limits: Record<string, number>;
  };
  /** For each backend that is missing here: why, and how to get it. */
  unavailable: Record<string, string>;
}

function unavailable(): Record<string, string> {
  const out: Record<string, string> = {};
  if (!backendNames().includes("webgpu")) {
    out.webgpu = initDone
      ? webgpuFailure() ?? "init() did not register it"
      : 'call `await init()` first: it detects WebGPU and registers "webgpu" when an adapter is found';
  }
  return out;
}

/**
 * What is available here and why not: registered backends, the one in use, CPU threads and
 * SIMD, the WebGPU adapter (after `await init()`), and a reason for every missing backend.
 *
 * @example
 * ```ts
 * import { backendInfo, init } from "../../mod.ts";
 * await init();
 * const info = backendInfo();
 * if (!info.backends.includes("cpu") || info.cpu.threads < 1) throw new Error("backendInfo");
 * if (!info.webgpu && !info.unavailable.webgpu) throw new Error("no reason given");
 * ```
 */
export function backendInfo(): BackendInfo {
  const g = globalThis as { crossOriginIsolated?: boolean };
  const rt = webgpuRuntime();
  const info: BackendInfo = {
    backends: backendNames(),
    default: getBackend(),
    cpu: { threads: currentPool()?.threads ?? 1, relaxedSimd: hasRelaxedSimd() },
    unavailable: unavailable(),
  };
  if (typeof g.crossOriginIsolated === "boolean") {
    info.cpu.crossOriginIsolated = g.crossOriginIsolated;
  }
  if (rt && backendNames().includes("webgpu")) {
    const limits: Record<string, number> = {};
    for (
      const k of [
        "maxBufferSize",
        "maxStorageBufferBindingSize",
        "maxComputeWorkgroupStorageSize",
        "maxComputeInvocationsPerWorkgroup",
      ]
    ) {
      const v = (rt.limits as unknown as Record<string, number>)[k];
      if (typeof v === "number") limits[k] = v;
    }
    info.webgpu = {
      adapter: rt.description,
      fallback: rt.software,
      shaderF16: rt.shaderF16,
      limits,
    };
  }
  return info;
}
