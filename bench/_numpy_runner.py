#!/usr/bin/env python3
"""NumPy / SciPy peer of the tracegrad benchmarks (run by bench/main.ts; not a library).

Usage: python3 bench/_numpy_runner.py SPEC.json
SPEC names the cases, their float32 input files (raw little-endian, row-major) and the time
budget. For every case it runs one warm-up (whose result is written to OUT_DIR as the check
values), then timed runs until the budget is spent, and prints one JSON object on stdout:
{"runtime": {...}, "results": [{"key", "impl", "times", "warmup", "calls", "check", "error", "note"}]}.
Times are ms per run (per call for W3). Progress goes to stderr.

Implementations (float32 throughout, hand-written, no autodiff):
  W1, W5  im2col (sliding_window_view) + one batched matmul (BLAS)
  W2      the same forward, then relu mask, db = sum, dw = one GEMM with the im2col matrix,
          dx = the full correlation with the flipped, transposed kernel (im2col again)
  W3 fwd  NHWC/HWIO sliding windows + tensordot
  W4      np.correlate(x, k, "valid"); scipy.signal.correlate (method auto) when SciPy is present
  W7      y = E[i], loss = sum(y * c), dE = zeros + np.add.at(dE, i, c) (hand-written gradient);
  SORT    np.sort(x) (default quicksort / SIMD introsort)
  W8      scipy.signal.fftconvolve and scipy.signal.convolve(method="auto"), mode "same"
  W9      a hand-written loop (forward, then backpropagation through time)
  FFT     np.fft.fft of complex64 values (pocketfft; NumPy 2 keeps complex64)
  SOLVE   np.linalg.solve (LAPACK gesv)
"""
import contextlib
import json
import os
import platform
import sys
import time

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

try:
    import scipy
    import scipy.signal
except Exception:  # SciPy is optional
    scipy = None


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def conv_nd(x, w, pads):
    """Cross-correlation, NC+spatial input, OI+spatial kernel, stride 1, explicit pads.
    Returns (y, cols) with cols of shape (N, C*prod(k), prod(out))."""
    d = w.ndim - 2
    if any(lo or hi for lo, hi in pads):
        x = np.pad(x, ((0, 0), (0, 0), *pads))
    ks = w.shape[2:]
    win = sliding_window_view(x, ks, axis=tuple(range(2, 2 + d)))  # N, C, *out, *ks
    n, c = win.shape[:2]
    out = win.shape[2:2 + d]
    perm = (0, 1, *range(2 + d, 2 + 2 * d), *range(2, 2 + d))  # N, C, *ks, *out
    cols = np.ascontiguousarray(win.transpose(perm)).reshape(n, c * int(np.prod(ks)), int(np.prod(out)))
    y = np.matmul(w.reshape(w.shape[0], -1), cols)  # N, O, prod(out)
    return y.reshape(n, w.shape[0], *out), cols


def w2_step(x, w, b):
    y, cols = conv_nd(x, w, [(1, 1), (1, 1)])
    y += b.reshape(1, -1, 1, 1)
    mask = y > 0
    loss = np.sum(y, where=mask, dtype=np.float32)
    g = mask.astype(np.float32)
    db = g.sum(axis=(0, 2, 3))
    n, o = g.shape[:2]
    g3 = g.reshape(n, o, -1)
    dw = np.tensordot(g3, cols, axes=([0, 2], [0, 2])).reshape(w.shape)
    wt = np.ascontiguousarray(w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))
    dx, _ = conv_nd(g, wt, [(1, 1), (1, 1)])
    return loss, dx, dw, db


def w3_fwd(x, w):
    win = sliding_window_view(x, w.shape[:2], axis=(1, 2))  # N, Ho, Wo, C, KH, KW
    return np.tensordot(win, w, axes=([3, 4, 5], [2, 0, 1]))  # N, Ho, Wo, O


def w9_run(W, U, b, xs):
    """Forward + BPTT of mean(h_1..h_T) for h_t = tanh(h_{t-1} W + x_t U + b), h_0 = 0."""
    T, B = xs.shape[:2]
    H = W.shape[0]
    hs = np.empty((T + 1, B, H), np.float32)
    hs[0] = 0
    for t in range(T):
        hs[t + 1] = np.tanh(hs[t] @ W + xs[t] @ U + b)
    loss = hs[1:].mean(dtype=np.float32)
    g = np.float32(1.0 / (T * B * H))
    dW, dU, db = np.zeros_like(W), np.zeros_like(U), np.zeros_like(b)
    dh = np.zeros((B, H), np.float32)
    for t in range(T - 1, -1, -1):
        da = (dh + g) * (1 - hs[t + 1] * hs[t + 1])
        dW += hs[t].T @ da
        dU += xs[t].T @ da
        db += da.sum(0)
        dh = da @ W.T
    return np.concatenate([np.array([loss], np.float32), dW.ravel(), dU.ravel(), db])


