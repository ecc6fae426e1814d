/**
 * WGSL kernels of the scatters (gather is a fused index map, lib/ops/gather.ts). Scatters copy
 * the operand, then one invocation per update element combines atomically: float32 through a
 * compare-exchange loop on the bits (add / mul / min / max), integers with native atomics. `scatter`
 * (set) keeps the last duplicate like the host: an atomicMax over update numbers picks each
 * element's winner, which alone writes.
 * @module
 */
import type { DType } from "../../lib/dtype.ts";
import type { Aval } from "../../lib/ops/_define.ts";
import {
  type IndexGeometry,
  scatterGeometry,
  type ScatterParams,
} from "../../lib/ops/gather_params.ts";
import { sizeOf, stridesOf } from "../../lib/shape.ts";
import { flatMain, wgslType } from "./expr.ts";
import { helperSource } from "./helpers.ts";

/** The primitives with a kernel here. */
export const GATHER_OPS: ReadonlySet<string> = new Set([
  "scatter",
  "scatterAdd",
  "scatterMul",
  "scatterMin",
  "scatterMax",
]);

/** A dispatch; `bind` names the step's buffers in binding order. */
export interface IndexDispatch {
  code: string;
  dispatch: [number, number, number];
  bind: ("x" | "idx" | "upd" | "out" | "tmp")[];
}

/** Statements leaving in `off` the operand offset of element `o`, and `ok` = in bounds. */
function offsetStmts(g: IndexGeometry, clip: boolean): string {
  const lines: string[] = [];
  const st = stridesOf(g.outShape);
  g.outShape.forEach((n, d) => lines.push(`let i${d} = (o / ${st[d]}) % ${n};`));
  const batchPos = g.outShape.map((_, d) => d).filter((d) => !g.windowPos.includes(d));
  const bShape = g.idxShape.slice(0, -1), nv = g.startMap.length;
  let base = "0";
  batchPos.forEach((p, b) => (base = `(${base}) * ${bShape[b]} + i${p}`));
  lines.push(`let base = (${base}) * ${nv};`, "var ok = true;");
  const start = g.opShape.map(() => "0");
  g.startMap.forEach((d, k) => {
    const hi = g.opShape[d] - g.sizes[d];
    lines.push(`var s${k} = idx[base + ${k}];`);
    if (clip) lines.push(`s${k} = clamp(s${k}, 0, ${hi});`);
    else lines.push(`ok = ok && s${k} >= 0 && s${k} <= ${hi};`);
    start[d] = `s${k}`;
  });
  g.opBatch.forEach((d, i) => (start[d] = `i${batchPos[g.idxBatch[i]]}`));
  g.windowOperandDims.forEach((d, w) => (start[d] += ` + i${g.windowPos[w]}`));
  const opSt = stridesOf(g.opShape);
  lines.push(`let off = ${start.map((s, d) => `(${s}) * ${opSt[d]}`).join(" + ") || "0"};`);
  return lines.join("\n  ");
}

const F32_COMBINE: Record<string, (a: string, b: string) => string> = {
  scatterAdd: (a, b) => `${a} + ${b}`,
  scatterMul: (a, b) => `${a} * ${b}`,
  scatterMin: (a, b) => `tg_min(${a}, ${b})`,
  scatterMax: (a, b) => `tg_max(${a}, ${b})`,
};
const I32_ATOMIC: Record<string, string> = {
  scatterAdd: "atomicAdd",
  scatterMin: "atomicMin",
  scatterMax: "atomicMax",
};

function combineBody(name: string, t: string): string {
  if (t !== "f32" && I32_ATOMIC[name]) return `${I32_ATOMIC[name]}(&out[off], v);`;
  const bits = t === "f32";
  const f = bits ? F32_COMBINE[name] : (a: string, b: string) => `${a} * ${b}`;
  const load = bits ? "bitcast<f32>(old)" : "old";
  const store = (e: string) => (bits ? `bitcast<u32>(${e})` : e);
  return `var old = atomicLoad(&out[off]);
  loop {
    let nv = ${store(f(load, "v"))};
    if (nv == old) { break; }
    let r = atomicCompareExchangeWeak(&out[off], old, nv);
    if (r.exchanged) { break; }
    old = r.old_value;
  }`;
}

/** The dispatches of a scatter: copy, then combine (set: copy + mark, pick winners, write). */
export function renderScatter(
  name: string,
  x: Aval,
  idx: Aval,
  upd: Aval,
  p: ScatterParams,
  maxWg: number,
): { dispatches: IndexDispatch[]; temps: { dtype: DType; length: number }[] } {
  const g = scatterGeometry(name, x, idx, upd, p);
  const t = wgslType(x.dtype);
  const n = sizeOf(x.shape), nu = sizeOf(upd.shape);
  const set = name === "scatter";
  const cm = flatMain(n, maxWg);
  const copy = {
    code: `@group(0) @binding(0) var<storage, read> xs: array<${t}>;
@group(0) @binding(1) var<storage, read_write> out: array<${t}>;
${set ? "@group(0) @binding(2) var<storage, read_write> tmp: array<i32>;\n" : ""}${cm.head}
  out[o] = xs[o];${set ? "\n  tmp[o] = -1;" : ""}
}
`,
    dispatch: cm.dispatch,
    bind: set ? ["x", "out", "tmp"] as const : ["x", "out"] as const,
  };
  const um = flatMain(nu, maxWg);
  const offs = offsetStmts(g, p.mode === "clip");
  const head = `@group(0) @binding(0) var<storage, read> idx: array<i32>;
@group(0) @binding(1) var<storage, read> upd: array<${t}>;`;
  if (set) {
    const mark = `@group(0) @binding(0) var<storage, read> idx: array<i32>;
@group(0) @binding(1) var<storage, read_write> tmp: array<atomic<i32>>;
${um.head}
  ${offs}
  if (ok) { atomicMax(&tmp[off], o); }
}
`;
    const write = `${head}
@group(0) @binding(2) var<storage, read_write> tmp: array<i32>;
@group(0) @binding(3) var<storage, read_write> out: array<${t}>;
${um.head}
  ${offs}
  if (ok && tmp[off] == o) { out[off] = upd[o]; }
}
`;
    return {
      dispatches: [
        { ...copy, bind: [...copy.bind] },
        { code: mark, dispatch: um.dispatch, bind: ["idx", "tmp"] },
        { code: write, dispatch: um.dispatch, bind: ["idx", "upd", "tmp", "out"] },
      ],
      temps: [{ dtype: "int32", length: n }],
    };
  }
  if (x.dtype === "bool") {
    throw new TypeError(`${name}: bool operands are not supported on WebGPU`);
  }
  const at = t === "f32" ? "u32" : t;
  const combine = `${helperSource(t === "f32" ? ["tg_min", "tg_max"] : [])}
${head}
@group(0) @binding(2) var<storage, read_write> out: array<atomic<${at}>>;
${um.head}
  ${offs}
  if (!ok) { return; }
  let v = upd[o];
  ${combineBody(name, t)}
}
`;
  return {
    dispatches: [
      { ...copy, bind: [...copy.bind] },
      { code: combine, dispatch: um.dispatch, bind: ["idx", "upd", "out"] },
    ],
    temps: [],
  };
}
