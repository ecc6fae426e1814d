/**
 * The implicit-GEMM convolution (kernels/wasm/sconv.ts via lib/backend/cpu/conv.ts) is
 * bit-identical to the sgemm over an explicit im2col matrix, across the packer's paths: panels
 * that straddle image rows and padding (vector and scalar run copies), K blocks that start
 * inside an input channel or hold fewer taps than a channel, few and many channels per tap, M
 * edges of every height, one M block (B packed panel by panel) and several (B packed by
 * blocks), and the channel gap of the input's Wasm copy; as first called (single-threaded until
 * the pool is up), then on the worker pool (threads claiming chunks of columns).
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { convF32, currentPool, startPool } from "../lib/backend/cpu/conv.ts";
import { resolveConvParams } from "../lib/ops/conv_params.ts";
import { matmulF32 } from "../kernels/wasm/sgemm.ts";

interface Case {
  x: [number, number, number, number];
  w: [number, number, number, number];
  strides: [number, number];
  pad: [number, number][];
  dil: [number, number];
}

const CASES: Case[] = [
  // rows of 13 cross 12-wide panels; runs of 1…13 and padding
  { x: [2, 5, 11, 13], w: [7, 5, 3, 3], strides: [1, 1], pad: [[1, 1], [1, 1]], dil: [1, 1] },
  // K = 47·9 = 423: two K blocks of 212, the second starting inside a channel; M = 130 > one M
  // block; M edge of 1 row
  { x: [1, 47, 10, 17], w: [130, 47, 3, 3], strides: [1, 1], pad: [[1, 1], [2, 0]], dil: [1, 1] },
  // strides and dilation: runs of 1, M edge of 2 rows, channel stride ≥ 256 (gap in the copy)
  { x: [2, 6, 20, 30], w: [8, 6, 3, 2], strides: [2, 1], pad: [[0, 2], [3, 1]], dil: [2, 3] },
  // wide rows: long runs, 4 ≤ run < 12 around padding at both ends
  { x: [1, 3, 6, 70], w: [3, 3, 1, 7], strides: [1, 1], pad: [[0, 0], [3, 3]], dil: [1, 1] },
  // two channels: the packer goes channel by channel; then K blocks of 200 taps of 300 (starting
  // at taps 0, 200, 100: a block's taps wrap around into the next channel)
  { x: [1, 2, 9, 15], w: [5, 2, 3, 3], strides: [1, 1], pad: [[1, 1], [1, 1]], dil: [1, 1] },
  { x: [1, 2, 2, 320], w: [3, 2, 1, 300], strides: [1, 1], pad: [[0, 0], [0, 0]], dil: [1, 1] },
  // big enough for the pool's threads to claim chunks of columns
  { x: [2, 8, 40, 40], w: [25, 8, 3, 3], strides: [1, 1], pad: [[1, 1], [1, 1]], dil: [1, 1] },
];

function rnd(n: number, seed: number): Float32Array {
  let s = seed;
  return new Float32Array(n).map(() => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) - 0.5);
}

/** im2col B[ci·nT + t, n·nY + y] of an NCHW input for an OIHW kernel. */
function im2col(x: Float32Array, c: Case, Y: number[]): Float32Array {
  const [N, I, H, W] = c.x, [, , KH, KW] = c.w, nT = KH * KW, nY = Y[0] * Y[1];
  const b = new Float32Array(I * nT * N * nY);
  for (let ci = 0; ci < I; ci++) {
    for (let t = 0; t < nT; t++) {
      const kh = Math.floor(t / KW), kw = t % KW;
      for (let n = 0; n < N; n++) {
        for (let yh = 0; yh < Y[0]; yh++) {
          for (let yw = 0; yw < Y[1]; yw++) {
            const h = yh * c.strides[0] + kh * c.dil[0] - c.pad[0][0];
            const w = yw * c.strides[1] + kw * c.dil[1] - c.pad[1][0];
            const v = h < 0 || h >= H || w < 0 || w >= W ? 0 : x[((n * I + ci) * H + h) * W + w];
            b[(ci * nT + t) * N * nY + n * nY + yh * Y[1] + yw] = v;
          }
        }
      }
    }
  }
  return b;
}

for (const pooled of [false, true]) {
  for (const [i, c] of CASES.entries()) {
    const how = pooled ? "worker pool" : "as first called";
    test(`sconv packers (${how}): case ${i} equals sgemm over im2col bit for bit`, async () => {
      if (pooled) {
        await startPool();
        if (!currentPool()) return; // no workers here
      }
      check(c, i);
    });
  }
}

/** convF32 on case `c` against matmulF32 over the im2col matrix, element by element. */
function check(c: Case, i: number): void {
  const p = resolveConvParams(c.x, c.w, c.strides, c.pad, { rhsDilation: c.dil });
  const Y = [0, 1].map((d) => {
    const span = (c.w[2 + d] - 1) * c.dil[d] + 1;
    return Math.floor((c.x[2 + d] + c.pad[d][0] + c.pad[d][1] - span) / c.strides[d]) + 1;
  });
  const [N, I] = c.x, O = c.w[0], K = I * c.w[2] * c.w[3], nY = Y[0] * Y[1];
  const x = rnd(N * I * c.x[2] * c.x[3], 7 + i), w = rnd(O * K, 11 + i);
  const out = { shape: [N, O, ...Y], dtype: "float32" as const, weak: false };
  const got = convF32(
    { shape: c.x, dtype: "float32", data: x },
    { shape: c.w, dtype: "float32", data: w },
    p,
    out,
  );
  if (!got) throw new Error("convF32 declined a float32 convolution");
  const gemm = matmulF32(w, im2col(x, c, Y), O, K, N * nY); // [O, N·nY]
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      for (let y = 0; y < nY; y++) {
        const a: number = got[(n * O + o) * nY + y];
        const b: number = gemm[o * N * nY + n * nY + y];
        if (!Object.is(a, b)) assert.fail(`n=${n} o=${o} y=${y}: conv ${a} vs gemm ${b}`);
      }
    }
  }
}
