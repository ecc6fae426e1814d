import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { diffMeta, jsrFromDeno, NPM_NAME } from "./sync_meta.ts";

const DENO = { name: "@tracegrad/tracegrad", version: "0.1.0", exports: "./mod.ts", tasks: {} };
const PKG = { name: NPM_NAME, version: "0.1.0" };

describe("sync_meta", () => {
  test("jsr.json carries name, version and exports only", () => {
    assert.deepEqual(jsrFromDeno(DENO), {
      name: "@tracegrad/tracegrad",
      version: "0.1.0",
      exports: "./mod.ts",
    });
  });

  test("in-sync metadata has no differences", () => {
    assert.deepEqual(diffMeta(DENO, jsrFromDeno(DENO), PKG), []);
  });

  test("reports a missing jsr.json", () => {
    assert.match(diffMeta(DENO, undefined, PKG).join("\n"), /jsr\.json: missing/);
  });

  test("reports version drift in jsr.json and package.json", () => {
    const stale = { ...jsrFromDeno(DENO), version: "0.0.9" };
    const problems = diffMeta(DENO, stale, { ...PKG, version: "0.0.9" });
    assert.equal(problems.length, 2);
    assert.match(problems[0], /^jsr\.json: "version" is "0\.0\.9"/);
    assert.match(problems[1], /^package\.json: "version" is "0\.0\.9"/);
  });

  test("reports a wrong npm name and extra jsr.json keys", () => {
    const problems = diffMeta(DENO, { ...jsrFromDeno(DENO), extra: 1 }, { ...PKG, name: "x" });
    assert.equal(problems.length, 2);
    assert.match(problems.join("\n"), /"extra"/);
    assert.match(problems.join("\n"), /"name" is "x", expected "tracegrad"/);
  });
});
