// backendInfo() and the errors of setBackend: every missing backend says why and how to get it;
// the worker pool says once, naming the COOP/COEP headers, why a page runs single-threaded.
import { test } from "node:test";
import assert from "node:assert/strict";
import { backendInfo, getBackend, init, np, setBackend } from "../mod.ts";
import { createPool } from "../lib/backend/cpu/pool/pool.ts";

const g = globalThis as { Deno?: unknown; Bun?: unknown };
const runtime = g.Deno ? "deno" : g.Bun ? "bun" : "node";

test("backendInfo: backends, default, CPU threads and SIMD; a reason for every missing one", async () => {
  await init();
  const info = backendInfo();
  assert.ok(info.backends.includes("cpu") && info.backends.includes("reference"));
  assert.equal(info.default, getBackend());
  assert.ok(Number.isInteger(info.cpu.threads) && info.cpu.threads >= 1);
  assert.equal(typeof info.cpu.relaxedSimd, "boolean");
  if (info.backends.includes("webgpu")) {
    assert.ok(info.webgpu && info.webgpu.adapter.length > 0);
    assert.equal(typeof info.webgpu.shaderF16, "boolean");
    assert.ok(info.webgpu.limits.maxBufferSize > 0);
    assert.equal(info.unavailable.webgpu, undefined);
  } else {
    assert.equal(info.webgpu, undefined);
    const why = info.unavailable.webgpu;
    assert.ok(why, "a missing webgpu backend says why");
    if (runtime === "bun") assert.match(why, /Bun has no WebGPU/);
    if (runtime === "node") assert.match(why, /npm `webgpu` package.*EGL_PLATFORM=surfaceless/);
  }
});

test("setBackend: a missing backend's error says why; an unknown one lists the known names", async () => {
  await init();
  if (!backendInfo().backends.includes("webgpu")) {
    assert.throws(() => setBackend("webgpu"), (e: Error) => {
      assert.ok(e instanceof RangeError);
      assert.match(e.message, /setBackend: backend "webgpu" is not available: /);
      assert.ok(e.message.includes(backendInfo().unavailable.webgpu!));
      assert.match(e.message, /available now: reference, cpu/);
      return true;
    });
  }
  assert.throws(
    () => setBackend("wasm"),
    /setBackend: unknown backend "wasm"; available now: .*\(tracegrad has: cpu, reference, webgpu\)/,
  );
  assert.equal(getBackend(), "cpu");
  assert.equal(np.add(1, 2).item(), 3);
});

test("pool: without SharedArrayBuffer on a non-isolated page it warns once, naming the headers", async () => {
  const G = globalThis as Record<string, unknown>;
  const sab = Object.getOwnPropertyDescriptor(G, "SharedArrayBuffer");
  const coi = Object.getOwnPropertyDescriptor(G, "crossOriginIsolated");
  const warn = console.warn;
  const warnings: string[] = [];
  console.warn = (...a: unknown[]) => void warnings.push(a.join(" "));
  Object.defineProperty(G, "crossOriginIsolated", { value: false, configurable: true });
  delete G.SharedArrayBuffer; // what a page without COOP/COEP sees
  try {
    for (let i = 0; i < 2; i++) {
      const pool = await createPool({ workers: 2 });
      assert.equal(pool.threads, 1);
      await pool.terminate();
    }
  } finally {
    if (sab) Object.defineProperty(G, "SharedArrayBuffer", sab);
    if (coi) Object.defineProperty(G, "crossOriginIsolated", coi);
    else delete G.crossOriginIsolated;
    console.warn = warn;
  }
  assert.equal(warnings.length, 1, warnings.join("\n"));
  assert.match(warnings[0], /not cross-origin isolated/);
  assert.match(warnings[0], /Cross-Origin-Opener-Policy: same-origin/);
  assert.match(warnings[0], /Cross-Origin-Embedder-Policy: require-corp/);
  assert.match(warnings[0], /1 thread instead of 3/);
});
