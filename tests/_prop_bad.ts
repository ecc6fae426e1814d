/**
 * Random bad arguments for property_test.ts: each case is one valid call with exactly one argument
 * broken (bad numbers, wrong lengths, wrong types, mismatched channels or groups, wrong ranks,
 * unknown padding strings, bad dimension numbers) for lax.convGeneralDilated, nn.convNd and
 * nn.maxPool, optionally called under jit; the checker of every bad case. np cases: _prop_bad_np.ts.
 * @module
 */
import fc from "fast-check";
import { jit, lax, nn, np, type Tensor } from "../mod.ts";
import { show } from "./_prop_util.ts";

/**
 * Bad values that currently slip through validation (library bugs, see the report and the
 * "known bugs" tests of property_test.ts). Set to true once they are fixed so the properties
 * draw them again.
 */
export const DRAW_KNOWN_BUGS = false;

/** One bad call: the op that must reject it and the words its message may use for the argument. */
export interface BadCase {
  op: string;
  names: string[];
  what: string;
  call: () => unknown;
}

/** Marks a list entry to be deleted, making the list sparse (a hole). */
const HOLE = Symbol("hole");

function materialize(list: unknown[]): unknown[] {
  const out = [...list];
  list.forEach((v, i) => {
    if (v === HOLE) delete out[i];
  });
  return out;
}

/** Formats a bad value for messages (holes shown as <hole>). */
export function showValue(v: unknown): string {
  if (Array.isArray(v)) {
    return `[${Array.from(v, (x, i) => (i in v ? showValue(x) : "<hole>")).join(",")}]`;
  }
  if (typeof v === "symbol") return "<hole>";
  return show(v);
}

/** Bad entries of a list of positive integers (strides, dilations, windows). */
const BAD_POSITIVE = [0, -1, -3, 1.5, NaN, Infinity, -Infinity, "2", true, null, undefined, 1e-9];
/** Bad scalar group counts (undefined / null mean "default" and are fine). */
const BAD_COUNT = [0, -1, 1.5, NaN, Infinity, -Infinity, "2", true, [2], {}];
/** Bad entries of an integer list that may be negative (pads). */
const BAD_INT = [1.5, NaN, Infinity, -Infinity, "1", true, null, undefined];
const BAD_PAD_STRINGS = [
  "FULL",
  "same ",
  " VALID",
  "",
  "SAMELOWER",
  "SAME-LOWER",
  "CAUSAL",
  "VALID\u0000",
];
const PROTO_KEYS = ["__proto__", "constructor", "toString", "hasOwnProperty", "valueOf"];

const badPositive = fc.constantFrom<unknown>(...BAD_POSITIVE, ...(DRAW_KNOWN_BUGS ? [HOLE] : []));
const badInt = fc.constantFrom<unknown>(...BAD_INT);

/** A valid list of n values with entry `at % n` replaced by `bad`. */
function withBad(valid: number[], at: number, bad: unknown): unknown[] {
  return materialize(valid.map((v, i) => (i === at % valid.length ? bad : v)));
}

/** A list of the wrong length: n + 1, n - 1 (>= 0) or empty, filled with valid values. */
function wrongLength(n: number, which: number, fill: unknown): unknown[] {
  const len = [n + 1, Math.max(n - 1, 0), 0, n + 2][which % 4];
  return new Array(len === n ? n + 1 : len).fill(fill);
}

/** The shared skeleton of a bad case: sizes, choice indices and whether to call under jit. */
export const base = fc.record({
  n: fc.integer({ min: 1, max: 3 }),
  x: fc.integer({ min: 3, max: 5 }),
  k: fc.integer({ min: 1, max: 2 }),
  at: fc.nat(5),
  which: fc.nat(7),
  jit: fc.boolean(),
});
/** A drawn skeleton. */
export type Base = typeof base extends fc.Arbitrary<infer T> ? T : never;

interface LaxArgs {
  lhs: unknown;
  rhs: unknown;
  strides: unknown;
  padding: unknown;
  opts: Record<string, unknown>;
}

