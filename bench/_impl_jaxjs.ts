// deno-lint-ignore-file no-explicit-any -- jax-js is loaded dynamically (optional peer)
/**
 * Peer: @jax-js/jax on its wasm device (and webgpu where the runtime offers it), eager and
 * under its `jit`. Its arrays are consumed by every op, so reused inputs are passed as `.ref`.
 * It has no dimension numbers: the NHWC/HWIO workload (W3) transposes inside the timed function.
 * @module
 */
import type { Case, Factory, Impl } from "./_harness.ts";
import { concat32, W6_PARAMS } from "./_workloads.ts";
import { JAXJS14_WEBGPU_REASON, jaxjs14Factories } from "./_impl_jaxjs14.ts";

/** The pinned version. */
export const JAXJS_SPEC = "npm:@jax-js/jax@0.1.25";

/** What loading found. */
export interface JaxjsLoad {
  impls: Impl[];
  version: string;
  devices: string[];
}

/** Loads jax-js and returns one row per (device, eager|jit); `webgpu` only when asked and available. */
export async function loadJaxjs(wantWebgpu: boolean): Promise<JaxjsLoad> {
  const jax: any = await import(JAXJS_SPEC);
  const asked = wantWebgpu ? ["wasm", "webgpu"] : ["wasm"];
  const devices: string[] = (await jax.init(...asked)).filter((d: string) => asked.includes(d));
  if (!devices.includes("wasm")) {
    throw new Error(`jax-js init did not offer wasm (got ${devices.join(", ")})`);
  }
  const impls: Impl[] = [];
  for (const dev of devices) {
    for (const mode of ["eager", "jit"] as const) {
      impls.push({
        name: `jax-js ${dev}${mode === "jit" ? " jit" : ""}`,
        factories: factories(jax, dev, mode),
        reasons: dev === "wasm"
          ? {}
          : Object.fromEntries(["W8", "W9", "FFT", "SOLVE"].map((k) => [k, JAXJS14_WEBGPU_REASON])),
        enter: () => void jax.defaultDevice(dev),
      });
    }
  }
  return { impls, version: "0.1.25", devices };
}

