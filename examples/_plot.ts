/**
 * A tiny raster plotter for the demos: an RGBA canvas with clipped thick lines, filled boxes,
 * a 3×5 pixel font (digits, a few capitals and `.%-`), and line-plot panels with axes, grid,
 * tick labels and a legend. Output goes through `_png.ts`.
 * @module
 */

/** An RGB color. */
export type RGB = [number, number, number];

const FONT: Record<string, string> = {
  "0": "111101101101111",
  "1": "010110010010111",
  "2": "111001111100111",
  "3": "111001111001111",
  "4": "101101111001001",
  "5": "111100111001111",
  "6": "111100111101111",
  "7": "111001001010010",
  "8": "111101111101111",
  "9": "111101111001111",
  ".": "000000000000010",
  "%": "101001010100101",
  "-": "000000111000000",
  " ": "000000000000000",
  A: "010101111101101",
  C: "011100100100011",
  D: "110101101101110",
  E: "111100110100111",
  G: "011100101101011",
  H: "101101111101101",
  I: "111010010010111",
  L: "100100100100111",
  M: "101111111101101",
  N: "101111111111101",
  O: "010101101101010",
  P: "110101110100100",
  R: "110101110101101",
  S: "011100010001110",
  T: "111010010010010",
  U: "101101101101111",
  Y: "101101010010010",
  X: "101101010101101",
  "(": "010100100100010",
  ")": "010001001001010",
  "/": "001001010100100",
};

/** An RGBA image with an optional clip rectangle for drawing. */
export class Canvas {
  readonly data: Uint8Array;
  #clip: [number, number, number, number];

  constructor(readonly width: number, readonly height: number, background: RGB = [255, 255, 255]) {
    this.data = new Uint8Array(width * height * 4);
    for (let i = 0; i < width * height; i++) this.data.set([...background, 255], 4 * i);
    this.#clip = [0, 0, width, height];
  }

  /** Restricts drawing to `[x0, x1) × [y0, y1)` (no arguments: the whole canvas). */
  clip(x0 = 0, y0 = 0, x1 = this.width, y1 = this.height): void {
    this.#clip = [
      Math.max(0, x0),
      Math.max(0, y0),
      Math.min(this.width, x1),
      Math.min(this.height, y1),
    ];
  }

  /** Blends `color` at opacity `alpha` into pixel (x, y) if inside the clip. */
  plot(x: number, y: number, color: RGB, alpha = 1): void {
    x = Math.round(x), y = Math.round(y);
    const [x0, y0, x1, y1] = this.#clip;
    if (x < x0 || y < y0 || x >= x1 || y >= y1) return;
    const i = 4 * (y * this.width + x);
    for (let c = 0; c < 3; c++) {
      this.data[i + c] = Math.round(this.data[i + c] * (1 - alpha) + color[c] * alpha);
    }
  }

  /** Fills the box `[x, x + w) × [y, y + h)`. */
  box(x: number, y: number, w: number, h: number, color: RGB, alpha = 1): void {
    for (let j = 0; j < h; j++) for (let i = 0; i < w; i++) this.plot(x + i, y + j, color, alpha);
  }

  /** A line of the given width from (x0, y0) to (x1, y1), stamped as small squares. */
  line(x0: number, y0: number, x1: number, y1: number, color: RGB, width = 1, alpha = 1): void {
    const n = Math.max(1, Math.ceil(Math.hypot(x1 - x0, y1 - y0) * 2));
    const r = (width - 1) / 2;
    const seen = new Set<number>();
    for (let k = 0; k <= n; k++) {
      const cx = x0 + ((x1 - x0) * k) / n, cy = y0 + ((y1 - y0) * k) / n;
      for (let dy = -r; dy <= r; dy++) {
        for (let dx = -r; dx <= r; dx++) {
          const px = Math.round(cx + dx), py = Math.round(cy + dy);
          const key = py * this.width + px;
          if (seen.has(key)) continue; // keep translucent lines even
          seen.add(key);
          this.plot(px, py, color, alpha);
        }
      }
    }
  }

  /** Text in the 3×5 font, each font pixel drawn as a `scale`×`scale` box; returns the width. */
  text(x: number, y: number, s: string, color: RGB, scale = 2): number {
    let cx = x;
    for (const ch of s.toUpperCase()) {
      const g = FONT[ch] ?? FONT[" "];
      for (let r = 0; r < 5; r++) {
        for (let c = 0; c < 3; c++) {
          if (g[3 * r + c] === "1") this.box(cx + c * scale, y + r * scale, scale, scale, color);
        }
      }
      cx += 4 * scale;
    }
    return cx - x - scale;
  }

  /** Width in pixels of `s` drawn by {@link text} at `scale`. */
  static textWidth(s: string, scale = 2): number {
    return s.length === 0 ? 0 : s.length * 4 * scale - scale;
  }
}