function laxCase(b: Base, names: string[], patch: (a: LaxArgs) => void): BadCase {
  const { n, x, k } = b;
  const a: LaxArgs = {
    lhs: [2, 4, ...new Array(n).fill(x)],
    rhs: [2, 4, ...new Array(n).fill(k)],
    strides: new Array(n).fill(1),
    padding: "VALID",
    opts: {},
  };
  patch(a);
  const operand = (
    v: unknown,
  ) => (Array.isArray(v) && v.every((d) => typeof d === "number") ? np.ones(v as number[]) : v);
  const [l, r] = [operand(a.lhs), operand(a.rhs)];
  const conv = (p: unknown, q: unknown) =>
    lax.convGeneralDilated(
      p as Tensor,
      q as Tensor,
      a.strides as number[],
      a.padding as never,
      a.opts as never,
    );
  const what =
    `${b.jit ? "jit " : ""}convGeneralDilated(${showValue(a.lhs)}, ${showValue(a.rhs)}, ` +
    `${showValue(a.strides)}, ${showValue(a.padding)}, {${
      Object.entries(a.opts).map(([key, v]) => `${key}: ${showValue(v)}`).join(", ")
    }})`;
  const call = b.jit && l instanceof np.Tensor && r instanceof np.Tensor
    ? () => jit(conv)(l, r)
    : () => conv(l, r);
  return { op: "convGeneralDilated", names, what, call };
}

function validSpecs(n: number): [string, string, string] {
  const sp = "HWD".slice(0, n);
  return ["N" + sp + "C", sp + "IO", "N" + sp + "C"];
}

/** Breaks valid dimension numbers in one of several ways. */
function badDimensionNumbers(n: number, which: number, at: number): unknown {
  const [l, r, o] = validSpecs(n);
  const specs = [l, r, o];
  const i = at % 3;
  const s = specs[i];
  switch (which % 12) {
    case 0:
      specs[i] = s.slice(1);
      break; // too short
    case 1:
      specs[i] = s + "Q";
      break; // too long
    case 2:
      specs[i] = s.replace(i === 1 ? "O" : "N", "Q");
      break; // missing batch / out-feature
    case 3:
      specs[i] = s.replace(i === 1 ? "I" : "C", i === 1 ? "O" : "N");
      break; // duplicate letter
    case 4:
      specs[i] = s.replace("H", "Q");
      break; // spatial sets differ
    case 5:
      return [l, r];
    case 6:
      return [l, r, o, o];
    case 7:
      return [l, 1, o];
    case 8:
      return l;
    case 9:
      return {
        lhs: [0, 0, ...new Array(n).fill(1)],
        rhs: [...Array(n + 2).keys()],
        out: [...Array(n + 2).keys()],
      };
    case 10:
      return {
        lhs: [...Array(n + 2).keys()],
        rhs: [...Array(n + 2).keys()].map((d) => d + 1),
        out: [...Array(n + 2).keys()],
      };
    default:
      return {
        lhs: [...Array(n + 2).keys()],
        rhs: [...Array(n + 1).keys()],
        out: [...Array(n + 2).keys()],
      };
  }
  return specs;
}

