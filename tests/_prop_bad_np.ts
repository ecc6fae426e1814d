/**
 * Random bad arguments of np.reshape (shape), np.sum (axis) and np.slice / Tensor.slice (indices)
 * for property_test.ts; see _prop_bad.ts for the case type and the checker.
 * @module
 */
import fc from "fast-check";
import { jit, np, type Tensor } from "../mod.ts";
import { type BadCase, type Base, base, DRAW_KNOWN_BUGS, showValue } from "./_prop_bad.ts";

/** Bad-argument cases of np.reshape, np.sum's axis and np.slice (Tensor.slice). */
export function numpyBadArb(): fc.Arbitrary<BadCase> {
  const shapeArb = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 });
  const mk = (
    op: string,
    names: string[],
    b: Base,
    shape: number[],
    f: (t: Tensor) => unknown,
    what: string,
  ): BadCase => {
    const t = np.arange(shape.reduce((p, q) => p * q, 1)).reshape(shape);
    return {
      op,
      names,
      what: `${b.jit ? "jit " : ""}${what} on x [${shape}]`,
      call: b.jit ? () => jit(f)(t) : () => f(t),
    };
  };
  const reshape = fc.tuple(
    base,
    shapeArb,
    fc.constantFrom<unknown>(1.5, NaN, Infinity, -2, "a", true, null, -1),
  ).map(
    ([b, shape, bad]) => {
      const size = shape.reduce((p, q) => p * q, 1);
      let target: unknown;
      switch (b.which % 4) {
        case 0:
          target = [size + 1];
          break; // wrong size
        case 1:
          target = [-1, -1, ...shape];
          break; // two -1
        case 2:
          target = [...shape.slice(1), bad === -1 ? 1.5 : bad];
          break; // bad entry
        default:
          target = [size, 0, -1];
          break; // -1 with a zero-size rest
      }
      return mk(
        "reshape",
        ["shape"],
        b,
        shape,
        (t) => np.reshape(t, target as number[]),
        `reshape(x, ${showValue(target)})`,
      );
    },
  );
  const sumBad = [
    1.5,
    NaN,
    Infinity,
    "0",
    null,
    "oob",
    "-oob",
    "rep",
    ...(DRAW_KNOWN_BUGS ? [true, {}] : []),
  ];
  const sum = fc.tuple(base, shapeArb, fc.constantFrom<unknown>(...sumBad))
    .map(([b, shape, bad]) => {
      const nd = shape.length;
      // (null alone means "all axes"; a bare non-number non-list is a known bug: raw "not iterable")
      const axis = bad === "oob"
        ? nd + (b.which % 3)
        : bad === "-oob"
        ? -nd - 1 - (b.which % 3)
        : bad === "rep"
        ? [b.at % nd, (b.at % nd) - nd]
        : b.which % 2 || bad === null
        ? [bad]
        : bad;
      return mk(
        "sum",
        ["axis"],
        b,
        shape,
        (t) => np.sum(t, { axis: axis as number }),
        `sum(x, {axis: ${showValue(axis)}})`,
      );
    });
  const slice = fc.tuple(
    base,
    shapeArb,
    fc.constantFrom<unknown>(
      "oob",
      "-oob",
      1.5,
      NaN,
      "::0",
      "1",
      "a:b",
      "1:2:3:4",
      "1.5:",
      "many",
      "ellipses",
      true,
      {},
    ),
  )
    .map(([b, shape, bad]) => {
      const nd = shape.length, ax = b.at % nd;
      let specs: unknown[];
      if (bad === "many") specs = new Array(nd + 1 + (b.which % 2)).fill(0);
      else if (bad === "ellipses") specs = ["...", "..."];
      else {
        specs = new Array(nd).fill(":");
        specs[ax] = bad === "oob"
          ? shape[ax] + (b.which % 3)
          : bad === "-oob"
          ? -shape[ax] - 1
          : bad;
      }
      return mk(
        "slice",
        ["index", "slice", "indices", "ellipsis", "step"],
        b,
        shape,
        (t) => np.slice(t, ...(specs as never[])),
        `slice(x, ${specs.map(showValue).join(", ")})`,
      );
    });
  return fc.oneof(reshape, sum, slice);
}
