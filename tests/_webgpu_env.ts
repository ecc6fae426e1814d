/**
 * Where the WebGPU tests run: Deno's built-in `navigator.gpu`; on Node, the npm `webgpu` package
 * (Dawn) when it is installed; nowhere on Bun. Test files call {@link webgpuReady} once.
 * @module
 */
import { init } from "../mod.ts";

/**
 * Node has no WebGPU of its own; when the npm `webgpu` package (Dawn) can be imported, its
 * OpenGL ES backend provides `navigator.gpu` (a software adapter here).
 */
export async function nodeWebGPU(): Promise<void> {
  const g = globalThis as {
    navigator?: { gpu?: unknown };
    process?: { versions?: { node?: string }; env: Record<string, string | undefined> };
    Deno?: unknown;
    Bun?: unknown;
  };
  if (g.navigator?.gpu || !g.process?.versions?.node || g.Deno || g.Bun) return;
  try {
    const name = "webgpu"; // not a dependency: used only when installed
    const m = await import(name) as { create(o: string[]): unknown; globals: object };
    g.process.env.EGL_PLATFORM ??= "surfaceless";
    Object.assign(globalThis, m.globals);
    g.navigator ??= {};
    Object.defineProperty(g.navigator, "gpu", {
      value: m.create(["backend=opengles"]),
      configurable: true,
    });
  } catch {
    // no WebGPU for Node here: the tests are skipped
  }
}

/** Sets up WebGPU where the runtime can have it and says whether `init()` registered "webgpu". */
export async function webgpuReady(): Promise<boolean> {
  await nodeWebGPU();
  const hasGpu = typeof navigator !== "undefined" && Boolean((navigator as { gpu?: unknown }).gpu);
  return hasGpu && (await init()).includes("webgpu");
}
