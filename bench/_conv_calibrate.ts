/**
 * `deno run -A bench/w8_fft.ts --calibrate [--quick]`: measures jitted direct and FFT
 * convolutions ("same" mode, float32) over a grid of 1-d and 2-d sizes, run by run in
 * alternation (so machine load moves both alike), fits the one number `method: "auto"` depends
 * on (the cost ratio of an FFT unit to a direct multiply-add, lib/signal_fft.ts) by least
 * regret over the grid, and prints the grid with the choices of the current constants.
 * @module
 */
import { jit, np, signal, type Tensor } from "../mod.ts";
import { CONV_COST, convCosts } from "../lib/signal_fft.ts";
import { uniform } from "./_harness.ts";

interface Point {
  sa: number[];
  sb: number[];
  macs: number;
  units: number;
  direct: number; // ms (min of runs), NaN when skipped
  fft: number;
}

const D1 = [100, 1000, 10_000, 100_000, 1_000_000], T1 = [3, 10, 30, 100, 300, 1000, 3000, 10_000];
const D2 = [32, 128, 512, 1024], T2 = [3, 5, 9, 17, 33, 65];

/** Min time of `runs` alternating runs of each function (after one warm-up each). */
async function alternate(fs: (() => Tensor)[], runs: number): Promise<number[]> {
  for (const f of fs) await f().data();
  const best = fs.map(() => Infinity);
  for (let i = 0; i < runs; i++) {
    for (const [k, f] of fs.entries()) {
      const t0 = performance.now();
      await f().data();
      best[k] = Math.min(best[k], performance.now() - t0);
    }
  }
  return best;
}

async function measurePoint(sa: number[], sb: number[], maxMacs: number): Promise<Point> {
  const { macs, units } = convCosts(sa, sb, "same", 1);
  const conv = (method: "direct" | "fft") =>
    jit((a: Tensor, b: Tensor) => signal.convolve(a, b, { mode: "same", method }));
  const size = (s: number[]) => s.reduce((p, q) => p * q, 1);
  const a = np.array(uniform(1, size(sa)), { shape: sa });
  const b = np.array(uniform(2, size(sb)), { shape: sb });
  const jf = conv("fft"), jd = conv("direct");
  const t0 = performance.now();
  await jf(a, b).data();
  const runs = Math.max(5, Math.min(25, Math.ceil(1500 / (performance.now() - t0 + 1e-3))));
  if (macs > maxMacs) {
    const [fft] = await alternate([() => jf(a, b)], runs);
    return { sa, sb, macs, units, direct: NaN, fft };
  }
  const [direct, fft] = await alternate([() => jd(a, b), () => jf(a, b)], runs);
  return { sa, sb, macs, units, direct, fft };
}

/** Mean log-regret (time of the chosen method ÷ the faster one) of ratio r over the grid. */
function regret(points: Point[], r: number): { mean: number; worst: number } {
  let sum = 0, worst = 1, n = 0;
  for (const p of points) {
    const fftChosen = p.units * r < p.macs;
    const best = Number.isNaN(p.direct) ? p.fft : Math.min(p.direct, p.fft);
    const got = fftChosen ? p.fft : Number.isNaN(p.direct) ? Infinity : p.direct;
    const q = got / best;
    sum += Math.log(Math.min(q, 1e3)), worst = Math.max(worst, q), n++;
  }
  return { mean: sum / n, worst };
}

/** Runs the grid, prints it and the fitted constants. */
export async function calibrate(args: string[]): Promise<void> {
  const quick = args.includes("--quick"), maxMacs = quick ? 2e8 : 2e9;
  const grid: [number[], number[]][] = [];
  for (const na of quick ? [1000, 100_000] : D1) {
    for (const nb of T1) if (nb <= na) grid.push([[na], [nb]]);
  }
  for (const na of quick ? [128] : D2) {
    for (const nb of T2) if (nb <= na) grid.push([[na, na], [nb, nb]]);
  }
  const points: Point[] = [];
  for (const [sa, sb] of grid) points.push(await measurePoint(sa, sb, maxMacs));
  const full = points.filter((p) => !Number.isNaN(p.direct));
  const nsMac = full.filter((p) => p.macs >= 1e6).map((p) => (p.direct * 1e6) / p.macs);
  let bestR = CONV_COST.fftUnitNs / CONV_COST.directMacNs, bestReg = regret(points, bestR);
  for (let k = -8; k <= 48; k++) {
    const r = 2 ** (k / 4), g = regret(points, r);
    if (g.mean < bestReg.mean - 1e-9) bestR = r, bestReg = g;
  }
  const cur = CONV_COST.fftUnitNs / CONV_COST.directMacNs;
  console.log(
    "dims | a | b | direct ms | fft ms | faster | auto (current) | auto÷best | auto (fitted)",
  );
  for (const p of points) {
    const best = Number.isNaN(p.direct) ? p.fft : Math.min(p.direct, p.fft);
    const pick = (r: number) => (p.units * r < p.macs ? "fft" : "direct");
    const t = (m: string) => (m === "fft" ? p.fft : p.direct);
    console.log(
      [
        p.sa.length,
        p.sa.join("×"),
        p.sb.join("×"),
        Number.isNaN(p.direct) ? `skipped (${p.macs.toExponential(1)} MACs)` : p.direct.toFixed(3),
        p.fft.toFixed(3),
        Number.isNaN(p.direct) || p.fft < p.direct ? "fft" : "direct",
        pick(cur),
        (t(pick(cur)) / best).toFixed(2),
        pick(bestR),
      ].join(" | "),
    );
  }
  const med = [...nsMac].sort((x, y) => x - y)[nsMac.length >> 1];
  console.log(
    `direct: median ${med?.toFixed(3)} ns per multiply-add (${nsMac.length} points ≥ 10^6 MACs)`,
  );
  console.log(
    `current ratio fft unit ÷ MAC ${cur.toFixed(1)}: mean regret ×${
      Math.exp(regret(points, cur).mean).toFixed(3)
    }, worst ×${regret(points, cur).worst.toFixed(2)}`,
  );
  console.log(
    `fitted ratio ${bestR.toFixed(1)}: mean regret ×${Math.exp(bestReg.mean).toFixed(3)}, worst ×${
      bestReg.worst.toFixed(2)
    } → DIRECT_NS_PER_MAC ${med?.toFixed(3)}, FFT_NS_PER_NLOGN ${(bestR * med).toFixed(2)}`,
  );
}