/** Bad-argument cases of lax.convGeneralDilated. */
export function laxBadArb(): fc.Arbitrary<BadCase> {
  const listParam = (key: "strides" | "lhsDilation" | "rhsDilation") =>
    fc.tuple(base, badPositive).map(([b, bad]) => {
      const name = key === "strides" ? "windowStrides" : key;
      return laxCase(b, [name], (a) => {
        const v = withBad(new Array(b.n).fill(1), b.at, bad);
        if (key === "strides") a.strides = v;
        else {
          a.opts[key] = v;
          if (key === "lhsDilation") a.padding = [...new Array(b.n)].map(() => [0, 0]);
        }
      });
    });
  const lengthParam = fc.tuple(base, fc.constantFrom("strides", "lhsDilation", "rhsDilation")).map((
    [b, key],
  ) =>
    laxCase(b, [key === "strides" ? "windowStrides" : key], (a) => {
      const v = wrongLength(b.n, b.which, 1);
      if (key === "strides") a.strides = v;
      else a.opts[key] = v;
    })
  );
  const notList = fc.tuple(base, fc.constantFrom<unknown>(2, "1", {}, true)).map(([b, bad]) =>
    laxCase(b, ["windowStrides"], (a) => (a.strides = bad))
  );
  const padString = fc.tuple(base, fc.constantFrom(...BAD_PAD_STRINGS)).map(([b, s]) =>
    laxCase(b, ["padding"], (a) => (a.padding = s))
  );
  const padPairs = fc.tuple(base, badInt).map(([b, bad]) =>
    laxCase(b, ["padding"], (a) => {
      const pairs: unknown[] = [...new Array(b.n)].map(() => [0, 0]);
      switch (b.which % 5) {
        case 0:
          pairs[b.at % b.n] = withBad([0, 0], b.at >> 1, bad);
          break;
        case 1:
          pairs[b.at % b.n] = [0];
          break;
        case 2:
          pairs[b.at % b.n] = [0, 0, 0];
          break;
        case 3:
          pairs.push([0, 0]);
          break;
        default:
          pairs.pop();
          break;
      }
      a.padding = pairs;
    })
  );
  const padOther = fc.tuple(base, fc.constantFrom<unknown>(1, {}, null, undefined, true, [1, 1]))
    .map(([b, bad]) => laxCase(b, ["padding"], (a) => (a.padding = bad)));
  const padCrop = base.map((b) =>
    laxCase(b, ["padding"], (a) => {
      a.padding = [...new Array(b.n)].map((
        _,
        i,
      ) => (i === b.at % b.n ? [-b.x, -1 - (b.which % 3)] : [0, 0]));
    })
  );
  const stringWithLhsDil = fc.tuple(base, fc.constantFrom("SAME", "VALID", "same_lower")).map((
    [b, s],
  ) =>
    laxCase(b, ["padding", "lhsDilation"], (a) => {
      a.padding = s;
      a.opts.lhsDilation = withBad(new Array(b.n).fill(1), b.at, 2);
    })
  );
  const counts = fc.tuple(
    base,
    fc.constantFrom("featureGroupCount", "batchGroupCount"),
    fc.constantFrom(...BAD_COUNT),
  )
    .map(([b, key, bad]) => laxCase(b, [key], (a) => (a.opts[key] = bad)));
  const groups = base.map((b) => {
    const kind = b.which % 6;
    const key = kind < 3 ? "featureGroupCount" : "batchGroupCount";
    return laxCase(
      b,
      kind === 5 ? ["featureGroupCount", "batchGroupCount"] : [key, "feature"],
      (a) => {
        const sp = (v: number) => new Array(b.n).fill(v);
        if (kind === 0) [a.lhs, a.rhs, a.opts[key]] = [[2, 3, ...sp(b.x)], [2, 1, ...sp(b.k)], 2]; // G does not divide C
        if (kind === 1) [a.lhs, a.rhs, a.opts[key]] = [[2, 4, ...sp(b.x)], [2, 1, ...sp(b.k)], 2]; // C / G != I
        if (kind === 2) [a.lhs, a.rhs, a.opts[key]] = [[2, 4, ...sp(b.x)], [3, 2, ...sp(b.k)], 2]; // G does not divide O
        if (kind === 3) [a.lhs, a.rhs, a.opts[key]] = [[3, 4, ...sp(b.x)], [2, 4, ...sp(b.k)], 2]; // B does not divide N
        if (kind === 4) [a.lhs, a.rhs, a.opts[key]] = [[4, 4, ...sp(b.x)], [3, 4, ...sp(b.k)], 2]; // B does not divide O
        if (kind === 5) {
          [a.lhs, a.rhs] = [[4, 4, ...sp(b.x)], [4, 2, ...sp(b.k)]];
          a.opts.featureGroupCount = 2;
          a.opts.batchGroupCount = 2;
        }
      },
    );
  });
  const channels = base.map((b) =>
    laxCase(
      b,
      ["feature", "featureGroupCount"],
      (a) => (a.rhs = [2, 5 + (b.which % 3), ...new Array(b.n).fill(b.k)]),
    )
  );
  const ranks = base.map((b) =>
    laxCase(b, ["lhs", "rhs", "rank"], (a) => {
      const kind = b.which % 3;
      if (kind === 0) a.rhs = [2, 4, ...new Array(b.n + 1).fill(b.k)];
      if (kind === 1) a.lhs = [2, 4, ...new Array(b.n - 1).fill(b.x)];
      if (kind === 2) [a.lhs, a.rhs, a.strides] = [[4], [4], []];
    })
  );
  const dims = base.map((b) =>
    laxCase(
      b,
      ["dimensionNumbers"],
      (a) => (a.opts.dimensionNumbers = badDimensionNumbers(b.n, b.which + b.at, b.at)),
    )
  );
  const preferred = fc.tuple(
    base,
    fc.constantFrom<unknown>("int32", "bool", ...(DRAW_KNOWN_BUGS ? ["foo", 42] : [])),
  )
    .map(([b, t]) =>
      laxCase(b, ["preferredElementType"], (a) => (a.opts.preferredElementType = t))
    );
  return fc.oneof(
    listParam("strides"),
    listParam("lhsDilation"),
    listParam("rhsDilation"),
    lengthParam,
    notList,
    padString,
    padPairs,
    padOther,
    padCrop,
    stringWithLhsDil,
    counts,
    groups,
    channels,
    ranks,
    dims,
    preferred,
  );
}

