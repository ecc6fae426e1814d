/**
 * The kernel IR's one table of `alu` ops: every elementwise primitive of `OPS` (arity, scalar
 * function, per-target templates from its OpDef) plus the IR's own `LAND`. Renderers look ops
 * up here; a primitive added to `OPS` renders everywhere without edits to them.
 * @module
 */
import type { ElementwiseOpDef, OpDef } from "../ops/_define.ts";
import type { ScalarRender } from "../ops/_render.ts";
import { OPS } from "../ops/registry.ts";
import { type Alu, LAND } from "./kernel.ts";

/** What renderers know about an `alu` op. */
export interface AluDef {
  /** Name in the IR. */
  readonly name: string;
  /** Number of operands. */
  readonly arity: number;
  /** Reference scalar function (called where a template says "call"). */
  readonly scalar: (...xs: number[]) => number;
  /** Per-target templates. */
  readonly render: ScalarRender;
}

/** `LAND`: the logical and of two conditions (JS booleans, WGSL bools). */
const LAND_DEF: AluDef = {
  name: LAND,
  arity: 2,
  scalar: (a, b) => (a && b ? 1 : 0),
  render: {
    js: ([a, b]) => `(${a} && ${b})`,
    wasm: "condAnd",
    wgsl: (x) => `select(0u, 1u, (${x.cond(0)} && ${x.cond(1)}))`,
  },
};

const TABLE = new Map<string, AluDef>([[LAND, LAND_DEF]]);
for (const op of Object.values(OPS) as OpDef[]) {
  if (op.kind === "elementwise") TABLE.set(op.name, op satisfies ElementwiseOpDef);
}

/**
 * The definition of an `alu` op; a TypeError for names that are not elementwise primitives.
 *
 * @example
 * ```ts
 * if (aluDef("add").arity !== 2) throw new Error("add is binary");
 * ```
 */
export function aluDef(op: string): AluDef {
  const d = TABLE.get(op);
  if (!d) throw new TypeError(`kernel IR: ${op} is not an elementwise primitive`);
  return d;
}

/** The definition of an `alu` node's op, checking its arity. */
export function aluOf(e: Alu): AluDef {
  const d = aluDef(e.op);
  if (e.args.length !== d.arity) {
    throw new TypeError(`kernel IR: ${e.op} takes ${d.arity} operands, got ${e.args.length}`);
  }
  return d;
}
