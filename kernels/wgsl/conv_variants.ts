/**
 * The one table of WGSL convolution kernels: real-GPU variants apart from software-adapter ones
 * (llvmpipe, where every storage access is a per-lane loop), most specialized first. `renderConv`
 * renders a convolution with the first variant of its adapter kind that applies.
 * @module
 */
import type { DType } from "../../lib/dtype.ts";
import {
  type ConvGeometry,
  type ConvKernels,
  type ConvTuning,
  registerKernel,
  sharedFits,
  sharedKernel,
} from "./conv.ts";
import { conv1dApplicable, conv1dKernel } from "./conv_1d.ts";
import { rowsApplicable, rowsKernel, rowsTiles } from "./conv_rows.ts";
import { tapsApplicable, tapsKernel } from "./conv_taps.ts";
import type { EpilogueSpec } from "./epilogue.ts";

/** One convolution kernel and where it applies. */
export interface ConvVariant {
  /** Name, for tests and tuning. */
  name: string;
  /** `shared`: for real GPUs; `register`: for software adapters (ConvTuning.variant). */
  family: ConvTuning["variant"];
  /**
   * A kernel for problems the compiler would otherwise lower to a generated reduction kernel
   * (small or few-feature convolutions): those stay conv op steps where it applies.
   */
  direct?: boolean;
  /** Whether the kernel handles this convolution. */
  applies(g: ConvGeometry, dtype: DType, tuning: ConvTuning): boolean;
  /** Renders its kernels. */
  render(g: ConvGeometry, dtype: DType, ep: EpilogueSpec | undefined, t: ConvTuning): ConvKernels;
}

/** Every convolution kernel, most specialized first within each family. */
export const CONV_VARIANTS: readonly ConvVariant[] = [
  // real GPUs: 64×64 tiles staged in workgroup memory
  // (only where the tiles fit the device's workgroup storage; else the register family renders)
  { name: "shared", family: "shared", applies: (_g, _d, t) => sharedFits(t), render: sharedKernel },
  // software adapters: few features over long 1-d rows slide a vec4 window
  {
    name: "conv1d",
    family: "register",
    direct: true,
    applies: (g, d, t) => t.software === true && conv1dApplicable(g, d, t),
    render: conv1dKernel,
  },
  // weight gradients: taps read as vec4s from the kernel itself
  {
    name: "taps",
    family: "register",
    applies: (g, d, t) => t.taps !== false && tapsApplicable(g, d),
    render: tapsKernel,
  },
  // forward and data gradients: rows of positions as vec4 windows, weights in uniform ranges
  {
    name: "rows",
    family: "register",
    applies: (g, d, t) => t.rows !== false && rowsApplicable(g, d, rowsTiles(g, t)[1]),
    render: (g, d, ep, t) => rowsKernel(g, d, ep, t, rowsTiles(g, t)),
  },
  // anything else: TM×TN outputs per invocation accumulated in registers
  { name: "register", family: "register", applies: () => true, render: registerKernel },
];

/**
 * The variant that renders a convolution: the first of `tuning.variant`'s family that applies,
 * else (shared tiles larger than the device's workgroup storage) the first register one.
 *
 * @example
 * ```ts
 * import { convGeometry } from "./conv.ts";
 * import { resolveConvParams } from "../../lib/ops/conv_params.ts";
 * const p = resolveConvParams([1, 1, 8], [1, 1, 3], [1], "VALID");
 * const g = convGeometry([1, 1, 8], [1, 1, 3], [1, 1, 6], p);
 * const v = convVariant(g, "float32", { variant: "shared", maxWorkgroupsPerDim: 65535 });
 * if (v.name !== "shared") throw new Error(v.name);
 * ```
 */
export function convVariant(g: ConvGeometry, dtype: DType, tuning: ConvTuning): ConvVariant {
  const pick = (family: ConvTuning["variant"]) =>
    CONV_VARIANTS.find((v) => v.family === family && v.applies(g, dtype, tuning));
  return pick(tuning.variant) ?? pick("register")!;
}

/** Renders the kernels of a convolution (float32 or int32) with its variant. */
export function renderConv(
  g: ConvGeometry,
  dtype: DType,
  tuning: ConvTuning,
  ep?: EpilogueSpec,
): ConvKernels {
  return convVariant(g, dtype, tuning).render(g, dtype, ep, tuning);
}
