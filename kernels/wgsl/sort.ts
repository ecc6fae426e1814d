/**
 * WGSL `sort` and cumulative scans. Sort: a bitonic network per row over a permutation padded
 * to a power of two; comparing (keys..., original position) is a total order, so the result is
 * the stable sort. Every stage runs one shader whose (k, j) come from a stage table (written once
 * by an init pass, bound at a 256-byte-aligned offset per stage). Scans: Hillis-Steele passes
 * (log2 n dispatches, each element combines with the one 2^p before it), ping-ponging between
 * two temporaries and ending in the output.
 * @module
 */
import type { DType } from "../../lib/dtype.ts";
import type { Aval } from "../../lib/ops/_define.ts";
import { type CumParams, rowsOf, type SortParams } from "../../lib/ops/sort.ts";
import { sizeOf } from "../../lib/shape.ts";
import { flatMain, wgslType } from "./expr.ts";
import { helperSource } from "./helpers.ts";

/** The primitives with a kernel here. */
export const SORT_OPS: ReadonlySet<string> = new Set([
  "sort",
  "cumsum",
  "cumprod",
  "cummax",
  "cummin",
]);

/** A dispatch; `bind` entries: "in{k}", "out{k}", "t{k}" (temporaries), with optional ranges. */
export interface SortDispatch {
  code: string;
  dispatch: [number, number, number];
  bind: string[];
  ranges?: ({ offset: number; size: number } | undefined)[];
}

/** Rendered steps and their temporaries. */
export interface SortSteps {
  dispatches: SortDispatch[];
  temps: { dtype: DType; length: number }[];
}

const STAGE_WORDS = 64; // 256 bytes per stage entry: the largest storage offset alignment

/** `less(a, b)` on stored values of dtype `d` (floats: NaN greatest). */
function lessExpr(d: DType, a: string, b: string): string {
  return wgslType(d) === "f32"
    ? `(!tg_isnan(${a}) && (tg_isnan(${b}) || ${a} < ${b}))`
    : `(${a} < ${b})`;
}

/** The dispatches of a sort of `ins` (equal shapes) along `p.dimension`. */
export function renderSort(ins: Aval[], p: SortParams, maxWg: number): SortSteps {
  const shape = ins[0].shape;
  const { rows, n, post } = rowsOf(shape, p.dimension);
  let P = 1, stages = 0;
  while (P < n) P *= 2;
  for (let k = 2; k <= P; k *= 2) for (let j = k / 2; j >= 1; j /= 2) stages++;
  const off = (r: string, i: string) =>
    `((${r} / ${post}) * ${n * post} + (${r} % ${post}) + (${i}) * ${post})`;
  const keyDecls = ins.slice(0, p.numKeys).map((a, k) =>
    `@group(0) @binding(${k + 2}) var<storage, read> k${k}: array<${wgslType(a.dtype)}>;`
  ).join("\n");
  let gt = "";
  ins.slice(0, p.numKeys).forEach((a, k) => {
    gt += `  let a${k} = k${k}[${off("r", "u")}]; let b${k} = k${k}[${off("r", "v")}];
  if (${lessExpr(a.dtype, `b${k}`, `a${k}`)}) { return true; }
  if (${lessExpr(a.dtype, `a${k}`, `b${k}`)}) { return false; }
`;
  });
  const init = flatMain(Math.max(rows * P, stages), maxWg);
  const initCode = `@group(0) @binding(0) var<storage, read_write> perm: array<i32>;
@group(0) @binding(1) var<storage, read_write> st: array<i32>;
${init.head}
  if (o < ${rows * P}) { perm[o] = o % ${P}; }
  if (o < ${stages}) {
    var s = 0;
    for (var k = 2; k <= ${P}; k = k * 2) {
      for (var j = k / 2; j >= 1; j = j / 2) {
        if (s == o) { st[o * ${STAGE_WORDS}] = k; st[o * ${STAGE_WORDS} + 1] = j; }
        s = s + 1;
      }
    }
  }
}
`;
  const half = (rows * P) / 2;
  const sm = flatMain(half, maxWg);
  const stageCode = `${helperSource(["tg_nan"])}
@group(0) @binding(0) var<storage, read_write> perm: array<i32>;
@group(0) @binding(1) var<storage, read> st: array<i32>;
${keyDecls}
fn greater(r: i32, u: i32, v: i32) -> bool {
  if (u >= ${n} || v >= ${n}) { return u > v; }
${gt}  return u > v;
}
${sm.head}
  let k = st[0]; let j = st[1];
  let r = o / ${P / 2}; let q = o % ${P / 2};
  let i = (q / j) * 2 * j + (q % j);
  let l = i + j;
  let a = perm[r * ${P} + i]; let b = perm[r * ${P} + l];
  let up = (i & k) == 0;
  if (select(greater(r, b, a), greater(r, a, b), up)) {
    perm[r * ${P} + i] = b; perm[r * ${P} + l] = a;
  }
}
`;
  const ioDecls = ins.map((a, k) =>
    `@group(0) @binding(${1 + 2 * k}) var<storage, read> in${k}: array<${wgslType(a.dtype)}>;
@group(0) @binding(${2 + 2 * k}) var<storage, read_write> out${k}: array<${wgslType(a.dtype)}>;`
  ).join("\n");
  const fm = flatMain(rows * n, maxWg);
  const finalCode = `@group(0) @binding(0) var<storage, read> perm: array<i32>;
${ioDecls}
${fm.head}
  let r = o / ${n}; let i = o % ${n};
  let src = perm[r * ${P} + i];
${ins.map((_, k) => `  out${k}[${off("r", "i")}] = in${k}[${off("r", "src")}];`).join("\n")}
}
`;
  const keys = ins.slice(0, p.numKeys).map((_, k) => `in${k}`);
  const dispatches: SortDispatch[] = [{
    code: initCode,
    dispatch: init.dispatch,
    bind: ["t0", "t1"],
  }];
  for (let s = 0; s < stages; s++) {
    dispatches.push({
      code: stageCode,
      dispatch: sm.dispatch,
      bind: ["t0", "t1", ...keys],
      ranges: [undefined, { offset: s * STAGE_WORDS * 4, size: 8 }],
    });
  }
  dispatches.push({
    code: finalCode,
    dispatch: fm.dispatch,
    bind: ["t0", ...ins.flatMap((_, k) => [`in${k}`, `out${k}`])],
  });
  if (rows * n === 0) return { dispatches: [], temps: [] };
  return {
    dispatches,
    temps: [{ dtype: "int32", length: rows * P }, {
      dtype: "int32",
      length: Math.max(stages, 1) * STAGE_WORDS,
    }],
  };
}