def cases14(key, arrs):
    """Issue 14's cases (W8, W9, FFT, SOLVE)."""
    if key == "W8":
        if scipy is None:
            return []
        x, w = arrs["x"], arrs["w"]
        return [
            ("scipy fftconvolve", lambda: scipy.signal.fftconvolve(x, w, mode="same"), "scipy.signal.fftconvolve"),
            ("scipy convolve auto", lambda: scipy.signal.convolve(x, w, mode="same", method="auto"),
             f"scipy.signal.convolve, method auto picks {scipy.signal.choose_conv_method(x, w, mode='same')}"),
        ]
    if key == "W9":
        return [("numpy", lambda: w9_run(arrs["W"], arrs["U"], arrs["b"], arrs["xs"]), "hand-written loop + BPTT")]
    if key == "FFT":
        z = np.ascontiguousarray(arrs["z"]).view(np.complex64).ravel()
        return [("numpy", lambda: np.fft.fft(z).astype(np.complex64, copy=False).view(np.float32), "np.fft.fft")]
    if key == "SOLVE":
        return [("numpy", lambda: np.linalg.solve(arrs["a"], arrs["b"]), "np.linalg.solve (LAPACK)")]
    return []


def load(inp):
    a = np.fromfile(inp["file"], dtype="<f4")
    return a.reshape(inp["shape"])


def cases(key, arrs):
    """(impl name, fn returning the check array, note) for a case key."""
    x, w = arrs.get("x"), arrs.get("w")
    if key == "W1":
        return [("numpy", lambda: conv_nd(x, w, [(1, 1), (1, 1)])[0], "im2col + matmul")]
    if key == "W2":
        def step():
            _, dx, dw, db = w2_step(x, w, arrs["b"])
            return np.concatenate([db.ravel(), dw.ravel()])
        return [("numpy", step, "hand-written forward+backward (im2col)")]
    if key == "W3f":
        return [("numpy", lambda: w3_fwd(x, w), "sliding windows + tensordot")]
    if key == "W4":
        xs, ks = x.ravel(), w.ravel()
        out = [("numpy", lambda: np.correlate(xs, ks, "valid"), "np.correlate")]
        if scipy is not None:
            out.append(("scipy", lambda: scipy.signal.correlate(xs, ks, mode="valid"), "scipy.signal.correlate (auto)"))
        return out
    if key == "W7":
        E, c = arrs["E"], arrs["c"]
        idx = arrs["i"].astype(np.int32)

        def w7():
            y = E[idx]
            loss = np.sum(y * c, dtype=np.float32)
            dE = np.zeros_like(E)
            np.add.at(dE, idx, c)
            return np.concatenate([np.array([loss], dtype=np.float32), dE.ravel()])
        return [("numpy", w7, "E[i], np.add.at")]
    if key == "SORT":
        return [("numpy", lambda: np.sort(arrs["x"]), "np.sort")]
    if key == "W5":
        return [("numpy", lambda: conv_nd(x, w, [(0, 0)] * 3)[0], "im2col + matmul")]
    return cases14(key, arrs)


REASONS = {
    "W3g": "no autodiff (forward only)",
    "W6": "no autodiff (not hand-written)",
}


def timed(fn, key, budget):
    t0 = time.perf_counter()
    first = fn()
    warm = (time.perf_counter() - t0) * 1e3
    calls = 1
    if key.startswith("W3"):
        t0 = time.perf_counter()
        for _ in range(10):
            fn()
        per = (time.perf_counter() - t0) * 1e3 / 10
        calls = int(max(10, min(budget["w3Calls"], budget["seconds"] * 1e3 / (2 * max(per, 1e-6)))))
    times = []
    if warm > budget["maxWarmupSeconds"] * 1e3:
        return first, warm, calls, times
    start = time.perf_counter()
    while len(times) < budget["maxRuns"] and (len(times) < budget["minRuns"] or time.perf_counter() - start < budget["seconds"]):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        times.append((time.perf_counter() - t0) * 1e3 / calls)
    return first, warm, calls, times


def main():
    spec = json.load(open(sys.argv[1]))
    budget, out_dir = spec["budget"], spec["outDir"]
    results = []
    for case in spec["cases"]:
        key = case["key"]
        if key in REASONS:
            results.append({"key": key, "impl": "numpy", "error": REASONS[key]})
            continue
        try:
            arrs = {k: load(v) for k, v in case["inputs"].items()}
            impls = cases(key, arrs)
        except Exception as e:  # noqa: BLE001 - report and go on
            results.append({"key": key, "impl": "numpy", "error": f"{type(e).__name__}: {e}"})
            continue
        for name, fn, note in impls:
            log(f"  {key:4} {name} ...")
            r = {"key": key, "impl": name, "note": note}
            try:
                first, warm, calls, times = timed(fn, key, budget)
                path = os.path.join(out_dir, f"check_{key}_{name}.f32")
                np.ascontiguousarray(first, dtype=np.float32).ravel().tofile(path)
                r.update({"times": times, "warmup": warm, "calls": calls, "check": path})
            except Exception as e:  # noqa: BLE001
                r["error"] = f"{type(e).__name__}: {e}"
            results.append(r)
    blas = ""
    try:
        with contextlib.redirect_stdout(sys.stderr):
            cfg = np.show_config(mode="dicts")  # numpy >= 1.26
        blas = cfg.get("Build Dependencies", {}).get("blas", {}).get("name", "")
    except Exception:  # noqa: BLE001
        pass
    runtime = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__ if scipy is not None else None,
        "blas": blas,
    }
    print(json.dumps({"runtime": runtime, "results": results}))


if __name__ == "__main__":
    main()
