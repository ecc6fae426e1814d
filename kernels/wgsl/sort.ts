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
import { ENABLE_F16, fromStorage, storageType, toStorage } from "./f16.ts";

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

/**
 * The dispatches of a sort of `ins` (equal shapes) along `p.dimension`; `f16`: float16 operands
 * are f16 storage (keys compared as their exact f32 values, moved as they are).
 */
export function renderSort(ins: Aval[], p: SortParams, maxWg: number, f16 = false): SortSteps {
  const shape = ins[0].shape;
  const en = f16 && ins.some((a) => a.dtype === "float16") ? ENABLE_F16 : "";
  const ty = (d: DType) => storageType(d, f16);
  const { rows, n, post } = rowsOf(shape, p.dimension);
  let P = 1, stages = 0;
  while (P < n) P *= 2;
  for (let k = 2; k <= P; k *= 2) for (let j = k / 2; j >= 1; j /= 2) stages++;
  const off = (r: string, i: string) =>
    `((${r} / ${post}) * ${n * post} + (${r} % ${post}) + (${i}) * ${post})`;
  const keyDecls = ins.slice(0, p.numKeys).map((a, k) =>
    `@group(0) @binding(${k + 2}) var<storage, read> k${k}: array<${ty(a.dtype)}>;`
  ).join("\n");
  let gt = "";
  ins.slice(0, p.numKeys).forEach((a, k) => {
    const ld = (i: string) => fromStorage(a.dtype, f16, `k${k}[${off("r", i)}]`);
    gt += `  let a${k} = ${ld("u")}; let b${k} = ${ld("v")};
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
  const stageCode = `${en}${helperSource(["tg_nan"])}
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
    `@group(0) @binding(${1 + 2 * k}) var<storage, read> in${k}: array<${ty(a.dtype)}>;
@group(0) @binding(${2 + 2 * k}) var<storage, read_write> out${k}: array<${ty(a.dtype)}>;`
  ).join("\n");
  const fm = flatMain(rows * n, maxWg);
  const finalCode = `${en}@group(0) @binding(0) var<storage, read> perm: array<i32>;
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

/**
 * The dispatches of a cumulative scan along `p.axis`; `f16`: a float16 operand and result are f16
 * storage, the passes in between f32 (combined in float32, rounded once).
 */
export function renderScan(
  name: string,
  x: Aval,
  p: CumParams,
  maxWg: number,
  f16 = false,
): SortSteps {
  const total = sizeOf(x.shape);
  const { n, post } = rowsOf(x.shape, p.axis);
  const t = wgslType(x.dtype), isF = t === "f32";
  const m = flatMain(total, maxWg);
  const h = (first: boolean) => f16 && first && x.dtype === "float16";
  const pass = (d: number, first: boolean, last: boolean) => {
    const helpers = new Set(isF ? ["tg_min", "tg_max"] : []);
    const ld = (i: string) => fromStorage(x.dtype, h(first), `src[${i}]`);
    const st = (v: string) => toStorage(x.dtype, h(last), v, (n) => helpers.add(n));
    const body = p.reverse
      ? `if (i + ${d} < ${n}) { dst[o] = ${
        st(SCAN_OP[name](ld("o"), ld(`o + ${d * post}`), isF))
      }; }`
      : `if (i >= ${d}) { dst[o] = ${st(SCAN_OP[name](ld(`o - ${d * post}`), ld("o"), isF))}; }`;
    return `${h(first) || h(last) ? ENABLE_F16 : ""}${helperSource(helpers)}
@group(0) @binding(0) var<storage, read> src: array<${h(first) ? "f16" : t}>;
@group(0) @binding(1) var<storage, read_write> dst: array<${h(last) ? "f16" : t}>;
${m.head}
  let i = (o / ${post}) % ${n};
  ${body} else { dst[o] = ${st(ld("o"))}; }
}
`;
  };
  const ds: number[] = [];
  for (let d = 1; d < n; d *= 2) ds.push(d);
  if (total === 0) return { dispatches: [], temps: [] };
  if (ds.length === 0) ds.push(n); // one copying pass
  const dispatches = ds.map((d, k) => ({
    code: pass(d, k === 0, k === ds.length - 1),
    dispatch: m.dispatch,
    bind: [k === 0 ? "in0" : `t${(k - 1) % 2}`, k === ds.length - 1 ? "out0" : `t${k % 2}`],
  }));
  const tempDtype = f16 && x.dtype === "float16" ? "float32" : x.dtype;
  return { dispatches, temps: [0, 1].map(() => ({ dtype: tempDtype, length: total })) };
}
