// Tests for lib/tree.ts: flatten/unflatten round-trips, key order, null/undefined subtrees,
// scalar handling, structure printing and keys, treeMap over several trees, and errors.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  treeDefEqual,
  treeDefKey,
  treeDefToString,
  treeFlatten,
  treeLeaves,
  treeMap,
  treeStructure,
  treeUnflatten,
} from "./tree.ts";

/** Stand-in for a tensor class: the leaf type of most tests. */
class Leaf {
  constructor(readonly v: number) {}
}
const isLeaf = (x: unknown): x is Leaf => x instanceof Leaf;
const none = (_x: unknown): _x is never => false;
const L = (v: number) => new Leaf(v);

describe("treeFlatten / treeUnflatten", () => {
  test("round-trips nested arrays, objects and mixed trees", () => {
    const trees: unknown[] = [
      L(1),
      [],
      {},
      [L(1), [L(2), [L(3)]], []],
      { w: L(1), b: L(2), sub: { x: [L(3), L(4)], y: {} } },
      [{ a: L(1) }, [{ b: [L(2)] }], 5, true, { c: null, d: undefined }],
    ];
    for (const tree of trees) {
      const [leaves, def] = treeFlatten(tree, isLeaf);
      assert.equal(def.numLeaves, leaves.length);
      assert.deepEqual(treeUnflatten(def, leaves), tree);
      const [again, def2] = treeFlatten(treeUnflatten(def, leaves), isLeaf);
      assert.deepEqual(again, leaves);
      assert.ok(treeDefEqual(def, def2));
    }
  });

  test("leaves come depth-first with object keys sorted", () => {
    const [leaves, def] = treeFlatten({
      z: L(1),
      a: [L(2), L(3)],
      m: { y: L(4), b: L(5) },
      10: L(6),
      9: L(7),
    }, isLeaf);
    assert.deepEqual(leaves.map((x) => (x as Leaf).v), [6, 7, 2, 3, 5, 4, 1]);
    assert.equal(treeDefToString(def), '{"10": *, "9": *, a: [*, *], m: {b: *, y: *}, z: *}');
    const rebuilt = treeUnflatten(def, leaves) as Record<string, unknown>;
    assert.deepEqual(Object.keys(rebuilt), ["9", "10", "a", "m", "z"]); // JS orders integer keys itself
    assert.deepEqual(Object.keys(rebuilt.m as object), ["b", "y"]);
  });

  test("structure ignores key insertion order", () => {
    const a = treeStructure({ x: 1, y: [2, 3] }, none);
    const b = treeStructure({ y: [4, 5], x: 6 }, none);
    assert.ok(treeDefEqual(a, b));
    assert.equal(treeDefKey(a), treeDefKey(b));
  });

  test("null and undefined are empty subtrees, kept distinct", () => {
    const [leaves, def] = treeFlatten({ a: null, b: [undefined, L(1)], c: null }, isLeaf);
    assert.equal(leaves.length, 1);
    assert.equal(String(def), "{a: null, b: [undefined, *], c: null}");
    assert.deepEqual(treeUnflatten(def, leaves), { a: null, b: [undefined, L(1)], c: null });
    assert.ok(!treeDefEqual(treeStructure(null, none), treeStructure(undefined, none)));
    assert.deepEqual(treeFlatten(null, none)[0], []);
    assert.equal(treeUnflatten(treeStructure(null, none), []), null);
    const [, holes] = treeFlatten([1, , 3], none);
    assert.equal(String(holes), "[*, undefined, *]");
  });

  test("scalars are leaves by default and rejected when scalarsAreLeaves is false", () => {
    const [leaves, def] = treeFlatten({ lr: 0.1, on: true, n: 3n, w: L(1) }, isLeaf);
    assert.deepEqual(leaves, [0.1, 3n, true, L(1)]);
    assert.equal(String(def), "{lr: *, n: *, on: *, w: *}");
    const [strict] = treeFlatten([L(1), [L(2)]], isLeaf, { scalarsAreLeaves: false });
    assert.deepEqual(strict, [L(1), L(2)]);
    assert.throws(
      () => treeFlatten({ a: [L(1), 2] }, isLeaf, { scalarsAreLeaves: false }),
      {
        name: "TypeError",
        message: /unsupported number at tree\.a\[1\] \(scalarsAreLeaves is false\)/,
      },
    );
    const isNum = (x: unknown): x is number => typeof x === "number";
    assert.deepEqual(treeLeaves([1, [2]], isNum, { scalarsAreLeaves: false }), [1, 2]);
  });

  test("isLeaf is tested before containers", () => {
    const isPair = (x: unknown): x is [number, number] => Array.isArray(x) && x.length === 2;
    const [leaves, def] = treeFlatten({ p: [1, 2], q: [[3, 4], [5, 6, 7], 8] }, isPair);
    assert.deepEqual(leaves, [[1, 2], [3, 4], 5, 6, 7, 8]);
    assert.equal(String(def), "{p: *, q: [*, [*, *, *], *]}");
  });

  test("null-prototype objects are containers", () => {
    const obj = Object.create(null) as Record<string, unknown>;
    obj.b = L(2);
    obj.a = L(1);
    const [leaves, def] = treeFlatten(obj, isLeaf);
    assert.deepEqual(leaves, [L(1), L(2)]);
    assert.ok(treeDefEqual(def, treeStructure({ a: 0, b: 0 }, none)));
    assert.deepEqual(treeUnflatten(def, leaves), { a: L(1), b: L(2) });
  });

  test("a __proto__ key is restored as an own property", () => {
    const tree = JSON.parse('{"__proto__": 1, "x": 2}');
    const [leaves, def] = treeFlatten(tree, none);
    const back = treeUnflatten(def, leaves) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(back), Object.prototype);
    assert.deepEqual(Object.keys(back), ["__proto__", "x"]);
    assert.equal(Object.getOwnPropertyDescriptor(back, "__proto__")?.value, 1);
  });
});

