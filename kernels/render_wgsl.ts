/**
 * Renders the kernel IR (lib/compile/kernel.ts) to WGSL compute shaders: map kernels (one
 * invocation per output element, four where wgsl/map4.ts applies) and reductions (a loop per
 * output element, or a workgroup tree, wgsl/reduce4.ts, when few outputs reduce many elements).
 * @module
 */
import type { DType } from "../lib/dtype.ts";
import type { Kernel } from "../lib/compile/kernel.ts";
import { helperSource } from "./wgsl/helpers.ts";
import {
  bindings,
  ExprRenderer,
  hoistConstLoads,
  load,
  phonyUses,
  type RenderedKernel,
  type RenderOptions,
  spread,
  unflatten,
  wgslType,
} from "./wgsl/expr.ts";
import { renderMap4 } from "./wgsl/map4.ts";
import { reduceLoop4 } from "./wgsl/reduce4.ts";
import { COMP_DECL, COMP_FIN, COMP_STEP, compensated } from "./wgsl/compensated.ts";

/**
 * Renders a kernel without a reduction: one output element per step. Large kernels give each
 * invocation U = 4 elements (a workgroup's lanes take consecutive elements in each step), so
 * loads of scalars are done once per 4 elements: on software adapters every storage load is a
 * per-lane loop, and broadcast scalars can be most of a kernel's loads.
 */
function renderMap(k: Kernel, opt: RenderOptions): RenderedKernel {
  const m4 = renderMap4(k, opt);
  if (m4) return m4;
  const r = new ExprRenderer(load);
  const v = r.val(k.body);
  const total = k.outShape.reduce((a, b) => a * b, 1);
  const [consts, rest] = hoistConstLoads(r.stmts);
  const body = `${rest.join("\n    ")}\n    out[o] = ${v};`;
  const wg = opt.workgroupSize;
  const U = total >= 65536 ? 4 : 1;
  const dispatch = spread(Math.ceil(total / (wg * U)), opt.maxWorkgroupsPerDim);
  const idx = unflatten(k.outShape, body);
  // Without multi-indices the shader is shape-free (bindings carry exact sizes), so one
  // pipeline serves every shape of an elementwise expression.
  const limit = idx ? String(total) : "i32(arrayLength(&out))";
  let steps = "";
  for (let u = 0; u < U; u++) {
    steps += `  {
    let o = base + ${u * wg};
    if (o < ${limit}) {
    ${idx}
    ${body}
    }
  }
`;
  }
  const code = `${bindings(k.inputs, [k.outDtype])}${helperSource(r.helpers)}
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  ${phonyUses(k.inputs.length)}
  let base = i32((wid.y * nwg.x + wid.x) * ${wg * U}u + lid);
  if (base >= ${limit}) { return; }
  ${consts.join("\n  ")}
${steps}}
`;
  return { code, dispatch };
}

function reduceInit(op: "sum" | "max" | "min", d: DType, r: ExprRenderer, empty: boolean): string {
  if (op === "sum" || (empty && d !== "float32")) return r.constant(0, d);
  if (d === "float32") return r.constant(op === "max" ? -Infinity : Infinity, d);
  if (d === "int32") return op === "max" ? "i32(-2147483648)" : "i32(2147483647)";
  return op === "max" ? "0u" : "1u";
}

function reduceStep(
  op: "sum" | "max" | "min",
  d: DType,
  h: Set<string>,
  comp = false,
): string {
  if (comp && compensated(op, d)) return COMP_STEP;
  if (op === "sum") return d === "bool" ? "acc = (acc + v) & 255u;" : "acc = acc + v;";
  if (d !== "float32") return `acc = ${op}(acc, v);`;
  h.add("tg_nan");
  return `if (v ${op === "max" ? ">" : "<"} acc || tg_isnan(v)) { acc = v; }`;
}

