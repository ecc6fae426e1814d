// deno-lint-ignore-file no-explicit-any -- tfjs is loaded dynamically (optional peer)
/**
 * Peer: TensorFlow.js, `cpu` backend (@tensorflow/tfjs) and `wasm` backend
 * (@tensorflow/tfjs-backend-wasm, XNNPACK; its .wasm files are loaded from the package's dist
 * folder, found with import.meta.resolve, so it works offline). tfjs is channels-last: inputs are
 * handed to it in NHWC / HWIO (converted once, outside the timing), and check values converted
 * back. The wasm backend has no conv backprop kernels; its gradient cases fail and say why.
 * @module
 */
import { type Case, type Factory, type Impl, permute } from "./_harness.ts";
import { concat32, W6_PARAMS } from "./_workloads.ts";

/** The pinned versions. */
export const TFJS_SPEC = "npm:@tensorflow/tfjs@4.22.0";
export const TFJS_WASM_SPEC = "npm:@tensorflow/tfjs-backend-wasm@4.22.0";

/** What loading found. */
export interface TfjsLoad {
  impls: Impl[];
  version: string;
  /** Why the wasm backend is missing, if it is. */
  wasmError?: string;
  /** Where the .wasm files were taken from. */
  wasmDir?: string;
}

async function quietly<T>(f: () => Promise<T>): Promise<T> {
  const { log, warn } = console;
  const keep = (w: (...a: unknown[]) => void) => (...a: unknown[]) => {
    if (!String(a[0] ?? "").includes("tfjs-node") && !/^=+$/.test(String(a[0] ?? "").trim())) {
      w(...a);
    }
  };
  console.log = keep(log);
  console.warn = keep(warn);
  try {
    return await f();
  } finally {
    console.log = log;
    console.warn = warn;
  }
}

function wasmDistDir(): string {
  try {
    const u = new URL(".", import.meta.resolve(TFJS_WASM_SPEC));
    if (u.protocol === "file:") return decodeURIComponent(u.pathname);
  } catch { /* fall back below */ }
  return decodeURIComponent(
    new URL("../node_modules/@tensorflow/tfjs-backend-wasm/dist/", import.meta.url).pathname,
  );
}

/** Loads tfjs; returns rows "tfjs cpu" and (when it initialises) "tfjs wasm". */
export async function loadTfjs(): Promise<TfjsLoad> {
  const tf: any = await import(TFJS_SPEC);
  const impls: Impl[] = [];
  if (!(await quietly(() => tf.setBackend("cpu")))) {
    throw new Error("tf.setBackend('cpu') returned false");
  }
  // the cpu backend greets Node users (suggesting tfjs-node) on its first write; skip that
  const cpu = tf.backend();
  if (cpu && "firstUse" in cpu) cpu.firstUse = false;
  impls.push({
    name: "tfjs cpu",
    factories: factories(tf),
    enter: () => quietly(() => tf.setBackend("cpu")),
  });
  let wasmError: string | undefined, wasmDir: string | undefined;
  try {
    const wasm: any = await import(TFJS_WASM_SPEC);
    wasmDir = wasmDistDir();
    wasm.setWasmPaths(wasmDir.endsWith("/") ? wasmDir : wasmDir + "/");
    if (!(await quietly(() => tf.setBackend("wasm")))) {
      throw new Error(`wasm backend failed to initialise (wasm files from ${wasmDir})`);
    }
    const threads = wasm.getThreadsCount?.() ?? "?";
    impls.push({
      name: "tfjs wasm",
      factories: factories(tf, `${threads} thread(s)`),
      enter: () => quietly(() => tf.setBackend("wasm")),
    });
  } catch (e) {
    wasmError = (e as Error).message ?? String(e);
  }
  await tf.setBackend("cpu");
  return { impls, version: tf.version?.tfjs ?? "4.22.0", wasmError, wasmDir };
}

