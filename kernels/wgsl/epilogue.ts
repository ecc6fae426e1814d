/**
 * Fused epilogues for contraction kernels (conv, dotGeneral): the elementwise kernel that
 * consumes a contraction's result becomes a WGSL `store_out(o, v)` function, with loads of the
 * contraction result replaced by the accumulator. Only applies when every such load reads the
 * element being stored.
 * @module
 */
import type { DType } from "../../lib/dtype.ts";
import { type Expr, flatIndex, ivar, type Kernel, subExprs } from "../../lib/compile/kernel.ts";
import { ExprRenderer, narrow, unflatten, wgslType } from "./expr.ts";
import { helperSource } from "./helpers.ts";
import { fromStorage, storageType, toStorage } from "./f16.ts";

/** An epilogue: kernel `kernel` whose input slot `resultSlot` is the contraction result. */
export interface EpilogueSpec {
  kernel: Kernel;
  resultSlot: number;
}

/** True when every load of `slot` in `k` reads element `o` of the output (so it can be fused). */
export function epilogueFusible(k: Kernel, slot: number): boolean {
  if (k.reduce) return false;
  const flatKey = JSON.stringify(ivar("o"));
  const multiKey = JSON.stringify(flatIndex(k.outShape.map((_, i) => ivar(`i${i}`)), k.outShape));
  const ok = (e: Expr): boolean => {
    if (e.k === "load" && e.input === slot) {
      const key = JSON.stringify(e.index);
      return key === flatKey || key === multiKey;
    }
    return subExprs(e).every(ok);
  };
  return ok(k.body);
}

/** Bindings and `store_out` of a contraction writing `outDtype` (plain store without epilogue). */
export interface StoreCode {
  /** Binding declarations of the epilogue's extra inputs and the output. */
  decls: string;
  /** Helper functions plus `fn store_out(o: i32, v: T)`. */
  fns: string;
  /** Kernel input slots bound (in order) after the contraction's own inputs. */
  extraSlots: number[];
  /** The stored dtype. */
  outDtype: DType;
}

/**
 * Builds the store function of a contraction whose accumulator has dtype `acc`; its own
 * inputs take bindings `0..firstBinding-1`. `f16`: float16 arrays are f16 storage (the
 * accumulator stays f32).
 */
export function storeCode(
  acc: DType,
  firstBinding: number,
  ep?: EpilogueSpec,
  f16 = false,
): StoreCode {
  const t = wgslType(acc);
  if (!ep) {
    const h = new Set<string>();
    const v = toStorage(acc, f16, narrow(acc, "v", (n) => h.add(n)), (n) => h.add(n));
    return {
      decls: `@group(0) @binding(${firstBinding}) var<storage, read_write> out: array<${
        storageType(acc, f16)
      }>;\n`,
      fns: `${helperSource(h)}fn store_out(o: i32, v: ${t}) { out[o] = ${v}; }\n`,
      extraSlots: [],
      outDtype: acc,
    };
  }
  const k = ep.kernel;
  const extraSlots = k.inputs.map((_, i) => i).filter((i) => i !== ep.resultSlot);
  const binding = new Map(extraSlots.map((s, j) => [s, firstBinding + j]));
  const r = new ExprRenderer((slot, index, d) => fromStorage(d, f16, `ep${slot}[${index}]`), {
    subst: new Map([[ep.resultSlot, "v"]]),
    prefix: "s",
  });
  const use = (n: string) => r.helpers.add(n);
  const val = toStorage(k.outDtype, f16, narrow(k.outDtype, r.val(k.body), use), use);
  const body = `${r.stmts.join("\n  ")}\n  out[o] = ${val};`;
  let decls = "";
  for (const s of extraSlots) {
    decls += `@group(0) @binding(${binding.get(s)}) var<storage, read> ep${s}: array<${
      storageType(k.inputs[s], f16)
    }>;\n`;
  }
  decls += `@group(0) @binding(${
    firstBinding + extraSlots.length
  }) var<storage, read_write> out: array<${storageType(k.outDtype, f16)}>;\n`;
  const fns = `${helperSource(r.helpers)}fn store_out(o: i32, v: ${t}) {\n  ${
    unflatten(k.outShape, body)
  }\n  ${body}\n}\n`;
  return { decls, fns, extraSlots, outDtype: k.outDtype };
}