/** One curve of a panel. */
export interface Series {
  label: string;
  xs: number[];
  ys: number[];
  color: RGB;
  /** Line width in pixels (default 2). */
  width?: number;
  /** Opacity (default 1). */
  alpha?: number;
  /** Draw a dot at every point (default false). */
  markers?: boolean;
}

/** A line-plot panel. */
export interface Panel {
  title: string;
  series: Series[];
  /** x range and ticks. */
  x: [number, number];
  xTicks: number[];
  /** y range and ticks (in data units, also when `logY`). */
  y: [number, number];
  yTicks: number[];
  /** Log-scale y axis. */
  logY?: boolean;
  /** Tick label text of y values (default `String`). */
  yLabel?: (v: number) => string;
  /** Axis title under the x axis. */
  xTitle?: string;
  /** Legend corner inside the plot area (default top right). */
  legend?: "top" | "bottom";
}

const AXIS: RGB = [40, 40, 40];
const GRID: RGB = [225, 225, 225];

/** Draws `panel` into the box `[left, left + w) × [top, top + h)` of `cv`. */
export function drawPanel(
  cv: Canvas,
  panel: Panel,
  left: number,
  top: number,
  w: number,
  h: number,
): void {
  const S = 2; // font scale
  const yText = panel.yLabel ?? String;
  const labelW = Math.max(...panel.yTicks.map((v) => Canvas.textWidth(yText(v), S)));
  const px0 = left + labelW + 10, px1 = left + w - 10;
  const py0 = top + 24, py1 = top + h - 40;
  const fy = (v: number) => (panel.logY ? Math.log10(v) : v);
  const [ylo, yhi] = [fy(panel.y[0]), fy(panel.y[1])];
  const sx = (x: number) => px0 + ((x - panel.x[0]) / (panel.x[1] - panel.x[0])) * (px1 - px0);
  const sy = (y: number) => py1 - ((fy(y) - ylo) / (yhi - ylo)) * (py1 - py0);

  cv.text(left + (w - Canvas.textWidth(panel.title, 3)) / 2, top, panel.title, AXIS, 3);
  for (const t of panel.yTicks) {
    const y = Math.round(sy(t));
    cv.line(px0, y, px1, y, GRID);
    cv.line(px0 - 4, y, px0, y, AXIS);
    const s = yText(t);
    cv.text(px0 - 8 - Canvas.textWidth(s, S), y - 5, s, AXIS, S);
  }
  for (const t of panel.xTicks) {
    const x = Math.round(sx(t));
    cv.line(x, py0, x, py1, GRID);
    cv.line(x, py1, x, py1 + 4, AXIS);
    cv.text(x - Canvas.textWidth(String(t), S) / 2, py1 + 8, String(t), AXIS, S);
  }
  if (panel.xTitle) {
    cv.text((px0 + px1 - Canvas.textWidth(panel.xTitle, S)) / 2, py1 + 24, panel.xTitle, AXIS, S);
  }
  cv.line(px0, py0, px0, py1, AXIS);
  cv.line(px0, py1, px1, py1, AXIS);

  cv.clip(px0 + 1, py0 - 2, px1 + 3, py1);
  for (const s of panel.series) {
    for (let i = 1; i < s.xs.length; i++) {
      cv.line(
        sx(s.xs[i - 1]),
        sy(s.ys[i - 1]),
        sx(s.xs[i]),
        sy(s.ys[i]),
        s.color,
        s.width ?? 2,
        s.alpha ?? 1,
      );
    }
    if (s.markers) {
      for (let i = 0; i < s.xs.length; i++) {
        cv.box(sx(s.xs[i]) - 3, sy(s.ys[i]) - 3, 7, 7, s.color);
      }
    }
  }
  cv.clip();

  // legend in the top or bottom right corner of the plot area
  const legendH = panel.series.length * 16 + 6;
  let ly = panel.legend === "bottom" ? py1 - legendH - 4 : py0 + 8;
  const legendW = Math.max(...panel.series.map((s) => Canvas.textWidth(s.label, S))) + 34;
  cv.box(px1 - legendW - 12, ly - 6, legendW + 8, legendH, [255, 255, 255], 0.85);
  for (const s of panel.series) {
    const lx = px1 - legendW - 6;
    cv.line(lx, ly + 4, lx + 20, ly + 4, s.color, 3, Math.max(s.alpha ?? 1, 0.35));
    cv.text(lx + 26, ly, s.label, AXIS, S);
    ly += 16;
  }
}
