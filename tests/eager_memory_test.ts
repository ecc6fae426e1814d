/**
 * Issue 17 item 8: eager grad / vjp / jvp on WebGPU free the device arrays they create and do not
 * return (residuals, cotangents, intermediates) when they return, so an eager loop keeps live GPU
 * memory flat without the garbage collector, and the pool reuses the buffers. Also: the idle pool's
 * floor and trimming (no GPU needed), and what scopes must never free.
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  customVjp,
  grad,
  hessian,
  jit,
  jvp,
  lax,
  linearize,
  np,
  setBackend,
  type Tensor,
  valueAndGrad,
  vjp,
} from "../mod.ts";
import { webgpuRuntime } from "../lib/backend/webgpu/backend.ts";
import { BufferPool } from "../lib/backend/webgpu/pool.ts";
import type { GpuBuffer } from "../lib/backend/webgpu/gpu_types.ts";
import { setEagerScopes } from "../lib/core.ts";
import { webgpuReady } from "./_webgpu_env.ts";

const READY = await webgpuReady();
const skip = READY ? false : "WebGPU is not available in this runtime";

async function onGpu<T>(f: () => T | Promise<T>): Promise<T> {
  setBackend("webgpu");
  try {
    return await f();
  } finally {
    setBackend("cpu");
  }
}

const close = async (a: Tensor, b: Tensor, tol = 1e-5) => {
  const [x, y] = [await a.data(), await b.data()];
  assert.equal(x.length, y.length);
  x.forEach((v, i) =>
    assert.ok(Math.abs(v - y[i]) <= tol * (1 + Math.abs(y[i])), `${i}: ${v} vs ${y[i]}`)
  );
};

/** The conv loss of bench/webgpu_rss.ts (x and w made on the current backend). */
function convProblem() {
  const x = np.linspace(-1, 1, 2 * 3 * 8 * 8).reshape([2, 3, 8, 8]);
  const w = np.linspace(-0.5, 0.5, 4 * 3 * 3 * 3).reshape([4, 3, 3, 3]);
  const loss = (w: Tensor) => np.sum(np.tanh(lax.convGeneralDilated(x, w, [1, 1], "SAME")));
  return { x, w, loss };
}

test("webgpu: an eager grad loop holds only its results: live GPU bytes flat, buffers reused", {
  skip,
}, async () => {
  await onGpu(async () => {
    const rt = webgpuRuntime()!;
    const { w, loss } = convProblem();
    grad(loss)(w).dispose(); // warm-up: compiles, fills the pool
    const live0 = rt.liveBuffers(), bytes0 = rt.liveBytes(), created0 = rt.stats.buffersCreated;
    // a synchronous loop: no finalizer can run, so whatever is live was not freed by the call
    for (let i = 0; i < 20; i++) {
      const g = grad(loss)(w);
      assert.equal(rt.liveBuffers(), live0 + 1, `iteration ${i}: only the gradient is live`);
      g.dispose();
    }
    assert.equal(rt.liveBytes(), bytes0);
    assert.equal(rt.stats.buffersCreated, created0, "the loop reuses pooled buffers");
    const [v, g] = valueAndGrad(loss)(w);
    assert.equal(rt.liveBuffers(), live0 + 2);
    setBackend("cpu");
    const cpu = convProblem();
    const [vc, gc] = valueAndGrad(cpu.loss)(cpu.w);
    setBackend("webgpu");
    await close(v, vc, 1e-4);
    await close(g, gc, 1e-4);
  });
});

test(
  "webgpu: the same loop with scopes off leaves the intermediates to the collector (the measure can fail)",
  { skip },
  async () => {
    await onGpu(() => {
      const rt = webgpuRuntime()!;
      const { w, loss } = convProblem();
      const live0 = rt.liveBuffers();
      setEagerScopes(false);
      try {
        for (let i = 0; i < 5; i++) grad(loss)(w).dispose();
      } finally {
        setEagerScopes(true);
      }
      assert.ok(rt.liveBuffers() > live0 + 20, `${rt.liveBuffers() - live0} arrays left live`);
    });
  },
);

test("webgpu: vjp keeps outputs and residuals, its pullback and jvp free their temporaries", {
  skip,
}, async () => {
  await onGpu(async () => {
    const rt = webgpuRuntime()!;
    const { w, loss } = convProblem();
    const f = (w: Tensor) => np.sum(np.tanh(w.mul(w)), { axis: [1, 2, 3] });
    const live0 = rt.liveBuffers();
    const [y, pb] = vjp(f, w);
    const afterFwd = rt.liveBuffers();
    assert.ok(afterFwd - live0 < 8, `the forward pass keeps ${afterFwd - live0} arrays`);
    for (let i = 0; i < 3; i++) { // the pullback can run again: residuals stay
      const before = rt.liveBuffers();
      const [ct] = pb(np.ones([4]));
      assert.equal(rt.liveBuffers(), before + 2, "the cotangent seed and the result");
      await close(ct, grad((w: Tensor) => np.sum(f(w)))(w));
    }
    const [p, t] = jvp(loss, [w], [np.onesLike(w)]);
    assert.ok(p && t);
    const before = rt.liveBuffers();
    const [p2, t2] = jvp(loss, [w], [w]);
    assert.equal(rt.liveBuffers(), before + 2, "the primal and tangent outputs");
    const [yl, fl] = linearize(loss, w);
    await close(fl(w), t2);
    await close(yl, p2);
    await close(y, f(w));
  });
});

