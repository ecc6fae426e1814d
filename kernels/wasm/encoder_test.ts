// Tests for the WebAssembly encoder: LEB128 and tiny modules instantiated in the running runtime.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ModuleBuilder, sleb, uleb } from "./encoder.ts";

type Fn = (...args: number[]) => number;

function instantiate(mb: ModuleBuilder, imports: WebAssembly.Imports = {}): Record<string, Fn> {
  const mod = new WebAssembly.Module(mb.toBytes());
  return new WebAssembly.Instance(mod, imports).exports as unknown as Record<string, Fn>;
}

describe("leb128", () => {
  test("unsigned", () => {
    const cases: [number, number[]][] = [[0, [0]], [127, [127]], [128, [0x80, 1]], [624485, [
      0xe5,
      0x8e,
      0x26,
    ]], [0xffffffff, [0xff, 0xff, 0xff, 0xff, 0x0f]]];
    for (const [v, bytes] of cases) {
      const out: number[] = [];
      uleb(out, v);
      assert.deepEqual(out, bytes);
    }
  });
  test("signed", () => {
    const cases: [number, number[]][] = [
      [0, [0]],
      [-1, [0x7f]],
      [63, [63]],
      [64, [0xc0, 0]],
      [
        -64,
        [0x40],
      ],
      [-65, [0xbf, 0x7f]],
      [-123456, [0xc0, 0xbb, 0x78]],
      [2147483647, [
        0xff,
        0xff,
        0xff,
        0xff,
        0x07,
      ]],
      [-2147483648, [0x80, 0x80, 0x80, 0x80, 0x78]],
    ];
    for (const [v, bytes] of cases) {
      const out: number[] = [];
      sleb(out, v);
      assert.deepEqual(out, bytes, `sleb(${v})`);
    }
  });
});

describe("modules", () => {
  test("add two numbers (i32, f32, f64)", () => {
    const mb = new ModuleBuilder();
    mb.func(["i32", "i32"], ["i32"], "addi").get(0).get(1).op("i32.add");
    mb.func(["f32", "f32"], ["f32"], "addf").get(0).get(1).op("f32.add");
    mb.func(["f64", "f64"], ["f64"], "addd").get(0).get(1).op("f64.add").f64(0.25).op("f64.add");
    const e = instantiate(mb);
    assert.equal(e.addi(2, 3), 5);
    assert.equal(e.addi(0x7fffffff, 1), -0x80000000);
    assert.equal(e.addf(0.1, 0.2), Math.fround(Math.fround(0.1) + Math.fround(0.2)));
    assert.equal(e.addd(1, 2), 3.25);
    assert.ok(Number.isNaN(e.addf(NaN, 1)));
  });

  test("loop with br_if, locals and an imported function", () => {
    const seen: number[] = [];
    const mb = new ModuleBuilder();
    const log = mb.importFunc("env", "log", ["i32"], []);
    // sum of i for i in [0, n), calling log(i) each step
    const f = mb.func(["i32"], ["i32"], "sum");
    const i = f.local("i32"), acc = f.local("i32");
    f.block((done) => {
      f.get(0).i32(0).op("i32.le_s").brIf(done);
      f.loop((top) => {
        f.get(i).call(log);
        f.get(acc).get(i).op("i32.add").set(acc);
        f.get(i).i32(1).op("i32.add").tee(i).get(0).op("i32.lt_s").brIf(top);
      });
    });
    f.get(acc);
    const e = instantiate(mb, { env: { log: (x: number) => seen.push(x) } });
    assert.equal(e.sum(10), 45);
    assert.deepEqual(seen, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.equal(e.sum(-3), 0);
  });

  test("if/else and f32 constants", () => {
    const mb = new ModuleBuilder();
    const f = mb.func(["f32"], ["f32"], "relu");
    const r = f.local("f32");
    f.get(0).f32(0).op("f32.gt").if(() => f.get(0).set(r), () => f.f32(-0.5).set(r));
    f.get(r);
    const e = instantiate(mb);
    assert.equal(e.relu(3), 3);
    assert.equal(e.relu(-3), -0.5);
  });

  test("SIMD dot product on an imported shared memory", () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 4, shared: true });
    const mb = new ModuleBuilder().importMemory("env", "memory", {
      initial: 1,
      maximum: 4,
      shared: true,
    });
    // dot(x, y, n): n a multiple of 4, x/y byte offsets
    const f = mb.func(["i32", "i32", "i32"], ["f32"], "dot");
    const acc = f.local("v128");
    f.v128f32(0).set(acc);
    f.block((done) => {
      f.get(2).op("i32.eqz").brIf(done);
      f.loop((top) => {
        f.get(acc).get(0).mem("v128.load").get(1).mem("v128.load").op("f32x4.mul")
          .op("f32x4.add").set(acc);
        f.get(0).i32(16).op("i32.add").set(0).get(1).i32(16).op("i32.add").set(1);
        f.get(2).i32(4).op("i32.sub").tee(2).brIf(top);
      });
    });
    f.get(acc).lane("f32x4.extract_lane", 0).get(acc).lane("f32x4.extract_lane", 1).op("f32.add");
    f.get(acc).lane("f32x4.extract_lane", 2).get(acc).lane("f32x4.extract_lane", 3).op("f32.add");
    f.op("f32.add");
    // splat(x[0]) * y[0..4] summed with an offset load: exercises load32_splat + memarg offsets
    const g = mb.func(["i32", "i32"], ["f32"], "splatdot");
    const v = g.local("v128");
    g.get(0).mem("v128.load32_splat", 4).get(1).mem("v128.load", 16, 2).op("f32x4.mul").set(v);
    g.get(v).lane("f32x4.extract_lane", 0).get(v).lane("f32x4.extract_lane", 3).op("f32.add");
    const e = instantiate(mb, { env: { memory } });
    const f32 = new Float32Array(memory.buffer);
    for (let i = 0; i < 16; i++) f32[i] = i + 1;
    for (let i = 0; i < 16; i++) f32[16 + i] = 0.5 * i;
    let want = 0;
    for (let i = 0; i < 16; i++) want += (i + 1) * 0.5 * i;
    assert.equal(e.dot(0, 64, 16), want);
    assert.equal(e.dot(0, 64, 0), 0);
    // x[1] = 2; y[4..8] = 2, 2.5, 3, 3.5 -> 2*2 + 2*3.5
    assert.equal(e.splatdot(0, 64), 11);
  });
});

describe("atomics", () => {
  test("i32.atomic.rmw.add on a shared memory returns the old value and adds", () => {
    const mb = new ModuleBuilder().importMemory("env", "memory", {
      initial: 1,
      maximum: 1,
      shared: true,
    });
    const f = mb.func(["i32", "i32"], ["i32"], "add");
    f.get(0).get(1).mem("i32.atomic.rmw.add");
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    const { add } = instantiate(mb, { env: { memory } });
    const i32 = new Int32Array(memory.buffer);
    i32[2] = 40;
    assert.equal(add(8, 2), 40);
    assert.equal(i32[2], 42);
  });
});
