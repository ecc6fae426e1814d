/**
 * The WebGPU runtime: device acquisition, a buffer pool with a live-buffer counter, a pipeline
 * cache keyed by shader source, one open command encoder that collects every dispatch until a
 * submit (no waits between kernels), and batched readback (one map per batch of reads).
 * @module
 */
import type { DType, TypedArray } from "../../dtype.ts";
import { deviceWords, elementBytes, hostArray } from "./words.ts";
import {
  type GpuAdapter,
  type GpuBuffer,
  type GpuComputePass,
  type GpuDevice,
  type GpuEncoder,
  type GpuLimits,
  type GpuPipeline,
  type LimitOverrides,
  lowerLimits,
  MAP_READ_MODE,
  navigatorGpu,
  noGpuReason,
  USAGE,
} from "./gpu_types.ts";
import { ByteLru } from "../../cache.ts";
import { bucket, BufferPool } from "./pool.ts";
import { workgroupBytes } from "../../../kernels/wgsl/expr.ts";

/** A device array: a pooled GPU buffer holding `length` elements of `dtype` (bool as u32). */
export class GpuArray {
  /** The buffer (its size may exceed what the elements need). */
  buffer: GpuBuffer;
  /** Number of elements. */
  readonly length: number;
  /** Element type. */
  readonly dtype: DType;
  /** Set once the buffer went back to the pool. */
  released = false;
  /** Reads recorded but not yet mapped; the buffer stays out of the pool meanwhile. */
  pendingReads = 0;
  /** Release requested while reads were pending. */
  releaseLater = false;
  /** A non-owning view (see plan.ts `borrow`): releasing it does nothing. */
  borrowed = false;
  /** The runtime that allocated it (arrays of a lost device are released by theirs, a no-op). */
  owner: GpuRuntime | undefined;
  /** Bytes per element on the GPU: 4, or 2 for float16 stored as f16 (shader-f16). */
  readonly width: 2 | 4;
  constructor(buffer: GpuBuffer, length: number, dtype: DType, width: 2 | 4 = 4) {
    this.buffer = buffer;
    this.length = length;
    this.dtype = dtype;
    this.width = width;
  }
  /** Bytes the elements occupy on the GPU, rounded up to whole 32-bit words. */
  get bytes(): number {
    return Math.ceil((this.length * this.width) / 4) * 4;
  }
}

/** A byte range of a buffer to bind. */
export interface BindRange {
  offset: number;
  size: number;
}

/** Counters for tests and benchmarks. */
export interface GpuStats {
  /** GPU→JS synchronizations (mapAsync / onSubmittedWorkDone) so far. */
  syncs: number;
  /** Queue submits so far. */
  submits: number;
  /** Compute dispatches so far. */
  dispatches: number;
  /** Shader pipelines compiled so far. */
  compiles: number;
  /** Milliseconds spent creating pipelines (shader compilation). */
  compileMs: number;
  /** Host uploads so far. */
  uploads: number;
  /** GPU buffers created for arrays so far (the rest reused pooled ones). */
  buffersCreated: number;
  /** The most workgroup memory (bytes) a compiled pipeline declares. */
  maxWorkgroupBytes: number;
}

interface ReadRequest {
  a: GpuArray;
  resolve: (t: TypedArray) => void;
  reject: (e: unknown) => void;
}

