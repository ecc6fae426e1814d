/**
 * io: reads the files NumPy and the safetensors layout produce (tests/fixtures/io_files.json,
 * made by gen_io_fixtures.py), writes them byte for byte, has NumPy read ours when python3 is
 * present, and survives a fuzz over mutated fixtures with only TypeError/RangeError.
 * @module
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import process from "node:process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { io, lax, np, type Tensor } from "../mod.ts";
import { deflate, inflate } from "../lib/io/inflate.ts";
import fixtures from "./fixtures/io_files.json" with { type: "json" };

interface Expect {
  dtype: string;
  shape: number[];
  values: (number | string)[];
}
const FILES = fixtures.files as Record<string, { b64: string; expect: unknown }>;
const bytesOf = (name: string): Uint8Array => {
  const s = atob(FILES[name].b64);
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
};

const num = (v: number | string): number =>
  v === "inf" ? Infinity : v === "-inf" ? -Infinity : v === "nan" ? NaN : Number(v);

function check(t: Tensor, e: Expect, what: string): void {
  assert.equal(t.dtype, e.dtype, `${what} dtype`);
  assert.deepEqual(t.shape, e.shape, `${what} shape`);
  const got = Array.from((t.dtype === "bfloat16" ? t.astype("float32") : t).dataSync(), Number);
  assert.deepEqual(got, e.values.map(num), `${what} values`);
}

/**
 * A python with numpy, or why there is none. PATH may lack pyenv's shims (a non-login shell, a
 * runner started without the user's profile), so $PYTHON, PATH's python3/python and pyenv's shim
 * are all tried, each with this process's whole environment.
 */
function findPython(): { python?: string; why: string } {
  const home = process.env.HOME ?? "";
  const pyenv = process.env.PYENV_ROOT ?? (home && join(home, ".pyenv"));
  const candidates = [
    process.env.PYTHON,
    "python3",
    "python",
    pyenv && join(pyenv, "shims", "python3"),
  ]
    .filter((c): c is string => !!c);
  const why: string[] = [];
  for (const c of candidates) {
    const r = spawnSync(c, ["-c", "import numpy"], { encoding: "utf8", env: process.env });
    if (r.status === 0) return { python: c, why: "" };
    why.push(`${c}: ${r.error?.message ?? r.stderr.trim().split("\n").pop()}`);
  }
  return { why: why.join("; ") };
}

function tensorOf(e: Expect): Tensor {
  const vals = e.values.map(num);
  return np.array(vals, { dtype: e.dtype as "float32" }).reshape(e.shape);
}