function nnCase(
  op: string,
  names: string[],
  b: Base,
  x: number[],
  f: (t: Tensor) => unknown,
  what: string,
): BadCase {
  const t = np.ones(x);
  const call = b.jit ? () => jit(f)(t) : () => f(t);
  return { op, names, what: `${b.jit ? "jit " : ""}${op}(x [${x}], ${what})`, call };
}

/** Bad-argument cases of nn.convNd. */
export function convNdBadArb(): fc.Arbitrary<BadCase> {
  const mk = (
    b: Base,
    names: string[],
    opts: Record<string, unknown>,
    w?: number[],
    x?: number[],
  ) => {
    const xs = x ?? [2, 4, ...new Array(b.n).fill(b.x)];
    const ws = w ?? [3, 4, ...new Array(b.n).fill(b.k)];
    const weight = np.ones(ws);
    const shown = Object.entries(opts).map(([k, v]) => `${k}: ${showValue(v)}`).join(", ");
    return nnCase(
      "convNd",
      names,
      b,
      xs,
      (t) => nn.convNd(t, weight, opts as never),
      `w [${ws}], {${shown}}`,
    );
  };
  const perDimBad = fc.tuple(base, fc.constantFrom("stride", "dilation"), badPositive, fc.boolean())
    .map(
      ([b, key, bad, list]) =>
        mk(b, [key], {
          [key]: list || bad === undefined || bad === null
            ? withBad(new Array(b.n).fill(1), b.at, bad)
            : bad === HOLE
            ? 0
            : bad,
        }),
    );
  const perDimLength = fc.tuple(base, fc.constantFrom("stride", "dilation", "padding")).map((
    [b, key],
  ) => mk(b, [key], { [key]: wrongLength(b.n, b.which, 1) }));
  const padding = fc.tuple(
    base,
    fc.constantFrom<unknown>(-1, 1.5, NaN, "full", "SAME_LOWER", "", {}, true, [[1]], [[-1, 0]]),
  )
    .map(([b, bad]) => mk(b, ["padding"], { padding: bad }));
  const sameStride = base.map((b) => mk(b, ["padding", "stride"], { padding: "same", stride: 2 }));
  const groupsBad = fc.tuple(
    base,
    fc.constantFrom<unknown>(0, -1, 1.5, NaN, Infinity, "2", true, 3),
  ).map(([b, g]) => mk(b, ["groups"], { groups: g }));
  const channels = base.map((b) =>
    mk(b, ["channels", "groups"], {}, [3, 5 + (b.which % 3), ...new Array(b.n).fill(b.k)])
  );
  const ranks = base.map((b) => {
    const kind = b.which % 3;
    if (kind === 0) return mk(b, ["x", "dimensions"], {}, [3, 4], [2, 4]);
    if (kind === 1) return mk(b, ["w", "dimensions"], {}, [3, 4, ...new Array(b.n + 1).fill(1)]);
    return mk(b, ["kernel"], {}, [3, 4, ...new Array(b.n).fill(0)]);
  });
  const fits = base.map((b) =>
    mk(b, ["kernel"], { dilation: 3 }, [3, 4, ...new Array(b.n).fill(b.x)])
  );
  const mode = fc.tuple(
    base,
    fc.constantFrom("foo", "zero", "REFLECT", "", ...(DRAW_KNOWN_BUGS ? PROTO_KEYS : [])),
  )
    .map(([b, m]) => mk(b, ["paddingMode"], { paddingMode: m, padding: 1 }));
  const bias = base.map((b) => mk(b, ["bias"], { bias: np.ones([2 + (b.which % 2) * 2]) }));
  return fc.oneof(
    perDimBad,
    perDimLength,
    padding,
    sameStride,
    groupsBad,
    channels,
    ranks,
    fits,
    mode,
    bias,
  );
}