/** Renders a reduction kernel: one invocation per output element loops over the reduced axes. */
function renderReduceLoop(k: Kernel, opt: RenderOptions): RenderedKernel {
  const red = k.reduce!;
  const helpers = new Set<string>();
  const r = new ExprRenderer(load, { helpers });
  const v = r.val(k.body);
  const empty = red.shape.some((s) => s === 0);
  const init = reduceInit(red.op, k.outDtype, r, empty);
  const [consts, rest] = hoistConstLoads(r.stmts);
  const comp = compensated(red.op, k.outDtype);
  let loop = `${rest.join("\n      ")}\n      let v = ${v};\n      ${
    reduceStep(red.op, k.outDtype, helpers, true)
  }`;
  for (let d = red.shape.length - 1; d >= 0; d--) {
    loop = `for (var r${d} = 0; r${d} < ${red.shape[d]}; r${d}++) {\n      ${loop}\n    }`;
  }
  if (empty) {
    loop = "";
    consts.length = 0;
  }
  const ep = new ExprRenderer(load, { helpers, prefix: "e" });
  const res = k.epilogue ? ep.val(k.epilogue) : "acc";
  const total = k.outShape.reduce((a, b) => a * b, 1);
  const wg = opt.workgroupSize;
  const dispatch = spread(Math.ceil(total / wg), opt.maxWorkgroupsPerDim);
  const body = `${loop}\n${ep.stmts.join("\n  ")}\n${res}`;
  const code = `${bindings(k.inputs, [k.outDtype])}${helperSource(helpers)}
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  ${phonyUses(k.inputs.length)}
  let o = i32((wid.y * ${dispatch[0]}u + wid.x) * ${wg}u + lid);
  if (o >= ${total}) { return; }
  ${unflatten(k.outShape, body)}
  var acc: ${wgslType(k.outDtype)} = ${init};
  ${comp ? COMP_DECL : ""}
  ${consts.join("\n  ")}
  ${loop}
  ${comp ? COMP_FIN : ""}
  ${ep.stmts.join("\n  ")}
  out[o] = ${res};
}
`;
  return { code, dispatch };
}

/**
 * Renders a reduction with one workgroup per output element and a tree in workgroup memory.
 * With `P > 1` each output's reduction is cut into P slices, one workgroup each, whose results
 * (no epilogue) go to a partials buffer `out[o * P + p]` for `renderCombine`.
 */
function renderReduceTree(k: Kernel, opt: RenderOptions, wg: number, P = 1): RenderedKernel {
  const red = k.reduce!;
  const helpers = new Set<string>();
  const r = new ExprRenderer(load, { helpers });
  const v = r.val(k.body);
  const rTotal = red.shape.reduce((a, b) => a * b, 1);
  const t = wgslType(k.outDtype);
  const init = reduceInit(red.op, k.outDtype, r, false);
  const step = reduceStep(red.op, k.outDtype, helpers);
  const comp = compensated(red.op, k.outDtype);
  const loopStep = reduceStep(red.op, k.outDtype, helpers, true);
  const [consts, rest] = hoistConstLoads(r.stmts);
  const inner = `${rest.join("\n    ")}\n    let v = ${v};\n    ${loopStep}`;
  const ep = new ExprRenderer(load, { helpers, prefix: "e" });
  const res = k.epilogue ? ep.val(k.epilogue) : "acc";
  const total = k.outShape.reduce((a, b) => a * b, 1);
  const dispatch = spread(total * P, opt.maxWorkgroupsPerDim);
  const all = `${inner}\n${ep.stmts.join("\n")}\n${res}`;
  const chunk = Math.ceil(rTotal / P / 4) * 4;
  const [lo, hi] = P === 1
    ? ["0", `${rTotal}`]
    : [`p * ${chunk}`, `min(p * ${chunk} + ${chunk}, ${rTotal})`];
  let decls = bindings(k.inputs, [k.outDtype]);
  let loop = `for (var rf = ${lo} + i32(lid); rf < ${hi}; rf += ${wg}) {
    ${unflatten(red.shape, inner, "rf", "r")}
    ${inner}
  }`;
  const l4 = reduceLoop4(k, r, loopStep, lo, hi, wg, k.outDtype);
  if (l4) {
    [decls, loop] = [l4.decls, l4.loop];
    consts.splice(0, consts.length, ...l4.consts);
  }
  const code = `${decls}${helperSource(helpers)}
var<workgroup> part: array<${t}, ${wg}>;
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  ${phonyUses(k.inputs.length)}
  let wo = i32(wid.y * ${dispatch[0]}u + wid.x);
  let o = wo / ${P}; let p = wo % ${P};
  ${unflatten(k.outShape, all)}
  var acc: ${t} = ${init};
  ${comp ? COMP_DECL : ""}
  ${consts.join("\n  ")}
  ${loop}
  ${comp ? COMP_FIN : ""}
  part[lid] = acc;
  workgroupBarrier();
  for (var s = ${wg / 2}u; s > 0u; s = s >> 1u) {
    if (lid < s) {
      acc = part[lid];
      let v = part[lid + s];
      ${step}
      part[lid] = acc;
    }
    workgroupBarrier();
  }
  if (lid == 0u && o < ${total}) {
    acc = part[0];
    ${P === 1 ? `${ep.stmts.join("\n    ")}\n    out[o] = ${res};` : "out[wo] = acc;"}
  }
}
`;
  return { code, dispatch };
}