describe("io: NumPy's files", () => {
  test("fromNpy reads every numpy.save fixture (our dtypes natively, int16 -> int32, 64-bit ints narrowed, big-endian, Fortran order)", () => {
    for (const name of Object.keys(FILES).filter((n) => n.endsWith(".npy"))) {
      check(io.fromNpy(bytesOf(name)), FILES[name].expect as Expect, name);
    }
  });

  test("toNpy writes what numpy.save writes, byte for byte", () => {
    for (
      const k of [
        ...["f32_2x3", "f64_scalar", "i32_1d", "bool_2x2", "f32_empty", "f32_nan", "f32_3d"],
        ...["f16", "f16_2x3", "u8", "i8", "u32"],
      ]
    ) {
      const name = `${k}.npy`;
      const t = tensorOf(FILES[name].expect as Expect);
      assert.deepEqual(io.toNpy(t), bytesOf(name), name);
    }
    // complex: what fromNpy read is written back byte for byte (C order)
    const c64 = io.fromNpy(bytesOf("c64.npy"));
    assert.deepEqual(io.toNpy(c64), bytesOf("c64.npy"), "c64.npy");
  });

  test("npz: reads savez and savez_compressed; toNpz equals numpy.savez byte for byte", () => {
    for (const name of ["savez.npz", "savez_compressed.npz"]) {
      const got = io.fromNpz(bytesOf(name));
      const exp = FILES[name].expect as Record<string, Expect>;
      assert.deepEqual(Object.keys(got), Object.keys(exp));
      for (const k of Object.keys(exp)) check(got[k], exp[k], `${name}:${k}`);
    }
    const exp = FILES["savez.npz"].expect as Record<string, Expect>;
    const rec = Object.fromEntries(Object.entries(exp).map(([k, e]) => [k, tensorOf(e)]));
    assert.deepEqual(io.toNpz(rec), bytesOf("savez.npz"));
    const comp = io.toNpz(rec, { compressed: true });
    assert.ok(comp.length < bytesOf("savez.npz").length, "compressed is smaller");
    const back = io.fromNpz(comp);
    for (const k of Object.keys(exp)) check(back[k], exp[k], `ours compressed:${k}`);
    assert.throws(() => io.toNpz(rec, { compress: true } as never), /did you mean "compressed"/);
  });

  test("safetensors: reads the reference layout (F16, I8, U8, U32 natively; BF16, I64 widened/narrowed); writes it byte for byte", () => {
    for (const name of Object.keys(FILES).filter((n) => n.endsWith(".safetensors"))) {
      const got = io.fromSafetensors(bytesOf(name));
      const exp = FILES[name].expect as Record<string, Expect>;
      assert.deepEqual(Object.keys(got).sort(), Object.keys(exp).sort(), name);
      for (const k of Object.keys(exp)) check(got[k], exp[k], `${name}:${k}`);
    }
    for (
      const [name, meta] of [
        ["plain.safetensors", undefined],
        ["meta.safetensors", { format: "pt" }],
        ["native.safetensors", undefined],
      ] as const
    ) {
      const exp = FILES[name].expect as Record<string, Expect>;
      const rec = Object.fromEntries(Object.entries(exp).map(([k, e]) => [k, tensorOf(e)]));
      assert.deepEqual(io.toSafetensors(rec, meta), bytesOf(name), name);
    }
    assert.deepEqual(io.readSafetensors(bytesOf("meta.safetensors")).metadata, { format: "pt" });
  });

  test("NumPy loads what io writes (python3 subprocess, when numpy is installed)", (t) => {
    const { python, why } = findPython();
    if (!python) return t.skip(`no python with numpy (${why})`);
    const dir = mkdtempSync(join(tmpdir(), "tg-io-"));
    const x = np.array([[1.5, -2], [3, 4.25]], { dtype: "float32" });
    const i = np.arange(5);
    const b = np.array([true, false, true]);
    const d = np.array([Math.PI, 1e-300], { dtype: "float64" });
    const small = {
      h: np.array([0.1, -65504, Infinity, 2 ** -24], { dtype: "float16" }),
      i8: np.array([-128, 5], { dtype: "int8" }),
      u8: np.array([0, 255], { dtype: "uint8" }),
      u32: np.array([4000000000, 1], { dtype: "uint32" }),
    };
    const z = lax.complex(np.array([1.5, -2]), np.array([0.25, 3]));
    writeFileSync(join(dir, "z.npy"), io.toNpy(z));
    writeFileSync(join(dir, "x.npy"), io.toNpy(x));
    writeFileSync(join(dir, "s.npz"), io.toNpz({ x, i, b, d, ...small }));
    writeFileSync(
      join(dir, "c.npz"),
      io.toNpz({ x, i, b, d, ...small, big: np.arange(5000).mul(3) }, { compressed: true }),
    );
    const script = `
import numpy as np, sys, math
d = sys.argv[1]
x = np.load(d + "/x.npy"); assert x.dtype == np.float32 and x.tolist() == [[1.5, -2], [3, 4.25]]
for f in ("s.npz", "c.npz"):
    z = np.load(d + "/" + f)
    assert z["x"].tolist() == [[1.5, -2], [3, 4.25]] and z["x"].dtype == np.float32
    assert z["i"].dtype == np.int32 and z["i"].tolist() == [0, 1, 2, 3, 4]
    assert z["b"].dtype == np.bool_ and z["b"].tolist() == [True, False, True]
    assert z["d"].dtype == np.float64 and z["d"].tolist() == [math.pi, 1e-300]
    assert z["h"].dtype == np.float16 and z["h"].tolist() == np.float16([0.1, -65504, np.inf, 2**-24]).tolist()
    assert z["i8"].dtype == np.int8 and z["i8"].tolist() == [-128, 5]
    assert z["u8"].dtype == np.uint8 and z["u8"].tolist() == [0, 255]
    assert z["u32"].dtype == np.uint32 and z["u32"].tolist() == [4000000000, 1]
z = np.load(d + "/c.npz"); assert (z["big"] == np.arange(5000) * 3).all()
z = np.load(d + "/z.npy"); assert z.dtype == np.complex64 and z.tolist() == [1.5 + 0.25j, -2 + 3j]
print("ok")`;
    const r = spawnSync(python, ["-c", script, dir], { encoding: "utf8", env: process.env });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), "ok");
  });
});

