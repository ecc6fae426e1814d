/**
 * The subset of the WebGPU API this backend uses, as local structural types (so the library
 * type-checks and emits declarations without DOM/WebGPU ambient types) plus the usage flags.
 * @module
 */

/** GPUBufferUsage flags. */
export const USAGE = {
  MAP_READ: 0x1,
  COPY_SRC: 0x4,
  COPY_DST: 0x8,
  UNIFORM: 0x40,
  STORAGE: 0x80,
} as const;
/** GPUMapMode.READ. */
export const MAP_READ_MODE = 0x1;

/** A GPU buffer. */
export interface GpuBuffer {
  readonly size: number;
  mapAsync(mode: number, offset?: number, size?: number): Promise<void>;
  getMappedRange(offset?: number, size?: number): ArrayBuffer;
  unmap(): void;
  destroy(): void;
}

/** A compute pipeline. */
export interface GpuPipeline {
  getBindGroupLayout(index: number): unknown;
}

/** A compute pass. */
export interface GpuComputePass {
  setPipeline(p: GpuPipeline): void;
  setBindGroup(index: number, group: unknown): void;
  dispatchWorkgroups(x: number, y?: number, z?: number): void;
  end(): void;
}

/** A command encoder. */
export interface GpuEncoder {
  beginComputePass(desc?: unknown): GpuComputePass;
  copyBufferToBuffer(
    src: GpuBuffer,
    srcOffset: number,
    dst: GpuBuffer,
    dstOffset: number,
    size: number,
  ): void;
  finish(): unknown;
}

/** The device queue. */
export interface GpuQueue {
  submit(buffers: unknown[]): void;
  writeBuffer(
    buffer: GpuBuffer,
    offset: number,
    data: ArrayBufferView,
    dataOffset?: number,
    size?: number,
  ): void;
  onSubmittedWorkDone(): Promise<void>;
}

/** Adapter or device limits (only the ones read here). */
export interface GpuLimits {
  readonly maxComputeInvocationsPerWorkgroup: number;
  readonly maxComputeWorkgroupsPerDimension: number;
  readonly maxStorageBufferBindingSize: number;
  readonly maxStorageBuffersPerShaderStage: number;
  readonly maxComputeWorkgroupStorageSize: number;
  readonly maxBufferSize: number;
  readonly maxComputeWorkgroupSizeX: number;
  readonly maxUniformBufferBindingSize?: number;
  readonly minUniformBufferOffsetAlignment?: number;
}

const LIMIT_KEYS = [
  "maxComputeInvocationsPerWorkgroup",
  "maxComputeWorkgroupsPerDimension",
  "maxStorageBufferBindingSize",
  "maxStorageBuffersPerShaderStage",
  "maxComputeWorkgroupStorageSize",
  "maxBufferSize",
  "maxComputeWorkgroupSizeX",
  "maxUniformBufferBindingSize",
  "minUniformBufferOffsetAlignment",
] as const;

/** Limits a runtime may be told to plan for instead of the device's (tests: small limits). */
export type LimitOverrides = Partial<Record<(typeof LIMIT_KEYS)[number], number>>;

/**
 * The device's limits with some lowered (a copy: device limit objects keep their values in
 * getters). Raising a limit past the device's, or an unknown name, throws.
 */
export function lowerLimits(device: GpuLimits, over: LimitOverrides): GpuLimits {
  const base = device as unknown as Record<string, number | undefined>;
  const out: Record<string, number | undefined> = {};
  for (const k of LIMIT_KEYS) out[k] = base[k];
  for (const [k, v] of Object.entries(over)) {
    if (!(LIMIT_KEYS as readonly string[]).includes(k)) {
      throw new TypeError(`webgpu: simulateLimits: unknown limit ${k}`);
    }
    const dev = base[k];
    const lower = k.startsWith("min") ? (v ?? 0) >= (dev ?? 0) : (v ?? 0) <= (dev ?? Infinity);
    if (typeof v !== "number" || !(v >= 0) || !lower) {
      throw new RangeError(
        `webgpu: simulateLimits: ${k} = ${v} is not a tighter limit than the device's ${dev}`,
      );
    }
    out[k] = v;
  }
  return out as unknown as GpuLimits;
}

/** A device. */
export interface GpuDevice {
  readonly limits: GpuLimits;
  readonly queue: GpuQueue;
  readonly features: { has(name: string): boolean };
  readonly lost?: Promise<{ message: string; reason?: string }>;
  createBuffer(desc: { size: number; usage: number; mappedAtCreation?: boolean }): GpuBuffer;
  createShaderModule(desc: { code: string }): unknown;
  createComputePipeline(
    desc: { layout: "auto"; compute: { module: unknown; entryPoint: string } },
  ): GpuPipeline;
  createBindGroup(
    desc: {
      layout: unknown;
      entries: {
        binding: number;
        resource: { buffer: GpuBuffer; offset?: number; size?: number };
      }[];
    },
  ): unknown;
  createCommandEncoder(): GpuEncoder;
  addEventListener?(type: string, listener: (ev: { error?: { message: string } }) => void): void;
  destroy?(): void;
}

/** An adapter. */
export interface GpuAdapter {
  readonly limits: GpuLimits & Record<string, number>;
  readonly features: { has(name: string): boolean };
  readonly info?: {
    vendor?: string;
    architecture?: string;
    device?: string;
    description?: string;
    isFallbackAdapter?: boolean;
  };
  readonly isFallbackAdapter?: boolean;
  requestDevice(
    desc?: { requiredLimits?: Record<string, number>; requiredFeatures?: string[] },
  ): Promise<GpuDevice>;
}

/** `navigator.gpu`. */
export interface Gpu {
  requestAdapter(
    opts?: { powerPreference?: string; featureLevel?: string },
  ): Promise<GpuAdapter | null>;
}

/** `navigator.gpu` when the runtime has WebGPU, else undefined. */
export function navigatorGpu(): Gpu | undefined {
  const nav = (globalThis as { navigator?: { gpu?: Gpu } }).navigator;
  return nav?.gpu ?? undefined;
}

/** Why there is no `navigator.gpu` here, and how to get one, for this runtime. */
export function noGpuReason(): string {
  const g = globalThis as {
    Deno?: unknown;
    Bun?: unknown;
    process?: { versions?: { node?: string } };
    window?: unknown;
    isSecureContext?: boolean;
  };
  if (g.Deno) {
    return "this Deno has no navigator.gpu (Deno 2 has WebGPU built in; older ones need --unstable-webgpu)";
  }
  if (g.Bun) {
    return "Bun has no WebGPU (navigator.gpu); use Deno, Node with the npm `webgpu` package, or a browser";
  }
  if (g.process?.versions?.node) {
    return "Node has no navigator.gpu of its own: install the npm `webgpu` package and set " +
      "navigator.gpu from it before `await init()` (on headless Linux run with " +
      'EGL_PLATFORM=surfaceless; see the README\'s "WebGPU on Node")';
  }
  if (g.isSecureContext === false) {
    return "navigator.gpu exists only on secure pages (https:// or http://localhost)";
  }
  return "this browser has no WebGPU (navigator.gpu): use a recent Chrome/Edge (113+), Safari 26+ or Firefox 141+";
}
