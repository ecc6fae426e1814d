/**
 * WGSL kernels of the windowed choosers (lib/ops/window.ts): reduceWindowMax/Min and
 * selectAndGatherAdd per output window, selectAndScatterAdd per operand element without
 * atomics (in the cpu backend's order); see `renderWindowOp`.
 * @module
 */
import type { DType } from "../../lib/dtype.ts";
import type { Chooser, SelectParams, WindowParams } from "../../lib/ops/window.ts";
import { sizeOf, stridesOf } from "../../lib/shape.ts";
import { spread, wgslType } from "./expr.ts";
import { helperSource } from "./helpers.ts";

/** The window primitives with a kernel here. */
export const WINDOW_OPS: ReadonlySet<string> = new Set([
  "reduceWindowMax",
  "reduceWindowMin",
  "selectAndGatherAdd",
  "selectAndScatterAdd",
]);

/** A rendered shader and its dispatch (workgroups of 64 invocations). */
export interface WindowKernel {
  code: string;
  dispatch: [number, number, number];
}

/**
 * Statements that leave in `bi` the flat operand offset chosen in the window at multi-index
 * `y{d}` (`-1` when it holds no element) and its value in `best`.
 */
function chooseStmts(xShape: number[], p: WindowParams, sel: Chooser, t: string): string {
  const st = stridesOf(xShape);
  const isF = t === "f32";
  const cmp = sel === "max" ? ">" : "<";
  const better = isF ? `v ${cmp} best || (tg_isnan(v) && !tg_isnan(best))` : `v ${cmp} best`;
  let s = `var bi = -1; var best: ${t} = ${t}(0);\n`;
  let off = "0";
  xShape.forEach((x, d) => {
    const D = x === 0 ? 0 : (x - 1) * p.baseDilation[d] + 1;
    const bd = p.baseDilation[d];
    s += `for (var w${d} = 0; w${d} < ${p.window[d]}; w${d}++) {\n`;
    s += `let r${d} = y${d} * ${p.strides[d]} - ${p.padding[d][0]} + w${d} * ${
      p.windowDilation[d]
    };\n`;
    s += `if (r${d} < 0 || r${d} >= ${D}${bd > 1 ? ` || r${d} % ${bd} != 0` : ""}) { continue; }\n`;
    off += ` + ${bd > 1 ? `(r${d} / ${bd})` : `r${d}`} * ${st[d]}`;
  });
  s += `let i = ${off};\nlet v = xs[i];\n`;
  s += `if (bi < 0 || ${better}) { best = v; bi = i; }\n`;
  s += "}".repeat(xShape.length) + "\n";
  return s;
}

/** `let {name}{d} = ...;` for each dim of the row-major flat index `flat` over `shape`. */
function unflat(shape: number[], flat: string, name: string): string {
  const st = stridesOf(shape);
  return shape.map((n, d) => `let ${name}${d} = (${flat} / ${st[d]}) % ${n};`).join("\n");
}

const HEADER = (dx: number, total: number, id: string) =>
  `@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let ${id} = i32((wid.y * ${dx}u + wid.x) * 64u + lid);
  if (${id} >= ${total}) { return; }
`;

/**
 * Renders one window primitive. Bindings: reduce (x, out); gather (tangent, x, out); scatter
 * (cotangent, x, out).
 * @param name Primitive name (one of {@linkcode WINDOW_OPS}).
 * @param params Its window parameters (plus the chooser for the select ops).
 * @param xShape Operand shape.
 * @param dtype Element type (float32 or int32).
 * @param maxWg Workgroups allowed per dispatch dimension.
 * @returns The shader and its dispatch.
 *
 * WGSL kernels of the windowed choosers (lib/ops/window.ts). reduceWindowMax/Min and
 * selectAndGatherAdd run one invocation per output window: a loop nest over the window taps keeps
 * the first maximum / minimum (NaN first), skipping padding and base-dilation holes.
 * selectAndScatterAdd runs one invocation per operand element: it visits the windows that contain
 * the element in row-major window order, recomputes each one's choice and adds the cotangents of
 * those that chose it (no atomics; the cpu backend adds in the same order).
 */