describe("io: deflate", () => {
  test("inflate(deflate(x)) == x for random, repetitive and empty data; repetitive data shrinks", () => {
    let s = 7;
    const rnd = () => (s = (s * 1103515245 + 12345) >>> 0) >>> 24;
    const cases = [
      new Uint8Array(0),
      Uint8Array.from({ length: 70000 }, rnd),
      Uint8Array.from({ length: 100000 }, (_, i) => (i % 97) ^ (i >> 12)),
      new Uint8Array(40000).fill(9),
    ];
    for (const c of cases) assert.deepEqual(inflate(deflate(c), c.length), c);
    assert.ok(deflate(cases[3]).length < 500);
    assert.ok(deflate(cases[1]).length <= cases[1].length + 10);
  });

  test("inflate rejects streams that inflate past or short of the declared size", () => {
    const d = deflate(new Uint8Array(1000).fill(1));
    assert.throws(() => inflate(d, 999), RangeError);
    assert.throws(() => inflate(d, 1001), RangeError);
    assert.throws(() => inflate(d.subarray(0, 3), 1000), TypeError);
  });
});

describe("io: untrusted input", () => {
  const npyHeader = (dict: string): Uint8Array => {
    const h = dict + " ".repeat(63 - ((10 + dict.length) % 64)) + "\n";
    const out = new Uint8Array(10 + h.length + 8);
    out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
    new DataView(out.buffer).setUint16(8, h.length, true);
    for (let i = 0; i < h.length; i++) out[10 + i] = h.charCodeAt(i);
    return out;
  };
  const stHeader = (json: string, data = 0): Uint8Array => {
    const j = new TextEncoder().encode(json);
    const out = new Uint8Array(8 + j.length + data);
    new DataView(out.buffer).setBigUint64(0, BigInt(j.length), true);
    out.set(j, 8);
    return out;
  };

  test("specific malformed files give clear errors", () => {
    const good = bytesOf("f32_2x3.npy");
    assert.throws(
      () => io.fromNpy(good.subarray(0, good.length - 1)),
      /needs 24 data bytes, file has 23/,
    );
    const longHeader = good.slice();
    longHeader[8] = 0xff;
    longHeader[9] = 0x7f;
    assert.throws(() => io.fromNpy(longHeader), /runs past the end/);
    assert.throws(
      () =>
        io.fromNpy(
          npyHeader(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000000, 1000000), }",
          ),
        ),
      /absurdly large/,
    );
    assert.throws(
      () => io.fromNpy(npyHeader("{'descr': '<c32', 'fortran_order': False, 'shape': (1,), }")),
      /unsupported dtype "<c32"/,
    );
    assert.throws(
      () =>
        io.fromNpy(npyHeader("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }")),
      /structured/,
    );
    assert.throws(
      () => io.fromNpy(npyHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }")),
      /bad dimension -1/,
    );
    assert.throws(() => io.fromNpy(new Uint8Array([1, 2, 3])), /not an .npy file/);
    const over = npyHeader("{'descr': '<u8', 'fortran_order': False, 'shape': (1,), }");
    over.fill(0xff, -8);
    assert.throws(() => io.fromNpy(over), /outside the uint32 range/);
    over[10 + 12] = 0x69; // now '<i8': -1 would fit int32, 2^63-1 does not
    over[over.length - 1] = 0x7f;
    assert.throws(() => io.fromNpy(over), /outside the int32 range/);
    assert.throws(
      () =>
        io.fromSafetensors(
          stHeader(
            '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}',
            8,
          ),
        ),
      /gap or overlap/,
    );
    assert.throws(
      () =>
        io.fromSafetensors(stHeader('{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', 8)),
      /needs 12 bytes, offsets give 8/,
    );
    assert.throws(
      () =>
        io.fromSafetensors(stHeader('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', 4)),
      /data section is 4 bytes/,
    );
    assert.throws(
      () =>
        io.fromSafetensors(stHeader('{"a":{"dtype":"Q7","shape":[2],"data_offsets":[0,8]}}', 8)),
      /unknown dtype "Q7"/,
    );
    assert.throws(
      () =>
        io.fromSafetensors(
          stHeader('{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}', 8),
        ),
      /absurdly large/,
    );
    const huge = stHeader("{}");
    new DataView(huge.buffer).setBigUint64(0, 1n << 62n, true);
    assert.throws(() => io.fromSafetensors(huge), /header length \d+ is absurdly large/);
    const z = bytesOf("savez_compressed.npz");
    const bomb = z.slice();
    const cd = new DataView(bomb.buffer).getUint32(bomb.length - 6, true);
    new DataView(bomb.buffer).setUint32(cd + 24, 0xfffffff0, true); // uncompressed size of member 0
    assert.throws(() => io.fromNpz(bomb), RangeError);
    assert.throws(() => io.fromNpz(new Uint8Array(100)), /not a zip archive/);
  });

  test("fuzz: mutated fixtures only ever give TypeError or RangeError, in bounded time", () => {
    let s = 12345;
    const rnd = (n: number) => ((s = (s * 1664525 + 1013904223) >>> 0) % n);
    const readers: [string, (b: Uint8Array) => unknown][] = [
      ["f32_3d.npy", io.fromNpy],
      ["f16.npy", io.fromNpy],
      ["savez.npz", io.fromNpz],
      ["savez_compressed.npz", io.fromNpz],
      ["plain.safetensors", io.fromSafetensors],
      ["bf16.safetensors", io.fromSafetensors],
      ["native.safetensors", io.fromSafetensors],
      ["f16_2x3.npy", io.fromNpy],
    ];
    const start = Date.now();
    let errors = 0, ok = 0;
    for (const [name, read] of readers) {
      const base = bytesOf(name);
      for (let k = 0; k < 250; k++) {
        let b = base.slice();
        const kind = rnd(4);
        if (kind === 0) { for (let m = 1 + rnd(4); m > 0; m--) b[rnd(b.length)] = rnd(256); }
        else if (kind === 1) b = b.subarray(0, rnd(b.length));
        else if (kind === 2) {
          const at = rnd(Math.min(b.length, 120)); // header region: lengths, counts, offsets
          for (let m = 0; m < 4; m++) b[at + m] = m === 3 ? rnd(256) : 0xff;
        } else {
          const at = rnd(b.length);
          b = Uint8Array.from([...b.subarray(0, at), rnd(256), ...b.subarray(at)]);
        }
        try {
          read(b);
          ok++;
        } catch (e) {
          assert.ok(
            e instanceof TypeError || e instanceof RangeError,
            `${name} mutation ${k}: ${e}`,
          );
          assert.match(
            (e as Error).message,
            /^(fromNpy|fromNpz|fromSafetensors|inflate|treeFlatten)|^\w+: /,
          );
          errors++;
        }
      }
    }
    assert.ok(errors > 500, `most mutations are detected (${errors} errors, ${ok} read)`);
    assert.ok(Date.now() - start < 30000, "bounded time");
  });
});

