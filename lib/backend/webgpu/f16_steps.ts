/**
 * float16 as 2-byte `f16` storage (devices with "shader-f16"): a compiled step whose kernels
 * compute on f32 words gets its float16 buffers through f32 temporaries, widened before the step
 * and packed (rounded once) after it. Fused elementwise/reduction kernels read f16 natively.
 */
import { sizeOf } from "../../shape.ts";
import type { Plan } from "../../compile/lower.ts";
import { packF16Kernel, widenF16Kernel } from "../../../kernels/wgsl/f16.ts";
import type { CStep, Dispatch } from "./plan.ts";

/**
 * The step with every float16 plan buffer its dispatches bind replaced by an f32 temporary:
 * inputs are widened into it first, outputs packed from it last; float16 temporaries become f32.
 */
export function viaF32Words(plan: Plan, c: CStep, maxWg: number): CStep {
  if (c.kind !== "gpu") return c;
  const temps = c.temps.map((
    t,
  ) => (t.dtype === "float16" ? { ...t, dtype: "float32" as const } : t));
  const wide = new Map<number, number>();
  const before: Dispatch[] = [], after: Dispatch[] = [];
  for (const d of c.dispatches) {
    for (const b of d.bind) {
      if (b < 0 || wide.has(b) || plan.avals[b].dtype !== "float16") continue;
      const n = sizeOf(plan.avals[b].shape);
      temps.push({ dtype: "float32", length: n });
      const t = -temps.length;
      wide.set(b, t);
      if (c.outs.includes(b)) {
        const k = packF16Kernel(n, maxWg);
        after.push({ code: k.code, wg: k.dispatch, bind: [t, b] });
      } else {
        const k = widenF16Kernel(n, maxWg);
        before.push({ code: k.code, wg: k.dispatch, bind: [b, t] });
      }
    }
  }
  if (wide.size === 0 && temps.every((t, i) => t === c.temps[i])) return c;
  const dispatches = c.dispatches.map((d) => ({ ...d, bind: d.bind.map((b) => wide.get(b) ?? b) }));
  return { ...c, temps, dispatches: [...before, ...dispatches, ...after] };
}
