// Live-array accounting used by the soak test (bench/soak.ts): created arrays count until they are
// disposed (or collected), on every backend.
import { test } from "node:test";
import assert from "node:assert/strict";
import { setBackend } from "../mod.ts";
import { fromHost, trackLiveArrays } from "../lib/core.ts";

test("trackLiveArrays counts created arrays and their bytes until dispose()", () => {
  const live = trackLiveArrays();
  for (const backend of ["cpu", "reference"]) {
    setBackend(backend);
    const before = live();
    const a = fromHost(new Float32Array(12), [3, 4], "float32");
    const b = fromHost(new Float64Array(5), [5], "float64");
    const c = fromHost(new Int32Array(12), [12], "int32");
    let now = live();
    assert.equal(now.count - before.count, 3);
    assert.equal(now.bytes - before.bytes, 48 + 40 + 48);
    b.dispose();
    b.dispose(); // a second dispose changes nothing
    now = live();
    assert.equal(now.count - before.count, 2);
    assert.equal(now.bytes - before.bytes, 96);
    a.dispose();
    c.dispose();
    assert.deepEqual(live(), before);
  }
  setBackend("cpu");
});