describe("errors", () => {
  test("unsupported values name their type and path", () => {
    const cases: [unknown, RegExp][] = [
      [{ a: [1, "s"] }, /unsupported string at tree\.a\[1\]/],
      [[() => 1], /unsupported function at tree\[0\]/],
      [{ "my key": new Map() }, /unsupported Map at tree\["my key"\]/],
      [{ d: new Date(0) }, /unsupported Date at tree\.d/],
      [new Float32Array(2), /unsupported Float32Array at tree;/],
      [{ s: Symbol("x") }, /unsupported symbol at tree\.s/],
    ];
    for (const [tree, message] of cases) {
      assert.throws(() => treeFlatten(tree, isLeaf), { name: "TypeError", message });
    }
  });

  test("cycles are reported, shared subtrees are fine", () => {
    const shared = [L(1)];
    assert.equal(treeLeaves({ a: shared, b: shared }, isLeaf).length, 2);
    const cyc: Record<string, unknown> = { a: [] };
    (cyc.a as unknown[]).push(cyc);
    assert.throws(() => treeFlatten(cyc, isLeaf), {
      name: "TypeError",
      message: /cyclic reference at tree\.a\[0\]/,
    });
  });

  test("treeUnflatten checks the leaf count and the def", () => {
    const def = treeStructure([1, { a: 2 }], none);
    assert.throws(() => treeUnflatten(def, [1]), {
      name: "TypeError",
      message: "treeUnflatten: def [*, {a: *}] expects 2 leaves, got 1",
    });
    const fake = { numLeaves: 0, toString: () => "*" };
    assert.throws(
      () => treeUnflatten(fake, []),
      /def must be a TreeDef made by treeFlatten or treeStructure/,
    );
    assert.throws(() => treeDefKey(fake), TypeError);
  });
});

describe("treeMap", () => {
  test("maps one tree", () => {
    const out = treeMap((x) => L((x as Leaf).v * 2), { a: L(1), b: [L(2), null] }, isLeaf);
    assert.deepEqual(out, { a: L(2), b: [L(4), null] });
  });

  test("maps several trees with the same structure", () => {
    const out = treeMap(
      (p, g, m) => (p as number) * 100 + (g as number) * 10 + (m as number),
      { w: [1, 2], b: 3 },
      none,
      { b: 4, w: [5, 6] },
      { w: [7, 8], b: 9 },
    );
    assert.deepEqual(out, { b: 349, w: [157, 268] });
  });

  test("rejects mismatched structures, describing both", () => {
    assert.throws(() => treeMap((a) => a, { a: 1, b: [2, 3] }, none, { a: 1, b: 2 }), {
      name: "TypeError",
      message:
        "treeMap: rest tree 0 has structure {a: *, b: *} but the first tree has structure {a: *, b: [*, *]}",
    });
    assert.throws(
      () => treeMap((a) => a, [1], none, [1], { 0: 1 }),
      /rest tree 1 has structure \{"0": \*\}/,
    );
    assert.throws(
      () => treeMap((a) => a, [null], none, [undefined]),
      /\[undefined\] but the first tree has .*\[null\]/,
    );
  });
});

describe("TreeDef printing and keys", () => {
  test("treeDefToString", () => {
    assert.equal(treeDefToString(treeStructure({ a: 1, b: [2, 3] }, none)), "{a: *, b: [*, *]}");
    assert.equal(treeDefToString(treeStructure([], none)), "[]");
    assert.equal(treeDefToString(treeStructure({}, none)), "{}");
    assert.equal(treeDefToString(treeStructure(7, none)), "*");
    assert.equal(treeDefToString(treeStructure({ "b c": [null] }, none)), '{"b c": [null]}');
  });

  test("treeDefKey distinguishes what treeDefEqual distinguishes", () => {
    const defs = [
      [1],
      [[1]],
      [1, 1],
      { a: 1 },
      { "a": [1] },
      { "a,b": 1 },
      { a: 1, b: 1 },
      [null],
      [undefined],
      [],
    ]
      .map((t) => treeStructure(t, none));
    for (let i = 0; i < defs.length; i++) {
      for (let j = 0; j < defs.length; j++) {
        assert.equal(treeDefEqual(defs[i], defs[j]), i === j);
        assert.equal(treeDefKey(defs[i]) === treeDefKey(defs[j]), i === j);
      }
    }
    assert.equal(treeDefKey(treeStructure({ a: [1, null] }, none)), '{"a":[*,null]}');
  });
});
