// Raw DEFLATE (RFC 1951): a canonical-Huffman decoder bounded by an expected output size, and an
// encoder with greedy LZ77 (hash chains) and the fixed Huffman code, falling back to stored blocks.

const LEN_BASE = [
  3,
  4,
  5,
  6,
  7,
  8,
  9,
  10,
  11,
  13,
  15,
  17,
  19,
  23,
  27,
  31,
  35,
  43,
  51,
  59,
  67,
  83,
  99,
  115,
  131,
  163,
  195,
  227,
  258,
];
const LEN_EXTRA = [
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  1,
  1,
  1,
  1,
  2,
  2,
  2,
  2,
  3,
  3,
  3,
  3,
  4,
  4,
  4,
  4,
  5,
  5,
  5,
  5,
  0,
];
const DIST_BASE = [
  1,
  2,
  3,
  4,
  5,
  7,
  9,
  13,
  17,
  25,
  33,
  49,
  65,
  97,
  129,
  193,
  257,
  385,
  513,
  769,
  1025,
  1537,
  2049,
  3073,
  4097,
  6145,
  8193,
  12289,
  16385,
  24577,
];
const DIST_EXTRA = [
  0,
  0,
  0,
  0,
  1,
  1,
  2,
  2,
  3,
  3,
  4,
  4,
  5,
  5,
  6,
  6,
  7,
  7,
  8,
  8,
  9,
  9,
  10,
  10,
  11,
  11,
  12,
  12,
  13,
  13,
];
const CL_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

interface Huffman {
  counts: Uint16Array;
  symbols: Uint16Array;
}

function buildHuffman(lengths: ArrayLike<number>, what: string): Huffman {
  const counts = new Uint16Array(16);
  for (let i = 0; i < lengths.length; i++) counts[lengths[i]]++;
  counts[0] = 0;
  let left = 1;
  for (let len = 1; len < 16; len++) {
    left = left * 2 - counts[len];
    if (left < 0) throw new TypeError(`inflate: over-subscribed ${what} code`);
  }
  const offs = new Uint16Array(16);
  for (let len = 1; len < 15; len++) offs[len + 1] = offs[len] + counts[len];
  const symbols = new Uint16Array(lengths.length);
  for (let s = 0; s < lengths.length; s++) if (lengths[s]) symbols[offs[lengths[s]]++] = s;
  return { counts, symbols };
}

const FIXED_LIT = buildHuffman(
  Array.from({ length: 288 }, (_, i) => (i < 144 ? 8 : i < 256 ? 9 : i < 280 ? 7 : 8)),
  "fixed",
);
const FIXED_DIST = buildHuffman(new Array(30).fill(5), "fixed");

/**
 * Inflates raw DEFLATE `src` into exactly `expected` bytes; anything else (a longer or shorter
 * stream, bad codes, distances before the start, truncation) is a TypeError or RangeError.
 */