export function renderWindowOp(
  name: string,
  params: WindowParams | SelectParams,
  xShape: number[],
  dtype: DType,
  maxWg: number,
): WindowKernel {
  const t = wgslType(dtype);
  const sel: Chooser = name === "reduceWindowMin"
    ? "min"
    : name === "reduceWindowMax"
    ? "max"
    : (params as SelectParams).select;
  const yShape = xShape.map((x, d) => {
    const P = (x === 0 ? 0 : (x - 1) * params.baseDilation[d] + 1) + params.padding[d][0] +
      params.padding[d][1];
    const K = (params.window[d] - 1) * params.windowDilation[d] + 1;
    return P <= 0 || K > P ? 0 : Math.floor((P - K) / params.strides[d]) + 1;
  });
  const helpers = t === "f32" ? helperSource(["tg_nan"]) : "";
  const choose = chooseStmts(xShape, params, sel, t);
  if (name !== "selectAndScatterAdd") {
    const total = sizeOf(yShape);
    const dispatch = spread(Math.ceil(total / 64), maxWg);
    const reduce = name !== "selectAndGatherAdd";
    const empty = t === "i32"
      ? (sel === "max" ? "bitcast<i32>(0x80000000u)" : "2147483647")
      : t === "u32"
      ? "0u" // the reference's ±Infinity stored in a Uint32Array
      : `${sel === "max" ? "-" : ""}tg_inf()`;
    const result = reduce
      ? `select(best, ${empty}, bi < 0)`
      : `select(tv[max(bi, 0)], ${t}(0), bi < 0)`;
    const binds = reduce
      ? `@group(0) @binding(0) var<storage, read> xs: array<${t}>;\n`
      : `@group(0) @binding(0) var<storage, read> tv: array<${t}>;\n` +
        `@group(0) @binding(1) var<storage, read> xs: array<${t}>;\n`;
    const code = `${binds}@group(0) @binding(${
      reduce ? 1 : 2
    }) var<storage, read_write> out: array<${t}>;
${helpers}${HEADER(dispatch[0], total, "o")}${unflat(yShape, "o", "y")}
${choose}out[o] = ${result};
}
`;
    return { code, dispatch: total === 0 ? [0, 0, 0] : dispatch };
  }
  // scatter: one invocation per operand element; windows containing it in row-major order
  const total = sizeOf(xShape);
  const dispatch = spread(Math.ceil(total / 64), maxWg);
  const yst = stridesOf(yShape);
  let visit = "";
  xShape.forEach((_, d) => {
    const pos = `q${d} * ${params.baseDilation[d]} + ${params.padding[d][0]}`;
    visit += `for (var k${d} = ${params.window[d] - 1}; k${d} >= 0; k${d}--) {\n`;
    visit += `let e${d} = ${pos} - k${d} * ${params.windowDilation[d]};\n`;
    visit += `if (e${d} < 0 || e${d} % ${params.strides[d]} != 0 || e${d} / ${
      params.strides[d]
    } >= ${yShape[d]}) { continue; }\n`;
    visit += `let y${d} = e${d} / ${params.strides[d]};\n`;
  });
  const yflat = ["0", ...yShape.map((_, d) => `y${d} * ${yst[d]}`)].join(" + ");
  visit += `{\n${choose}if (bi == g) { acc = acc + ct[${yflat}]; }\n}\n`;
  visit += "}".repeat(xShape.length) + "\n";
  const code = `@group(0) @binding(0) var<storage, read> ct: array<${t}>;
@group(0) @binding(1) var<storage, read> xs: array<${t}>;
@group(0) @binding(2) var<storage, read_write> out: array<${t}>;
${helpers}${HEADER(dispatch[0], total, "g")}${unflat(xShape, "g", "q")}
var acc: ${t} = ${t}(0);
${visit}out[g] = acc;
}
`;
  return { code, dispatch: total === 0 ? [0, 0, 0] : dispatch };
}