test(
  "webgpu: scopes never free inputs, aux, jit constants, customVjp residuals or nested results",
  { skip },
  async () => {
    await onGpu(async () => {
      const { x, w, loss } = convProblem();
      const [g1, aux] = grad((w: Tensor) => {
        const y = lax.convGeneralDilated(x, w, [1, 1], "SAME");
        return [np.sum(np.tanh(y)), { y: y.mul(2), k: np.ones([2]) }];
      }, { hasAux: true })(w);
      assert.deepEqual([...await aux.k.data()], [1, 1]);
      await close(g1, grad(loss)(w));
      assert.equal((await aux.y.data()).length, 2 * 4 * 8 * 8);
      // a jitted function traced inside grad keeps a constant made there, for later calls
      const scaled = jit((v: Tensor) => v.mul(np.full([4, 3, 3, 3], 3)));
      const h = (w: Tensor) => np.sum(scaled(w).mul(w));
      for (let i = 0; i < 3; i++) await close(grad(h)(w), w.mul(6));
      const sq = customVjp((v: Tensor) => v.mul(v), {
        fwd: (v: Tensor) => [v.mul(v), v.mul(2)],
        bwd: (two: Tensor, ct: Tensor) => [ct.mul(two)],
      });
      for (let i = 0; i < 2; i++) await close(grad((v: Tensor) => np.sum(sq(v)))(w), w.mul(2));
      // higher order and jacobians: nested transforms run inside the outer call's scope
      const v = np.array([0.3, -0.2]);
      await close(
        grad(grad((s: Tensor) => np.sum(np.sin(s).mul(s))))(np.array(0.5)),
        np.array(Math.cos(0.5) * 2 - 0.5 * Math.sin(0.5)),
      );
      const H = hessian((s: Tensor) => np.sum(s.mul(s).mul(s)))(v);
      await close(H, np.array([[1.8, 0], [0, -1.2]]));
      // inputs and closed-over arrays made before the call are untouched
      assert.equal((await x.data()).length, 2 * 3 * 64);
      assert.equal((await w.data()).length, 108);
    });
  },
);

test(
  "webgpu: an array smuggled out of grad's call is released, with an error saying so",
  { skip },
  async () => {
    await onGpu(() => {
      const { w, loss } = convProblem();
      let smuggled: Tensor | undefined;
      grad((w: Tensor) => {
        smuggled = np.ones([3]).mul(2);
        return loss(w);
      })(w);
      assert.throws(
        () => smuggled!.add(1),
        (e) =>
          e instanceof TypeError && /used after grad released it/.test(e.message) &&
          /hasAux/.test(e.message),
      );
    });
  },
);

test("cpu: grad frees nothing early (plain JS memory): an array smuggled out stays usable", () => {
  let smuggled: Tensor | undefined;
  const g = grad((w: Tensor) => {
    smuggled = np.ones([3]).mul(2);
    return np.sum(w.mul(w));
  })(np.array([1, 2]));
  assert.deepEqual([...g.dataSync()], [2, 4]);
  assert.deepEqual([...smuggled!.add(1).dataSync()], [3, 3, 3]);
});

/** A stand-in GPU buffer: its size and whether it was destroyed. */
function fakeBuffer(size: number): GpuBuffer & { destroyed: boolean } {
  const b = { size, destroyed: false, destroy: () => void (b.destroyed = true) };
  return b as unknown as GpuBuffer & { destroyed: boolean };
}

test("buffer pool: reuse last in first out, a byte limit, and trimming of long-idle buffers down to a floor", () => {
  const pool = new BufferPool(10 * 1024, 4 * 1024);
  pool.idleSubmits = 8;
  const bufs = Array.from({ length: 12 }, () => fakeBuffer(1024));
  bufs.forEach((b, i) => assert.equal(pool.put(b, i), i < 10, `put ${i}`)); // 10 KiB limit
  assert.equal(pool.take(1024), bufs[9]);
  assert.equal(pool.take(2048), undefined);
  assert.equal(pool.count, 9);
  pool.trim(8); // idle for at most 8 submits: nothing is old enough
  assert.equal(pool.count, 9);
  pool.trim(14); // buffers 0..5 are idle for more than 8 submits: oldest go first, 4 KiB stay
  assert.equal(pool.bytes, 4 * 1024);
  assert.deepEqual(bufs.slice(0, 9).map((b) => b.destroyed), [
    true,
    true,
    true,
    true,
    true,
    false,
    false,
    false,
    false,
  ]);
  pool.trim(1000); // at the floor: nothing more, however long idle
  assert.equal(pool.count, 4);
  assert.equal(pool.take(1024), bufs[8]);
  pool.clear();
  assert.equal(pool.count, 0);
  assert.ok(bufs[5].destroyed && bufs[7].destroyed);
});