/** Everything about one device. */
export class GpuRuntime {
  /** The device. */
  readonly device: GpuDevice;
  /** True on software adapters (llvmpipe, lavapipe, SwiftShader): kernels avoid workgroup memory. */
  readonly software: boolean;
  /** Adapter description, for reports. */
  readonly description: string;
  /** Whether the adapter offers the "shader-f16" feature (f16 arithmetic in WGSL). */
  shaderF16 = false;
  /**
   * Whether float16 arrays are stored as 2-byte `f16` on this device (it was created with
   * "shader-f16"); else as f32 words rounded to float16.
   */
  f16 = false;
  /** Counters. */
  readonly stats: GpuStats = {
    syncs: 0,
    submits: 0,
    dispatches: 0,
    compiles: 0,
    compileMs: 0,
    uploads: 0,
    buffersCreated: 0,
    maxWorkgroupBytes: 0,
  };
  /** Device errors seen so far (validation, out of memory); the next read rejects with them. */
  readonly errors: string[] = [];
  /** Dispatches recorded before a submit is forced (keeps the GPU busy in long eager runs). */
  flushEvery = 64;
  /** Idle buffers kept for reuse (limit, floor and idle time are its fields). */
  readonly pool = new BufferPool(512 * 2 ** 20, 64 * 2 ** 20);
  #live = 0;
  #liveBytes = 0;
  /** Pipelines by WGSL source (bounded: the "kernels" cache limit, see `setCacheLimit`). */
  #pipelines = new ByteLru<string, { p: GpuPipeline; wgBytes: number }>(
    "kernels",
    (_p, code) => 4 * code.length + 16384,
  );
  #enc: GpuEncoder | null = null;
  #pass: GpuComputePass | null = null;
  #pending = 0;
  #reads: ReadRequest[] = [];
  #flushScheduled = false;
  #held = 0;
  /** Submit counter; a pooled buffer released while commands were open is dirty until then. */
  #epoch = 0;
  #dirty = new WeakMap<GpuBuffer, number>();
  #staging: GpuBuffer[] = [];
  #errorsReported = 0;
  /** Why the device was lost (destroyed, driver reset), or null while it is usable. */
  lostReason: string | null = null;

  constructor(device: GpuDevice, software: boolean, description: string) {
    this.device = device;
    this.software = software;
    this.description = description;
    // on software adapters the pool is host memory: keep less of it idle
    if (software) [this.pool.limitBytes, this.pool.floorBytes] = [64 * 2 ** 20, 16 * 2 ** 20];
    device.lost?.then((info) => {
      this.lostReason = info?.message || info?.reason || "unknown reason";
    });
    device.addEventListener?.("uncapturederror", (ev) => {
      this.errors.push(ev.error?.message ?? "unknown WebGPU error");
    });
  }

  /** Limits the kernels are planned for: the device's, or lower ones set by `simulateLimits`. */
  get limits(): GpuLimits {
    return this.#limits ?? this.device.limits;
  }
  #limits: GpuLimits | null = null;
  /** Plans kernels for tighter limits than the device's (a test hook); null restores them. */
  simulateLimits(over: LimitOverrides | null): void {
    this.#limits = over ? lowerLimits(this.device.limits, over) : null;
  }

  /** Arrays allocated and not yet released (the pool not counted). */
  liveBuffers(): number {
    return this.#live;
  }
  /** Bytes of the buffers of arrays allocated and not yet released (the pool not counted). */
  liveBytes(): number {
    return this.#liveBytes;
  }
  /** Buffers idle in the pool. */
  pooledBuffers(): number {
    return this.pool.count;
  }

  /** Throws the device-lost error once the device is gone. */
  checkAlive(): void {
    if (this.lostReason !== null) {
      throw new Error(
        `webgpu: the device was lost (${this.lostReason}); call \`await init()\` to create a new one (arrays of the lost device cannot be used)`,
      );
    }
  }

  /** A device array for `length` elements of `dtype` (contents undefined). */
  alloc(dtype: DType, length: number): GpuArray {
    this.checkAlive();
    const width = elementBytes(dtype, this.f16);
    const need = Math.max(Math.ceil((length * width) / 4), 1) * 4;
    if (need > this.device.limits.maxStorageBufferBindingSize) {
      throw new RangeError(
        `webgpu: an array of ${length} elements (${need} bytes) exceeds the device's storage binding limit of ${this.device.limits.maxStorageBufferBindingSize} bytes`,
      );
    }
    const size = bucket(need);
    let buf = this.pool.take(size);
    if (!buf) {
      // on software adapters also uniform: the row-form conv binds its rearranged weights as
      // uniform ranges (kernels/wgsl/conv_rows.ts)
      const uniform = this.software ? USAGE.UNIFORM : 0;
      buf = this.device.createBuffer({
        size,
        usage: USAGE.STORAGE | uniform | USAGE.COPY_SRC | USAGE.COPY_DST,
      });
      this.stats.buffersCreated++;
    }
    this.#live++;
    this.#liveBytes += size;
    const a = new GpuArray(buf, length, dtype, width);
    a.owner = this;
    return a;
  }

  /** Returns an array's buffer to the pool (after its pending reads, if any). */
  release(a: GpuArray): void {
    if (a.released || a.borrowed) return;
    if (a.owner && a.owner !== this) return a.owner.release(a);
    if (this.lostReason !== null) {
      a.released = true; // the device took its memory with it
      this.#live--;
      this.#liveBytes -= a.buffer.size;
      return;
    }
    if (a.pendingReads > 0) {
      a.releaseLater = true;
      return;
    }
    a.released = true;
    this.#live--;
    this.#liveBytes -= a.buffer.size;
    if (!this.pool.put(a.buffer, this.#epoch)) {
      // recorded commands may still use it: submit them first (destroy waits for the GPU)
      if (this.#pending > 0) this.flush();
      a.buffer.destroy();
      return;
    }
    if (this.#pending > 0) this.#dirty.set(a.buffer, this.#epoch);
  }

  /** Destroys every pooled buffer (live arrays are untouched). */
  trimPool(): void {
    if (this.#pending > 0) this.flush();
    this.pool.clear();
  }

  /** Copies host data into a new device array (as `deviceWords` lays it out). */
  upload(data: TypedArray, dtype: DType): GpuArray {
    const a = this.alloc(dtype, data.length);
    if (data.length === 0) return a;
    // queue.writeBuffer runs before unsubmitted commands: a buffer they still use (released
    // while they were being recorded) needs them submitted first
    if (this.#pending > 0 && this.#dirty.get(a.buffer) === this.#epoch) this.flush();
    const src = deviceWords(data, dtype, a.width === 2);
    this.device.queue.writeBuffer(a.buffer, 0, src as ArrayBufferView, 0, a.bytes / a.width);
    this.stats.uploads++;
    return a;
  }

  /**
   * The compute pipeline of a WGSL source (compiled once, entry point `main`); a shader that
   * declares more workgroup memory than `limits` allow throws a RangeError (cached ones too).
   */
  pipeline(code: string): GpuPipeline {
    let e = this.#pipelines.get(code);
    if (!e) {
      e = { p: null as unknown as GpuPipeline, wgBytes: workgroupBytes(code) };
      this.#checkWorkgroup(e.wgBytes);
      const t0 = performance.now();
      const module = this.device.createShaderModule({ code });
      e.p = this.device.createComputePipeline({
        layout: "auto",
        compute: { module, entryPoint: "main" },
      });
      this.#pipelines.set(code, e);
      this.stats.compiles++;
      this.stats.compileMs += performance.now() - t0;
      this.stats.maxWorkgroupBytes = Math.max(this.stats.maxWorkgroupBytes, e.wgBytes);
    } else if (this.#limits) this.#checkWorkgroup(e.wgBytes);
    return e.p;
  }

  #checkWorkgroup(bytes: number): void {
    const limit = this.limits.maxComputeWorkgroupStorageSize;
    if (!(bytes <= limit)) {
      throw new RangeError(
        `webgpu: a kernel needs ${bytes} bytes of workgroup memory, over the limit of ${limit} (maxComputeWorkgroupStorageSize)`,
      );
    }
  }

  #encoder(): GpuEncoder {
    if (!this.#enc) this.#enc = this.device.createCommandEncoder();
    return this.#enc;
  }

  #endPass(): void {
    if (this.#pass) {
      this.#pass.end();
      this.#pass = null;
    }
  }

  /**
   * Records a dispatch of `code` over `buffers` (bindings 0..n-1 in order); `ranges[i]`, when
   * given, binds only that byte range of buffer i.
   */
  dispatch(
    code: string,
    buffers: GpuArray[],
    wg: [number, number, number],
    ranges?: (BindRange | undefined)[],
  ): void {
    if (wg[0] * wg[1] * wg[2] === 0) return;
    this.checkAlive();
    const p = this.pipeline(code);
    const group = this.device.createBindGroup({
      layout: p.getBindGroupLayout(0),
      // exact sizes: shape-free shaders read their extent with arrayLength
      entries: buffers.map((b, i) => ({
        binding: i,
        resource: ranges?.[i]
          ? { buffer: b.buffer, offset: ranges[i]!.offset, size: ranges[i]!.size }
          : { buffer: b.buffer, size: Math.max(b.bytes, 4) },
      })),
    });
    if (!this.#pass) this.#pass = this.#encoder().beginComputePass();
    this.#pass.setPipeline(p);
    this.#pass.setBindGroup(0, group);
    this.#pass.dispatchWorkgroups(wg[0], wg[1], wg[2]);
    this.stats.dispatches++;
    this.#touch();
  }

  /** Records a buffer copy of `src`'s elements into `dst`. */
  copy(src: GpuArray, dst: GpuArray): void {
    if (src.length === 0) return;
    this.#endPass();
    this.#encoder().copyBufferToBuffer(src.buffer, 0, dst.buffer, 0, src.bytes);
    this.#touch();
  }

  #touch(): void {
    this.#pending++;
    if (this.#pending >= this.flushEvery && this.#held === 0) this.flush();
    else if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      queueMicrotask(() => {
        this.#flushScheduled = false;
        if (this.#pending > 0) this.flush();
      });
    }
  }

  /** True inside {@linkcode hold} (a nested program, e.g. a loop body, must not submit). */
  get holding(): boolean {
    return this.#held > 0;
  }

  /** Runs `fn` without intermediate submits (a jitted call becomes one command buffer). */
  hold<T>(fn: () => T): T {
    this.#held++;
    try {
      return fn();
    } finally {
      this.#held--;
    }
  }

  /** Submits everything recorded so far (no wait). */
  flush(): void {
    this.#endPass();
    if (this.#enc) {
      this.device.queue.submit([this.#enc.finish()]);
      this.stats.submits++;
    }
    this.#enc = null;
    this.#pending = 0;
    this.#epoch++;
    if (this.#epoch % 16 === 0) this.pool.trim(this.#epoch);
  }

  /** Reads an array back; reads requested in the same task share one copy, submit and map. */
  read(a: GpuArray): Promise<TypedArray> {
    if (a.released) return Promise.reject(new TypeError("webgpu: read of a released array"));
    const lost = this.lostReason ?? a.owner?.lostReason ?? null;
    if (lost !== null) {
      return Promise.reject(
        new Error(
          `webgpu: the device was lost (${lost}); call \`await init()\` to create a new one (arrays of the lost device cannot be read)`,
        ),
      );
    }
    if (a.length === 0) return Promise.resolve(hostArray(a.dtype, new ArrayBuffer(0), 0));
    a.pendingReads++;
    return new Promise((resolve, reject) => {
      this.#reads.push({ a, resolve, reject });
      if (this.#reads.length === 1) queueMicrotask(() => this.#readBatch());
    });
  }

  /** Waits until the queue is idle (one sync). */
  async sync(): Promise<void> {
    this.flush();
    this.stats.syncs++;
    await this.device.queue.onSubmittedWorkDone();
  }

  #takeStaging(bytes: number): GpuBuffer {
    let best = -1;
    this.#staging.forEach((b, i) => {
      if (b.size >= bytes && (best < 0 || b.size < this.#staging[best].size)) best = i;
    });
    if (best >= 0) return this.#staging.splice(best, 1)[0];
    return this.device.createBuffer({
      size: bucket(bytes),
      usage: USAGE.MAP_READ | USAGE.COPY_DST,
    });
  }

  #putStaging(b: GpuBuffer): void {
    this.#staging.push(b);
    if (this.#staging.length > 4) {
      this.#staging.sort((x, y) => y.size - x.size);
      this.#staging.pop()!.destroy();
    }
  }

  #readBatch(): void {
    const reqs = this.#reads;
    this.#reads = [];
    let total = 0;
    const offs = reqs.map((r) => {
      const o = total;
      total += Math.ceil(r.a.bytes / 8) * 8;
      return o;
    });
    const staging = this.#takeStaging(total);
    this.#endPass();
    const enc = this.#encoder();
    reqs.forEach((r, i) => enc.copyBufferToBuffer(r.a.buffer, 0, staging, offs[i], r.a.bytes));
    this.flush();
    this.stats.syncs++;
    const done = () => {
      for (const r of reqs) {
        r.a.pendingReads--;
        if (r.a.pendingReads === 0 && r.a.releaseLater) this.release(r.a);
      }
    };
    staging.mapAsync(MAP_READ_MODE).then(() => {
      const range = staging.getMappedRange();
      const outs = reqs.map((r, i) =>
        hostArray(r.a.dtype, range.slice(offs[i], offs[i] + r.a.bytes), r.a.length, r.a.width === 2)
      );
      staging.unmap();
      this.#putStaging(staging);
      done();
      const err = this.errors.length > this.#errorsReported
        ? this.errors.slice(this.#errorsReported).join("; ")
        : null;
      this.#errorsReported = this.errors.length;
      reqs.forEach((
        r,
        i,
      ) => (err ? r.reject(new Error(`webgpu: device error: ${err}`)) : r.resolve(outs[i])));
    }, (e) => {
      staging.destroy();
      done();
      for (const r of reqs) r.reject(e);
    });
  }
}

const SOFTWARE = /llvmpipe|lavapipe|swiftshader|software|warp/i;

/**
 * Requests an adapter and a device with the adapter's buffer limits; resolves to null when the
 * runtime has no WebGPU or no adapter.
 */
export async function createRuntime(): Promise<GpuRuntime | null> {
  const gpu = navigatorGpu();
  if (!gpu) return fail(noGpuReason());
  let adapter: GpuAdapter | null = null;
  // core first; then compatibility (Dawn's OpenGL ES backend, e.g. the `webgpu` package on Node)
  for (const opts of [undefined, { featureLevel: "compatibility" }]) {
    try {
      adapter = await gpu.requestAdapter(opts);
    } catch {
      adapter = null;
    }
    if (adapter) break;
  }
  if (!adapter) {
    return fail(
      "navigator.gpu.requestAdapter() found no adapter (no usable GPU or driver; headless " +
        "Chromium needs --enable-unsafe-webgpu, Node's `webgpu` package EGL_PLATFORM=surfaceless)",
    );
  }
  const L = adapter.limits;
  const want: Record<string, number> = {
    maxStorageBufferBindingSize: L.maxStorageBufferBindingSize,
    maxBufferSize: L.maxBufferSize,
    maxStorageBuffersPerShaderStage: L.maxStorageBuffersPerShaderStage,
    maxComputeInvocationsPerWorkgroup: Math.min(L.maxComputeInvocationsPerWorkgroup, 256),
    maxComputeWorkgroupSizeX: Math.min(L.maxComputeWorkgroupSizeX, 256),
    maxComputeWorkgroupStorageSize: L.maxComputeWorkgroupStorageSize,
  };
  let device: GpuDevice;
  const f16 = Boolean(adapter.features?.has("shader-f16"));
  try {
    const requiredFeatures = f16 ? ["shader-f16"] : [];
    device = await adapter.requestDevice({ requiredLimits: want, requiredFeatures });
  } catch (e) {
    return fail(`adapter.requestDevice() failed: ${(e as Error)?.message ?? e}`);
  }
  const info = adapter.info ?? {};
  const desc = [info.description, info.device].filter(Boolean).join(" / ") || info.vendor ||
    "unknown adapter";
  const software = Boolean(info.isFallbackAdapter ?? adapter.isFallbackAdapter) ||
    SOFTWARE.test(desc);
  const runtime = new GpuRuntime(device, software, desc);
  runtime.shaderF16 = f16;
  runtime.f16 = f16 && Boolean(device.features?.has("shader-f16"));
  failure = undefined;
  return runtime;
}

let failure: string | undefined;

/** Why the last `createRuntime()` found no WebGPU, or undefined (not tried yet, or it worked). */
export function webgpuFailure(): string | undefined {
  return failure;
}

function fail(why: string): null {
  failure = why;
  return null;
}