function factories(tf: any, note?: string): Record<string, Factory> {
  const t = (data: Float32Array, shape: number[]) => tf.tensor(data, shape, "float32");
  /** OI+spatial → spatial+IO. */
  const kernelLast = (a: { data: Float32Array; shape: number[] }) => {
    const n = a.shape.length;
    const perm = [...Array.from({ length: n - 2 }, (_, i) => i + 2), 1, 0];
    return t(permute(a.data, a.shape, perm), perm.map((p) => a.shape[p]));
  };
  /** NC+spatial → N+spatial+C. */
  const channelsLast = (a: { data: Float32Array; shape: number[] }) => {
    const n = a.shape.length;
    const perm = [0, ...Array.from({ length: n - 2 }, (_, i) => i + 2), 1];
    return t(permute(a.data, a.shape, perm), perm.map((p) => a.shape[p]));
  };
  /** N+spatial+C data back to NC+spatial. */
  const toFirst = (d: Float32Array, shape: number[]) => {
    const n = shape.length;
    return permute(d, shape, [0, n - 1, ...Array.from({ length: n - 2 }, (_, i) => i + 1)]);
  };
  /** spatial+IO data back to OI+spatial. */
  const kernelFirst = (d: Float32Array, shape: number[]) => {
    const n = shape.length;
    return permute(d, shape, [n - 1, n - 2, ...Array.from({ length: n - 2 }, (_, i) => i)]);
  };

  const forward = (
    make: (inp: any) => [any, any],
    op: (x: any, w: any) => any,
    back: boolean,
    w3 = false,
  ): Factory =>
  (inp, ctx) => {
    const [x, w] = make(inp);
    const c: Case = {
      calls: w3 ? ctx.w3Calls : undefined,
      note,
      async run(want) {
        let out: Float32Array | undefined;
        for (let i = 0; i < (c.calls ?? 1); i++) {
          const y = op(x, w);
          const d = await y.data();
          if (want && i === 0) out = back ? toFirst(d, y.shape) : Float32Array.from(d);
          y.dispose();
        }
        return out;
      },
      dispose() {
        x.dispose();
        w.dispose();
      },
    };
    return c;
  };

  const w2: Factory = (inp) => {
    const x = channelsLast(inp.x), w = kernelLast(inp.w), b = t(inp.b.data, inp.b.shape);
    const f = (x: any, w: any, b: any) => tf.sum(tf.relu(tf.add(tf.conv2d(x, w, 1, "same"), b)));
    const vg = tf.valueAndGrads(f);
    return {
      note,
      async run(want) {
        const { value, grads } = vg([x, w, b]);
        const [, , dw, db] = await Promise.all([value, ...grads].map((a: any) => a.data()));
        const shape = grads[1].shape;
        for (const a of [value, ...grads]) a.dispose();
        return want ? concat32([db, kernelFirst(dw, shape)]) : undefined;
      },
      dispose() {
        for (const a of [x, w, b]) a.dispose();
      },
    };
  };

  const w3g: Factory = (inp, ctx) => {
    const x = t(inp.x.data, inp.x.shape), w = t(inp.w.data, inp.w.shape);
    const vg = tf.valueAndGrads((x: any, w: any) => tf.sum(tf.conv2d(x, w, 1, "valid")));
    const c: Case = {
      calls: ctx.w3Calls,
      note,
      async run(want) {
        let out: Float32Array | undefined;
        for (let i = 0; i < (c.calls ?? 1); i++) {
          const { value, grads } = vg([x, w]);
          const [, dx, dw] = await Promise.all([value, ...grads].map((a: any) => a.data()));
          if (want && i === 0) out = concat32([dx, dw]);
          for (const a of [value, ...grads]) a.dispose();
        }
        return out;
      },
      dispose() {
        x.dispose();
        w.dispose();
      },
    };
    return c;
  };

  const w6: Factory = (inp) => {
    const n = inp.x.shape[0];
    const x = channelsLast(inp.x), labels = t(inp.labels.data, inp.labels.shape);
    const params = W6_PARAMS.map((
      k,
    ) => (inp[k].shape.length === 4 ? kernelLast(inp[k]) : t(inp[k].data, inp[k].shape)));
    const loss = (w1: any, b1: any, w2: any, b2: any, wd: any, bd: any) => {
      let h = tf.maxPool(tf.relu(tf.add(tf.conv2d(x, w1, 1, "valid"), b1)), 2, 2, "valid");
      h = tf.maxPool(tf.relu(tf.add(tf.conv2d(h, w2, 1, "valid"), b2)), 2, 2, "valid");
      const flat = tf.reshape(tf.transpose(h, [0, 3, 1, 2]), [n, 256]);
      const lp = tf.logSoftmax(tf.add(tf.matMul(flat, wd), bd));
      return tf.neg(tf.mean(tf.sum(tf.mul(lp, labels), -1)));
    };
    const vg = tf.valueAndGrads(loss);
    return {
      note,
      async run(want) {
        const { value, grads } = vg(params);
        const got = await Promise.all([value, ...grads].map((a: any) => a.data()));
        for (const a of [value, ...grads]) a.dispose();
        return want ? concat32([got[0], got[6], got[5]]) : undefined;
      },
      dispose() {
        for (const a of [x, labels, ...params]) a.dispose();
      },
    };
  };

  const w7: Factory = (inp) => {
    const E = t(inp.E.data, inp.E.shape), c = t(inp.c.data, inp.c.shape);
    const i = tf.tensor(Int32Array.from(inp.i.data), inp.i.shape, "int32");
    // tf.gather's own gradient is UnsortedSegmentSum: one masked pass per table row on cpu
    // (minutes here) and no wasm kernel; a user would write it as a scatterND (sums duplicates)
    const rows = tf.reshape(i, [-1, 1]);
    const take = tf.customGrad((e: any, save: any) => {
      save([e]);
      return { value: tf.gather(e, i), gradFunc: (dy: any) => tf.scatterND(rows, dy, e.shape) };
    });
    const vg = tf.valueAndGrad((e: any) => tf.sum(tf.mul(take(e), c)));
    const what = "tf.gather, gradient tf.scatterND (tf.customGrad)";
    return {
      note: note ? `${what}; ${note}` : what,
      async run(want) {
        const { value, grad } = vg(E);
        const [lv, de] = await Promise.all([value.data(), grad.data()]);
        value.dispose();
        grad.dispose();
        return want ? concat32([lv, de]) : undefined;
      },
      dispose() {
        for (const a of [E, i, c, rows]) a.dispose();
      },
    };
  };
  const sortCase: Factory = (inp) => {
    const x = t(inp.x.data, inp.x.shape);
    return {
      note: "tf.topk(x, n) (descending; no sort op), reversed",
      async run(want) {
        const { values, indices } = tf.topk(x, inp.x.shape[0]);
        const r = tf.reverse(values);
        const d = await r.data();
        for (const a of [values, indices, r]) a.dispose();
        return want ? Float32Array.from(d) : undefined;
      },
      dispose() {
        x.dispose();
      },
    };
  };

  return {
    W7: w7,
    SORT: sortCase,
    W1: forward(
      (inp) => [channelsLast(inp.x), kernelLast(inp.w)],
      (x, w) => tf.conv2d(x, w, 1, "same"),
      true,
    ),
    W2: w2,
    W3f: forward(
      (inp) => [t(inp.x.data, inp.x.shape), t(inp.w.data, inp.w.shape)],
      (x, w) => tf.conv2d(x, w, 1, "valid"),
      false,
      true,
    ),
    W3g: w3g,
    W4: forward(
      (inp) => [t(inp.x.data, [1, inp.x.shape[2], 1]), t(inp.w.data, [inp.w.shape[2], 1, 1])],
      (x, w) => tf.conv1d(x, w, 1, "valid"),
      false,
    ),
    W5: forward(
      (inp) => [channelsLast(inp.x), kernelLast(inp.w)],
      (x, w) => tf.conv3d(x, w, 1, "valid"),
      true,
    ),
    W6: w6,
  };
}
