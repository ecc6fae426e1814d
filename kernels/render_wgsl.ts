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
  loadF16,
  narrow,
  phonyUses,
  type RenderedKernel,
  type RenderOptions,
  spread,
  storeValue,
  unflatten,
  wgslType,
} from "./wgsl/expr.ts";
import { renderMap4 } from "./wgsl/map4.ts";
import { reduceLoop4 } from "./wgsl/reduce4.ts";
import { COMP_DECL, COMP_FIN, COMP_STEP, compensated } from "./wgsl/compensated.ts";
import { ENABLE_F16, storageType, toStorage } from "./wgsl/f16.ts";

/** Whether kernel `k` touches float16 arrays stored as `f16` (render option `f16`). */
function usesF16(k: Kernel, opt: RenderOptions): boolean {
  return opt.f16 === true && (k.outDtype === "float16" || k.inputs.includes("float16"));
}

/**
 * Renders a kernel without a reduction: one output element per step. Large kernels give each
 * invocation U = 4 elements (a workgroup's lanes take consecutive elements in each step), so
 * loads of scalars are done once per 4 elements: on software adapters every storage load is a
 * per-lane loop, and broadcast scalars can be most of a kernel's loads.
 */
function renderMap(k: Kernel, opt: RenderOptions): RenderedKernel {
  const f16 = usesF16(k, opt);
  const m4 = f16 ? null : renderMap4(k, opt);
  if (m4) return m4;
  const r = new ExprRenderer(f16 ? loadF16 : load);
  const v = r.val(k.body);
  const total = k.outShape.reduce((a, b) => a * b, 1);
  const [consts, rest] = hoistConstLoads(r.stmts);
  const use = (h: string) => r.helpers.add(h);
  const body = `${rest.join("\n    ")}\n    out[o] = ${
    toStorage(k.outDtype, f16, storeValue(k.body, v, use), use)
  };`;
  const wg = opt.workgroupSize;
  const U = total >= 65536 ? 4 : 1;
  const dispatch = spread(Math.ceil(total / (wg * U)), opt.maxWorkgroupsPerDim);
  const idx = unflatten(k.outShape, body);
  // Without multi-indices the shader is shape-free (bindings carry exact sizes), so one
  // pipeline serves every shape of an elementwise expression.
  // (an f16 output's binding is padded to whole words: its arrayLength may exceed the size)
  const limit = idx || f16 ? String(total) : "i32(arrayLength(&out))";
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
  const code = `${bindings(k.inputs, [k.outDtype], f16)}${helperSource(r.helpers)}
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

/** A value stored to an output of dtype `d` (in range: see `narrow`; `f16`: to f16 storage). */
function store(d: DType, v: string, helpers: Set<string>, f16 = false): string {
  const use = (h: string) => helpers.add(h);
  return toStorage(d, f16, narrow(d, v, use), use);
}

function reduceInit(op: "sum" | "max" | "min", d: DType, r: ExprRenderer, empty: boolean): string {
  const t = wgslType(d);
  if (op === "sum" || (empty && t !== "f32")) return r.constant(0, d);
  if (t === "f32") return r.constant(op === "max" ? -Infinity : Infinity, "float32");
  if (t === "i32") return op === "max" ? "i32(-2147483648)" : "i32(2147483647)";
  return op === "max" ? "0u" : d === "bool" ? "1u" : "4294967295u";
}

function reduceStep(
  op: "sum" | "max" | "min",
  d: DType,
  h: Set<string>,
  comp = false,
): string {
  if (comp && compensated(op, d)) return COMP_STEP;
  if (op === "sum") return d === "bool" ? "acc = (acc + v) & 255u;" : "acc = acc + v;";
  if (wgslType(d) !== "f32") return `acc = ${op}(acc, v);`;
  h.add("tg_nan");
  return `if (v ${op === "max" ? ">" : "<"} acc || tg_isnan(v)) { acc = v; }`;
}

/** Renders a reduction kernel: one invocation per output element loops over the reduced axes. */
function renderReduceLoop(k: Kernel, opt: RenderOptions): RenderedKernel {
  const red = k.reduce!;
  const helpers = new Set<string>();
  const f16 = usesF16(k, opt);
  const ld = f16 ? loadF16 : load;
  const r = new ExprRenderer(ld, { helpers });
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
  const ep = new ExprRenderer(ld, { helpers, prefix: "e" });
  const res = k.epilogue ? ep.val(k.epilogue) : "acc";
  const total = k.outShape.reduce((a, b) => a * b, 1);
  const wg = opt.workgroupSize;
  const dispatch = spread(Math.ceil(total / wg), opt.maxWorkgroupsPerDim);
  const body = `${loop}\n${ep.stmts.join("\n  ")}\n${res}`;
  const outV = store(k.outDtype, res, helpers, f16);
  const code = `${bindings(k.inputs, [k.outDtype], f16)}${helperSource(helpers)}
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
  out[o] = ${outV};
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
  const f16 = usesF16(k, opt);
  const ld = f16 ? loadF16 : load;
  const r = new ExprRenderer(ld, { helpers });
  const v = r.val(k.body);
  const rTotal = red.shape.reduce((a, b) => a * b, 1);
  const t = wgslType(k.outDtype);
  const init = reduceInit(red.op, k.outDtype, r, false);
  const step = reduceStep(red.op, k.outDtype, helpers);
  const comp = compensated(red.op, k.outDtype);
  const loopStep = reduceStep(red.op, k.outDtype, helpers, true);
  const [consts, rest] = hoistConstLoads(r.stmts);
  const inner = `${rest.join("\n    ")}\n    let v = ${v};\n    ${loopStep}`;
  const ep = new ExprRenderer(ld, { helpers, prefix: "e" });
  const res = k.epilogue ? ep.val(k.epilogue) : "acc";
  const total = k.outShape.reduce((a, b) => a * b, 1);
  const dispatch = spread(total * P, opt.maxWorkgroupsPerDim);
  const all = `${inner}\n${ep.stmts.join("\n")}\n${res}`;
  const outV = store(k.outDtype, res, helpers, f16);
  const chunk = Math.ceil(rTotal / P / 4) * 4;
  const [lo, hi] = P === 1
    ? ["0", `${rTotal}`]
    : [`p * ${chunk}`, `min(p * ${chunk} + ${chunk}, ${rTotal})`];
  // split (P > 1): `out` is the f32 partials temporary
  let decls = bindings(k.inputs, [P > 1 && f16 ? "float32" : k.outDtype], f16);
  let loop = `for (var rf = ${lo} + i32(lid); rf < ${hi}; rf += ${wg}) {
    ${unflatten(red.shape, inner, "rf", "r")}
    ${inner}
  }`;
  const l4 = f16 ? null : reduceLoop4(k, r, loopStep, lo, hi, wg, k.outDtype);
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
    ${P === 1 ? `${ep.stmts.join("\n    ")}\n    out[o] = ${outV};` : "out[wo] = acc;"}
  }
}
`;
  return { code, dispatch };
}

/** The second pass of a split reduction: one invocation per output folds its P partials. */
function renderCombine(k: Kernel, opt: RenderOptions, P: number): RenderedKernel["combine"] {
  const red = k.reduce!;
  const helpers = new Set<string>();
  const f16 = usesF16(k, opt);
  const r = new ExprRenderer(f16 ? loadF16 : load, { helpers });
  const t = wgslType(k.outDtype);
  const init = reduceInit(red.op, k.outDtype, r, false);
  const step = reduceStep(red.op, k.outDtype, helpers, true);
  const comp = compensated(red.op, k.outDtype);
  const ep = new ExprRenderer(f16 ? loadF16 : load, { helpers, prefix: "e" });
  const res = k.epilogue ? ep.val(k.epilogue) : "acc";
  const total = k.outShape.reduce((a, b) => a * b, 1);
  const wg = opt.workgroupSize;
  const dispatch = spread(Math.ceil(total / wg), opt.maxWorkgroupsPerDim);
  const n = k.inputs.length;
  const tail = `${ep.stmts.join("\n  ")}\n  out[o] = ${store(k.outDtype, res, helpers, f16)};`;
  const decls = bindings(k.inputs, [], f16);
  const code = `${
    f16 && !decls.startsWith(ENABLE_F16) ? ENABLE_F16 : ""
  }${decls}@group(0) @binding(${n}) var<storage, read> partial: array<${t}>;
@group(0) @binding(${n + 1}) var<storage, read_write> out: array<${storageType(k.outDtype, f16)}>;
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