const SCAN_OP: Record<string, (a: string, b: string, f: boolean) => string> = {
  cumsum: (a, b) => `${a} + ${b}`,
  cumprod: (a, b) => `${a} * ${b}`,
  cummax: (a, b, f) => (f ? `tg_max(${a}, ${b})` : `max(${a}, ${b})`),
  cummin: (a, b, f) => (f ? `tg_min(${a}, ${b})` : `min(${a}, ${b})`),
};

/** The dispatches of a cumulative scan along `p.axis`. */
export function renderScan(name: string, x: Aval, p: CumParams, maxWg: number): SortSteps {
  const total = sizeOf(x.shape);
  const { n, post } = rowsOf(x.shape, p.axis);
  const t = wgslType(x.dtype), isF = t === "f32";
  const m = flatMain(total, maxWg);
  const pass = (d: number) =>
    `${helperSource(isF ? ["tg_min", "tg_max"] : [])}
@group(0) @binding(0) var<storage, read> src: array<${t}>;
@group(0) @binding(1) var<storage, read_write> dst: array<${t}>;
${m.head}
  let i = (o / ${post}) % ${n};
  ${
      p.reverse
        ? `if (i + ${d} < ${n}) { dst[o] = ${
          SCAN_OP[name]("src[o]", `src[o + ${d * post}]`, isF)
        }; }`
        : `if (i >= ${d}) { dst[o] = ${SCAN_OP[name](`src[o - ${d * post}]`, "src[o]", isF)}; }`
    } else { dst[o] = src[o]; }
}
`;
  const ds: number[] = [];
  for (let d = 1; d < n; d *= 2) ds.push(d);
  if (total === 0) return { dispatches: [], temps: [] };
  if (ds.length === 0) ds.push(n); // one copying pass
  const dispatches = ds.map((d, k) => ({
    code: pass(d),
    dispatch: m.dispatch,
    bind: [k === 0 ? "in0" : `t${(k - 1) % 2}`, k === ds.length - 1 ? "out0" : `t${k % 2}`],
  }));
  return { dispatches, temps: [0, 1].map(() => ({ dtype: x.dtype, length: total })) };
}
