/**
 * tracegrad's bench cases, eager and under `jit`, written against bench/_ours.ts only.
 * Every run reads all results back (`await t.data()`).
 * @module
 */
import type { Case, Factory } from "./_harness.ts";
import { type CaseKey, concat32, W6_PARAMS } from "./_workloads.ts";
import { jit, np, ours, programSize, readAll, type Tensor, tensor, valueAndGrad } from "./_ours.ts";
import { ours14Factories } from "./_impl_ours14.ts";

// deno-lint-ignore no-explicit-any
type Fn = (...a: any[]) => any;

const NHWC: [string, string, string] = ["NHWC", "HWIO", "NHWC"];

function copy(a: ArrayLike<number>): Float32Array {
  return Float32Array.from(a);
}

function dispose(ts: Tensor[]): void {
  for (const t of ts) t.dispose?.();
}

/** A forward case: `f(x, w)` returns one Tensor; check = its values. */
function forward(f: Fn, mode: "eager" | "jit", calls?: number): Factory {
  return (inp) => {
    const g = mode === "jit" ? jit(f) : f;
    const x = tensor(inp.x), w = tensor(inp.w);
    const c: Case = {
      calls,
      async run(want) {
        let out: Float32Array | undefined;
        for (let i = 0; i < (c.calls ?? 1); i++) {
          const y = g(x, w) as Tensor;
          const d = await y.data();
          if (want && i === 0) out = copy(d);
          y.dispose?.();
        }
        return out;
      },
    };
    return c;
  };
}

function w2Loss(x: Tensor, w: Tensor, b: Tensor): Tensor {
  const y = ours.conv(x, w, [1, 1], "SAME").add(np.reshape(b, [1, b.shape[0], 1, 1]));
  return np.sum(ours.relu(y));
}

function w3Loss(x: Tensor, w: Tensor): Tensor {
  return np.sum(ours.conv(x, w, [1, 1], "VALID", NHWC));
}

function w6Loss(params: Tensor[], x: Tensor, labels: Tensor): Tensor {
  const [w1, b1, w2, b2, wd, bd] = params;
  let h = ours.relu(ours.conv(x, w1, [1, 1], "VALID").add(np.reshape(b1, [1, 8, 1, 1])));
  h = ours.maxPool2(h);
  h = ours.relu(ours.conv(h, w2, [1, 1], "VALID").add(np.reshape(b2, [1, 16, 1, 1])));
  h = ours.maxPool2(h);
  const logits = np.matmul(np.reshape(h, [x.shape[0], 256]), wd).add(bd);
  const lp = ours.logSoftmax(logits);
  return np.negative(np.mean(np.sum(lp.mul(labels), { axis: -1 })));
}

function w2(mode: "eager" | "jit"): Factory {
  return (inp) => {
    const vg = valueAndGrad(w2Loss, { argnums: [0, 1, 2] });
    const g = mode === "jit" ? jit(vg) : vg;
    const x = tensor(inp.x), w = tensor(inp.w), b = tensor(inp.b);
    let note: string | undefined;
    if (mode === "jit") {
      const s = programSize(vg, [x, w, b]);
      note = `${s.eqns} eqns/step (kernels once the compiler fuses)` +
        (s.kernels !== null ? `; compiler: ${s.kernels} kernels` : "");
    }
    return {
      note,
      async run(want) {
        const [v, [gx, gw, gb]] = g(x, w, b) as [Tensor, Tensor[]];
        const [, , dw, db] = await readAll([v, gx, gw, gb]);
        dispose([v, gx, gw, gb]);
        return want ? concat32([db, dw]) : undefined;
      },
    };
  };
}

function w3g(mode: "eager" | "jit"): Factory {
  return (inp, ctx) => {
    const vg = valueAndGrad(w3Loss, { argnums: [0, 1] });
    const g = mode === "jit" ? jit(vg) : vg;
    const x = tensor(inp.x), w = tensor(inp.w);
    const c: Case = {
      calls: ctx.w3Calls,
      async run(want) {
        let out: Float32Array | undefined;
        for (let i = 0; i < (c.calls ?? 1); i++) {
          const [v, [gx, gw]] = g(x, w) as [Tensor, Tensor[]];
          const [, dx, dw] = await readAll([v, gx, gw]);
          if (want && i === 0) out = concat32([dx, dw]);
          dispose([v, gx, gw]);
        }
        return out;
      },
    };
    return c;
  };
}

function w6(mode: "eager" | "jit"): Factory {
  return (inp) => {
    const vg = valueAndGrad(w6Loss);
    const g = mode === "jit" ? jit(vg) : vg;
    const params = W6_PARAMS.map((k) => tensor(inp[k]));
    const x = tensor(inp.x), labels = tensor(inp.labels);
    let note: string | undefined;
    if (mode === "jit") {
      const s = programSize(vg, [params, x, labels]);
      note = `${s.eqns} eqns/step` + (s.kernels !== null ? `; compiler: ${s.kernels} kernels` : "");
    }
    return {
      note,
      async run(want) {
        const [v, grads] = g(params, x, labels) as [Tensor, Tensor[]];
        const got = await readAll([v, ...grads]);
        dispose([v, ...grads]);
        return want ? concat32([got[0], got[6], got[5]]) : undefined;
      },
    };
  };
}

function w7Loss(E: Tensor, i: Tensor, c: Tensor): Tensor {
  return np.sum(E.slice(i).mul(c));
}

function w7(mode: "eager" | "jit"): Factory {
  return (inp) => {
    const vg = valueAndGrad(w7Loss);
    const g = mode === "jit" ? jit(vg) : vg;
    const E = tensor(inp.E), c = tensor(inp.c);
    const i = np.array(Int32Array.from(inp.i.data), { dtype: "int32", shape: inp.i.shape });
    return {
      note: "E.slice(i) (gather), its gradient a scatter-add",
      async run(want) {
        const [v, dE] = g(E, i, c) as [Tensor, Tensor];
        const [lv, de] = await readAll([v, dE]);
        dispose([v, dE]);
        return want ? concat32([lv, de]) : undefined;
      },
    };
  };
}

function sortCase(mode: "eager" | "jit"): Factory {
  return (inp) => {
    const f = (x: Tensor) => np.sort(x);
    const g = mode === "jit" ? jit(f) : f;
    const x = tensor(inp.x);
    return {
      note: "np.sort (radix sort on the CPU backend)",
      async run(want) {
        const y = g(x) as Tensor;
        const d = await y.data();
        const out = want ? copy(d) : undefined;
        y.dispose?.();
        return out;
      },
    };
  };
}

/** tracegrad's factories for one mode. */
export function oursFactories(mode: "eager" | "jit"): Record<CaseKey, Factory> {
  return {
    W1: forward((x: Tensor, w: Tensor) => ours.conv(x, w, [1, 1], "SAME"), mode),
    W2: w2(mode),
    W3f: (inp, ctx) =>
      forward((x: Tensor, w: Tensor) => ours.conv(x, w, [1, 1], "VALID", NHWC), mode, ctx.w3Calls)(
        inp,
        ctx,
      ),
    W3g: w3g(mode),
    W4: forward((x: Tensor, w: Tensor) => ours.conv(x, w, [1], "VALID"), mode),
    W5: forward((x: Tensor, w: Tensor) => ours.conv(x, w, [1, 1, 1], "VALID"), mode),
    W6: w6(mode),
    W7: w7(mode),
    SORT: sortCase(mode),
    ...ours14Factories(mode),
  } as Record<CaseKey, Factory>;
}
