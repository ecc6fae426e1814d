// Tests for lib/prng.ts: Random123 known-answer vectors, JAX-compatible key/bit layouts,
// determinism, sampling statistics and the deterministic erf/erfc/erfinv.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  erf,
  erfc,
  erfinv,
  foldIn,
  keyFromSeed,
  normalFromBits,
  randomBits,
  splitKey,
  threefry2x32,
  uniformFromBits,
} from "./prng.ts";

const u32 = (...xs: number[]) => new Uint32Array(xs);

function assertClose(actual: number, expected: number, rel: number, msg = "") {
  const err = Math.abs(actual - expected) / Math.max(Math.abs(expected), 1e-300);
  assert.ok(err <= rel, `${msg} got ${actual}, expected ${expected} (rel err ${err})`);
}

function moments(xs: ArrayLike<number>): [number, number] {
  let s = 0, s2 = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  const mean = s / xs.length;
  for (let i = 0; i < xs.length; i++) s2 += (xs[i] - mean) ** 2;
  return [mean, s2 / xs.length];
}

describe("threefry2x32", () => {
  test("Random123 known-answer vectors (threefry2x32_20)", () => {
    const cases: [number[], number[], number[]][] = [
      [[0, 0], [0, 0], [0x6b200159, 0x99ba4efe]],
      [[0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff], [0x1cb996fc, 0xbb002be7]],
      [[0x13198a2e, 0x03707344], [0x243f6a88, 0x85a308d3], [0xc4923a9c, 0x483df7a0]],
    ];
    for (const [key, ctr, expected] of cases) {
      const [a, b] = threefry2x32(u32(...key), u32(ctr[0]), u32(ctr[1]));
      assert.deepEqual([a[0], b[0]], expected);
    }
  });

  test("is elementwise over counter arrays", () => {
    const key = u32(0x13198a2e, 0x03707344);
    const [a, b] = threefry2x32(key, u32(0, 0x243f6a88, 7), u32(0, 0x85a308d3, 9));
    for (let i = 0; i < 3; i++) {
      const [c, d] = threefry2x32(key, u32([0, 0x243f6a88, 7][i]), u32([0, 0x85a308d3, 9][i]));
      assert.deepEqual([a[i], b[i]], [c[0], d[0]]);
    }
    assert.deepEqual([a[1], b[1]], [0xc4923a9c, 0x483df7a0]);
  });

  test("rejects bad keys and mismatched counters", () => {
    assert.throws(() => threefry2x32(u32(1, 2, 3), u32(0), u32(0)), TypeError);
    assert.throws(() => threefry2x32([0, 0] as unknown as Uint32Array, u32(0), u32(0)), TypeError);
    assert.throws(() => threefry2x32(u32(0, 0), u32(0, 1), u32(0)), /differ in length \(2 and 1\)/);
  });
});

describe("keys", () => {
  test("keyFromSeed follows JAX's [hi, lo] layout", () => {
    assert.deepEqual(keyFromSeed(0), u32(0, 0));
    assert.deepEqual(keyFromSeed(42), u32(0, 42));
    assert.deepEqual(keyFromSeed(0xffffffff), u32(0, 0xffffffff));
    assert.deepEqual(keyFromSeed(2 ** 40 + 5), u32(256, 5));
    assert.deepEqual(keyFromSeed(-1), u32(0xffffffff, 0xffffffff));
    assert.deepEqual(keyFromSeed(-(2 ** 32)), u32(0xffffffff, 0));
    assert.deepEqual(keyFromSeed(Number.MIN_SAFE_INTEGER), u32(0xffe00000, 1));
    assert.throws(() => keyFromSeed(1.5), RangeError);
    assert.throws(() => keyFromSeed(2 ** 53), /safe integer, got 9007199254740992/);
  });

  test("splitKey matches jax.random.split (original threefry_split)", () => {
    // jax.random.split(jax.random.key(0)) -> [[4146024105, 967050713], [2718843009, 1272950319]]
    assert.deepEqual(splitKey(keyFromSeed(0)), u32(4146024105, 967050713, 2718843009, 1272950319));
    assert.deepEqual(
      splitKey(keyFromSeed(0), 3),
      u32(2467461003, 428148500, 3186719485, 3840466878, 2562233961, 1946702221),
    );
    assert.deepEqual(splitKey(keyFromSeed(0), 0), u32());
    assert.throws(() => splitKey(keyFromSeed(0), -1), RangeError);
  });

  test("split keys differ from each other and from the parent", () => {
    const key = keyFromSeed(1234), keys = splitKey(key, 64), seen = new Set<string>();
    seen.add(`${key[0]},${key[1]}`);
    for (let i = 0; i < 64; i++) seen.add(`${keys[2 * i]},${keys[2 * i + 1]}`);
    assert.equal(seen.size, 65);
    assert.deepEqual(splitKey(key, 64), keys);
  });

  test("foldIn is threefry of (0, data mod 2^32)", () => {
    const key = keyFromSeed(7);
    const [a, b] = threefry2x32(key, u32(0), u32(5));
    assert.deepEqual(foldIn(key, 5), u32(a[0], b[0]));
    assert.deepEqual(foldIn(key, 2 ** 32 + 5), foldIn(key, 5));
    assert.deepEqual(foldIn(key, -1), foldIn(key, 0xffffffff));
    assert.notDeepEqual(foldIn(key, 1), foldIn(key, 2));
    assert.notDeepEqual(foldIn(key, 1), foldIn(keyFromSeed(8), 1));
    assert.throws(() => foldIn(key, 0.5), RangeError);
  });
});