export function inflate(src: Uint8Array, expected: number): Uint8Array {
  const out = new Uint8Array(expected);
  let pos = 0, bitBuf = 0, bitCnt = 0, inPos = 0;
  const truncated = (): never => {
    throw new TypeError("inflate: compressed data is truncated");
  };
  const bits = (n: number): number => {
    while (bitCnt < n) {
      if (inPos >= src.length) truncated();
      bitBuf |= src[inPos++] << bitCnt;
      bitCnt += 8;
    }
    const v = bitBuf & ((1 << n) - 1);
    bitBuf >>>= n;
    bitCnt -= n;
    return v;
  };
  const decodeSym = (h: Huffman): number => {
    let code = 0, first = 0, index = 0;
    for (let len = 1; len < 16; len++) {
      code |= bits(1);
      const count = h.counts[len];
      if (code - first < count) return h.symbols[index + code - first];
      index += count;
      first = (first + count) << 1;
      code <<= 1;
    }
    throw new TypeError("inflate: invalid Huffman code");
  };
  const overflow = (): never => {
    throw new RangeError(`inflate: data inflates past the declared ${expected} bytes`);
  };
  let last = 0;
  while (!last) {
    last = bits(1);
    const type = bits(2);
    if (type === 0) {
      bitBuf = 0;
      bitCnt = 0;
      if (inPos + 4 > src.length) truncated();
      const len = src[inPos] | (src[inPos + 1] << 8);
      const nlen = src[inPos + 2] | (src[inPos + 3] << 8);
      if ((len ^ 0xffff) !== nlen) throw new TypeError("inflate: stored block length mismatch");
      inPos += 4;
      if (inPos + len > src.length) truncated();
      if (pos + len > expected) overflow();
      out.set(src.subarray(inPos, inPos + len), pos);
      inPos += len;
      pos += len;
      continue;
    }
    if (type === 3) throw new TypeError("inflate: invalid block type 3");
    const [lit, dist] = type === 1 ? [FIXED_LIT, FIXED_DIST] : dynamicTables(bits, decodeSym);
    for (;;) {
      const sym = decodeSym(lit);
      if (sym < 256) {
        if (pos >= expected) overflow();
        out[pos++] = sym;
      } else if (sym === 256) break;
      else {
        const li = sym - 257;
        if (li >= 29) throw new TypeError(`inflate: invalid length symbol ${sym}`);
        const len = LEN_BASE[li] + bits(LEN_EXTRA[li]);
        const di = decodeSym(dist);
        if (di >= 30) throw new TypeError(`inflate: invalid distance symbol ${di}`);
        const d = DIST_BASE[di] + bits(DIST_EXTRA[di]);
        if (d > pos) throw new TypeError(`inflate: distance ${d} reaches before the start`);
        if (pos + len > expected) overflow();
        for (let k = 0; k < len; k++, pos++) out[pos] = out[pos - d];
      }
    }
  }
  if (pos !== expected) {
    throw new RangeError(`inflate: data inflates to ${pos} bytes, declared ${expected}`);
  }
  return out;
}

function dynamicTables(
  bits: (n: number) => number,
  decodeSym: (h: Huffman) => number,
): [Huffman, Huffman] {
  const nlen = bits(5) + 257, ndist = bits(5) + 1, ncode = bits(4) + 4;
  if (nlen > 286 || ndist > 30) throw new TypeError("inflate: bad dynamic block counts");
  const cl = new Uint8Array(19);
  for (let i = 0; i < ncode; i++) cl[CL_ORDER[i]] = bits(3);
  const clh = buildHuffman(cl, "code length");
  const lengths = new Uint8Array(nlen + ndist);
  for (let i = 0; i < nlen + ndist;) {
    const sym = decodeSym(clh);
    if (sym < 16) {
      lengths[i++] = sym;
      continue;
    }
    let rep = 0, val = 0;
    if (sym === 16) {
      if (i === 0) throw new TypeError("inflate: repeat with no previous length");
      val = lengths[i - 1];
      rep = 3 + bits(2);
    } else rep = sym === 17 ? 3 + bits(3) : 11 + bits(7);
    if (i + rep > nlen + ndist) throw new TypeError("inflate: code lengths overrun");
    lengths.fill(val, i, i + rep);
    i += rep;
  }
  if (lengths[256] === 0) throw new TypeError("inflate: no end-of-block code");
  return [
    buildHuffman(lengths.subarray(0, nlen), "literal/length"),
    buildHuffman(lengths.subarray(nlen), "distance"),
  ];
}

