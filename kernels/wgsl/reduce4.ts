/**
 * The loop of a workgroup-tree reduction taking four reduced elements per step: inputs read at
 * the innermost reduced position (plus multiples of 4) as vec4s; see `reduceLoop4`.
 * @module
 */
import type { DType } from "../../lib/dtype.ts";
import { type Expr, hasDynIdx, type Idx, type Kernel } from "../../lib/compile/kernel.ts";
import { ExprRenderer, hoistConstLoads, unflatten, wgslType } from "./expr.ts";
import { renameIdx } from "./map4.ts";

const VIRTUAL = 1 << 20;

/** Coefficients of an index that is a sum of variables times literals (null otherwise). */
function affine(i: Idx): Map<string, number> | null {
  if (i.k === "lit") return new Map([["", i.v]]);
  if (i.k === "var") return new Map([[i.name, 1]]);
  if (i.k === "dyn") return null;
  if (i.op === "+") {
    const a = affine(i.a), b = affine(i.b);
    if (!a || !b) return null;
    for (const [k, v] of b) a.set(k, (a.get(k) ?? 0) + v);
    return a;
  }
  if (i.op === "*") {
    const [x, c] = i.b.k === "lit" ? [i.a, i.b.v] : i.a.k === "lit" ? [i.b, i.a.v] : [null, 0];
    const a = x && affine(x);
    if (!a) return null;
    for (const [k, v] of a) a.set(k, v * c);
    return a;
  }
  return null;
}

/** True when four consecutive values of `last` read one aligned vec4 at this index. */
function vecIndex(i: Idx, last: string): boolean {
  const a = affine(i);
  if (!a || a.get(last) !== 1) return false;
  return [...a].every(([k, v]) => k === last || v % 4 === 0);
}

function loads(e: Expr, out: (Expr & { k: "load" })[]): void {
  if (e.k === "load") out.push(e);
  else if (e.k === "alu") e.args.forEach((x) => loads(x, out));
}

function forElement(e: Expr, vec: Set<number>, last: string, u: number): Expr {
  const rn = (i: Idx) => renameIdx(i, last, `${last}_${u}`);
  switch (e.k) {
    case "load":
      return vec.has(e.input)
        ? { ...e, input: VIRTUAL + e.input * 4 + u }
        : { ...e, index: rn(e.index) };
    case "index":
      return { ...e, index: rn(e.index) };
    case "cmpIdx":
      return { ...e, a: rn(e.a), b: rn(e.b) };
    case "alu":
      return { ...e, args: e.args.map((x) => forElement(x, vec, last, u)) };
    default:
      return e;
  }
}

/** What the tree kernel splices in: bindings, loads hoisted before the loop, the loop. */
export interface Loop4 {
  decls: string;
  consts: string[];
  loop: string;
}

/**
 * The four-wide loop over flat reduced positions [lo, hi) (both multiples of 4), `wg` lanes
 * apart, folding into `acc` with `step`; null where it does not apply (or would not help).
 *
 * The loop of a workgroup-tree reduction taking four reduced elements per step (innermost
 * reduced extent a multiple of 4): inputs read at an index that is the innermost reduced
 * position plus a multiple of 4 are read as one vec4 per step, loads that do not depend on the
 * innermost position are shared by the four. On software adapters, where every storage load is
 * a per-lane loop, that cuts a reduction's loads by up to 4×.
 */
export function reduceLoop4(
  k: Kernel,
  r: ExprRenderer,
  step: string,
  lo: string,
  hi: string,
  wg: number,
  outDtype: DType,
): Loop4 | null {
  const shape = k.reduce!.shape, n = shape.length;
  if (n === 0 || shape[n - 1] % 4 !== 0 || hasDynIdx(k)) return null;
  const last = `r${n - 1}`;
  const body: (Expr & { k: "load" })[] = [], epi: (Expr & { k: "load" })[] = [];
  loads(k.body, body);
  if (k.epilogue) loads(k.epilogue, epi);
  const vec = new Set(body.map((e) => e.input));
  for (const e of body) if (!vecIndex(e.index, last)) vec.delete(e.input);
  for (const e of epi) vec.delete(e.input);
  if (vec.size === 0) return null;
  const pre: string[] = [], names = new Map<string, string>();
  const rr = new ExprRenderer((slot, index) => {
    if (slot < VIRTUAL) return `in${slot}[${index}]`;
    const s = (slot - VIRTUAL) >> 2, key = `${s}|${index}`;
    let nm = names.get(key);
    if (!nm) {
      names.set(key, nm = `xv${names.size}`);
      pre.push(`let ${nm} = in${s}[(${index}) / 4];`);
    }
    return `${nm}[${(slot - VIRTUAL) & 3}]`;
  }, { helpers: r.helpers });
  const vals = [0, 1, 2, 3].map((u) => rr.val(forElement(k.body, vec, last, u)));
  const [consts, rest] = hoistConstLoads(rr.stmts);
  const folds = vals.map((v) => `{ let v = ${v}; ${step} }`).join("\n    ");
  const text = `${pre.join(" ")} ${rest.join(" ")} ${vals.join(" ")} ${last}`;
  const loop = `for (var rq = (${lo}) / 4 + i32(lid); rq < (${hi}) / 4; rq += ${wg}) {
    let rf = rq * 4;
    ${unflatten(shape, text, "rf", "r")}
    ${[0, 1, 2, 3].map((u) => `let ${last}_${u} = ${last} + ${u};`).join(" ")}
    ${pre.join("\n    ")}
    ${rest.join("\n    ")}
    ${folds}
  }`;
  let decls = "";
  k.inputs.forEach((d, i) => {
    const ty = vec.has(i) ? `vec4<${wgslType(d)}>` : wgslType(d);
    decls += `@group(0) @binding(${i}) var<storage, read> in${i}: array<${ty}>;\n`;
  });
  decls += `@group(0) @binding(${k.inputs.length}) var<storage, read_write> out: array<${
    wgslType(outDtype)
  }>;\n`;
  return { decls, consts, loop };
}