function factories(jax: any, dev: string, mode: "eager" | "jit"): Record<string, Factory> {
  const { numpy: np, lax, nn } = jax;
  const arr = (a: { data: Float32Array; shape: number[] }) =>
    np.array(a.data, { shape: a.shape, device: dev });
  const wrap = (f: any) => (mode === "jit" ? jax.jit(f) : f);
  const convNchw = (s: number[], p: string) => (x: any, w: any) =>
    lax.convGeneralDilated(x, w, s, p);
  const convNhwc = (x: any, w: any) =>
    lax.convGeneralDilated(x.transpose([0, 3, 1, 2]), w.transpose([3, 2, 0, 1]), [1, 1], "VALID")
      .transpose([0, 2, 3, 1]);

  const forward = (f: any, w3 = false): Factory => (inp, ctx) => {
    const g = wrap(f);
    const x = arr(inp.x), w = arr(inp.w);
    const c: Case = {
      calls: w3 ? ctx.w3Calls : undefined,
      note: w3 ? "NHWC→NCHW transposes inside the call" : undefined,
      async run(want) {
        let out: Float32Array | undefined;
        for (let i = 0; i < (c.calls ?? 1); i++) {
          const d = await g(x.ref, w.ref).data();
          if (want && i === 0) out = Float32Array.from(d);
        }
        return out;
      },
      dispose() {
        x.dispose();
        w.dispose();
        g.dispose?.();
      },
    };
    return c;
  };

  const w2: Factory = (inp) => {
    const loss = (x: any, w: any, b: any) =>
      np.sum(nn.relu(lax.convGeneralDilated(x, w, [1, 1], "SAME").add(b.reshape([1, 64, 1, 1]))));
    const g = wrap(jax.valueAndGrad(loss, { argnums: [0, 1, 2] }));
    const x = arr(inp.x), w = arr(inp.w), b = arr(inp.b);
    return {
      async run(want) {
        const [v, [gx, gw, gb]] = g(x.ref, w.ref, b.ref);
        const [, , dw, db] = await Promise.all([v.data(), gx.data(), gw.data(), gb.data()]);
        return want ? concat32([db, dw]) : undefined;
      },
      dispose() {
        for (const t of [x, w, b]) t.dispose();
        g.dispose?.();
      },
    };
  };

  const w3g: Factory = (inp, ctx) => {
    const g = wrap(
      jax.valueAndGrad((x: any, w: any) => np.sum(convNhwc(x, w)), { argnums: [0, 1] }),
    );
    const x = arr(inp.x), w = arr(inp.w);
    const c: Case = {
      calls: ctx.w3Calls,
      note: "NHWC→NCHW transposes inside the call",
      async run(want) {
        let out: Float32Array | undefined;
        for (let i = 0; i < (c.calls ?? 1); i++) {
          const [v, [gx, gw]] = g(x.ref, w.ref);
          const [, dx, dw] = await Promise.all([v.data(), gx.data(), gw.data()]);
          if (want && i === 0) out = concat32([dx, dw]);
        }
        return out;
      },
      dispose() {
        x.dispose();
        w.dispose();
        g.dispose?.();
      },
    };
    return c;
  };

  const pool2 = (h: any, n: number, ch: number, s: number) =>
    h.reshape([n, ch, s / 2, 2, s / 2, 2]).max([3, 5]);
  const w6: Factory = (inp) => {
    const n = inp.x.shape[0];
    const loss = (params: any[], x: any, labels: any) => {
      const [w1, b1, w2, b2, wd, bd] = params;
      let h = nn.relu(lax.convGeneralDilated(x, w1, [1, 1], "VALID").add(b1.reshape([1, 8, 1, 1])));
      h = pool2(h, n, 8, 24);
      h = nn.relu(lax.convGeneralDilated(h, w2, [1, 1], "VALID").add(b2.reshape([1, 16, 1, 1])));
      h = pool2(h, n, 16, 8);
      const logits = np.matmul(h.reshape([n, 256]), wd).add(bd);
      return np.mean(np.sum(nn.logSoftmax(logits, -1).mul(labels), -1)).mul(-1);
    };
    const g = wrap(jax.valueAndGrad(loss));
    const params = W6_PARAMS.map((k) => arr(inp[k]));
    const x = arr(inp.x), labels = arr(inp.labels);
    return {
      async run(want) {
        const [v, grads] = g(params.map((p) => p.ref), x.ref, labels.ref);
        const got = await Promise.all([v, ...grads].map((t: any) => t.data()));
        return want ? concat32([got[0], got[6], got[5]]) : undefined;
      },
      dispose() {
        for (const t of [...params, x, labels]) t.dispose();
        g.dispose?.();
      },
    };
  };

  const w7: Factory = (inp) => {
    const loss = (E: any, i: any, c: any) => np.sum(np.take(E, i, 0).mul(c));
    const g = wrap(jax.valueAndGrad(loss));
    const E = arr(inp.E), c = arr(inp.c);
    const i = np.array(Int32Array.from(inp.i.data), {
      shape: inp.i.shape,
      dtype: "int32",
      device: dev,
    });
    return {
      note: "np.take(E, i, 0) and its gradient",
      async run(want) {
        const [v, dE] = g(E.ref, i.ref, c.ref);
        const [lv, de] = await Promise.all([v.data(), dE.data()]);
        return want ? concat32([lv, de]) : undefined;
      },
      dispose() {
        for (const t of [E, i, c]) t.dispose();
        g.dispose?.();
      },
    };
  };
  const sortCase: Factory = (inp) => {
    const g = wrap((x: any) => np.sort(x));
    const x = arr(inp.x);
    return {
      note: "np.sort",
      async run(want) {
        const d = await g(x.ref).data();
        return want ? Float32Array.from(d) : undefined;
      },
      dispose() {
        x.dispose();
        g.dispose?.();
      },
    };
  };

  return {
    W7: w7,
    SORT: sortCase,
    W1: forward(convNchw([1, 1], "SAME")),
    W2: w2,
    W3f: forward(convNhwc, true),
    W3g: w3g,
    W4: forward(convNchw([1], "VALID")),
    W5: forward(convNchw([1, 1, 1], "VALID")),
    W6: w6,
    ...jaxjs14Factories(jax, dev, mode),
  };
}