/** Bad-argument cases of nn.maxPool. */
export function maxPoolBadArb(): fc.Arbitrary<BadCase> {
  const mk = (b: Base, names: string[], opts: unknown, x?: number[]) => {
    const xs = x ?? [2, 3, ...new Array(b.n).fill(b.x)];
    const shown = opts && typeof opts === "object"
      ? `{${Object.entries(opts).map(([k, v]) => `${k}: ${showValue(v)}`).join(", ")}}`
      : showValue(opts);
    return nnCase("maxPool", names, b, xs, (t) => nn.maxPool(t, opts as never), shown);
  };
  const perDimBad = fc.tuple(
    base,
    fc.constantFrom("window", "stride", "dilation"),
    badPositive,
    fc.boolean(),
  ).map(
    ([b, key, bad, list]) => {
      // (a bare undefined / null means "default"; inside a list they are bad)
      const v = list || bad === undefined || bad === null
        ? withBad(new Array(b.n).fill(2), b.at, bad)
        : bad === HOLE
        ? 0
        : bad;
      return mk(b, [key], key === "window" ? { window: v } : { window: 2, [key]: v });
    },
  );
  const lengths = fc.tuple(base, fc.constantFrom("stride", "dilation", "padding")).map(([b, key]) =>
    mk(b, [key], { window: 2, [key]: wrongLength(b.n, b.which, 1) })
  );
  const windowLength = base.map((b) =>
    mk(b, ["window"], { window: b.which % 2 ? [] : new Array(b.n + 3).fill(1) })
  );
  const padding = fc.tuple(
    base,
    fc.constantFrom<unknown>(-1, 1.5, NaN, 2, 5, "same", {}, [[-1, 0]], [[2, 0]]),
  ).map(
    ([b, bad]) => mk(b, ["padding"], { window: 2, padding: bad }),
  );
  const tooBig = base.map((b) => mk(b, ["window"], { window: b.x + 1 + (b.which % 3) }));
  const rank = base.map((b) => mk(b, ["x", "dimensions"], { window: 2 }, [b.x, b.x]));
  const missing = fc.tuple(base, fc.constantFrom<unknown>(undefined, {}, { stride: 1 })).map((
    [b, o],
  ) => mk(b, ["window"], o));
  return fc.oneof(perDimBad, lengths, windowLength, padding, tooBig, rank, missing);
}

/**
 * Runs a bad case: it must throw a TypeError or RangeError whose message starts with "<op>: ",
 * mentions one of the argument's names and has no final period. Returns null when it does, else
 * a description of what happened.
 */
export function checkBadCase(c: BadCase): string | null {
  let result: unknown;
  try {
    result = c.call();
  } catch (e) {
    const err = e as Error;
    const kind = err?.constructor?.name ?? typeof e;
    if (!(e instanceof TypeError || e instanceof RangeError)) {
      return `${c.what}: threw ${kind}: ${err?.message}`;
    }
    const msg = err.message;
    if (!msg.startsWith(`${c.op}: `)) {
      return `${c.what}: ${kind} message does not start with "${c.op}: ": ${msg}`;
    }
    if (!c.names.some((name) => msg.includes(name))) {
      return `${c.what}: ${kind} message names none of ${show(c.names)}: ${msg}`;
    }
    if (msg.endsWith(".")) return `${c.what}: message ends with a period: ${msg}`;
    return null;
  }
  const r = result as Tensor;
  const desc = r instanceof np.Tensor ? `a Tensor of shape [${r.shape}]` : showValue(result);
  return `${c.what}: returned ${desc} instead of throwing`;
}
