/**
 * A tiny PNG encoder for the demos: 8-bit grayscale, RGB or RGBA, one IDAT chunk compressed with
 * the web-standard `CompressionStream("deflate")` (a zlib stream, as PNG wants), CRC-32 by table.
 * Runs unchanged on Deno, Bun and Node 20+.
 * @module
 */

/** Bytes per pixel of each supported PNG color type. */
const COLOR_TYPES = { 1: 0, 3: 2, 4: 6 } as const; // gray, RGB, RGBA

const CRC_TABLE: Uint32Array = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (ISO 3309 / PNG) of `bytes`. */
export function crc32(bytes: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/** zlib-compresses `bytes` with the platform's CompressionStream. */
async function deflate(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([new Uint8Array(bytes)]).stream().pipeThrough(
    new CompressionStream("deflate"),
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/**
 * Encodes an image as PNG bytes.
 *
 * @param width Image width in pixels.
 * @param height Image height in pixels.
 * @param pixels Row-major 8-bit samples, `channels` per pixel (length `width * height * channels`).
 * @param channels 1 (grayscale), 3 (RGB) or 4 (RGBA; default).
 * @returns The PNG file contents.
 * @example
 * ```ts
 * const png = await encodePng(2, 1, new Uint8Array([0, 255]), 1);
 * // png starts with the signature 137 80 78 71 13 10 26 10
 * ```
 */
export async function encodePng(
  width: number,
  height: number,
  pixels: Uint8Array,
  channels: 1 | 3 | 4 = 4,
): Promise<Uint8Array> {
  if (!(channels in COLOR_TYPES)) {
    throw new RangeError(`encodePng: channels ${channels} must be 1, 3 or 4`);
  }
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(
      `encodePng: width ${width} and height ${height} must be positive integers`,
    );
  }
  const stride = width * channels;
  if (pixels.length !== stride * height) {
    throw new TypeError(
      `encodePng: pixels has length ${pixels.length}, expected ${width}x${height}x${channels}`,
    );
  }
  // every scanline starts with its filter type; 0 (None) keeps the encoder trivial
  const raw = new Uint8Array((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    raw.set(pixels.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  }
  const header = new Uint8Array(13);
  const hv = new DataView(header.buffer);
  hv.setUint32(0, width);
  hv.setUint32(4, height);
  header[8] = 8; // bit depth
  header[9] = COLOR_TYPES[channels];
  // compression, filter and interlace methods are all 0
  const parts = [
    new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk("IHDR", header),
    chunk("IDAT", await deflate(raw)),
    chunk("IEND", new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