describe("io: save / load", () => {
  test("a params pytree through .safetensors and .npz files", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tg-save-"));
    const tree = {
      layers: [{ w: np.ones([2, 3]), b: np.zeros([3]) }, { w: np.arange(4).reshape([2, 2]) }],
      step: 7,
      extra: null,
    };
    for (const f of ["p.safetensors", "p.npz"]) {
      await io.save(join(dir, f), tree);
      const back = await io.load(join(dir, f)) as typeof tree & { step: Tensor };
      assert.deepEqual(back.layers[0].w.toNestedSync(), [[1, 1, 1], [1, 1, 1]]);
      assert.deepEqual(back.layers[1].w.toNestedSync(), [[0, 1], [2, 3]]);
      assert.equal(back.step.item(), 7);
      if (f.endsWith(".safetensors")) assert.equal(back.extra, null);
    }
    const typed = {
      h: np.array([0.5, -1e-5, 60000], { dtype: "float16" }),
      q: np.array([[-128, 127]], { dtype: "int8" }),
      px: np.array([0, 128, 255], { dtype: "uint8" }),
      n: np.array([4294967295], { dtype: "uint32" }),
      m: np.array([true, false]),
    };
    for (const f of ["t.safetensors", "t.npz"]) {
      await io.save(join(dir, f), typed);
      const back = await io.load(join(dir, f)) as typeof typed;
      for (const [k, t] of Object.entries(typed)) {
        const b = back[k as keyof typeof typed];
        assert.equal(b.dtype, t.dtype, `${f}:${k} dtype`);
        assert.deepEqual(b.toNestedSync(), t.toNestedSync(), `${f}:${k} values`);
      }
    }
    const st = io.fromSafetensors(new Uint8Array(readFileSync(join(dir, "p.safetensors"))));
    assert.deepEqual(Object.keys(st).sort(), ["layers.0.b", "layers.0.w", "layers.1.w", "step"]);
    await assert.rejects(
      io.save(join(dir, "bad.safetensors"), { f: () => 1 }),
      /unsupported function at f/,
    );
  });
});