describe("randomBits", () => {
  test("matches JAX's 32-bit layout for even and odd counts", () => {
    const key = keyFromSeed(0);
    assert.deepEqual(randomBits(key, 4), u32(4146024105, 967050713, 2718843009, 1272950319));
    assert.deepEqual(randomBits(key, 3), u32(4146024105, 1351547692, 2718843009));
    assert.deepEqual(randomBits(key, 1), u32(1797259609));
    assert.deepEqual(randomBits(keyFromSeed(1), 1), u32(507451445));
    assert.deepEqual(randomBits(key, 0), u32());
  });

  test("layout: counters (i, h + i), output [...y0, ...y1]", () => {
    const key = keyFromSeed(99), count = 7, h = 4, bits = randomBits(key, count);
    const [y0, y1] = threefry2x32(key, u32(0, 1, 2, 3), u32(4, 5, 6, 0));
    assert.deepEqual(bits, u32(...y0, ...y1.subarray(0, 3)));
    assert.equal(bits.length, 2 * h - 1);
  });

  test("is deterministic and key-dependent", () => {
    assert.deepEqual(randomBits(keyFromSeed(5), 1000), randomBits(keyFromSeed(5), 1000));
    assert.notDeepEqual(randomBits(keyFromSeed(5), 8), randomBits(keyFromSeed(6), 8));
    assert.throws(() => randomBits(keyFromSeed(5), -1), RangeError);
    assert.throws(() => randomBits(keyFromSeed(5), 2.5), RangeError);
  });
});

describe("uniformFromBits", () => {
  const N = 100_000;

  test("float32: in [0, 1) with mean 1/2 and variance 1/12", () => {
    const u = uniformFromBits(randomBits(keyFromSeed(1), N), new Float32Array(N));
    assert.ok(u.every((x) => x >= 0 && x < 1));
    const [mean, variance] = moments(u);
    assert.ok(Math.abs(mean - 0.5) < 0.005, `mean ${mean}`);
    assert.ok(Math.abs(variance - 1 / 12) < 0.002, `variance ${variance}`);
  });

  test("float64 52-bit and 23-bit layouts", () => {
    const bits = randomBits(keyFromSeed(2), 2 * N);
    const wide = uniformFromBits(bits, new Float64Array(N));
    const [mean, variance] = moments(wide);
    assert.ok(wide.every((x) => x >= 0 && x < 1));
    assert.ok(Math.abs(mean - 0.5) < 0.005 && Math.abs(variance - 1 / 12) < 0.002);
    // 64-bit word i is (bits[i] << 32) | bits[N + i]; top 52 bits give the mantissa.
    assert.equal(wide[3], (bits[3] * 2 ** 20 + (bits[N + 3] >>> 12)) / 2 ** 52);
    assert.ok(wide.some((x) => x * 2 ** 23 !== Math.floor(x * 2 ** 23)));
    const narrow = uniformFromBits(bits.subarray(0, N), new Float64Array(N));
    const f32 = uniformFromBits(bits.subarray(0, N), new Float32Array(N));
    assert.deepEqual(Array.from(narrow), Array.from(f32));
  });

  test("scales to [low, high) and never returns high", () => {
    const u = uniformFromBits(randomBits(keyFromSeed(3), 1000), new Float32Array(1000), -3, 5);
    assert.ok(u.every((x) => x >= -3 && x < 5));
    assert.ok(u.some((x) => x < -2) && u.some((x) => x > 4));
    const high = 1 + 2 ** -23; // next float32 after 1: rounding would often hit high
    const v = uniformFromBits(randomBits(keyFromSeed(3), 1000), new Float32Array(1000), 1, high);
    assert.ok(v.every((x) => x === 1));
    const w = uniformFromBits(
      randomBits(keyFromSeed(3), 1000),
      new Float64Array(1000),
      1,
      1 + 2 ** -52,
    );
    assert.ok(w.every((x) => x === 1));
  });

  test("rejects a bits length that does not fit the output", () => {
    assert.throws(
      () => uniformFromBits(u32(1, 2), new Float32Array(3)),
      /bits has length 2 but out needs 3/,
    );
    assert.throws(() => uniformFromBits(u32(1, 2, 3), new Float64Array(2)), /out needs 2 or 4/);
  });
});

