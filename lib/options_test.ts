import { test } from "node:test";
import assert from "node:assert/strict";
import { checkOptions, closestName } from "./options.ts";

test("checkOptions() passes known keys and undefined through", () => {
  assert.deepEqual(checkOptions("f", undefined, ["a"]), {});
  assert.deepEqual(checkOptions("f", { a: 1 }, ["a", "b"]), { a: 1 });
});

test("checkOptions() names an unknown key and the closest valid one", () => {
  assert.throws(
    () => checkOptions("grad", { argnum: 1 }, ["argnums", "hasAux"]),
    (e: unknown) =>
      e instanceof TypeError &&
      /grad: unknown option "argnum"; did you mean "argnums"/.test(e.message),
  );
  assert.equal(closestName("lhs_dilation", ["lhsDilation", "rhsDilation"]), "lhsDilation");
  assert.equal(closestName("static_argnums", ["staticArgnums", "staticArgnames"]), "staticArgnums");
  assert.equal(closestName("zzzzzz", ["axis"]), undefined);
});

test("checkOptions() rejects non-objects", () => {
  assert.throws(() => checkOptions("sum", 3 as unknown as object, ["axis"]), TypeError);
  assert.throws(() => checkOptions("sum", [1] as unknown as object, ["axis"]), TypeError);
});
