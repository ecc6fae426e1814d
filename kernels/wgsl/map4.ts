/**
 * Map kernels four elements at a time (innermost extent a multiple of 4): identity-indexed
 * inputs and the output as vec4s, loads independent of the innermost position shared by the
 * four; see `renderMap4`.
 * @module
 */
import type { Expr, Idx, Kernel } from "../../lib/compile/kernel.ts";
import { flatIndex, hasDynIdx, ivar } from "../../lib/compile/kernel.ts";
import {
  ExprRenderer,
  phonyUses,
  type RenderedKernel,
  type RenderOptions,
  spread,
  storeValue,
  wgslType,
} from "./expr.ts";
import { helperSource } from "./helpers.ts";

/** Virtual slot of input `s`'s identity load for element `u` (rendered as `x<s>[u]`). */
const VIRTUAL = 1 << 20;

function idxUses(i: Idx, name: string): boolean {
  return i.k === "var"
    ? i.name === name
    : i.k === "bin" && (idxUses(i.a, name) || idxUses(i.b, name));
}

/** `i` with variable `from` renamed to `to`. */
export function renameIdx(i: Idx, from: string, to: string): Idx {
  if (i.k === "var") return i.name === from ? ivar(to) : i;
  if (i.k === "bin") return { ...i, a: renameIdx(i.a, from, to), b: renameIdx(i.b, from, to) };
  return i;
}

/**
 * The body for element u: identity loads of `ident` slots become virtual loads, the innermost
 * index variable `last` is renamed to `last_u`.
 */
function forElement(e: Expr, ident: Set<number>, keys: Set<string>, last: string, u: number): Expr {
  const rec = (x: Expr) => forElement(x, ident, keys, last, u);
  switch (e.k) {
    case "load":
      if (ident.has(e.input) && keys.has(JSON.stringify(e.index))) {
        return { ...e, input: VIRTUAL + e.input * 4 + u };
      }
      return { ...e, index: renameIdx(e.index, last, `${last}_${u}`) };
    case "index":
      return { ...e, index: renameIdx(e.index, last, `${last}_${u}`) };
    case "cmpIdx":
      return {
        ...e,
        a: renameIdx(e.a, last, `${last}_${u}`),
        b: renameIdx(e.b, last, `${last}_${u}`),
      };
    case "alu":
      return { ...e, args: e.args.map(rec) };
    default:
      return e;
  }
}

/** Slots whose every load reads the output position; null when the flat index `o` is used elsewhere. */
function identitySlots(k: Kernel, keys: Set<string>): Set<number> | null {
  const ok = new Set(k.inputs.map((_, i) => i));
  let flatElsewhere = false;
  const walk = (e: Expr): void => {
    if (e.k === "load") {
      if (!keys.has(JSON.stringify(e.index))) {
        ok.delete(e.input);
        if (idxUses(e.index, "o")) flatElsewhere = true;
      }
    } else if (e.k === "index") {
      if (idxUses(e.index, "o")) flatElsewhere = true;
    } else if (e.k === "cmpIdx") {
      if (idxUses(e.a, "o") || idxUses(e.b, "o")) flatElsewhere = true;
    } else if (e.k === "alu") e.args.forEach(walk);
  };
  walk(k.body);
  return flatElsewhere ? null : ok;
}

/**
 * Renders `k` four elements per invocation, or returns null where that does not apply.
 *
 * Map kernels four elements at a time: each invocation computes four consecutive outputs (the
 * innermost extent a multiple of 4), reads every input that is indexed by the output position
 * itself as one vec4 and stores one vec4. Other loads are rendered once per element, but a
 * load whose index does not involve the innermost position (a per-channel bias, a scalar) is
 * shared by the four. On software adapters every storage access is a per-lane loop, so this
 * cuts the accesses of a typical fused elementwise kernel by 2-4×.
 */
export function renderMap4(k: Kernel, opt: RenderOptions): RenderedKernel | null {
  const shape = k.outShape, n = shape.length;
  const total = shape.reduce((a, b) => a * b, 1);
  if (n === 0 || shape[n - 1] % 4 !== 0 || total < 64 || k.reduce || hasDynIdx(k)) return null;
  const last = `i${n - 1}`;
  const keys = new Set([
    JSON.stringify(ivar("o")),
    JSON.stringify(flatIndex(shape.map((_, i) => ivar(`i${i}`)), shape)),
  ]);
  const ident = identitySlots(k, keys);
  if (!ident) return null;
  const r = new ExprRenderer((slot, index) => {
    if (slot >= VIRTUAL) {
      const s = (slot - VIRTUAL) >> 2;
      return `x${s}[${(slot - VIRTUAL) & 3}]`;
    }
    return `in${slot}[${index}]`;
  });
  const vals: string[] = [];
  for (let u = 0; u < 4; u++) {
    const v = r.val(forElement(k.body, ident, keys, last, u));
    vals.push(storeValue(k.body, v, (h) => r.helpers.add(h)));
  }
  const body = r.stmts.join("\n  ");
  // index variables used: outer ones from the first element's flat index, the innermost per u
  let idx = "";
  let stride = 1;
  for (let d = n - 1; d >= 0; d--) {
    const used = (name: string) => new RegExp(`\\b${name}\\b`).test(body);
    const q = stride === 1 ? "o0" : `(o0 / ${stride})`;
    const v = d === 0 ? q : `${q} % ${shape[d]}`;
    if (d === n - 1) {
      if (used(`${last}_\\d`)) {
        idx += `let ${last} = ${v};`;
        for (let u = 0; u < 4; u++) idx += ` let ${last}_${u} = ${last} + ${u};`;
      }
    } else if (used(`i${d}`)) idx += ` let i${d} = ${v};`;
    stride *= shape[d];
  }
  const limit = idx ? String(total / 4) : "i32(arrayLength(&out))";
  const t = wgslType(k.outDtype);
  let decls = "";
  k.inputs.forEach((d, i) => {
    const ty = ident.has(i) ? `vec4<${wgslType(d)}>` : wgslType(d);
    decls += `@group(0) @binding(${i}) var<storage, read> in${i}: array<${ty}>;\n`;
  });
  decls +=
    `@group(0) @binding(${k.inputs.length}) var<storage, read_write> out: array<vec4<${t}>>;\n`;
  const loads = [...ident].filter((s) => new RegExp(`\\bx${s}\\[`).test(body))
    .map((s) => `let x${s} = in${s}[q];`).join(" ");
  const wg = opt.workgroupSize;
  const code = `${decls}${helperSource(r.helpers)}
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  ${phonyUses(k.inputs.length)}
  let q = i32((wid.y * nwg.x + wid.x) * ${wg}u + lid);
  if (q >= ${limit}) { return; }
  let o0 = q * 4;
  ${idx}
  ${loads}
  ${body}
  out[q] = vec4<${t}>(${vals.join(", ")});
}
`;
  return { code, dispatch: spread(Math.ceil(total / 4 / wg), opt.maxWorkgroupsPerDim) };
}
