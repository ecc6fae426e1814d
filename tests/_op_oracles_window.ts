/**
 * Oracles of the windowed choosers (reduceWindowMax/Min, selectAndGatherAdd, selectAndScatterAdd)
 * for the conformance suite: the operand is first materialized padded and base-dilated, with
 * each cell remembering which operand element it holds (none for padding and holes); windows
 * then slide over that array and keep the first extreme (NaN first of all).
 * @module
 */
import type { Host, Oracle, OracleOut } from "./_op_oracles.ts";

interface WinP {
  window: number[];
  strides: number[];
  padding: [number, number][];
  baseDilation: number[];
  windowDilation: number[];
  select?: "max" | "min";
}

const count = (s: number[]) => s.reduce((a, d) => a * d, 1);

function unravel(f: number, shape: number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let i = shape.length - 1; i >= 0; i--) {
    idx[i] = f % shape[i];
    f = Math.floor(f / shape[i]);
  }
  return idx;
}

function ravel(idx: number[], shape: number[]): number {
  return idx.reduce((off, k, i) => off * shape[i] + k, 0);
}

/** For each output window, the operand element it chooses (-1: none), and the output shape. */
function choices(x: Host, p: WinP, sel: "max" | "min"): { shape: number[]; pick: number[] } {
  // cell -> operand element, over the padded and dilated operand
  const padded = x.shape.map((d, i) =>
    Math.max(0, (d === 0 ? 0 : (d - 1) * p.baseDilation[i] + 1) + p.padding[i][0] + p.padding[i][1])
  );
  const cell = new Array<number>(count(padded)).fill(-1);
  for (let f = 0; f < count(x.shape); f++) {
    const pos = unravel(f, x.shape).map((k, i) => k * p.baseDilation[i] + p.padding[i][0]);
    if (pos.every((q, i) => q >= 0 && q < padded[i])) cell[ravel(pos, padded)] = f;
  }
  const span = p.window.map((k, i) => (k - 1) * p.windowDilation[i] + 1);
  const shape = padded.map((d, i) =>
    d === 0 || span[i] > d ? 0 : Math.floor((d - span[i]) / p.strides[i]) + 1
  );
  const pick = new Array<number>(count(shape)).fill(-1);
  for (let o = 0; o < pick.length; o++) {
    const y = unravel(o, shape);
    for (let t = 0; t < count(p.window); t++) {
      const k = unravel(t, p.window);
      const f = cell[ravel(y.map((v, i) => v * p.strides[i] + k[i] * p.windowDilation[i]), padded)];
      if (f < 0) continue;
      const cur = pick[o] < 0 ? undefined : x.data[pick[o]];
      const v = x.data[f];
      if (cur === undefined) pick[o] = f;
      else if (Number.isNaN(cur)) break;
      else if (Number.isNaN(v) || (sel === "max" ? v > cur : v < cur)) pick[o] = f;
    }
  }
  return { shape, pick };
}

function extreme(sel: "max" | "min"): Oracle {
  return ([x], p: WinP): OracleOut => {
    const { shape, pick } = choices(x, p, sel);
    const none = x.dtype === "int32"
      ? (sel === "max" ? -(2 ** 31) : 2 ** 31 - 1)
      : (sel === "max" ? -Infinity : Infinity);
    return { shape, data: pick.map((f) => (f < 0 ? none : x.data[f])) };
  };
}

/** Oracles by primitive name. */
export const WINDOW_ORACLES: Record<string, Oracle> = {
  reduceWindowMax: extreme("max"),
  reduceWindowMin: extreme("min"),
  selectAndGatherAdd: ([t, x], p: WinP) => {
    const { shape, pick } = choices(x, p, p.select!);
    return { shape, data: pick.map((f) => (f < 0 ? 0 : t.data[f])) };
  },
  selectAndScatterAdd: ([ct, x], p: WinP) => {
    const { pick } = choices(x, p, p.select!);
    const data = new Array<number>(count(x.shape)).fill(0);
    pick.forEach((f, o) => {
      if (f >= 0) data[f] += ct.data[o];
    });
    return { shape: [...x.shape], data };
  },
};