/** The second pass of a split reduction: one invocation per output folds its P partials. */
function renderCombine(k: Kernel, opt: RenderOptions, P: number): RenderedKernel["combine"] {
  const red = k.reduce!;
  const helpers = new Set<string>();
  const r = new ExprRenderer(load, { helpers });
  const t = wgslType(k.outDtype);
  const init = reduceInit(red.op, k.outDtype, r, false);
  const step = reduceStep(red.op, k.outDtype, helpers, true);
  const comp = compensated(red.op, k.outDtype);
  const ep = new ExprRenderer(load, { helpers, prefix: "e" });
  const res = k.epilogue ? ep.val(k.epilogue) : "acc";
  const total = k.outShape.reduce((a, b) => a * b, 1);
  const wg = opt.workgroupSize;
  const dispatch = spread(Math.ceil(total / wg), opt.maxWorkgroupsPerDim);
  const n = k.inputs.length;
  const tail = `${ep.stmts.join("\n  ")}\n  out[o] = ${res};`;
  const code = `${
    bindings(k.inputs, [])
  }@group(0) @binding(${n}) var<storage, read> partial: array<${t}>;
@group(0) @binding(${n + 1}) var<storage, read_write> out: array<${t}>;
${helperSource(helpers)}
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  ${phonyUses(n)}
  let o = i32((wid.y * ${dispatch[0]}u + wid.x) * ${wg}u + lid);
  if (o >= ${total}) { return; }
  ${unflatten(k.outShape, tail)}
  var acc: ${t} = ${init};
  ${comp ? COMP_DECL : ""}
  for (var p = 0; p < ${P}; p++) {
    let v = partial[o * ${P} + p];
    ${step}
  }
  ${comp ? COMP_FIN : ""}
  ${tail}
}
`;
  return { code, dispatch, partials: total * P };
}

/**
 * Lanes of a reduction tree: 64, or the largest power of two (at least 4) whose partials fit in
 * `limit` bytes of workgroup memory; 0 when not even 4 fit (the reduction then loops instead).
 */
function treeLanes(limit: number): number {
  let wg = 64; // of 4-byte words (f32, i32, u32)
  while (wg >= 4 && wg * 4 > limit) wg /= 2;
  return wg >= 4 ? wg : 0;
}

/** Renders any kernel of the IR to a WGSL compute shader. */
export function renderKernelWgsl(k: Kernel, opt: RenderOptions): RenderedKernel {
  if (!k.reduce) return renderMap(k, opt);
  const rTotal = k.reduce.shape.reduce((a, b) => a * b, 1);
  const total = k.outShape.reduce((a, b) => a * b, 1);
  if (rTotal >= 128 && total <= 2048) {
    // few outputs of long reductions: slice each so that about 64 workgroups share the work
    // (a single workgroup runs on one CPU thread on software adapters)
    const P = Math.min(Math.ceil(64 / total), Math.floor(rTotal / 4096));
    const wg = treeLanes(opt.maxWorkgroupStorage ?? 16384);
    if (wg === 0) return renderReduceLoop(k, opt);
    if (P < 2) return renderReduceTree(k, opt, wg);
    return { ...renderReduceTree(k, opt, wg, P), combine: renderCombine(k, opt, P) };
  }
  return renderReduceLoop(k, opt);
}