/** Bit writer, least significant bit first. */
class BitWriter {
  buf = new Uint8Array(1024);
  pos = 0;
  acc = 0;
  n = 0;
  put(v: number, n: number): void {
    this.acc |= v << this.n;
    this.n += n;
    while (this.n >= 8) {
      if (this.pos === this.buf.length) {
        const b = new Uint8Array(this.buf.length * 2);
        b.set(this.buf);
        this.buf = b;
      }
      this.buf[this.pos++] = this.acc & 0xff;
      this.acc >>>= 8;
      this.n -= 8;
    }
  }
  /** A Huffman code, most significant bit first. */
  code(c: number, n: number): void {
    let r = 0;
    for (let i = 0; i < n; i++) r |= ((c >> i) & 1) << (n - 1 - i);
    this.put(r, n);
  }
  finish(): Uint8Array {
    if (this.n > 0) this.put(0, 8 - this.n);
    return this.buf.slice(0, this.pos);
  }
}

function putLiteral(w: BitWriter, v: number): void {
  if (v < 144) w.code(0x30 + v, 8);
  else if (v < 256) w.code(0x190 + v - 144, 9);
  else if (v < 280) w.code(v - 256, 7);
  else w.code(0xc0 + v - 280, 8);
}

function findIndex(base: number[], v: number): number {
  let i = base.length - 1;
  while (base[i] > v) i--;
  return i;
}

/** Raw DEFLATE of `src`: one fixed-Huffman block with LZ77 matches, or stored blocks if smaller. */
export function deflate(src: Uint8Array): Uint8Array {
  const w = new BitWriter();
  w.put(1, 1);
  w.put(1, 2);
  const HASH = 1 << 15, WIN = 32768, CHAIN = 32;
  const head = new Int32Array(HASH).fill(-1);
  const prev = new Int32Array(WIN);
  const hash = (i: number) => ((src[i] << 10) ^ (src[i + 1] << 5) ^ src[i + 2]) & (HASH - 1);
  const insert = (i: number) => {
    if (i + 2 >= src.length) return;
    const h = hash(i);
    prev[i & (WIN - 1)] = head[h];
    head[h] = i;
  };
  for (let i = 0; i < src.length;) {
    let bestLen = 0, bestDist = 0;
    if (i + 2 < src.length) {
      let cand = head[hash(i)];
      const max = Math.min(258, src.length - i);
      for (let c = 0; c < CHAIN && cand >= 0 && i - cand <= WIN; c++) {
        let l = 0;
        while (l < max && src[cand + l] === src[i + l]) l++;
        if (l > bestLen) [bestLen, bestDist] = [l, i - cand];
        if (l === max) break;
        cand = prev[cand & (WIN - 1)];
      }
    }
    if (bestLen >= 3) {
      const li = findIndex(LEN_BASE, bestLen);
      putLiteral(w, 257 + li);
      w.put(bestLen - LEN_BASE[li], LEN_EXTRA[li]);
      const di = findIndex(DIST_BASE, bestDist);
      w.code(di, 5);
      w.put(bestDist - DIST_BASE[di], DIST_EXTRA[di]);
      for (let k = 0; k < bestLen; k++) insert(i + k);
      i += bestLen;
    } else {
      putLiteral(w, src[i]);
      insert(i);
      i++;
    }
  }
  putLiteral(w, 256);
  const fixed = w.finish();
  const storedSize = src.length + 5 * Math.max(1, Math.ceil(src.length / 65535));
  return fixed.length <= storedSize ? fixed : stored(src);
}

function stored(src: Uint8Array): Uint8Array {
  const nblocks = Math.max(1, Math.ceil(src.length / 65535));
  const out = new Uint8Array(src.length + 5 * nblocks);
  let o = 0;
  for (let b = 0; b < nblocks; b++) {
    const chunk = src.subarray(b * 65535, Math.min(src.length, (b + 1) * 65535));
    out[o] = b === nblocks - 1 ? 1 : 0;
    out[o + 1] = chunk.length & 0xff;
    out[o + 2] = chunk.length >> 8;
    out[o + 3] = ~chunk.length & 0xff;
    out[o + 4] = (~chunk.length >> 8) & 0xff;
    out.set(chunk, o + 5);
    o += 5 + chunk.length;
  }
  return out;
}