describe("normalFromBits", () => {
  const N = 100_000;

  test("float32 reproduces published jax.random.normal values", () => {
    const key = keyFromSeed(0);
    const one = normalFromBits(randomBits(key, 1), new Float32Array(1));
    assert.equal(one[0], Math.fround(-0.20584226));
    const four = normalFromBits(randomBits(key, 4), new Float32Array(4));
    assert.deepEqual(
      Array.from(four),
      [1.8160863, -0.75488514, 0.33988908, -0.53483534].map(Math.fround),
    );
    const sub = splitKey(key).subarray(2, 4);
    assert.equal(
      normalFromBits(randomBits(sub, 1), new Float32Array(1))[0],
      Math.fround(-1.2515389),
    );
  });

  for (
    const [name, make, words] of [["float32", Float32Array, 1], [
      "float64",
      Float64Array,
      2,
    ]] as const
  ) {
    test(`${name}: mean 0, variance 1, normal tails`, () => {
      const z = normalFromBits(randomBits(keyFromSeed(11), words * N), new make(N));
      const [mean, variance] = moments(z);
      assert.ok(Math.abs(mean) < 0.015, `mean ${mean}`);
      assert.ok(Math.abs(variance - 1) < 0.02, `variance ${variance}`);
      const within1 = z.filter((x) => Math.abs(x) < 1).length / N;
      assert.ok(Math.abs(within1 - 0.6826894921) < 0.005, `P(|z|<1) = ${within1}`);
      assert.ok(z.every(Number.isFinite));
    });
  }

  test("is deterministic", () => {
    const bits = randomBits(keyFromSeed(4), 2000);
    assert.deepEqual(
      normalFromBits(bits, new Float64Array(1000)),
      normalFromBits(bits, new Float64Array(1000)),
    );
  });
});

describe("erf, erfc, erfinv", () => {
  test("erfinv known values", () => {
    const cases: [number, number][] = [
      [0.5, 0.4769362762044699],
      [0.9, 1.163087153676674],
      [0.999, 2.3267537655135246],
      [1e-10, 8.86226925452758e-11],
      [-0.3, -0.2724627147267544],
      [1 - 2 ** -52, 5.805018683193453],
    ];
    for (const [x, expected] of cases) assertClose(erfinv(x), expected, 4e-15, `erfinv(${x})`);
  });

  test("erfinv special values", () => {
    assert.equal(erfinv(1), Infinity);
    assert.equal(erfinv(-1), -Infinity);
    assert.ok(Object.is(erfinv(0), 0) && Object.is(erfinv(-0), -0));
    assert.ok(Number.isNaN(erfinv(1.5)) && Number.isNaN(erfinv(NaN)));
  });

  test("erf and erfc known values", () => {
    assertClose(erf(0.5), 0.5204998778130465, 2e-15, "erf(0.5)");
    assertClose(erf(2), 0.9953222650189527, 2e-15, "erf(2)");
    assertClose(erf(-1), -0.8427007929497149, 2e-15, "erf(-1)");
    assertClose(erfc(3), 2.209049699858544e-5, 2e-15, "erfc(3)");
    assertClose(erfc(10), 2.088487583762545e-45, 2e-15, "erfc(10)");
    assertClose(erfc(-1), 1.8427007929497148, 2e-15, "erfc(-1)");
    assertClose(erfc(0.5), 0.4795001221869535, 2e-15, "erfc(0.5)");
    assert.equal(erf(Infinity), 1);
    assert.equal(erfc(Infinity), 0);
    assert.equal(erfc(-Infinity), 2);
    assert.ok(Number.isNaN(erf(NaN)) && Number.isNaN(erfc(NaN)));
  });

  test("erf(erfinv(x)) round-trips", () => {
    for (let i = -999; i <= 999; i += 7) {
      const x = i / 1000;
      assert.ok(Math.abs(erf(erfinv(x)) - x) < 3e-15, `x = ${x}`);
    }
  });
});
