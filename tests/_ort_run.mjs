// Runs an ONNX model with onnxruntime-node for tests/onnx_test.ts (a Node subprocess, so Deno and
// Bun tests can use the native addon too): `node tests/_ort_run.mjs SPEC.json` where the spec
// holds { model, inputs: [{ dtype, shape, data }] }; prints { outputs: [{ dtype, shape, data }] }.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ARRAYS = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  bool: Uint8Array,
};
const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const ort = createRequire(join(root, "package.json"))("onnxruntime-node");
const spec = JSON.parse(readFileSync(process.argv[2], "utf8"));
const session = await ort.InferenceSession.create(readFileSync(spec.model));
const feeds = {};
spec.inputs.forEach((inp, i) => {
  const data = inp.dtype === "bool"
    ? Uint8Array.from(inp.data, (v) => (v ? 1 : 0))
    : ARRAYS[inp.dtype].from(inp.data);
  feeds[`input_${i}`] = new ort.Tensor(
    inp.dtype === "float64" ? "float64" : inp.dtype,
    data,
    inp.shape,
  );
});
const result = await session.run(feeds);
const outputs = session.outputNames.map((n) => ({
  dtype: result[n].type,
  shape: result[n].dims,
  data: Array.from(result[n].data, (v) => (typeof v === "bigint" ? Number(v) : Number(v))),
}));
process.stdout.write(JSON.stringify({ outputs }));
